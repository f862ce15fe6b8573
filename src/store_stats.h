/*
 * The SQL side of the dataset statistics (store_stats.c): reading the file
 * rows the analysis needs, writing the aggregate tables of schema 4
 * (stat_group, stat_metric, class_index) inside the scan's final
 * transaction, and reading them back for reports and compare.
 * docs/statistics.md defines every table and value.
 */
#ifndef IA_STORE_STATS_H
#define IA_STORE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "imgaudit.h"
#include "store_query.h"

/* The first schema version with the statistics tables. */
#define IA_SCHEMA_STATS 4

/* ---- reading the file rows ------------------------------------------- */

/* One file row as the statistics read it. Strings are borrowed and valid
 * during the callback only. */
typedef struct ia_stat_row {
    int64_t file_id;
    const char *split;      /* "" when none */
    const char *label;      /* "" when none */
    int measured;           /* status ok and pixel statistics stored */
    int64_t size;           /* bytes; -1 unknown */
    /* valid when measured */
    int64_t width, height;
    uint64_t pixels;
    uint64_t sum[3], sumsq[3];
    double brightness, contrast, sharpness, entropy;
    int64_t jpeg_quality;   /* -1 when not a JPEG */
} ia_stat_row;

typedef int (*ia_stat_row_cb)(void *user, const ia_stat_row *r);

/* Every file row of the scan, ordered by split, label ('' for none, byte
 * order) and id, so that each (split, label) group arrives contiguous. */
int ia_store_stat_rows(ia_db *db, int64_t scan_id, ia_stat_row_cb cb,
                       void *user);

/* ---- writing --------------------------------------------------------- */

/* One row of stat_group. split/label NULL: all; "": none. Reals that are
 * NaN and counts that are negative are stored as NULL. */
typedef struct ia_stat_group {
    const char *split, *label;
    uint64_t files, images, bytes;
    ia_sums sums;           /* n = pixels */
    int have_moments;       /* mean and std valid (pixels > 0) */
    double mean[3], std[3];
    int64_t labels;
    double imbalance, label_entropy, share;
} ia_stat_group;

/* One row of stat_metric. */
typedef struct ia_stat_metric {
    const char *split, *label, *metric;
    uint64_t n;
    double mean, std, min, q1, median, q3, max;
    double fence_low, fence_high;
} ia_stat_metric;

typedef struct ia_stat_writer ia_stat_writer;

/* Opens a savepoint inside the scan's open transaction (beginning one if
 * none is open), deletes what an earlier run stored for the scan (its
 * stat rows and the findings with the given codes, so that running the
 * analysis again replaces rather than adds) and prepares the inserts. */
int ia_store_stats_begin(ia_db *db, int64_t scan_id,
                         const char *const *codes, size_t ncodes,
                         ia_stat_writer **out);
/* Releases the savepoint (ok) or rolls back to it (failure: nothing of
 * this run remains); frees w. Returns the first failure. */
int ia_store_stats_end(ia_stat_writer *w, int ok);

int ia_store_stat_group(ia_stat_writer *w, const ia_stat_group *g);
int ia_store_stat_metric(ia_stat_writer *w, const ia_stat_metric *m);
int ia_store_class_index(ia_stat_writer *w, const char *split,
                         const char *label, int64_t idx);
/* A finding of the analysis about file_id (its path looked up), or about
 * the dataset when file_id is 0. */
int ia_store_stat_finding(ia_stat_writer *w, int64_t file_id,
                          const char *code, int severity, const char *detail);

/* ---- reading back (reports, compare) --------------------------------- */

/* Whether the DB has the statistics tables (schema >= 4). Older DBs are
 * read without them. */
int ia_store_has_stats(const ia_db *db);

/* A stat_group row: split/label NULL for "all". */
typedef struct ia_q_stat_group {
    const char *split, *label;
    uint64_t files, images, bytes, pixels;
    int have_moments;
    double mean[3], std[3];
    int64_t labels;                 /* -1: NULL */
    double imbalance, label_entropy, share;   /* NaN: NULL */
} ia_q_stat_group;
typedef int (*ia_q_stat_group_cb)(void *user, const ia_q_stat_group *g);
/* Rows ordered scan first, then each split followed by its labels (split
 * and label in byte order). Nothing when the DB predates schema 4. */
int ia_q_stat_groups(ia_db *db, int64_t scan_id, ia_q_stat_group_cb cb,
                     void *user);

typedef struct ia_q_class {
    const char *split, *label;
    int64_t idx;
} ia_q_class;
typedef int (*ia_q_class_cb)(void *user, const ia_q_class *c);
/* The class index per split, ordered by split then index. */
int ia_q_class_index(ia_db *db, int64_t scan_id, ia_q_class_cb cb,
                     void *user);

/* The per-image metrics a two-sample test compares (docs/statistics.md),
 * computed from the file table so that no image is decoded again. */
typedef enum ia_metric {
    IA_M_WIDTH, IA_M_HEIGHT, IA_M_ASPECT, IA_M_SIDE, IA_M_BYTES,
    IA_M_BRIGHTNESS, IA_M_CONTRAST, IA_M_SHARPNESS, IA_M_SHARPNESS_REL,
    IA_M_ENTROPY, IA_M_JPEG_QUALITY,
    IA_M_COUNT
} ia_metric;

/* "width", "height", "aspect", ...; NULL out of range. */
const char *ia_metric_name(int m);
/* -1 when unknown. */
int ia_metric_parse(const char *name);
/* Metric m of one file row (docs/statistics.md); NaN when the row has no
 * such value (not decoded, a PNG's jpeg_quality, the sharpness of an
 * image under 3x3 pixels, the relative sharpness of a flat image). */
double ia_metric_of(const ia_stat_row *r, int m);

/* The values of metric m over the decoded images of the scan, sorted
 * ascending, images without a value (a PNG's jpeg_quality) left out.
 * split/label NULL: every split/label; "" only the files without one.
 * *vals is malloc'd (NULL when *n is 0); the caller frees it. */
int ia_q_metric_values(ia_db *db, int64_t scan_id, const char *split,
                       const char *label, int m, double **vals, size_t *n);

#endif
