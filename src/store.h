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
} ia_scan_meta;

int ia_store_scan_begin(ia_db *db, const ia_scan_meta *m, int64_t *scan_id);

/* Stores one file row and all of r->findings (with file_id set). */
int ia_store_file(ia_db *db, int64_t scan_id, const ia_entry *e,
                  const ia_file_result *r, int64_t *file_id);

/* A finding not attached to a file row (file_id 0): dataset-level, or
 * about a path that is not a file (symlink, folder); path may be NULL. */
int ia_store_finding(ia_db *db, int64_t scan_id, int64_t file_id,
                     const char *path, const char *code, int severity,
                     const char *detail);

/* Runs the dataset-wide analysis that only needs SQL over the stored
 * rows (mode-mix severities), fills the scan's totals, sets finished_at
 * and, if complete, the complete flag; commits. */
int ia_store_scan_finish(ia_db *db, int64_t scan_id, int complete,
                         const char *finished_at);

/* Totals of a scan for the summary line. */
int ia_store_scan_totals(ia_db *db, int64_t scan_id, ia_scan_summary *out);

/* Resolves a scan reference (name, numeric id, NULL = latest complete, or
 * latest when none complete). IA_ERR_NOT_FOUND with a message otherwise. */
int ia_store_resolve_scan(ia_db *db, const char *ref, int64_t *scan_id);

#endif
