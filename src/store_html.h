/*
 * Queries for the HTML reports (report_html.c, and the compare reports
 * through html.h users), in the style of store_query.h: rows streamed to
 * a callback, strings borrowed for the callback's duration, a callback
 * returns IA_OK to go on or an ia_error to stop.
 */
#ifndef IA_STORE_HTML_H
#define IA_STORE_HTML_H

#include <stdint.h>

#include "imgaudit.h"

/* ---- measures of decoded images (histograms) ------------------------- */

typedef struct ia_q_measure {
    const char *split;      /* "" when none */
    const char *format;     /* "jpeg", "png", ... */
    int has_brightness;
    double brightness;      /* mean luma, 0-255 */
    int64_t width, height;  /* pixels; 0 when unknown */
    int64_t bytes;          /* file size */
    int jpeg_quality;       /* 1-100, or -1 when unknown / not JPEG */
} ia_q_measure;
typedef int (*ia_q_measure_cb)(void *user, const ia_q_measure *m);
/* One row per file with status ok, in path order. */
int ia_q_measures(ia_db *db, int64_t scan_id, ia_q_measure_cb cb,
                  void *user);

/* ---- findings about stored files ------------------------------------- */

typedef struct ia_q_code_files {
    const char *code;       /* never NULL */
    int severity;           /* 0..2 */
    uint64_t findings;      /* all findings with this code and severity */
    uint64_t files;         /* of which about a stored file */
} ia_q_code_files;
typedef int (*ia_q_code_files_cb)(void *user, const ia_q_code_files *c);
/* Per (severity, code): severity descending, then code. */
int ia_q_code_file_counts(ia_db *db, int64_t scan_id, ia_q_code_files_cb cb,
                          void *user);

typedef struct ia_q_flagged {
    const char *path;
    const char *split;      /* NULL: none */
    const char *label;      /* NULL: none */
    const char *detail;     /* may be NULL */
} ia_q_flagged;
typedef int (*ia_q_flagged_cb)(void *user, const ia_q_flagged *f);
/* The stored files with a finding of this code and severity, in path
 * order, at most limit (0: no limit). */
int ia_q_flagged_files(ia_db *db, int64_t scan_id, const char *code,
                       int severity, uint64_t limit, ia_q_flagged_cb cb,
                       void *user);

/* ---- what thumbnails check a file against ----------------------------- */

/* What a scan stored of one file: a thumbnail shows the file only while
 * it still holds these bytes (docs/security.md, "Thumbnails"). */
typedef struct ia_q_ident {
    int64_t size;           /* -1: no such file in the scan, or no size */
    int have_sha256;        /* 0: the scan did not read the file */
    uint8_t sha256[32];
} ia_q_ident;

/* A lookup by path in one scan's files, prepared once. */
typedef struct ia_q_idents ia_q_idents;
int ia_q_idents_open(ia_db *db, int64_t scan_id, ia_q_idents **out);
/* The stored size and SHA-256 of the file at path. IA_OK or an ia_error
 * (the message on the db handle). */
int ia_q_ident_get(ia_q_idents *q, const char *path, ia_q_ident *out);
void ia_q_idents_free(ia_q_idents *q);

#endif
