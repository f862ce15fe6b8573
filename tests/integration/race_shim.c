/*
 * LD_PRELOAD shim for test_hostile.py: makes one file change between the
 * walk's lstat and the reader's open or read, which no test can time from
 * outside the process. IA_SHIM_TARGET names the file (a suffix of the
 * absolute path the reader opens); IA_SHIM_ACTION says what happens to
 * it, once:
 *
 *   vanish  unlinked just before the reader's open()
 *   fifo    replaced by a FIFO just before open() (open must not block)
 *   shrink  cut to half its size after the reader's fstat(), so the read
 *           finds fewer bytes than fstat promised
 *   pause   before open(), creates the file IA_SHIM_READY and waits (up
 *           to 60 s) until IA_SHIM_RELEASE exists: test_interrupt.py
 *           signals the scan at a known point of the walk
 *   dirlink before open(), the file's folder is renamed to FOLDER.moved
 *           and replaced by a symlink to IA_SHIM_LINK (a folder outside
 *           the root holding a file of the same name)
 *
 * The reader opens a path relative to the root's descriptor with
 * openat2() (through syscall()) or, one component at a time, openat()
 * (src/core/beneath.c): so open/open64, openat/openat64, syscall
 * (SYS_openat2 only) and fstat/fstat64 are wrapped, and a path relative
 * to a descriptor is made absolute through /proc/self/fd to be matched.
 * An O_PATH open is a stat, not a read, and is let through. Everything
 * else is libc. The state is not thread-safe: the tests that use it scan
 * with -j 1, or target a file only one worker opens.
 */
#undef _FILE_OFFSET_BITS /* define open and open64, fstat and fstat64 apart */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

typedef int (*openat_fn)(int, const char *, int, ...);
typedef long (*syscall_fn)(long, ...);
typedef int (*fstat_fn)(int, void *);

static int done;
static int target_fd = -1;
static char target_path[4096];

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int openat(int dirfd, const char *path, int flags, ...);
int openat64(int dirfd, const char *path, int flags, ...);
long syscall(long number, ...);
int fstat(int fd, struct stat *st);
int fstat64(int fd, struct stat64 *st);

static int is_target(const char *path)
{
    const char *t = getenv("IA_SHIM_TARGET");
    size_t pl = strlen(path), tl = t ? strlen(t) : 0;
    return !done && tl > 0 && pl >= tl && strcmp(path + pl - tl, t) == 0;
}

static int action_is(const char *a)
{
    const char *v = getenv("IA_SHIM_ACTION");
    return v && strcmp(v, a) == 0;
}

static void pause_here(void)
{
    const char *ready = getenv("IA_SHIM_READY");
    const char *release = getenv("IA_SHIM_RELEASE");
    struct timespec tick = {0, 10 * 1000 * 1000};
    if (ready) {
        int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
    for (int i = 0; i < 6000 && release && access(release, F_OK) != 0; i++)
        nanosleep(&tick, NULL);
}

/* The file's folder becomes a symlink to IA_SHIM_LINK. */
static void dir_to_link(const char *path)
{
    const char *to = getenv("IA_SHIM_LINK");
    char dir[PATH_MAX], moved[PATH_MAX + 8];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (!to || !n || n >= sizeof dir)
        return;
    memcpy(dir, path, n);
    dir[n] = '\0';
    snprintf(moved, sizeof moved, "%s.moved", dir);
    if (rename(dir, moved) == 0)
        symlink(to, dir);
}

static int before_open(const char *path)
{
    if (!is_target(path))
        return 0;
    if (action_is("dirlink")) {
        done = 1;
        dir_to_link(path);
    } else if (action_is("vanish")) {
        done = 1;
        unlink(path);
    } else if (action_is("pause")) {
        done = 1;
        pause_here();
    } else if (action_is("fifo")) {
        done = 1;
        unlink(path);
        mkfifo(path, 0644);
    } else if (action_is("shrink") && strlen(path) < sizeof target_path) {
        strcpy(target_path, path);
        return 1;
    }
    return 0;
}

/* path relative to dirfd, made absolute in buf (path itself when it is
 * absolute or relative to the current folder). */
static const char *absolute(int dirfd, const char *path, char *buf,
                            size_t cap)
{
    char link[64], dir[PATH_MAX];
    if (path[0] == '/' || dirfd == AT_FDCWD)
        return path;
    snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(link, dir, sizeof dir - 1);
    if (n < 0)
        return path;
    dir[n] = '\0';
    snprintf(buf, cap, "%s/%s", dir, path);
    return buf;
}

static int wrap_openat(const char *sym, int dirfd, const char *path,
                       int flags, mode_t mode)
{
    openat_fn real = (openat_fn)(uintptr_t)dlsym(RTLD_NEXT, sym);
    char buf[2 * PATH_MAX];
    int watch = 0;
    if (!(flags & O_PATH) && !done)
        watch = before_open(absolute(dirfd, path, buf, sizeof buf));
    int fd = real(dirfd, path, flags, mode);
    if (watch && fd >= 0)
        target_fd = fd;
    return fd;
}

/* The mode argument, there with O_CREAT or O_TMPFILE (a macro: va_start
 * belongs in the variadic function itself). */
#define MODE_ARG(flags, mode)                                                \
    do {                                                                     \
        if ((flags) & (O_CREAT | O_TMPFILE)) {                               \
            va_list ap_;                                                     \
            va_start(ap_, flags);                                            \
            (mode) = (mode_t)va_arg(ap_, int);                               \
            va_end(ap_);                                                     \
        }                                                                    \
    } while (0)

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    return wrap_openat("openat", AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    return wrap_openat("openat64", AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    return wrap_openat("openat", dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    return wrap_openat("openat64", dirfd, path, flags, mode);
}

/* syscall() takes up to six word-sized arguments: all are passed on (the
 * extra ones are ignored by the kernel, as by glibc's own syscall()). */
long syscall(long number, ...)
{
    syscall_fn real = (syscall_fn)(uintptr_t)dlsym(RTLD_NEXT, "syscall");
    long a[6];
    va_list ap;
    va_start(ap, number);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    int watch = 0;
#ifdef SYS_openat2
    const struct open_how *how = (const struct open_how *)a[2];
    char buf[2 * PATH_MAX];
    if (number == SYS_openat2 && how && !(how->flags & O_PATH) && !done)
        watch = before_open(absolute((int)a[0], (const char *)a[1], buf,
                                     sizeof buf));
#endif
    long rc = real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (watch && rc >= 0)
        target_fd = (int)rc;
    return rc;
}

static void after_fstat(int fd, long long size)
{
    if (fd != target_fd || done)
        return;
    done = 1;
    target_fd = -1;
    if (truncate(target_path, (off_t)(size / 2)) != 0)
        target_path[0] = '\0';
}

int fstat(int fd, struct stat *st)
{
    fstat_fn real = (fstat_fn)(uintptr_t)dlsym(RTLD_NEXT, "fstat");
    int rc = real(fd, st);
    if (rc == 0)
        after_fstat(fd, (long long)st->st_size);
    return rc;
}

int fstat64(int fd, struct stat64 *st)
{
    fstat_fn real = (fstat_fn)(uintptr_t)dlsym(RTLD_NEXT, "fstat64");
    int rc = real(fd, st);
    if (rc == 0)
        after_fstat(fd, (long long)st->st_size);
    return rc;
}
