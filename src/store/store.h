/*
 * The store module's interface: the only code that speaks SQLite. The
 * handle and the scan's writes (db.c, write.c), the queries every reader
 * uses (query.c), duplicate groups and leaks (groups.c), the dataset
 * statistics (stats.c), the SQL of the HTML report (html.c) and of
 * compare (compare.c), merging shards (merge.c), rescans reusing a scan
 * (reuse.c, follow.c). Private to the module: db.h (the connection),
 * col.h (reading hostile columns), lock.h (the writer lock), copy.h
 * (whole copies).
 */
#ifndef IA_STORE_H
#define IA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "imgaudit.h"
#include "core/core.h"

/*
 * The findings store: the only module that speaks SQLite (store*.c are the
 * only files that include <sqlite3.h>). One connection per ia_db handle,
 * owned by one thread. Schema and migrations: docs/schema.md.
 *
 * Writing: ia_store_scan_begin, then ia_store_file / ia_store_finding for
 * each result in walk order (batched into large transactions internally),
 * then ia_store_scan_finish, which commits and sets the complete flag in
 * the last transaction.
 */

/* Sets the handle's message (printf-style); returns err for chaining. */
int ia_store_fail(ia_db *db, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct ia_scan_meta {
    const char *name;
    const char *root;          /* absolute path of the root */
    const char *layout;        /* "splits", "folders", "manifest" */
    const char *options_json;  /* the options that shape results */
    const char *tool_version;
    const char *started_at;    /* ISO 8601 UTC */
    unsigned shard_k, shard_n; /* shard K of N (docs/scale-out.md); shard_n
                                  0: not a shard (NULL columns) */
} ia_scan_meta;

int ia_store_scan_begin(ia_db *db, const ia_scan_meta *m, int64_t *scan_id);
/* For a scan into a DB with no file rows yet: drops the file table's
 * three secondary indexes, so rows go in without a B-tree insert into
 * each; at a million files the (scan_id, sha256) index's random inserts
 * were most of the scan's system time (every one read and rewrote a page
 * of a 47 MB index). ia_store_restore_file_indexes builds them in one
 * sorted pass each; the scan calls it before its analysis and
 * ia_store_scan_finish in any case. A writer that opens a DB without
 * them (a scan killed meanwhile) rebuilds them; readers accept their
 * absence (slower queries, the same results). */
int ia_store_defer_file_indexes(ia_db *db);
int ia_store_restore_file_indexes(ia_db *db);

/* Stores one file row and all of r->findings (with file_id set). */
int ia_store_file(ia_db *db, int64_t scan_id, const ia_entry *e,
                  const ia_file_result *r, int64_t *file_id);

/* A finding added by the dataset-wide analysis after the walk (stage
 * 'analysis'): attached to a file row (file_id > 0) or dataset-level
 * (file_id 0, path may be NULL). Merge never copies these: it runs the
 * analysis again over the merged files. */
int ia_store_finding(ia_db *db, int64_t scan_id, int64_t file_id,
                     const char *path, const char *code, int severity,
                     const char *detail);
/* ia_store_finding about a loader profile (loader NULL: none) and a
 * duplicate group (group_id 0: none), migration 6. */
int ia_store_finding_about(ia_db *db, int64_t scan_id, int64_t file_id,
                           const char *path, const char *code, int severity,
                           const char *detail, const char *loader,
                           int64_t group_id);
/* A finding the walk stores about a path that is not a file row (symlink,
 * junk or unreadable folder, manifest row): stage 'walk', copied by
 * merge. */
int ia_store_note(ia_db *db, int64_t scan_id, const char *path,
                  const char *code, int severity, const char *detail);

/* Runs the dataset-wide analysis that only needs SQL over the stored
 * rows (mode-mix severities), fills the scan's totals, sets finished_at
 * and, if complete, the complete flag; commits. */
int ia_store_scan_finish(ia_db *db, int64_t scan_id, int complete,
                         const char *finished_at);

/* For writers of file rows outside store/write.c (store/reuse.c), so their
 * rows share the scan's batched transactions: open the batch before a
 * file's rows, then report the file done (ok) or failed (the open batch is
 * rolled back; the failure's message stays on the handle). */
int ia_store_batch_open(ia_db *db);
int ia_store_batch_done(ia_db *db, int ok);
/* Commits the open batch, if any (the index builds and the last files of
 * a scan): another connection then reads everything stored. */
int ia_store_batch_close(ia_db *db);

/* The DB file another read-only handle (ia_db_open) may open to read, in
 * parallel, everything this handle has stored: only when nothing is left
 * uncommitted and the DB is in WAL mode (else NULL). */
const char *ia_store_reader_path(ia_db *db);

/* Totals of a scan for the summary line. */
int ia_store_scan_totals(ia_db *db, int64_t scan_id, ia_scan_summary *out);

/* The scan whose file, finding, group and statistics rows scan_id reads:
 * scan_id itself, or the scan an unchanged rescan shares its rows with
 * (scan.same_as, schema 5). Every reader of those rows goes through this;
 * the scan row itself (name, root, times, totals) stays scan_id's. On a
 * failure scan_id is returned, so the query that follows reports it. */
int64_t ia_store_rows_scan(ia_db *db, int64_t scan_id);
/* Finishes scan_id as an unchanged rescan of same_as (a complete scan
 * with rows of its own): no rows are written, the totals are copied, and
 * the scan is complete. Commits. */
int ia_store_scan_share(ia_db *db, int64_t scan_id, int64_t same_as,
                        const char *finished_at);

/* Resolves a scan reference (name, numeric id, NULL = latest complete, or
 * latest when none complete). IA_ERR_NOT_FOUND with a message otherwise. */
int ia_store_resolve_scan(ia_db *db, const char *ref, int64_t *scan_id);


/* ---- Archive members (store/samples.c) ------------------------------ */

/* A file row read from an archive (docs/archives.md); strings borrowed
 * during the callback. */
typedef struct ia_member_row {
    int64_t file_id;
    const char *path;       /* ARCHIVE/MEMBER */
    const char *archive;
} ia_member_row;
typedef int (*ia_member_row_cb)(void *user, const ia_member_row *r);
/* The scan's file rows with an archive, in id (walk) order. */
int ia_store_member_rows(ia_db *db, int64_t scan_id, ia_member_row_cb cb,
                         void *user);

/* ---- Dataset-wide duplicate analysis (store/groups.c) ---------------- */

/* One image file of a scan, as the duplicate analysis needs it. split and
 * label index the names arrays (0 = NULL, i = names[i - 1]). */
typedef struct ia_hash_row {
    int64_t file_id;
    uint32_t split;
    uint32_t label;
    /* Bytes, not ints: a million of these rows are held at once (88
     * bytes a row, 104 with ints). */
    uint8_t split_rank;     /* 0 train, 1 val, 2 test, 3 other or none */
    uint8_t status_ok;      /* 0/1, as are the next four */
    uint8_t have_sha, have_pixel, have_phash, uniform;
    uint8_t sha256[32];
    uint8_t pixel_hash[16];
    uint64_t phash, dhash;
} ia_hash_row;

typedef struct ia_hash_rows {
    ia_hash_row *rows;   /* in file id (walk) order */
    size_t n, cap;
    char **splits;
    size_t nsplits;
    char **labels;
    size_t nlabels;
} ia_hash_rows;

/* The files of a scan with a recognised image format and a SHA-256. */
int ia_store_load_hash_rows(ia_db *db, int64_t scan_id, ia_hash_rows *out);
void ia_hash_rows_free(ia_hash_rows *h);
int ia_store_file_path(ia_db *db, int64_t file_id, char *buf, size_t cap);
/* A group (kind "exact", "pixel" or "near") with its members in order and
 * each member's distance to the first. */
int ia_store_group(ia_db *db, int64_t scan_id, const char *kind,
                   const int64_t *file_ids, const int *distance, size_t n,
                   int64_t *group_id);
int ia_store_leak(ia_db *db, int64_t scan_id, int64_t group_id,
                  const char *kind, int64_t a, int64_t b, int distance);

/*
 * The read side of the store: a small query API over the scan DB for
 * report_*.c and export.c, which never include <sqlite3.h>. Every query
 * streams its rows to a callback; the strings and blobs in a row are
 * borrowed from SQLite and valid only during that callback. A callback
 * returns IA_OK to go on or an ia_error to stop (that code is returned by
 * the query; the callback sets the handle's message with ia_store_fail).
 *
 * A DB may be hostile (docs/security.md): whatever its rows hold, the
 * structs below hold what they promise (store/col.h): strings not marked
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
    /* ia_q_scan_list only (0 from ia_q_scan_get): the scan whose rows
     * this one reads (0: its own), how many scans read its rows, and
     * its own rows (files and findings). */
    int64_t same_as, sharers, own_rows;
} ia_q_scan;

typedef int (*ia_q_scan_cb)(void *user, const ia_q_scan *s);

/* The one scan with that id (IA_ERR_NOT_FOUND when none). */
int ia_q_scan_get(ia_db *db, int64_t scan_id, ia_q_scan_cb cb, void *user);
/* Every scan, by id. */
int ia_q_scan_list(ia_db *db, ia_q_scan_cb cb, void *user);
/* The DB's bytes in use (pages less free pages) and its rows of files and
 * findings of every scan: a scan's share of the bytes is estimated from
 * its share of the rows. */
int ia_q_db_usage(ia_db *db, int64_t *bytes, int64_t *rows);
/* Deletes the scan (its rows go with it: ON DELETE CASCADE) in one
 * transaction. IA_ERR_ARG with a message when other scans read its rows
 * (same_as), so deleting it would take theirs. */
int ia_store_scan_delete(ia_db *db, int64_t scan_id);
/* Rebuilds the DB file without its free pages (VACUUM) and truncates the
 * WAL: the space deleted rows held goes back to the file system. */
int ia_store_vacuum(ia_db *db);

/* ---- counts ---------------------------------------------------------- */

/* Files per status, indexed by ia_status (statuses unknown to this tool
 * are ignored). */
int ia_q_status_counts(ia_db *db, int64_t scan_id,
                       uint64_t counts[IA_ST_COUNT]);
/* Findings per severity: counts[IA_SEV_INFO..IA_SEV_ERROR]. */
int ia_q_severity_counts(ia_db *db, int64_t scan_id, uint64_t counts[3]);

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
    const char *loader;     /* the loader profile it is about; may be NULL */
    int64_t group_id;       /* the duplicate group it is about; 0: none */
} ia_q_finding;
typedef int (*ia_q_finding_cb)(void *user, const ia_q_finding *f);
/* Findings ordered by severity descending, code, path (dataset-level
 * first), insertion. code NULL: every code; severity -1: every severity,
 * else only that one; limit 0: no limit. */
int ia_q_findings(ia_db *db, int64_t scan_id, const char *code,
                  int severity, uint64_t limit, ia_q_finding_cb cb,
                  void *user);

/* ---- the lens: which findings readers see, at which severity -------- */

/* A policy's severity for a finding code (docs/compare.md, "Policy
 * file"): IA_SEV_INFO..IA_SEV_ERROR, or -1 to hide the code. */
typedef struct ia_lens_sev {
    const char *code;
    int severity;
} ia_lens_sev;

/* Every query of this handle that reads findings (counts, lists, the
 * export's findings, compare's health) sees them through the lens set
 * here: the loader findings of the profiles named (n 0: of every
 * profile) and each code at the policy's severity (nsev 0: as stored),
 * until the next call. A handle starts with the empty lens. */
int ia_store_set_lens(ia_db *db, const char *const *loaders, size_t n,
                      const ia_lens_sev *sev, size_t nsev);

typedef int (*ia_q_name_cb)(void *user, const char *name);
/* The loader profiles the lens shows, by name (none: every profile). */
int ia_q_lens_loaders(ia_db *db, ia_q_name_cb cb, void *user);

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

/* The other members of a duplicate group than the file at path, in
 * position order: the partners a leak or conflict finding names. */
typedef struct ia_q_partner {
    const char *path;
    const char *split;      /* NULL: none */
    const char *label;      /* NULL: none */
    int position;           /* 0: the group's anchor */
} ia_q_partner;
typedef int (*ia_q_partner_cb)(void *user, const ia_q_partner *p);
int ia_q_partners(ia_db *db, int64_t group_id, const char *path,
                  ia_q_partner_cb cb, void *user);

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
    IA_QF_LOADER_FACTS,     /* schema 6; NULL before */
    IA_QF_GROUPS,           /* the duplicate groups of the file's leak and
                               conflict findings: ids ','-joined, NULL */
    IA_QF_PARTNERS,         /* the other members of those groups: paths
                               joined by '\x1f' (a byte no path holds in
                               practice), in path order; NULL: none */
    IA_QF_FINDING_DETAILS,  /* "code: detail", one line per finding */
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

/* ---- for store/query.c and tests only -------------------------------- */

struct sqlite3;
/* The handle's connection. */
struct sqlite3 *ia_store_sqlite(ia_db *db);
/* Whether path is the file db has open (device and inode). */
int ia_store_same_file(ia_db *db, const char *path);
/* ia_db_open(path, IA_DB_READONLY), except that a path naming the file
 * writer has open, at the latest schema, is not checked again: writer's
 * open checked (and migrated) it, and its writer lock keeps any other
 * writer from changing it (the check builds the expected schema in
 * memory: about 1.7 ms, a rescan's --reuse of its own DB paid it twice). */
int ia_store_open_reader(ia_db *writer, const char *path, ia_db **out);
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

/*
 * The SQL side of the dataset statistics (store/stats.c): reading the file
 * rows the analysis needs, writing the aggregate tables of schema 4
 * (stat_group, stat_metric, class_index) inside the scan's final
 * transaction, and reading them back for reports and compare.
 * docs/statistics.md defines every table and value.
 */

/* The first schema version with the statistics tables. */
#define IA_SCHEMA_STATS 4
/* The first with loader findings, loader_class and finding.group_id. */
#define IA_SCHEMA_LOADERS 7

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

/*
 * The loader profiles' analysis (src/loader/, docs/loaders.md): the facts
 * of every file row it judges, and what it stores (store/loader.c).
 */

/* One file row as the loader analysis judges it; or, from the notes, an
 * empty class folder (file_id 0, path only). Strings are borrowed for
 * the callback ("" for NULL); integers -1 when unknown. */
typedef struct ia_loader_row {
    int64_t file_id;
    const char *path, *split, *label;
    int outside_class;
    const char *format, *status, *message, *color_space, *facts;
    int64_t width, height, channels, bit_depth;
    int64_t rows_decoded, rows_total, progressive, exif_orientation;
    int64_t animated;       /* 1: an animation (APNG, GIF, WebP) */
    int float_samples;      /* a float_samples finding: float TIFF */
} ia_loader_row;
typedef int (*ia_loader_row_cb)(void *user, const ia_loader_row *r);

/* The scan's file rows by id; with notes, the empty class folders the
 * walk noted (code empty_class) instead. */
int ia_store_loader_rows(ia_db *db, int64_t scan_id, int notes,
                         ia_loader_row_cb cb, void *user);
/* The rows of the n files ids[] of the scan, by split, label ('' for
 * none) and id: the second pass reads back only the files the first
 * found something to say about. */
int ia_store_loader_rows_by_id(ia_db *db, int64_t scan_id,
                               const int64_t *ids, size_t n,
                               ia_loader_row_cb cb, void *user);
/* Deletes what an earlier loader analysis of the scan stored: its
 * findings (those with a loader) and its class tables. */
int ia_store_loader_clear(ia_db *db, int64_t scan_id);
/* One row of loader_class: label's index in split as loader numbers it,
 * with the files it lists there. */
int ia_store_loader_class(ia_db *db, int64_t scan_id, const char *loader,
                          const char *split, const char *label, int64_t idx,
                          uint64_t listed);

typedef struct ia_q_loader_class {
    const char *loader, *split, *label;   /* split "" when none */
    int64_t idx;
    uint64_t listed;
} ia_q_loader_class;
typedef int (*ia_q_loader_class_cb)(void *user, const ia_q_loader_class *c);
/* The class tables of the profiles the lens shows, by loader, split and
 * index. Nothing before schema 6. */
int ia_q_loader_classes(ia_db *db, int64_t scan_id, ia_q_loader_class_cb cb,
                        void *user);

/*
 * Queries for the HTML reports (report/html.c, and the compare reports
 * through html.h users), in the style of store/store.h: rows streamed to
 * a callback, strings borrowed for the callback's duration, a callback
 * returns IA_OK to go on or an ia_error to stop.
 */

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
    uint64_t files;         /* distinct paths among them: stored files,
                               and paths that are no file row */
    uint64_t dataset;       /* findings about no path (dataset-level) */
} ia_q_code_files;
typedef int (*ia_q_code_files_cb)(void *user, const ia_q_code_files *c);
/* Per (severity, code): severity descending, then code. */
int ia_q_code_file_counts(ia_db *db, int64_t scan_id, ia_q_code_files_cb cb,
                          void *user);

/* Per severity: findings of it (as ia_q_severity_counts), distinct
 * files (paths) with at least one finding of it, and dataset-level
 * findings of it (about no path); one pass over the findings, where the
 * two calls would make two (the count of distinct paths sorts them, and
 * is most of the cost). */
int ia_q_severity_files(ia_db *db, int64_t scan_id, uint64_t counts[3],
                        uint64_t files[3], uint64_t dataset[3]);

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

/*
 * The reads `imgaudit compare` needs (store/compare.c), in the style of
 * store/store.h: each query streams rows to a callback; strings and blobs
 * are borrowed from SQLite and valid only during the callback; a callback
 * returns IA_OK to go on or an ia_error to stop. Only SELECTs: compare
 * opens both databases read-only and never writes.
 */

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

typedef int (*ia_qc_detail_cb)(void *user, const char *path,
                               const char *detail);
/* For each file whose status is not ok, the detail of its status finding
 * (the finding whose code is the status: "premature end of JPEG data
 * after 14 of 72 rows"), in byte order of the path; the first when there
 * are several, none when it has no detail. */
int ia_qc_status_details(ia_db *db, int64_t scan_id, ia_qc_detail_cb cb,
                         void *user);

/*
 * Merging shard scans into one scan (ia_merge, docs/scale-out.md): the
 * SQL half lives in store/merge.c (the only place that reads a shard's
 * rows), the checks and the sequence in merge.c.
 */

/* The scan row of a shard DB that merge needs. Strings are owned. */
typedef struct ia_shard_scan {
    int64_t scan_id;
    char *name, *root, *layout, *options, *tool_version, *started_at;
    int complete;
    unsigned k, n;
    int64_t files;       /* file rows stored (also of an unfinished scan) */
} ia_shard_scan;

/* The latest scan of shard that was made with a shard (--shard K/N).
 * IA_ERR_NOT_FOUND with a message when the DB holds none; IA_ERR_DB_VERSION
 * when its schema is not the one this tool writes. */
int ia_store_shard_scan(ia_db *shard, ia_shard_scan *out);
void ia_shard_scan_release(ia_shard_scan *s);

/* One shard to copy: its read-only handle, the scan to copy, and a label
 * for messages (the file name). */
typedef struct ia_merge_src {
    ia_db *db;
    int64_t scan_id;
    const char *label;
} ia_merge_src;

/* Copies into scan_id of db the file rows of every source, interleaved in
 * walk order (path order for a manifest layout: manifest_order), and the
 * findings with stage 'walk' (per-file results and notes); findings the
 * analysis added are left behind. A path in two sources, or a source not
 * in walk order, is IA_ERR_SHARDS with a message. *files: rows copied. */
int ia_store_merge_rows(ia_db *db, int64_t scan_id, const ia_merge_src *src,
                        size_t nsrc, int manifest_order, uint64_t *files);

/* Deletes the scans a killed run of the merge described by m left
 * unfinished (docs/scale-out.md); *removed: how many. The caller holds
 * the DB's writer lock. */
int ia_store_merge_orphans(ia_db *db, const ia_scan_meta *m,
                           int64_t *removed);

/* Deletes a half-merged scan and everything that refers to it (the
 * error message on db is kept). */
int ia_store_merge_discard(ia_db *db, int64_t scan_id);

/*
 * Incremental rescans and resumed scans (docs/performance.md).
 *
 * Reuse: before the walk, ia_reuse_load loads a compact, read-only index
 * of another scan (its DB opened read-only; it may be the DB being
 * written): SHA-256 -> file row, and path -> (size, mtime, SHA-256, file
 * row). Workers look files up in it without locks (it never changes
 * after opening); the writer thread copies the decode results of a hit
 * with ia_store_reused_file instead of the worker decoding.
 *
 * Resume: ia_resume_open reopens an incomplete scan of the DB being
 * written, clears what the dataset-wide analysis may have left in it, and
 * keeps the set of paths already stored, so the walk skips them.
 */

typedef struct ia_reuse ia_reuse;

/* The options of this scan that shape a file's decode results: a scan
 * made with other values cannot lend its results. */
typedef struct ia_reuse_params {
    const char *name;       /* this scan's name: the scan to reuse */
    uint64_t max_pixels;
    uint64_t max_file_bytes;
    int follow_symlinks;
} ia_reuse_params;

/* Opens the DB at path read-only and picks the scan to reuse: the
 * latest complete scan named p->name, else the latest complete scan,
 * else the latest scan (none: an empty index, so a first scan with
 * --reuse naming its own --db works).
 * Failures (not an imgaudit DB, another schema or tool version, other
 * decode options) are reported on target's handle. *out set only on
 * success. */
int ia_reuse_open(ia_db *target, const char *path, const ia_reuse_params *p,
                  ia_reuse **out);
void ia_reuse_free(ia_reuse *r);
/* Loads the index the lookups below search (idempotent). Separate from
 * opening because an unchanged rescan with --trust-mtime never needs it
 * (store/store.h): it is loaded before the first file is handed to a
 * worker. Not thread-safe: call before workers may look up. */
int ia_reuse_load(ia_db *target, ia_reuse *r);

/* Files of the reused scan that a hit may take over: images of a known
 * format that were not `unsupported` (decoded, or found damaged), with a
 * SHA-256. Lookups are read-only and thread-safe. */
typedef struct ia_reuse_hit {
    int64_t file_id;        /* the file row in the reused scan */
    uint8_t sha256[32];
    int format;             /* ia_fmt */
} ia_reuse_hit;

/* 1 and *file_id when a file with these bytes was decoded there. */
int ia_reuse_by_sha(const ia_reuse *r, const uint8_t sha256[32],
                    int64_t *file_id);
/* 1 and *hit when relpath was stored there with this size and mtime. */
int ia_reuse_by_stat(const ia_reuse *r, const char *relpath, int64_t size,
                     int64_t mtime_ns, ia_reuse_hit *hit);
/* The reused scan as an unchanged rescan sees it (store/store.h). */
typedef struct ia_reuse_scan {
    ia_db *src;             /* the reused DB, read-only, one snapshot */
    int64_t scan_id;        /* the reused scan; 0 when the DB had none */
    int64_t rows_id;        /* the scan whose rows it reads (same_as) */
    int complete;
    char *options, *layout;
    int64_t shard_k, shard_n;   /* -1 when not a shard */
    int same_file;          /* the reused DB is the DB being written */
} ia_reuse_scan;
const ia_reuse_scan *ia_reuse_scan_info(const ia_reuse *r);

/* Index sizes, for diagnostics and tests. */
size_t ia_reuse_count(const ia_reuse *r);

/* Writer thread: stores e as a file row of scan_id whose decode results
 * (every column but the walk's and the read's) and per-file findings are
 * copied from res->reuse_id in the reused scan; res holds what the worker
 * found without decoding (size, mtime, SHA-256, extension, and the
 * extension_mismatch finding, which depends on the path). Joins the
 * scan's batched transactions. */
int ia_store_reused_file(ia_db *db, ia_reuse *r, int64_t scan_id,
                         const ia_entry *e, const ia_file_result *res,
                         int64_t *file_id);

/* ---- resume ----------------------------------------------------------- */

typedef struct ia_resume ia_resume;

/* The scan to resume: the latest scan named name in db. It must be
 * incomplete and have the same root, options and shard, else
 * IA_ERR_ARG / IA_ERR_NOT_FOUND with a message. Clears the analysis'
 * output and the notes (the walk stores them again), loads the stored
 * paths. */
int ia_resume_open(ia_db *db, const char *name, const char *root,
                   const char *options_json, unsigned shard_k,
                   unsigned shard_n, int64_t *scan_id, ia_resume **out);
/* For a file entry of the walk: 1 when relpath is stored with this size
 * and mtime (skip it); 0 when it is not stored, or was stored with
 * another size or mtime (its row is then deleted, to be scanned again). */
int ia_resume_skip(ia_db *db, ia_resume *rs, const char *relpath,
                   int64_t size, int64_t mtime_ns, int *skip);
/* After a complete walk: deletes the stored files the walk did not see
 * (gone since the interruption). */
int ia_resume_prune(ia_db *db, ia_resume *rs);
size_t ia_resume_count(const ia_resume *rs);
void ia_resume_free(ia_resume *rs);

/*
 * Unchanged rescans (docs/performance.md): a rescan that finds exactly the
 * reused scan's files again takes its rows as they are. Into the DB it
 * reuses, it stores no rows at all: the new scan shares the reused scan's
 * (scan.same_as). Into a new DB reusing a DB of one scan, the rows are
 * copied table by table, ids and all (store/copy.h).
 *
 * The writer thread follows the reused scan while the walk repeats it:
 * each event the scan would store (a file row the workers took over
 * without decoding, a note about a path) is compared with the reused
 * scan's next file row or next 'walk' finding, in id (walk) order,
 * through two cursors on the reused DB's read-only snapshot. Nothing is
 * stored while the events match. At a file that differs (changed, added,
 * or after files removed), the runs followed so far are copied in two
 * INSERT ... SELECT statements (the reused DB, if another, attached
 * read-only to the written one), the file is stored as usual and
 * following goes on; a note that differs, a manifest's order or too many
 * changes stop it for good, and the scan goes on as a normal reusing
 * rescan. When the walk ends with
 * both cursors exhausted, every row the scan would write equals one of
 * the reused scan, in the same order, so the rows the analysis derives
 * from them would be equal too: the scan takes them and skips the
 * analysis.
 */

typedef struct ia_follow ia_follow;

/* Starts following when the new scan (scan_id, made with m) can take the
 * reused scan's rows: a complete reused scan made with the same options,
 * layout and shard. *out is NULL when it cannot (not an error). Another
 * DB file is attached to db until ia_follow_free, and when the whole
 * copy applies (store/copy.h) it starts at once: until the follower
 * stops, db is not to be used but through it. */
int ia_follow_begin(ia_db *db, const ia_reuse *r, const ia_scan_meta *m,
                    int64_t scan_id, ia_follow **out);

/* The next event of the walk, in walk order: a file entry with its result
 * (res NULL for a failed one), or a note. *same = 1: it repeats the
 * reused scan and nothing is to be stored now. *same = 0: the runs
 * followed so far have just been stored; store this event as usual (and,
 * once ia_follow_active says so, every later one). */
int ia_follow_file(ia_follow *f, const ia_entry *e, const ia_file_result *res,
                   int *same);
/* --trust-mtime, before any reading: *same = 1 when e, as the walk
 * stat'ed it, is the reused scan's next file row (path, place, size,
 * mtime) that was read (has a SHA-256): it is followed. *same = 0
 * decides nothing: the follower goes on
 * and the file is to be scanned and given to ia_follow_file or
 * ia_follow_stored. Any file row qualifies, whatever its format: trusting
 * the mtime, its bytes are those the reused row was made from. */
int ia_follow_stat(ia_follow *f, const ia_entry *e, int *same);

/* A file the scan decoded or read itself (nothing to take over: a file
 * that is not an image, say) is compared as stored: this stores it as
 * a trial row, compares that with the reused row (every column, every
 * 'walk' finding in order) and deletes it. *same as above; when 0, store
 * the file again, after the runs just stored. */
int ia_follow_stored(ia_follow *f, const ia_entry *e,
                     const ia_file_result *res, int *same);
int ia_follow_note(ia_follow *f, const ia_entry *e, const char *code,
                   int severity, int *same);

/* At the end of the walk. walk_complete: every entry was seen and
 * followed or stored. *finished 1: the scan repeated the reused scan
 * entirely and has taken its rows, totals and analysis; it is complete.
 * Otherwise the runs followed have been stored (if not already), and
 * the scan is to be finished as usual. */
int ia_follow_end(ia_follow *f, int walk_complete, const char *finished_at,
                  int *finished);

/* Files followed so far without storing a row. */
uint64_t ia_follow_count(const ia_follow *f);
/* Whether it still follows: after a few changes it does (their files are
 * stored by the caller, the runs between them copied); after many, or a
 * change it cannot follow around, it has stopped for good. */
int ia_follow_active(const ia_follow *f);

void ia_follow_free(ia_follow *f);

/* ---- Annotations (store/annot.c, schema 7) --------------------------- */

/* An image file of a scan (a recognised format) as the annotation audit
 * matches it: split is the canonical split or NULL; width, height 0 when
 * unknown; orientation the EXIF value (-1 when none). */
typedef struct ia_annot_file {
    int64_t file_id;
    const char *path;
    const char *split;
    int status_ok;
    int64_t width, height;
    int orientation;
} ia_annot_file;
typedef int (*ia_annot_file_cb)(void *user, const ia_annot_file *f);
/* The scan's image files by path. */
int ia_store_annot_files(ia_db *db, int64_t scan_id, ia_annot_file_cb cb,
                         void *user);

typedef int (*ia_dup_member_cb)(void *user, int64_t group_id,
                                const char *kind, int64_t file_id);
/* Every member of every duplicate group of the scan, group by group. */
int ia_store_dup_members(ia_db *db, int64_t scan_id, ia_dup_member_cb cb,
                         void *user);

typedef struct ia_annot_writer ia_annot_writer;
/* The writer of a scan's annotation rows, inside the scan's open batch
 * (committed by ia_store_scan_finish). */
int ia_store_annot_begin(ia_db *db, int64_t scan_id, ia_annot_writer **out);
void ia_store_annot_end(ia_annot_writer *w);
/* kind "coco" or "yolo"; split may be NULL. */
int ia_store_annot_source(ia_annot_writer *w, const char *kind,
                          const char *path, const char *split,
                          int64_t *source_id);
int ia_store_annot_category(ia_annot_writer *w, int64_t source_id,
                            int64_t category_id, const char *name);

typedef struct ia_annot_image_row {
    int64_t source_id;
    int64_t file_id;           /* 0: no file matched */
    const char *name;
    int has_coco_id;
    int64_t coco_id;
    const char *split;         /* may be NULL */
    int64_t width, height;     /* the annotation's claim; 0: none */
    const char *label_file;    /* YOLO; may be NULL */
} ia_annot_image_row;
int ia_store_annot_image(ia_annot_writer *w, const ia_annot_image_row *r,
                         int64_t *image_id);

typedef struct ia_annot_box_row {
    int64_t image_id;
    int64_t category_id;
    const char *category;      /* NULL: unknown category */
    double px[4];              /* x, y, w, h in pixels; NaN unknown */
    double norm[4];            /* the same over 0..1; NaN unknown */
    double seg_area;           /* < 0: none */
    int polygons, iscrowd;
} ia_annot_box_row;
int ia_store_annot_box(ia_annot_writer *w, const ia_annot_box_row *b);

/* Annotation balance (docs/annotations.md): per split and category the
 * images and boxes with COCO's small/medium/large counts; or, with
 * per_category 0, per split the annotated images that have a file, their
 * boxes and the most boxes on one image (category ""). split "" is none.
 * Nothing for a DB older than schema 7. */
typedef struct ia_q_annot {
    const char *split, *category;
    uint64_t images, boxes, small, medium, large, max_per_image;
} ia_q_annot;
typedef int (*ia_q_annot_cb)(void *user, const ia_q_annot *r);
int ia_q_annot_balance(ia_db *db, int64_t scan_id, int per_category,
                       ia_q_annot_cb cb, void *user);

/* For the HTML report: up to limit files with box findings (codes, comma
 * separated), by path; and a file's boxes over 0..1 (NaN when unknown). */
typedef int (*ia_q_annot_flagged_cb)(void *user, int64_t file_id,
                                     const char *path, const char *codes);
int ia_q_annot_flagged(ia_db *db, int64_t scan_id, int limit,
                       ia_q_annot_flagged_cb cb, void *user);
typedef int (*ia_q_annot_box_cb)(void *user, const double box[4]);
int ia_q_annot_boxes(ia_db *db, int64_t scan_id, int64_t file_id,
                     ia_q_annot_box_cb cb, void *user);

#endif
