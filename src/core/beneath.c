/*
 * ia_open_beneath (core/core.h). A root check on a path's text says
 * nothing of where the kernel takes it: "cat/x.jpg" leaves the dataset
 * when "cat" is a symlink, or becomes one between the walk and the read.
 * So every component is checked by the kernel as it is resolved:
 *
 * - Linux 5.6+ does it in one call, openat2() with RESOLVE_BENEATH |
 *   RESOLVE_NO_SYMLINKS (called through syscall(): glibc 2.36 has no
 *   wrapper).
 * - Where that call is missing (ENOSYS: an older kernel, a seccomp filter
 *   that says so) or refused (EPERM: another kind of filter), the path is
 *   walked one component at a time, each folder opened O_PATH |
 *   O_NOFOLLOW relative to its parent and checked to be a folder before
 *   it is entered. Under valgrind, which does not know openat2 and warns
 *   at every call, the walk is taken at once.
 * - When openat2 refuses for a symlink (ELOOP, whichever component) the
 *   walk runs too, to tell the file itself (ELOOP) from a folder on the
 *   way (EXDEV), so the caller can say which; and it is ELOOP too for a
 *   symlink opened O_DIRECTORY, where both calls would say ENOTDIR.
 *
 * ".." is refused whatever it leads to (both ways agree on that; the
 * scan's paths never hold one). A path of PATH_MAX bytes or more is
 * refused by the walk as the kernel refuses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__linux__) && defined(SYS_openat2)
#include <linux/openat2.h>
#define HAVE_OPENAT2 1
#endif
#ifdef IA_HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "core/core.h"

int ia_path_climbs(const char *p)
{
    for (const char *c = p; (c = strstr(c, "..")) != NULL; c += 2)
        if ((c == p || c[-1] == '/') && (c[2] == '/' || c[2] == '\0'))
            return 1;
    return 0;
}

/* openat2 beneath rootfd, no symlinks; -1 with ENOSYS where there is none. */
static int open_resolve(int rootfd, const char *relpath, int flags)
{
#ifdef HAVE_OPENAT2
#ifdef RUNNING_ON_VALGRIND
    if (RUNNING_ON_VALGRIND) {
        errno = ENOSYS;
        return -1;
    }
#endif
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned)(flags | O_NOFOLLOW);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    return (int)syscall(SYS_openat2, rootfd, relpath, &how, sizeof how);
#else
    (void)rootfd, (void)relpath, (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

/* The folder name in dirfd (not ".." nor empty), as a new descriptor;
 * -1 with EXDEV when it is a symlink, ENOTDIR when not a folder. */
static int enter(int dirfd, const char *name)
{
    struct stat st;
    int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), err;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0)
        err = errno;
    else if (S_ISDIR(st.st_mode))
        return fd;
    else
        err = S_ISLNK(st.st_mode) ? EXDEV : ENOTDIR;
    close(fd);
    errno = err;
    return -1;
}

/* The file itself. O_DIRECTORY | O_NOFOLLOW on a symlink fails with
 * ENOTDIR: it is ELOOP here, as from openat2. */
static int open_last(int dirfd, const char *name, int flags)
{
    struct stat st;
    int fd = openat(dirfd, name, flags | O_NOFOLLOW);
    if (fd >= 0 || errno != ENOTDIR || !(flags & O_DIRECTORY))
        return fd;
    int link = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISLNK(st.st_mode);
    errno = link ? ELOOP : ENOTDIR;
    return -1;
}

/* One component at a time (see the top comment); ".." already refused. */
static int open_walk(int rootfd, const char *relpath, int flags)
{
    char name[NAME_MAX + 1];
    const char *p = relpath;
    int dirfd = rootfd, fd = -1, err = ENOENT;
    if (strlen(relpath) >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    while (*p) {
        size_t len = strcspn(p, "/");
        const char *next = p + len;
        while (*next == '/')
            next++;
        if (len > NAME_MAX) {
            err = ENAMETOOLONG;
            break;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        if (!*next) {           /* the file itself */
            fd = open_last(dirfd, len ? name : ".", flags);
            err = errno;
            break;
        }
        p = next;
        if (len == 0 || (len == 1 && name[0] == '.'))
            continue;
        int sub = enter(dirfd, name);
        err = errno;
        if (dirfd != rootfd)
            close(dirfd);
        dirfd = sub;
        if (sub < 0)
            break;
    }
    if (dirfd >= 0 && dirfd != rootfd)
        close(dirfd);
    if (fd < 0)
        errno = err;
    return fd;
}

/* Whether the walk should answer after openat2 failed with err: it was
 * missing, refused, or met a symlink (ENOTDIR when O_DIRECTORY found one
 * at the end; EAGAIN, a rename during the lookup). */
static int walk_tells(int err, int flags)
{
    return err == ENOSYS || err == EPERM || err == ELOOP || err == EAGAIN ||
           (err == ENOTDIR && (flags & O_DIRECTORY));
}

int ia_open_beneath(int rootfd, const char *relpath, int flags, int follow)
{
    if (follow)
        return openat(rootfd, relpath, flags);
    if (relpath[0] == '/')
        return openat(AT_FDCWD, relpath, flags | O_NOFOLLOW);
    if (ia_path_climbs(relpath)) {
        errno = EXDEV;
        return -1;
    }
    int fd = open_resolve(rootfd, relpath, flags);
    if (fd >= 0 || !walk_tells(errno, flags))
        return fd;
    return open_walk(rootfd, relpath, flags);
}

int ia_stat_beneath(int rootfd, const char *relpath, int follow,
                    struct stat *st)
{
    int fd = ia_open_beneath(rootfd, relpath, O_PATH | O_CLOEXEC, follow);
    if (fd < 0)
        return -1;
    int rc = fstat(fd, st), err = errno;
    close(fd);
    errno = err;
    return rc;
}
