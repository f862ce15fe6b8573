/*
 * The walk: every entry under a root in a deterministic order (children
 * sorted bytewise at each level, depth first), with split and label from
 * the layout (DESIGN.md "Layouts"), or the rows of a CSV manifest sorted by
 * path. Memory is O(depth x folder size), not O(files).
 *
 * An archive found by either (a .tar, .tar.gz, .tgz, .tar.zst or .zip
 * file) is not an entry: its members are, read in place in the archive's
 * order, with their bytes (docs/archives.md). A walk may also be of one
 * archive in the root folder, or of one archive read from a stream.
 */
#ifndef IA_WALK_H
#define IA_WALK_H

#include "core/core.h"
#include "read/read.h"

typedef struct ia_walk_options {
    const char *root;          /* the root folder (NULL with stream) */
    const char *manifest;      /* NULL: folder layout */
    int follow_symlinks;
    int allow_outside;         /* manifest paths outside root allowed */
    /* Walk only this archive, a name in root ("archive" layout). */
    const char *archive;
    /* Read one archive from stream_fd (not closed), its members named
     * stream_name/MEMBER ("archive" layout, no root). */
    int stream;
    int stream_fd;
    const char *stream_name;
    /* Archives: the .json field of a sample's label (NULL: none); the
     * limits (0: IA_DEFAULT_MAX_MEMBERS, IA_DEFAULT_MAX_FILE_BYTES);
     * whether a member's name is an image's (NULL: none is); which first
     * bytes of a member are held whole (read/read.h; NULL: all). */
    const char *label_field;
    uint64_t max_members;
    uint64_t max_member_bytes;
    int (*is_image)(const char *name);
    ia_read_keep_fn keep;
    /* An archive for which this returns non-zero is not opened (another
     * shard's: its members and notes are all that shard's). NULL: all. */
    int (*skip_archive)(void *user, const char *relpath);
    void *user;
    /* Entries whose relpath or name one of these globs matches are not
     * returned (ia_walk_excluded); folders matched are not entered. */
    const char *const *exclude;
    size_t nexclude;
    /* A folder walk may lstat the names of a large folder a batch ahead
     * in a helper thread (for a caller that has a CPU to spare: the
     * scan's -j 2 and up). Same entries, same order. */
    int stat_ahead;
} ia_walk_options;


/* Whether name is an archive's (by its extension, any case). */
int ia_walk_is_archive(const char *name);

typedef struct ia_walker ia_walker;

/* Opens the walk. Returns 0, IA_ERR_IO (root missing or not a folder),
 * IA_ERR_MANIFEST, or IA_ERR_NOMEM; on failure err (may be NULL) gets a
 * one-line message. */
int ia_walk_open(const ia_walk_options *opt, ia_walker **out,
                 char *err, size_t errcap);
/* Next entry (caller frees with ia_entry_free): returns 1 with *out set,
 * 0 at the end, or a negative ia_error on a tool failure (out of memory). */
int ia_walk_next(ia_walker *w, ia_entry **out);
/* The root folder, open while the walker is: entries are opened by their
 * relpath beneath it (core/core.h); -1 for a stream. */
int ia_walk_rootfd(const ia_walker *w);
/* "splits", "folders", "manifest" or "archive": known after
 * ia_walk_open. */
const char *ia_walk_layout(const ia_walker *w);
void ia_walk_close(ia_walker *w);

#endif
