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
#ifndef IA_STORE_H
#define IA_STORE_H

#include <stdint.h>

#include "imgaudit.h"
#include "entry.h"
#include "result.h"

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

/* For writers of file rows outside store.c (store_reuse.c), so their
 * rows share the scan's batched transactions: open the batch before a
 * file's rows, then report the file done (ok) or failed (the open batch is
 * rolled back; the failure's message stays on the handle). */
int ia_store_batch_open(ia_db *db);
int ia_store_batch_done(ia_db *db, int ok);

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


/* ---- Dataset-wide duplicate analysis (store_groups.c) ---------------- */

/* One image file of a scan, as the duplicate analysis needs it. split and
 * label index the names arrays (0 = NULL, i = names[i - 1]). */
typedef struct ia_hash_row {
    int64_t file_id;
    uint32_t split;
    uint32_t label;
    int split_rank;     /* 0 train, 1 val, 2 test, 3 other or none */
    int status_ok;
    int have_sha, have_pixel, have_phash, uniform;
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

#endif
