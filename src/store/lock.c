/*
 * The writer lock of a DB (store/lock.h).
 *
 * Why it is shaped this way:
 *   - flock on a sidecar file, not a lock on the DB file: SQLite locks
 *     the DB with POSIX fcntl locks, which the close() of any other
 *     descriptor of that file in the process would drop; a separate file
 *     cannot disturb them. flock belongs to the open file description, so
 *     two handles in one process exclude each other as two processes do,
 *     and the kernel releases it when its holder dies, even by SIGKILL: a
 *     lock is never stale, and a leftover DB.lock is just an empty file.
 *   - The holder removes the file when it closes, so no DB.lock lingers
 *     next to the DB. A waiter may then have locked a removed file: after
 *     taking the lock, the file at the path must still be the one locked
 *     (same device and inode), else the take starts over.
 *   - The holder writes its pid into the file, for the waiter's message;
 *     best effort: a full disk must not stop a lock that takes no space.
 *   - O_NOFOLLOW: a symlink planted at DB.lock is refused, never followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgaudit.h"
#include "store/lock.h"
#include "core/core.h"

/* Takes over from a holder that removed the file this many times at most
 * (each time a new file), then reports it busy. */
#define LOCK_TRIES 8

/* The holder's pid as written by write_pid, or 0. */
static long holder_pid(int fd)
{
    char buf[24];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    long pid = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
        pid = pid * 10 + (buf[i] - '0');
    return n > 0 && pid > 0 && pid < 100000000 ? pid : 0;
}

static void write_pid(int fd)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && n > 0 && pwrite(fd, buf, (size_t)n, 0) < 0)
        (void)ftruncate(fd, 0);
}

static int open_fail(const char *path, char *why, size_t cap)
{
    int e = errno;
    if (e == EACCES || e == EPERM || e == EROFS)
        ia_bprintf(why, cap, "its folder is not writable (%s: %s)", path,
                   strerror(e));
    else
        ia_bprintf(why, cap, "cannot create its lock file %s: %s", path,
                   strerror(e));
    return IA_ERR_DB;
}

/* Whether fd is still the file at path (the holder before us may have
 * removed it after we opened it). */
static int still_there(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* One attempt: IA_OK with *fd locked, IA_ERR_BUSY, or -1: try again. */
static int try_once(const char *path, int *fd_out, char *why, size_t cap)
{
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return open_fail(path, why, cap);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = e == EWOULDBLOCK ? holder_pid(fd) : 0;
        close(fd);
        if (e != EWOULDBLOCK) {
            ia_bprintf(why, cap, "cannot lock %s: %s", path, strerror(e));
            return IA_ERR_DB;
        }
        if (pid > 0)
            ia_bprintf(why, cap, "another imgaudit (pid %ld) is writing it",
                       pid);
        else
            ia_bprintf(why, cap, "another imgaudit is writing it");
        return IA_ERR_BUSY;
    }
    if (!still_there(fd, path)) {
        close(fd);
        return -1;
    }
    write_pid(fd);
    *fd_out = fd;
    return IA_OK;
}

int ia_dblock_take(const char *db_path, ia_dblock *lock, char *why,
                   size_t cap)
{
    size_t n = strlen(db_path) + sizeof ".lock";
    char *path = malloc(n);
    int fd = -1, rc = -1;
    if (!path) {
        ia_bprintf(why, cap, "out of memory");
        return IA_ERR_NOMEM;
    }
    ia_bprintf(path, n, "%s.lock", db_path);
    for (int i = 0; i < LOCK_TRIES && rc == -1; i++)
        rc = try_once(path, &fd, why, cap);
    if (rc == -1) {
        ia_bprintf(why, cap, "another imgaudit is writing it");
        rc = IA_ERR_BUSY;
    }
    if (rc != IA_OK) {
        free(path);
        return rc;
    }
    lock->fd = fd;
    lock->path = path;
    return IA_OK;
}

void ia_dblock_release(ia_dblock *lock)
{
    if (!lock || lock->fd < 0)
        return;
    /* Removed while still held: a waiter that then gets the lock on this
     * file sees it gone (still_there) and starts over. */
    unlink(lock->path);
    close(lock->fd);
    free(lock->path);
    lock->fd = -1;
    lock->path = NULL;
}
