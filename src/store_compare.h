/*
 * The reads `imgaudit compare` needs (store_compare.c), in the style of
 * store_query.h: each query streams rows to a callback; strings and blobs
 * are borrowed from SQLite and valid only during the callback; a callback
 * returns IA_OK to go on or an ia_error to stop. Only SELECTs: compare
 * opens both databases read-only and never writes.
 */
#ifndef IA_STORE_COMPARE_H
#define IA_STORE_COMPARE_H

#include <stdint.h>

#include "imgaudit.h"

/* The columns of a file row that compare uses. Unknown integers are -1,
 * unknown reals NaN, unknown strings NULL; a row without path, format or
 * status (a hostile DB, docs/security.md) fails the query. */
typedef struct ia_qc_file {
    const char *path;
    const char *split;            /* folder name as found; NULL: none */
    const char *split_canonical;  /* "train", "val", "test" or NULL */
    const char *label;
    const char *format;
    const char *status;
    const char *color_space;
    int64_t size, width, height, jpeg_quality;
    double brightness, contrast, sharpness, entropy;
    int64_t pixels;               /* -1: no pixel sums */
    int64_t sum[3], sumsq[3];
    const uint8_t *sha256;        /* 32 bytes, or NULL */
    const uint8_t *pixel_hash;    /* 16 bytes, or NULL */
} ia_qc_file;
typedef int (*ia_qc_file_cb)(void *user, const ia_qc_file *f);

/* Every file row of the scan, in byte order of the path (the order of the
 * UNIQUE(scan_id, path) index, so SQLite does not sort). */
int ia_qc_files(ia_db *db, int64_t scan_id, ia_qc_file_cb cb, void *user);

typedef struct ia_qc_code {
    const char *code;
    uint64_t files;      /* distinct files with a finding of this code */
    uint64_t other;      /* findings not about a stored file */
    int max_severity;    /* highest severity among them, 0..2 */
} ia_qc_code;
typedef int (*ia_qc_code_cb)(void *user, const ia_qc_code *c);

/* One row per finding code of the scan, in byte order of the code. */
int ia_qc_codes(ia_db *db, int64_t scan_id, ia_qc_code_cb cb, void *user);

typedef int (*ia_qc_path_cb)(void *user, const char *path);

/* The distinct paths of the scan's file-level findings with this code, in
 * byte order. */
int ia_qc_code_paths(ia_db *db, int64_t scan_id, const char *code,
                     ia_qc_path_cb cb, void *user);

#endif
