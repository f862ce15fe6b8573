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
#ifndef IA_STORE_REUSE_H
#define IA_STORE_REUSE_H

#include <stdint.h>

#include "entry.h"
#include "imgaudit.h"
#include "result.h"

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
 * (store_follow.h): it is loaded before the first file is handed to a
 * worker. Not thread-safe: call before workers may look up. */
int ia_reuse_load(ia_db *target, ia_reuse *r);

/* Files of the reused scan that a hit may take over: decoded formats
 * (JPEG, PNG) with a SHA-256. Lookups are read-only and thread-safe. */
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
/* The reused scan as an unchanged rescan sees it (store_follow.h). */
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

#endif
