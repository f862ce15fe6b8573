/*
 * Private to the walk module: the producers of entries behind walk.h (a
 * folder walk, folder.c; a CSV manifest, manifest.c; the members of an
 * archive, archive.c), each a small table
 * of functions that walk.c drives without naming a layout, and the
 * helpers they share (classify.c) to classify what they find on disk the
 * same way. A new input source is one file and one open function here.
 */
#ifndef IA_WALK_SOURCE_H
#define IA_WALK_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/core.h"

/* A producer of entries. next: same contract as ia_walk_next; layout:
 * the name ia_walk_layout returns; close: frees self (NULL allowed). */
typedef struct ia_source_ops {
    int (*next)(void *self, ia_entry **out);
    const char *(*layout)(const void *self);
    void (*close)(void *self);
} ia_source_ops;

typedef struct ia_source {
    const ia_source_ops *ops;
    void *self;
} ia_source;

/* The producers. root_prefix is the root as given with trailing slashes
 * removed ("" for "/"), rootfd the root folder, both borrowed for the
 * life of the source; fullpath = root_prefix + "/" + relpath. Each
 * returns 0 with *out set, IA_ERR_IO or IA_ERR_MANIFEST with a one-line
 * message in err, or IA_ERR_NOMEM. */

/* The folder walk: lists the root at once. stat_ahead: a helper thread
 * may lstat names ahead of the walk (folder.c). */
int ia_folder_open(const char *root_prefix, int rootfd, int follow,
                   const char *const *exclude, size_t nexclude,
                   int stat_ahead, ia_source *out, char *err, size_t errcap);

/* A field longer than this makes its row an IA_ENT_MANIFEST_ROW. */
#define IA_MANIFEST_FIELD_MAX ((size_t)64 * 1024)

/* The CSV manifest: reads the whole CSV at once (rows are returned sorted
 * by path, so all of them must be seen first). */
int ia_manifest_open(const char *csv_path, const char *root_prefix,
                     int rootfd, int follow_symlinks, int allow_outside,
                     ia_source *out, char *err, size_t errcap);

/* What the archive producer takes from the walk's options (walk.h); all
 * borrowed for the life of the walker. */
struct ia_reader;
typedef struct ia_archive_config {
    const char *label_field;    /* NULL: a .json gives no label */
    uint64_t max_members;       /* entries per archive */
    uint64_t max_member_bytes;  /* a member's bytes */
    int (*is_image)(const char *name);  /* by its name: a sample's image */
    struct ia_reader *reader;   /* reads the members (keep rule set) */
} ia_archive_config;

/* The members of the archive open at fd (taken: closed with the source,
 * or on failure) found at at->relpath, with at's split and label as the
 * place of its members; root_prefix borrowed. A stream that is no archive
 * or breaks is not a failure: the source yields the notes that say so.
 * Returns 0 or IA_ERR_NOMEM. */
int ia_archive_open(int fd, const char *root_prefix, const ia_entry *at,
                    const ia_archive_config *cfg, ia_source *out);

/* ---- shared by the producers (classify.c) ---- */

/* Grows *buf (elements of elem bytes) to hold at least need elements,
 * geometrically. Returns 0 or IA_ERR_NOMEM (buffer untouched). */
int ia_walk_grow(void **buf, size_t *cap, size_t need, size_t elem);

/* dir + "/" + name (name alone when dir_len is 0), malloc'd; NULL when
 * out of memory. */
char *ia_walk_join(const char *dir, size_t dir_len, const char *name);
/* The same written to p, which holds dir_len + strlen(name) + 2 bytes
 * (name_len is strlen(name)). */
void ia_walk_join_to(char *p, const char *dir, size_t dir_len,
                     const char *name, size_t name_len);

/* Whether relpath is left out by one of the n --exclude globs: fnmatch(3)
 * without flags against the whole relative path ("*" crosses "/") or
 * against its last component. */
int ia_walk_excluded(const char *const *globs, size_t n, const char *relpath);

/* ia_walk_excluded for name in the folder dir (dir_len bytes); also 1
 * when out of memory: a helper that cannot tell leaves the name to the
 * walker. */
int ia_walk_excluded_in(const char *const *globs, size_t n, const char *dir,
                        size_t dir_len, const char *name);

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
/* The same after the lstat, done by the caller: lstat_err 0 with *st its
 * result, or its errno (returned as is). */
int ia_walk_classify_from(int dirfd, const char *path, int follow,
                          int lstat_err, ia_entry *e, struct stat *st,
                          int *is_dir, int *via_link);

/* root_prefix + "/" + rel, malloc'd; NULL when out of memory. */
char *ia_walk_fullpath(const char *root_prefix, const char *rel);

#endif
