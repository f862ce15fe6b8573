/*
 * imgaudit: audit image datasets for machine learning.
 *
 * The public API. The CLI (src/cli/) uses only this header; everything
 * else in src/ is internal. Conventions, as in libspng and SQLite:
 *
 *   - Opaque handles with open/close pairs; close accepts NULL.
 *   - Every function that can fail returns an int: IA_OK (0) or one of the
 *     ia_error codes below. Numbers are never reused or renumbered.
 *   - A detailed message for the last failure lives on the handle
 *     (ia_db_errmsg), never in a global.
 *   - An options struct whose zero value means every documented default;
 *     a zero limit means the default limit, never "unlimited".
 *   - A corrupt image is data (a status and findings in the DB), not an
 *     error: ia_scan() succeeds on a dataset full of broken files.
 *   - The library never prints, logs or exits; it writes only to the
 *     streams it is given and reports progress through a callback.
 *
 * Example:
 *
 *     ia_db *db = NULL;
 *     ia_scan_options opt = {0};
 *     ia_scan_summary sum;
 *     opt.root = "data/";
 *     int rc = ia_db_open("imgaudit.db", IA_DB_CREATE, &db);
 *     if (rc == IA_OK) rc = ia_scan(db, &opt, &sum);
 *     if (rc == IA_OK) rc = ia_report(db, NULL, IA_FORMAT_JSON, stdout);
 *     if (rc != IA_OK) fprintf(stderr, "%s\n", ia_db_errmsg(db));
 *     ia_db_close(db);
 */
#ifndef IMGAUDIT_H
#define IMGAUDIT_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IMGAUDIT_VERSION "0.1.0"

/* Tool failures. Explicit numbers, never renumbered. */
typedef enum ia_error {
    IA_OK = 0,
    IA_ERR_NOMEM = 1,        /* out of memory */
    IA_ERR_IO = 2,           /* the root, manifest or an output file failed */
    IA_ERR_DB = 3,           /* SQLite failed (open, read, write, full disk) */
    IA_ERR_DB_VERSION = 4,   /* DB written by a newer imgaudit */
    IA_ERR_ARG = 5,          /* invalid argument or option value */
    IA_ERR_NOT_FOUND = 6,    /* scan reference names no scan */
    IA_ERR_MANIFEST = 7,     /* manifest unreadable or malformed header */
    IA_ERR_THREAD = 8,       /* a worker thread could not be started */
    IA_ERR_INTERRUPTED = 9,  /* cancelled through ia_scan_options.cancel */
    IA_ERR_NOT_DB = 10,      /* the file is not an imgaudit database */
    IA_ERR_SHARDS = 11,      /* merge: shards missing, failed or mismatched */
    IA_ERR_BUSY = 12,        /* another handle is writing the DB */
} ia_error;

/* A static English description of an ia_error. Never NULL. */
const char *ia_strerror(int err);

/* Writes s (NULL: nothing) to out with every character that could drive
 * a terminal shown as '?': control characters (C0, DEL, and C1 whether
 * raw or UTF-8 encoded) and bytes that are not valid UTF-8. Text reports,
 * compare, the scan list and the CLI's messages print every string from
 * a dataset or a DB through it (docs/security.md). */
void ia_fput_clean(FILE *out, const char *s);

/* ---- Database handle ------------------------------------------------- */

typedef struct ia_db ia_db;

enum {
    IA_DB_READONLY = 0,  /* open an existing DB read-only (report, export) */
    IA_DB_CREATE = 1,    /* create if missing, migrate, open read-write */
};

/* Opens path. On failure *out is still set when a handle could be made, so
 * ia_db_errmsg() can tell why; close it with ia_db_close().
 *
 * One writer at a time: IA_DB_CREATE first takes the DB's writer lock (an
 * flock on the file path + ".lock", held until ia_db_close; docs/cli.md).
 * When another handle, in this or another process, holds it, the open
 * returns IA_ERR_BUSY at once, having written nothing; the caller may
 * retry. Read-only handles never take it and are never blocked by a
 * writer. A DB file that IA_DB_CREATE creates is removed again when the
 * open fails (a full disk), with its -wal and -shm. */
int ia_db_open(const char *path, int flags, ia_db **out);
void ia_db_close(ia_db *db);
/* The message of the last failure on this handle ("" when none). */
const char *ia_db_errmsg(const ia_db *db);

/* ---- Scanning -------------------------------------------------------- */

typedef struct ia_progress {
    uint64_t files_done;   /* files stored so far */
    uint64_t files_seen;   /* files found by the walk so far */
    uint64_t errors;
    uint64_t warnings;
    double seconds;
    /* The files this scan will store, counted ahead by a second walk
     * (files_done of files_total); 0 while unknown: still counting, or
     * a root with archives, whose members are known only by reading. */
    uint64_t files_total;
} ia_progress;

typedef struct ia_scan_options {
    /* The dataset (required): a folder (archives in it are read in
     * place, docs/archives.md), one archive (.tar, .tar.gz, .tgz,
     * .tar.zst, .zip), or "-": one archive read from stream_fd. */
    const char *root;
    /* Scan name; default: base name of root ("stdin" for "-"). For "-"
     * it also names the archive: its members are NAME/MEMBER. */
    const char *name;
    const char *manifest;      /* CSV with path,label[,split]; NULL: folders */
    unsigned jobs;             /* worker threads; 0: online CPUs */
    uint64_t max_pixels;       /* 0: IA_DEFAULT_MAX_PIXELS */
    uint64_t max_file_bytes;   /* 0: IA_DEFAULT_MAX_FILE_BYTES */
    /* Decoder buffers (a progressive JPEG's coefficients, an interlaced
     * PNG's pixels) all workers together may hold; a file that alone
     * needs more is too_large, others wait their turn. 0: the larger of
     * IA_DEFAULT_MAX_MEMORY and 9 bytes per max_pixels (docs/security.md) */
    uint64_t max_memory;
    int follow_symlinks;       /* follow symlinked files and folders */
    /* Called from the calling thread after each stored file (at most a few
     * times per second is the caller's business). May be NULL. */
    void (*progress)(void *user, const ia_progress *p);
    void *user;
    /* When non-NULL and set non-zero (e.g. by a signal handler), the scan
     * stops, stores what it has, leaves the scan incomplete and returns
     * IA_ERR_INTERRUPTED. */
    volatile sig_atomic_t *cancel;
    /* Scan only shard shard_k (0 .. shard_n-1) of shard_n: the files whose
     * path hashes there (docs/scale-out.md); merge the shards' DBs with
     * ia_merge. shard_n 0 or 1: the whole tree. */
    unsigned shard_k, shard_n;
    /* Manifest rows naming files outside root are scanned (their absolute
     * path is the stored path) instead of refused with an outside_root
     * finding. */
    int allow_outside;
    /* Incremental rescans (docs/performance.md): the path of an imgaudit
     * DB (it may be the one being written) whose latest complete scan
     * lends its results: a JPEG or PNG whose SHA-256 matches a file
     * decoded there is not decoded again. NULL: none. */
    const char *reuse_db;
    /* With reuse_db: a file whose relative path, size and mtime match one
     * stored there is taken over without even being read. */
    int trust_mtime;
    /* Finish the incomplete scan of this name (opt->name or the root's
     * base name) in db instead of starting a new one: the files it
     * already stored are kept, not read or decoded again; the result
     * equals an uninterrupted scan. Same root and options required. */
    int resume;
    /* The training loader profiles whose findings the scan's summary and
     * its reports show by default (docs/loaders.md): comma-separated
     * names of "pillow", "torchvision", "keras", "tf-data", "opencv".
     * NULL: "pillow". The findings of every profile are stored whatever
     * this says; it is recorded in the scan's options. */
    const char *loaders;
    /* A policy file (docs/compare.md, "Policy file") whose severities
     * the summary and, by default, the scan's reports read findings at.
     * NULL: the documented severities. Recorded in the scan's options. */
    const char *policy;
    /* Archives (docs/archives.md). label_field: the field of a WebDataset
     * sample's .json that holds its label (NULL: a .json gives none).
     * max_members: entries read from one archive at most, further ones
     * refused with an archive_limit finding (0: IA_DEFAULT_MAX_MEMBERS).
     * stream_fd: with root "-", the descriptor the archive is read from
     * (0, standard input, by default); it is not closed. */
    const char *label_field;
    uint64_t max_members;
    int stream_fd;
    /* Paths left out of the scan (docs/cli.md "--exclude"): a file or
     * folder is skipped when one of these fnmatch(3) globs matches its
     * path relative to the root or its name; an excluded folder is not
     * entered. nexclude globs, borrowed for the call. */
    const char *const *exclude;
    size_t nexclude;
    /* Detection and segmentation annotations (docs/annotations.md):
     * ncoco COCO JSON files, each "FILE.json" or "SPLIT=FILE.json"; and,
     * with yolo set, the YOLO layout (images/ and labels/ side by side),
     * class names from yolo_yaml (NULL: ROOT/data.yaml when present).
     * Annotation files under the root are read, not decoded. Not with
     * shards or reuse_db (IA_ERR_ARG). */
    const char *const *coco;
    size_t ncoco;
    int yolo;
    const char *yolo_yaml;
} ia_scan_options;

#define IA_DEFAULT_MAX_PIXELS 178956970ULL   /* Pillow's MAX_IMAGE_PIXELS */
#define IA_DEFAULT_MAX_FILE_BYTES (1ULL << 30)
#define IA_DEFAULT_MAX_MEMORY (1ULL << 30)
#define IA_DEFAULT_MAX_MEMBERS 1000000ULL

typedef struct ia_scan_summary {
    int64_t scan_id;
    uint64_t files;      /* file rows stored */
    uint64_t decoded;    /* files fully decoded (status ok) */
    uint64_t bytes;      /* bytes read */
    uint64_t errors;     /* findings of severity error */
    uint64_t warnings;   /* findings of severity warning */
    uint64_t infos;
    double megapixels;   /* decoded pixels / 1e6 */
    double seconds;      /* wall time */
    /* --reuse found the tree unchanged and took the reused scan's rows
     * (docs/performance.md): shared with scan same_as of this DB, or
     * copied from the reused DB (same_as 0) */
    int unchanged;
    int64_t same_as;
    /* Files and dataset-level findings counted apart (docs/reports.md,
     * "Counting"; errors, warnings and infos above count findings): the
     * distinct files with a finding of severity error, warning, info (a
     * file with several findings counts once in each), and the findings
     * about no file (dataset-level) of each severity. */
    uint64_t files_with_errors, files_with_warnings, files_with_infos;
    uint64_t dataset_errors, dataset_warnings, dataset_infos;
} ia_scan_summary;

/* Scans opt->root into db as a new scan. *out written only on success. */
int ia_scan(ia_db *db, const ia_scan_options *opt, ia_scan_summary *out);

/* Whether ia_scan would accept opt's root (a folder, an archive, or "-")
 * and manifest, without a DB: IA_OK, or IA_ERR_ARG with a one-line
 * message in err (cap bytes). Lets a caller refuse a command line before
 * it creates a DB. */
int ia_scan_check(const ia_scan_options *opt, char *err, size_t cap);

/* ---- Merging shards (docs/scale-out.md) ------------------------------ */

/* Parses "K/N" (decimal digits only, 0 <= K < N <= 1000; K counts from 0)
 * into *k and *n: IA_OK, or IA_ERR_ARG with *k and *n untouched. */
int ia_shard_parse(const char *s, unsigned *k, unsigned *n);

typedef struct ia_merge_options {
    const char *name;     /* merged scan's name; default: the shards' */
    unsigned jobs;        /* threads for the analysis; 0: online CPUs */
    /* Merge even when shards are missing or did not finish: the scan is
     * then incomplete and names them in shard_missing findings. */
    int allow_partial;
    /* Called once per shard left out or merged incomplete (allow_partial),
     * with a one-line message. May be NULL. */
    void (*note)(void *user, const char *message);
    void *user;
} ia_merge_options;

typedef struct ia_merge_summary {
    ia_scan_summary scan;
    unsigned shard_n;     /* N of the shards */
    unsigned merged;      /* shards whose files were merged */
    int complete;         /* every shard present and complete */
} ia_merge_summary;

/* Merges the scans of the shard DBs at paths (each opened read-only; its
 * latest scan made with a shard) into one new scan in db, then runs the
 * dataset-wide analysis over all of it: the result equals one scan of the
 * whole tree. Shards must share root, layout, options, N and this tool's
 * version, each K once (IA_ERR_SHARDS otherwise, nothing written).
 * *out written only on success. */
int ia_merge(ia_db *db, const char *const *paths, size_t npaths,
             const ia_merge_options *opt, ia_merge_summary *out);

/* ---- Reading results ------------------------------------------------- */

typedef enum ia_format {
    IA_FORMAT_TEXT = 0,
    IA_FORMAT_JSON = 1,
    IA_FORMAT_MD = 2,
    IA_FORMAT_HTML = 3,
    IA_FORMAT_CSV = 4,
    IA_FORMAT_JSONL = 5,
} ia_format;

/* Parses "text", "json", ...; returns -1 when unknown. */
int ia_format_parse(const char *s);

/* scan_ref: a scan name or numeric id; NULL means the latest complete scan
 * (or the latest scan when none is complete). Findings are read as the
 * scan's options say (its loader profiles and policy); ia_report_ex
 * chooses others. */
int ia_report(ia_db *db, const char *scan_ref, ia_format fmt, FILE *out);

/* One row per file. problems_only: only files with a status other than ok
 * or with findings of severity warning or error. */
int ia_export(ia_db *db, const char *scan_ref, ia_format fmt,
              int problems_only, FILE *out);

/* A table of the scans in db (id, name, root, files, complete, times). */
int ia_list_scans(ia_db *db, FILE *out);

/* Deletes the scan scan_ref names (an id or a name: its latest) and every
 * row of it, then gives the space back (VACUUM): db opened IA_DB_CREATE.
 * A scan whose rows an unchanged rescan reads is refused (IA_ERR_ARG;
 * delete the rescan first). *before and *after (may be NULL): the DB
 * file's bytes around it. */
int ia_scan_delete(ia_db *db, const char *scan_ref, uint64_t *before,
                   uint64_t *after);

/* The id of the scan scan_ref names (as ia_report: NULL is the latest
 * complete scan), so that later calls keep reading that scan whatever is
 * added to the DB meanwhile. *scan_id written only on success. */
int ia_scan_resolve(ia_db *db, const char *scan_ref, int64_t *scan_id);

/* Counts of findings by severity in a scan, for exit codes (--fail-on). */
int ia_scan_severity_counts(ia_db *db, const char *scan_ref,
                            uint64_t *errors, uint64_t *warnings);

/* ---- Comparing two scans (docs/compare.md) --------------------------- */

/* A finished comparison of a baseline scan with a new one: opened (and
 * computed) once, then written in any format and asked for its verdict.
 *
 *     ia_compare *c = NULL;
 *     ia_compare_options opt = {0};
 *     ia_compare_summary sum;
 *     int rc = ia_compare_open("good.db", "new.db", &opt, &c);
 *     if (rc == IA_OK) rc = ia_compare_write(c, IA_FORMAT_TEXT, stdout);
 *     if (rc != IA_OK) fprintf(stderr, "%s\n", ia_compare_errmsg(c));
 *     else ia_compare_get_summary(c, &sum);   (sum.fail: gate on it)
 *     ia_compare_close(c);
 *
 * A scan reference is "FILE" (an existing file: its latest complete
 * scan), "FILE:NAME" (NAME a scan name or id in FILE), or a scan name or
 * id in opt->db. Every database is opened read-only: nothing in the
 * baseline (or the new DB) is ever written. */
typedef struct ia_compare ia_compare;

enum {
    IA_FAIL_ON_ERROR = 0,    /* default: fail on a finding of severity error */
    IA_FAIL_ON_WARNING = 1,  /* fail on warning or error */
    IA_FAIL_ON_NEVER = 2,    /* never fail */
};

typedef struct ia_compare_options {
    const char *db;          /* DB of bare scan names; NULL: "imgaudit.db" */
    const char *policy;      /* policy file (JSON); NULL: documented defaults */
    /* The loader profiles whose findings both scans are compared
     * through (comma-separated, as ia_scan_options.loaders); NULL: those
     * the new scan was made with. */
    const char *loaders;
    int fail_on;             /* IA_FAIL_ON_* */
    unsigned text_examples;  /* example paths per text line; 0: 3 */
    unsigned text_list;      /* files listed per change in text/md; 0: 10 */
} ia_compare_options;

typedef struct ia_compare_summary {
    uint64_t errors, warnings, infos;  /* findings by severity */
    int fail;                /* 1 when a finding reaches opt->fail_on */
} ia_compare_summary;

/* Resolves both references, reads both scans and compares them. On
 * failure *out is still set when a handle could be made, so that
 * ia_compare_errmsg() tells why (IA_ERR_NOT_FOUND: no such scan or DB
 * file; IA_ERR_ARG: bad options or policy). */
int ia_compare_open(const char *base_ref, const char *new_ref,
                    const ia_compare_options *opt, ia_compare **out);
/* IA_FORMAT_TEXT, IA_FORMAT_MD or IA_FORMAT_JSON (else IA_ERR_ARG). */
int ia_compare_write(ia_compare *c, ia_format fmt, FILE *out);
void ia_compare_get_summary(const ia_compare *c, ia_compare_summary *out);
/* The message of the last failure ("" when none); never NULL. */
const char *ia_compare_errmsg(const ia_compare *c);
void ia_compare_close(ia_compare *c);

/* ---- Reports with options (HTML thumbnails, docs/reports.md) --------- */

typedef struct ia_report_options {
    /* Called after each thumbnail an HTML report makes: done of total
     * (total is known before the first). May be NULL. */
    void (*progress)(void *user, uint64_t done, uint64_t total);
    void *user;
    /* When non-NULL and set non-zero (e.g. by a signal handler), making
     * thumbnails stops and the report returns IA_ERR_INTERRUPTED. */
    volatile sig_atomic_t *cancel;
    /* The loader profiles whose findings are shown and counted
     * (comma-separated, as ia_scan_options.loaders); NULL: the scan's. */
    const char *loaders;
    /* A policy file whose severities findings are read at; NULL: the
     * policy the scan was made with, if any. IA_ERR_ARG when malformed. */
    const char *policy;
    /* The verdict's threshold: IA_FAIL_ON_* (0: error). */
    int fail_on;
} ia_report_options;

/* ia_report with options; opt NULL is ia_report. Formats without
 * thumbnails ignore the thumbnail options. */
int ia_report_ex(ia_db *db, const char *scan_ref, ia_format fmt, FILE *out,
                 const ia_report_options *opt);

/* The counts and verdict of a report with these options. */
typedef struct ia_report_summary {
    uint64_t errors, warnings, infos;  /* findings by severity */
    int complete;            /* the scan finished its walk and analysis */
    /* 1 when a finding reaches opt->fail_on, or the scan is incomplete
     * (unless fail_on is IA_FAIL_ON_NEVER): its results cover part of the
     * dataset, so they cannot pass it */
    int fail;
} ia_report_summary;
int ia_report_summarize(ia_db *db, const char *scan_ref,
                        const ia_report_options *opt,
                        ia_report_summary *out);

/* ---- Results as rows (docs/python.md) ------------------------------ */

/* The tables of a scan and of a comparison, row by row, for bindings
 * (the Python package, python/) and programs that want data rather than
 * a document. A table has fixed columns (ia_scan_columns,
 * ia_compare_columns), each with one type; a row is an array of values
 * in column order, any of them IA_VALUE_NULL. Values are borrowed: they
 * are valid during the callback only.
 *
 *     static int on_row(void *user, const ia_value *row)
 *     {
 *         printf("%s %s\n", row[0].s, row[5].s);   (path, status)
 *         return IA_OK;
 *     }
 *     rc = ia_scan_rows(db, NULL, IA_ROWS_FILES, on_row, NULL);
 */
typedef enum ia_value_type {
    IA_VALUE_NULL = 0,
    IA_VALUE_INT = 1,     /* i */
    IA_VALUE_REAL = 2,    /* d, finite (a value that is not is NULL) */
    IA_VALUE_TEXT = 3,    /* s: NUL-terminated bytes, UTF-8 unless a file
                             name was not */
    IA_VALUE_INTS = 4,    /* n integers: ints[0..n-1] */
    IA_VALUE_REALS = 5,   /* n reals: reals[0..n-1] */
    IA_VALUE_TEXTS = 6,   /* n strings: texts[0..n-1] */
    IA_VALUE_COUNTS = 7,  /* a map of n names to counts: texts[k], ints[k] */
    IA_VALUE_JSON = 8,    /* s: one JSON document (a number, an array or
                             an object) */
} ia_value_type;

typedef struct ia_value {
    int type;                   /* ia_value_type */
    int64_t i;
    double d;
    const char *s;
    size_t n;
    const int64_t *ints;
    const double *reals;
    const char *const *texts;
} ia_value;

typedef struct ia_column {
    const char *name;           /* the export's and JSON report's key */
    int type;                   /* ia_value_type of its non-null values */
} ia_column;

/* Called once per row with the table's values in column order; returns
 * IA_OK to go on, anything else to stop (ia_*_rows then returns it). */
typedef int (*ia_row_fn)(void *user, const ia_value *row);

/* The tables of a scan (columns: docs/python.md; they are those of the
 * export and of the JSON report, docs/json.md). */
typedef enum ia_scan_table {
    IA_ROWS_FILES = 0,        /* one row per file, as `export` */
    IA_ROWS_PROBLEMS = 1,     /* the same, as `export --problems` */
    IA_ROWS_FINDINGS = 2,     /* as the report's findings, in its order */
    IA_ROWS_DUPLICATES = 3,   /* one row per duplicate group */
    IA_ROWS_LEAKS = 4,
    IA_ROWS_SPLITS = 5,       /* one row per split, as the report's */
} ia_scan_table;

/* The columns of a scan table: *cols a static array of *n. IA_ERR_ARG
 * for an unknown table. */
int ia_scan_columns(int table, const ia_column **cols, size_t *n);
/* Calls fn for each row of a table of the scan scan_ref (as ia_report). */
int ia_scan_rows(ia_db *db, const char *scan_ref, int table, ia_row_fn fn,
                 void *user);

/* The tables of a comparison (docs/compare.md). */
typedef enum ia_compare_table {
    IA_CMP_ROWS_FINDINGS = 0,   /* ranked as in the text output */
    IA_CMP_ROWS_CHANGES = 1,    /* one row per file added, removed,
                                   modified, moved, relabeled, renamed */
    IA_CMP_ROWS_DRIFT = 2,      /* every measure taken, flagged or not */
} ia_compare_table;

int ia_compare_columns(int table, const ia_column **cols, size_t *n);
int ia_compare_rows(ia_compare *c, int table, ia_row_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
