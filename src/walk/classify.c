/*
 * What the walk's producers (folder.c, manifest.c) share: how a name on
 * disk is classified (a file, a folder, a symlink followed or not, a
 * special file), growing arrays, error strings and full paths. Both
 * classify what they find the same way because they call these.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgaudit.h"
#include "core/core.h"
#include "walk/source.h"

int ia_walk_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t ncap, bytes;
    void *p;
    if (need <= *cap)
        return 0;
    ncap = *cap > 8 ? *cap : 8;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ia_mul_size(ncap, elem, &bytes) != 0)
        return IA_ERR_NOMEM;
    p = realloc(*buf, bytes);
    if (!p)
        return IA_ERR_NOMEM;
    *buf = p;
    *cap = ncap;
    return 0;
}

void ia_walk_errstr(int err, char *buf, size_t cap)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *m = strerror_r(err, buf, cap);
    if (m != buf)
        ia_strlcpy(buf, m, cap);
#else
    if (strerror_r(err, buf, cap) != 0)
        ia_bprintf(buf, cap, "error %d", err);
#endif
}

char *ia_walk_fullpath(const char *root_prefix, const char *rel)
{
    size_t a = strlen(root_prefix), b = strlen(rel), n;
    char *p;
    if (__builtin_add_overflow(a, b, &n) || __builtin_add_overflow(n, 2, &n))
        return NULL;
    p = malloc(n);
    if (!p)
        return NULL;
    memcpy(p, root_prefix, a);
    p[a] = '/';
    memcpy(p + a + 1, rel, b + 1);
    return p;
}

static const char *special_name(mode_t m)
{
    if (S_ISFIFO(m))
        return "FIFO (named pipe)";
    if (S_ISSOCK(m))
        return "UNIX socket";
    if (S_ISCHR(m))
        return "character device";
    if (S_ISBLK(m))
        return "block device";
    return "file of unknown type";
}

/* The target of a symlink, bounded; "..." marks a cut. */
static void link_target(int dirfd, const char *path, char *out, size_t cap)
{
    ssize_t n = readlinkat(dirfd, path, out, cap - 4);
    if (n < 0) {
        ia_strlcpy(out, "?", cap);
        return;
    }
    out[n] = '\0';
    if ((size_t)n == cap - 4)
        memcpy(out + n, "...", 4);
}

static void classify_target(int dirfd, const char *path, ia_entry *e,
                            struct stat *st, int *via_link)
{
    char target[112], why[64];
    int err;
    if (fstatat(dirfd, path, st, 0) == 0) {
        *via_link = 1;
        return;
    }
    err = errno;
    link_target(dirfd, path, target, sizeof target);
    ia_walk_errstr(err, why, sizeof why);
    e->kind = err == ELOOP ? IA_ENT_SYMLINK_LOOP : IA_ENT_SYMLINK_BROKEN;
    ia_bprintf(e->detail, sizeof e->detail, "%s -> %s (%s)",
               err == ELOOP ? "symlink chain loops" : "dangling symlink",
               target, why);
}

int ia_walk_classify(int dirfd, const char *path, int follow, ia_entry *e,
                     struct stat *st, int *is_dir, int *via_link)
{
    int err = fstatat(dirfd, path, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
    return ia_walk_classify_from(dirfd, path, follow, err, e, st, is_dir,
                                 via_link);
}

int ia_walk_classify_from(int dirfd, const char *path, int follow,
                          int lstat_err, ia_entry *e, struct stat *st,
                          int *is_dir, int *via_link)
{
    char target[112];
    *is_dir = 0;
    *via_link = 0;
    e->kind = IA_ENT_FILE;
    e->detail[0] = '\0';
    if (lstat_err != 0)
        return lstat_err;
    if (S_ISLNK(st->st_mode)) {
        if (!follow) {
            link_target(dirfd, path, target, sizeof target);
            e->kind = IA_ENT_SYMLINK_SKIPPED;
            ia_bprintf(e->detail, sizeof e->detail,
                       "symlink -> %s (not followed without "
                       "--follow-symlinks)", target);
            return 0;
        }
        classify_target(dirfd, path, e, st, via_link);
        if (!*via_link)
            return 0;
    }
    if (S_ISDIR(st->st_mode)) {
        *is_dir = 1;
    } else if (!S_ISREG(st->st_mode)) {
        e->kind = IA_ENT_SPECIAL;
        ia_bprintf(e->detail, sizeof e->detail, "%s%s: never opened",
                   *via_link ? "symlink to a " : "", special_name(st->st_mode));
    }
    return 0;
}

int ia_walk_excluded(const char *const *globs, size_t n, const char *relpath)
{
    const char *slash = strrchr(relpath, '/');
    const char *name = slash ? slash + 1 : relpath;
    for (size_t i = 0; i < n; i++)
        if (fnmatch(globs[i], relpath, 0) == 0 ||
            fnmatch(globs[i], name, 0) == 0)
            return 1;
    return 0;
}

void ia_walk_join_to(char *p, const char *dir, size_t dir_len,
                     const char *name, size_t name_len)
{
    if (dir_len) {
        memcpy(p, dir, dir_len);
        p[dir_len] = '/';
        memcpy(p + dir_len + 1, name, name_len + 1);
    } else {
        memcpy(p, name, name_len + 1);
    }
}

char *ia_walk_join(const char *dir, size_t dir_len, const char *name)
{
    size_t nl = strlen(name), n;
    char *p;
    if (__builtin_add_overflow(dir_len, nl, &n) ||
        __builtin_add_overflow(n, 2, &n))
        return NULL;
    p = malloc(n);
    if (p)
        ia_walk_join_to(p, dir, dir_len, name, nl);
    return p;
}

int ia_walk_excluded_in(const char *const *globs, size_t n, const char *dir,
                        size_t dir_len, const char *name)
{
    if (!n)
        return 0;
    char *rel = ia_walk_join(dir, dir_len, name);
    int skip = !rel || ia_walk_excluded(globs, n, rel);
    free(rel);
    return skip;
}
