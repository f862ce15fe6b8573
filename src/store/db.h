/*
 * Private to the store module: the connection behind an ia_db handle and
 * the helpers every store file builds on (db.c). db.c owns the handle,
 * the schema and its checks, statements cached per connection,
 * transactions and scan references; write.c the writes, query.c and the
 * other files their reads. Nothing here calls back up into them.
 */
#ifndef IA_STORE_DB_H
#define IA_STORE_DB_H

#include <stdint.h>

#include <sqlite3.h>

#include "store/lock.h"
#include "store/store.h"

/* The statements cached per connection (stmt_sql in db.c). */
enum stmt_id {
    ST_INSERT_SCAN,
    ST_INSERT_FILE,
    ST_INSERT_FINDING,
    ST_COUNT_DECODED,
    ST_COUNT_CODE,
    ST_SET_CODE_SEVERITY,
    ST_DELETE_DATASET_CODE,
    ST_UPDATE_TOTALS,
    ST_SCAN_TOTALS,
    ST_RESOLVE_ID,
    ST_RESOLVE_NAME,
    ST_RESOLVE_LATEST,
    ST_ROWS_OF,
    ST_SHARE,
    ST_COUNT
};

struct ia_db {
    sqlite3 *conn;
    int writable;
    int ready;          /* opened, identified and migrated */
    int schema;         /* user_version of the open DB */
    unsigned batch;     /* files stored in the open transaction */
    ia_dblock lock;     /* a writer's lock (store/lock.h) */
    int created;        /* the DB file did not exist before this open */
    int file_indexes_missing; /* dropped for a first scan, or lost */
    sqlite3_stmt *stmt[ST_COUNT];
    char errmsg[1024];
};

/* The secondary indexes of the file table, in their schema order. A scan
 * into a DB with no file rows drops them and builds them once at its end
 * (ia_store_defer_file_indexes), in this order, so the schema lists them
 * as a migrated DB does and the query planner, which breaks ties between
 * equal indexes by that order, plans every query as before. */
#define FILE_INDEX_COUNT 3
extern const char *const ia_file_index_name[FILE_INDEX_COUNT];
extern const char *const ia_file_index_sql[FILE_INDEX_COUNT];

/* The cached statement id, prepared on first use (NULL with the message
 * on db when it cannot be). */
sqlite3_stmt *ia_store_stmt(ia_db *db, enum stmt_id id);
/* Resets a statement and clears its bindings for the next use. */
void ia_store_stmt_done(sqlite3_stmt *st);
/* Steps a statement that returns no row. */
int ia_store_step_done(ia_db *db, sqlite3_stmt *st, const char *what);
/* Steps a statement that returns one integer; *found says whether a row
 * came back (NULL: a missing row is an error). */
int ia_store_step_int(ia_db *db, sqlite3_stmt *st, const char *what,
                      int64_t *out, int *found);
int ia_store_exec(ia_db *db, const char *sql, const char *what);
/* IA_ERR_DB with a message when db was opened read-only. */
int ia_store_need_writer(ia_db *db);

/* The writer's batches: begin opens a transaction unless one is open;
 * commit ends it; abort rolls it back after a failure, keeping the
 * failure's message. */
int ia_store_batch_begin(ia_db *db);
int ia_store_batch_commit(ia_db *db);
void ia_store_batch_abort(ia_db *db);

#endif
