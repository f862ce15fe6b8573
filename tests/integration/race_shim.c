/*
 * LD_PRELOAD shim for test_hostile.py: makes one file change between the
 * walk's lstat and the reader's open or read, which no test can time from
 * outside the process. IA_SHIM_TARGET names the file (a suffix of the
 * path the reader opens); IA_SHIM_ACTION says what happens to it, once:
 *
 *   vanish  unlinked just before the reader's open()
 *   fifo    replaced by a FIFO just before open() (open must not block)
 *   shrink  cut to half its size after the reader's fstat(), so the read
 *           finds fewer bytes than fstat promised
 *   pause   before open(), creates the file IA_SHIM_READY and waits (up
 *           to 60 s) until IA_SHIM_RELEASE exists: test_interrupt.py
 *           signals the scan at a known point of the walk
 *
 * Only open/open64 and fstat/fstat64 are wrapped; everything else is libc.
 * The state is not thread-safe: the tests that use it scan with -j 1, or
 * target a file only one worker opens.
 */
#undef _FILE_OFFSET_BITS /* define open and open64, fstat and fstat64 apart */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef int (*open_fn)(const char *, int, ...);
typedef int (*fstat_fn)(int, void *);

static int done;
static int target_fd = -1;
static char target_path[4096];

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
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

static int before_open(const char *path)
{
    if (!is_target(path))
        return 0;
    if (action_is("vanish")) {
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

static int wrap_open(const char *sym, const char *path, int flags,
                     mode_t mode)
{
    open_fn real = (open_fn)(uintptr_t)dlsym(RTLD_NEXT, sym);
    int watch = before_open(path);
    int fd = real(path, flags, mode);
    if (watch && fd >= 0)
        target_fd = fd;
    return fd;
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return wrap_open("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return wrap_open("open64", path, flags, mode);
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
