/*
 * The read side of the store: a small query API over the scan DB for
 * report_*.c and export.c, which never include <sqlite3.h>. Every query
 * streams its rows to a callback; the strings and blobs in a row are
 * borrowed from SQLite and valid only during that callback. A callback
 * returns IA_OK to go on or an ia_error to stop (that code is returned by
 * the query; the callback sets the handle's message with ia_store_fail).
 *
 * A DB may be hostile (docs/security.md): whatever its rows hold, the
 * structs below hold what they promise (store_col.h): strings not marked
 * "may be NULL" are never NULL ("" for a NULL in the row), severities are
 * IA_SEV_INFO..IA_SEV_ERROR, counts are never negative, kinds are
 * "exact", "pixel", "near" or "unknown". Strings are any bytes otherwise:
 * writers sanitise them for their format.
 *
 * Sums of pixel values are kept in 128-bit integers so means and
 * standard deviations over millions of images are computed exactly
 * (ia_sums_mean_std in report.h), never from floats accumulated row by
 * row.
 */
#ifndef IA_STORE_QUERY_H
#define IA_STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "imgaudit.h"
#include "codes.h"

__extension__ typedef unsigned __int128 ia_u128;

/* Exact pixel sums over one image or many: n pixels (per channel), RGB. */
typedef struct ia_sums {
    uint64_t images;    /* images that contributed */
    ia_u128 n;
    ia_u128 sum[3];
    ia_u128 sumsq[3];
} ia_sums;


/* ---- scans ----------------------------------------------------------- */

typedef struct ia_q_scan {
    int64_t id;
    const char *name, *root, *layout, *options, *tool_version;
    const char *started_at;
    const char *finished_at;   /* NULL while unfinished */
    int complete;
    int64_t files, decoded, bytes, pixels;    /* >= 0 */
} ia_q_scan;

typedef int (*ia_q_scan_cb)(void *user, const ia_q_scan *s);

/* The one scan with that id (IA_ERR_NOT_FOUND when none). */
int ia_q_scan_get(ia_db *db, int64_t scan_id, ia_q_scan_cb cb, void *user);
/* Every scan, by id. */
int ia_q_scan_list(ia_db *db, ia_q_scan_cb cb, void *user);

/* ---- counts ---------------------------------------------------------- */

/* Files per status, indexed by ia_status (statuses unknown to this tool
 * are ignored). */
int ia_q_status_counts(ia_db *db, int64_t scan_id,
                       uint64_t counts[IA_ST_COUNT]);
/* Findings per severity: counts[IA_SEV_INFO..IA_SEV_ERROR]. */
int ia_q_severity_counts(ia_db *db, int64_t scan_id, uint64_t counts[3]);

typedef struct ia_q_code {
    const char *code;
    int severity;
    uint64_t n;
} ia_q_code;
typedef int (*ia_q_code_cb)(void *user, const ia_q_code *c);
/* Findings per (severity, code), severity descending then code. */
int ia_q_code_counts(ia_db *db, int64_t scan_id, ia_q_code_cb cb,
                     void *user);

/* ---- splits and labels ----------------------------------------------- */

typedef struct ia_q_split {
    const char *split;      /* folder name as found; "" when none */
    const char *canonical;  /* "train", "val", "test" or NULL */
    uint64_t files;         /* file rows in the split */
    uint64_t labelled;      /* of which with a label */
    uint64_t images;        /* of which status ok */
    ia_sums sums;           /* over the ok images with stored sums */
} ia_q_split;
typedef int (*ia_q_split_cb)(void *user, const ia_q_split *s);
/* One callback per split, in byte order of the split name. */
int ia_q_splits(ia_db *db, int64_t scan_id, ia_q_split_cb cb, void *user);

typedef struct ia_q_label {
    const char *split;      /* "" when none */
    const char *label;      /* never NULL: files outside a class are left out */
    uint64_t files;
    uint64_t images;        /* status ok */
} ia_q_label;
typedef int (*ia_q_label_cb)(void *user, const ia_q_label *l);
/* Ordered by split then label, or by label then split. */
int ia_q_labels(ia_db *db, int64_t scan_id, int by_label, ia_q_label_cb cb,
                void *user);

/* ---- findings -------------------------------------------------------- */

typedef struct ia_q_finding {
    const char *code;
    int severity;
    const char *path;       /* NULL: dataset level */
    const char *detail;     /* may be NULL */
} ia_q_finding;
typedef int (*ia_q_finding_cb)(void *user, const ia_q_finding *f);
/* Findings ordered by severity descending, code, path (dataset-level
 * first), insertion. code NULL: every code; severity -1: every severity,
 * else only that one; limit 0: no limit. */
int ia_q_findings(ia_db *db, int64_t scan_id, const char *code,
                  int severity, uint64_t limit, ia_q_finding_cb cb,
                  void *user);

/* ---- duplicate groups and leaks -------------------------------------- */

typedef struct ia_q_member {
    int64_t group_id;
    const char *kind;       /* "exact", "pixel", "near" ("unknown") */
    int position;           /* 0: the group's anchor */
    int distance;           /* phash distance to the anchor (0 exact) */
    const char *path;
    const char *split;      /* NULL: none */
    const char *label;      /* NULL: none */
} ia_q_member;
typedef int (*ia_q_member_cb)(void *user, const ia_q_member *m);
/* Members of every group, grouped by group (exact, pixel, near; then in
 * the order stored), members in position order. */
int ia_q_group_members(ia_db *db, int64_t scan_id, ia_q_member_cb cb,
                       void *user);

typedef struct ia_q_leak {
    const char *kind;
    const char *a, *b;              /* paths */
    const char *a_split, *b_split;
    int distance;
} ia_q_leak;
typedef int (*ia_q_leak_cb)(void *user, const ia_q_leak *l);
int ia_q_leaks(ia_db *db, int64_t scan_id, ia_q_leak_cb cb, void *user);

/* ---- file rows (export) ---------------------------------------------- */

/* The stored columns of a file row, in export order of the DB side. */
typedef enum ia_qf {
    IA_QF_PATH, IA_QF_SPLIT, IA_QF_SPLIT_CANONICAL, IA_QF_LABEL,
    IA_QF_OUTSIDE_CLASS, IA_QF_SIZE, IA_QF_MTIME_NS, IA_QF_SHA256,
    IA_QF_FORMAT, IA_QF_EXT_FORMAT, IA_QF_STATUS, IA_QF_MESSAGE,
    IA_QF_WIDTH, IA_QF_HEIGHT, IA_QF_CHANNELS, IA_QF_BIT_DEPTH,
    IA_QF_COLOR_SPACE, IA_QF_ROWS_DECODED, IA_QF_ROWS_TOTAL,
    IA_QF_PROGRESSIVE, IA_QF_SUBSAMPLING, IA_QF_JPEG_QUALITY,
    IA_QF_EXIF_ORIENTATION, IA_QF_ICC, IA_QF_INTERLACED, IA_QF_PALETTE,
    IA_QF_HAS_ALPHA, IA_QF_ANIMATED, IA_QF_FRAMES,
    IA_QF_PIXELS, IA_QF_SUM_R, IA_QF_SUM_G, IA_QF_SUM_B,
    IA_QF_SUMSQ_R, IA_QF_SUMSQ_G, IA_QF_SUMSQ_B,
    IA_QF_MIN_R, IA_QF_MIN_G, IA_QF_MIN_B,
    IA_QF_MAX_R, IA_QF_MAX_G, IA_QF_MAX_B,
    IA_QF_BRIGHTNESS, IA_QF_CONTRAST, IA_QF_ENTROPY, IA_QF_SHARPNESS,
    IA_QF_FRAC_BLACK, IA_QF_FRAC_WHITE, IA_QF_IS_CONSTANT, IA_QF_ALPHA_USED,
    IA_QF_PIXEL_HASH, IA_QF_PHASH, IA_QF_DHASH, IA_QF_HASH_UNIFORM,
    IA_QF_FINDINGS,         /* the file's finding codes, ';'-joined */
    IA_QF_COUNT
} ia_qf;

typedef enum ia_qtype {
    IA_QV_NULL = 0, IA_QV_INT, IA_QV_REAL, IA_QV_TEXT, IA_QV_BLOB
} ia_qtype;

typedef struct ia_qval {
    int type;               /* ia_qtype */
    int64_t i;
    double d;
    const char *s;          /* TEXT (NUL-terminated) */
    const uint8_t *blob;    /* BLOB */
    size_t len;             /* bytes of s or blob */
} ia_qval;

typedef struct ia_q_file {
    ia_qval v[IA_QF_COUNT];
} ia_q_file;
typedef int (*ia_q_file_cb)(void *user, const ia_q_file *f);
/* File rows in path order. problems_only: status not ok, or a finding of
 * severity warning or error. */
int ia_q_files(ia_db *db, int64_t scan_id, int problems_only,
               ia_q_file_cb cb, void *user);

/* ---- for store_query.c and tests only -------------------------------- */

struct sqlite3;
/* The handle's connection. */
struct sqlite3 *ia_store_sqlite(ia_db *db);
/* Sets the handle's message to "what: <sqlite message>"; IA_ERR_DB. */
int ia_store_sqlfail(ia_db *db, const char *what);
/* The schema version this tool writes (migrations known), and the one of
 * the open DB (a read-only handle may hold an older one). */
int ia_store_schema_latest(void);
int ia_store_schema_version(const ia_db *db);
/* The PRAGMA application_id of imgaudit DBs. */
#define IA_STORE_APPLICATION_ID 0x69417564 /* "iAud" */
/* Files per transaction while scanning. */
#define IA_STORE_BATCH 2000

#endif
