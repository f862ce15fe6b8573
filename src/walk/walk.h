/*
 * The walk: every entry under a root in a deterministic order (children
 * sorted bytewise at each level, depth first), with split and label from
 * the layout (DESIGN.md "Layouts"), or the rows of a CSV manifest sorted by
 * path. Memory is O(depth x folder size), not O(files).
 */
#ifndef IA_WALK_H
#define IA_WALK_H

#include "core/core.h"

typedef struct ia_walk_options {
    const char *root;
    const char *manifest;      /* NULL: folder layout */
    int follow_symlinks;
    int allow_outside;         /* manifest paths outside root allowed */
} ia_walk_options;

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
 * relpath beneath it (core/core.h). */
int ia_walk_rootfd(const ia_walker *w);
/* "splits", "folders" or "manifest": known after ia_walk_open. */
const char *ia_walk_layout(const ia_walker *w);
void ia_walk_close(ia_walker *w);

#endif
