/*
 * imgaudit's schema, for the store*.c files and the generator of its
 * expected rows (schema_gen.c): the migrations, and what a DB's
 * sqlite_master must hold at each version.
 */
#ifndef IA_STORE_SCHEMA_H
#define IA_STORE_SCHEMA_H

#include <stddef.h>

#include <sqlite3.h>

/* The number of migrations: the latest user_version. */
#define IA_SCHEMA_LATEST 8

/* ia_schema_migrations[v] takes a DB from user_version v to v + 1. */
extern const char *const ia_schema_migrations[IA_SCHEMA_LATEST];

/* The objects a DB's schema holds, in a fixed order; the statistics tables
 * ANALYZE may add (sqlite_stat*) are SQLite's own and left out. */
#define IA_SCHEMA_ROWS_SQL                                                 \
    "SELECT type, name, tbl_name, sql FROM sqlite_master"                  \
    " WHERE NOT (type = 'table' AND name IN ('sqlite_stat1',"              \
    " 'sqlite_stat2', 'sqlite_stat3', 'sqlite_stat4')) ORDER BY type, name"

/* One row of IA_SCHEMA_ROWS_SQL; sql is NULL where SQLite stores none
 * (an index it made for a UNIQUE or PRIMARY KEY constraint). */
typedef struct ia_schema_row {
    const char *type, *name, *tbl_name, *sql;
} ia_schema_row;

/* The rows at each version 1..IA_SCHEMA_LATEST as SQLite wrote them when
 * the tool was built (schema_gen.c, run by the build); index 0 is empty. */
extern const ia_schema_row *const ia_schema_built[IA_SCHEMA_LATEST + 1];
extern const size_t ia_schema_built_n[IA_SCHEMA_LATEST + 1];

/* The rows at version (1..IA_SCHEMA_LATEST) as the SQLite linked now
 * writes them: the migrations applied to an empty in-memory DB, so that
 * SQLite itself writes the text (ALTER TABLE rewrites a table's CREATE
 * statement: no rule of ours has to mimic that, or whitespace). *out is
 * one allocation (free it); SQLITE_OK or SQLite's error code, with its
 * message in err (errlen bytes). */
int ia_schema_rows_now(int version, ia_schema_row **out, size_t *n,
                       char *err, size_t errlen);

#endif
