/*
 * Opening a dataset file beneath the scan's root without going through a
 * symlink: the one way the scan's reader, its --resume and --trust-mtime
 * stats and the HTML reports' thumbnails reach a file (docs/security.md,
 * "Symlinks and the root").
 */
#ifndef IA_OPENAT_BENEATH_H
#define IA_OPENAT_BENEATH_H

#include <sys/stat.h>

/* Opens relpath relative to the folder rootfd with the open(2) flags, as
 * openat(2) would, except that unless follow is set no symlink is
 * followed, neither the file nor any folder on the way, and ".." is
 * refused. Returns the descriptor, or -1 with errno:
 *   ELOOP   the file itself is a symlink (with O_PATH in flags the link
 *           itself is opened instead, as O_PATH | O_NOFOLLOW does);
 *   EXDEV   a folder on the way is a symlink, or a ".." component;
 *   others  as openat(2): ENOENT, ENOTDIR, EACCES, ENAMETOOLONG (a path
 *           of PATH_MAX bytes or more) ...
 * With follow (--follow-symlinks) it is openat(2) itself. An absolute
 * relpath is beneath nothing: it is opened as given, its last component
 * not followed unless follow; only a manifest row the user allowed
 * outside the root (--allow-outside) is one. */
int ia_open_beneath(int rootfd, const char *relpath, int flags, int follow);

/* Whether relpath has a ".." component (which ia_open_beneath refuses
 * with EXDEV unless follow). */
int ia_path_climbs(const char *relpath);

/* lstat(2) of relpath beneath rootfd (stat(2) with follow) by the same
 * rules: the fstat of ia_open_beneath(O_PATH). 0, or -1 with errno. */
int ia_stat_beneath(int rootfd, const char *relpath, int follow,
                    struct stat *st);

#endif
