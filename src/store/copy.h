/*
 * Set copies of a reused scan's rows into the scan being written, for
 * unchanged rescans (store/store.h). All run on the written DB's own
 * connection: the reused rows are in the same file (schema "main") or in
 * the reused DB attached read-only as "reused" (ia_copy_attach).
 */
#ifndef IA_STORE_COPY_H
#define IA_STORE_COPY_H

#include <stdint.h>

#include <sqlite3.h>

#include "imgaudit.h"

/* Attaches the DB at path read-only as "reused"; outside a transaction
 * only. ia_copy_detach is best effort (the connection's close detaches
 * anyway). */
int ia_copy_attach(ia_db *db, const char *path);
void ia_copy_detach(ia_db *db);

/* Prepares the copies of runs of a reused scan's rows, with ?1 the scan
 * written, ?2 the reused one (in schema), ?3 and ?4 the first and last
 * ids: *files copies its file rows, *finds its 'walk' findings and notes
 * (after the files: each file finding is pointed at the copy of its
 * file), each in id order. Prepared once, run at every change. */
int ia_copy_prepare_runs(ia_db *db, const char *schema, sqlite3_stmt **files,
                         sqlite3_stmt **finds);

/* Prepares *same: "SELECT whether file row ?1 (main) equals row ?2 (in
 * schema)": every column but the ids, the 'walk' findings in order but
 * their severity (the mode mix re-decides it at finish). *drop deletes
 * file row ?1 of main, with its findings. */
int ia_copy_prepare_compare(ia_db *db, const char *schema, sqlite3_stmt **same,
                            sqlite3_stmt **drop);

/* A whole copy, made while the walk goes on. When the written DB holds
 * only scan, with no rows, and the attached reused DB only a complete
 * scan of the same id, ia_copy_job_start copies every table but scan
 * whole (SQLite's transfer optimisation copies records as they are,
 * indexes included) on a thread of its own, in a transaction left open;
 * *out NULL when those conditions do not hold. Until
 * ia_copy_job_finish, db is the thread's: not to be used. Finishing with
 * keep commits the copy with the totals and completes scan (*done 1);
 * without, or when the copy failed, it is rolled back (*done 0). Either
 * way the connection's settings are restored and the job freed. */
typedef struct ia_copy_job ia_copy_job;
int ia_copy_job_start(ia_db *db, int64_t scan, ia_copy_job **out);
int ia_copy_job_finish(ia_copy_job *j, int keep, const char *finished_at,
                       int *done);

#endif
