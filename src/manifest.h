/*
 * Private to the walk module (walk.c, manifest.c): the CSV manifest reader
 * behind ia_walk_open(opt->manifest) and the helpers both halves share to
 * classify what they find on disk the same way.
 */
#ifndef IA_MANIFEST_H
#define IA_MANIFEST_H

#include <stddef.h>
#include <sys/stat.h>

#include "entry.h"

/* A field longer than this makes its row an IA_ENT_MANIFEST_ROW. */
#define IA_MANIFEST_FIELD_MAX ((size_t)64 * 1024)

typedef struct ia_manifest ia_manifest;

/* Reads the whole CSV (rows are returned sorted by path, so all of them
 * must be seen first). root_prefix is the root as given with trailing
 * slashes removed ("" for "/"); fullpath = root_prefix + "/" + relpath;
 * rootfd is that folder, open (borrowed: kept open by the caller until
 * ia_manifest_close), beneath which rows are looked at.
 * Returns 0, IA_ERR_MANIFEST (unreadable, header without path or label)
 * or IA_ERR_NOMEM, with a one-line message in err on failure. */
int ia_manifest_open(const char *csv_path, const char *root_prefix,
                     int rootfd, int follow_symlinks, int allow_outside,
                     ia_manifest **out, char *err, size_t errcap);
/* Same contract as ia_walk_next. */
int ia_manifest_next(ia_manifest *m, ia_entry **out);
void ia_manifest_close(ia_manifest *m);

/* ---- shared by walk.c and manifest.c (defined in walk.c) ---- */

/* Grows *buf (elements of elem bytes) to hold at least need elements,
 * geometrically. Returns 0 or IA_ERR_NOMEM (buffer untouched). */
int ia_walk_grow(void **buf, size_t *cap, size_t need, size_t elem);

/* strerror_r into buf, whichever variant libc has. */
void ia_walk_errstr(int err, char *buf, size_t cap);

/* What the name at path (relative to dirfd, or AT_FDCWD) is: lstat, then
 * for a symlink either IA_ENT_SYMLINK_SKIPPED (detail: its target) or,
 * with follow, stat of the target. Sets e->kind and e->detail; sets
 * *is_dir (with *st the folder's stat) for a folder or a followed symlink
 * to one, leaving the decision to the caller; *via_link when a symlink
 * was followed. Returns 0, or the errno of a failed lstat. */
int ia_walk_classify(int dirfd, const char *path, int follow, ia_entry *e,
                     struct stat *st, int *is_dir, int *via_link);

/* root_prefix + "/" + rel, malloc'd; NULL when out of memory. */
char *ia_walk_fullpath(const char *root_prefix, const char *rel);

#endif
