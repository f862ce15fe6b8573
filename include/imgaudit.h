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
} ia_error;

/* A static English description of an ia_error. Never NULL. */
const char *ia_strerror(int err);

/* ---- Database handle ------------------------------------------------- */

typedef struct ia_db ia_db;

enum {
    IA_DB_READONLY = 0,  /* open an existing DB read-only (report, export) */
    IA_DB_CREATE = 1,    /* create if missing, migrate, open read-write */
};

/* Opens path. On failure *out is still set when a handle could be made, so
 * ia_db_errmsg() can tell why; close it with ia_db_close(). */
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
} ia_progress;

typedef struct ia_scan_options {
    const char *root;          /* dataset folder (required) */
    const char *name;          /* scan name; default: base name of root */
    const char *manifest;      /* CSV with path,label[,split]; NULL: folders */
    unsigned jobs;             /* worker threads; 0: online CPUs */
    uint64_t max_pixels;       /* 0: IA_DEFAULT_MAX_PIXELS */
    uint64_t max_file_bytes;   /* 0: IA_DEFAULT_MAX_FILE_BYTES */
    int follow_symlinks;       /* follow symlinked files and folders */
    /* Called from the calling thread after each stored file (at most a few
     * times per second is the caller's business). May be NULL. */
    void (*progress)(void *user, const ia_progress *p);
    void *user;
    /* When non-NULL and set non-zero (e.g. by a signal handler), the scan
     * stops, stores what it has, leaves the scan incomplete and returns
     * IA_ERR_INTERRUPTED. */
    volatile sig_atomic_t *cancel;
} ia_scan_options;

#define IA_DEFAULT_MAX_PIXELS 178956970ULL   /* Pillow's MAX_IMAGE_PIXELS */
#define IA_DEFAULT_MAX_FILE_BYTES (1ULL << 30)

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
} ia_scan_summary;

/* Scans opt->root into db as a new scan. *out written only on success. */
int ia_scan(ia_db *db, const ia_scan_options *opt, ia_scan_summary *out);

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
 * (or the latest scan when none is complete). */
int ia_report(ia_db *db, const char *scan_ref, ia_format fmt, FILE *out);

/* One row per file. problems_only: only files with a status other than ok
 * or with findings of severity warning or error. */
int ia_export(ia_db *db, const char *scan_ref, ia_format fmt,
              int problems_only, FILE *out);

/* A table of the scans in db (id, name, root, files, complete, times). */
int ia_list_scans(ia_db *db, FILE *out);

/* Counts of findings by severity in a scan, for exit codes (--fail-on). */
int ia_scan_severity_counts(ia_db *db, const char *scan_ref,
                            uint64_t *errors, uint64_t *warnings);

#ifdef __cplusplus
}
#endif
#endif
