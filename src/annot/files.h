/*
 * Private to the annot module: the scan's image files as check.c and
 * match.c look them up (by path and by base name), loaded once.
 */
#ifndef IA_ANNOT_FILES_H
#define IA_ANNOT_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct annot_file {
    int64_t file_id;
    char *path;
    const char *base;       /* within path */
    const char *split;      /* canonical, a static string, or NULL */
    int status_ok;
    int64_t width, height;
    int orientation;
    int annotated;          /* some source names it */
} annot_file;

typedef struct annot_files {
    annot_file *v;          /* by path */
    size_t n, cap;
    size_t *by_base;        /* indexes of v by base name */
} annot_files;

int annot_files_load(ia_db *db, int64_t scan_id, annot_files *f);
void annot_files_free(annot_files *f);
annot_file *annot_files_find(const annot_files *f, const char *path);
/* The one file of that base name, preferring split when several: NULL
 * when none or ambiguous. */
annot_file *annot_files_by_base(const annot_files *f, const char *base,
                                const char *split);
/* The split a path names: its first folder with a split name. */
const char *annot_path_split(const char *path);

#endif
