/*
 * Reading a column of a row that came from a DB, for the store*.c files
 * only (they alone include <sqlite3.h>). A DB handed over for compare,
 * merge or --reuse is untrusted, and so is what its rows hold even when
 * its schema is intact (ia_db_open checks the schema): PRAGMA
 * writable_schema can drop a NOT NULL long enough to store a NULL, and
 * SQLite is loosely typed, so any column may hold text, an integer, a
 * real, a blob or NULL. These helpers give the readers' structs the
 * values their headers promise (docs/security.md, "Hostile databases"):
 * a NOT NULL text column is never NULL, a severity is 0..2, a count is
 * never negative, a duplicate kind is one of ours.
 */
#ifndef IA_STORE_COL_H
#define IA_STORE_COL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "core/core.h"

/* A nullable text column: NULL stays NULL. Any other type reads as its
 * text (a blob's bytes, up to a NUL). */
static inline const char *ia_col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* A NOT NULL text column: "" when the row holds NULL anyway. */
static inline const char *ia_col_str(sqlite3_stmt *st, int i)
{
    const char *s = ia_col_text(st, i);
    return s ? s : "";
}

/* A count or a size: 0 for NULL, text that is no number, or a negative. */
static inline uint64_t ia_col_count(sqlite3_stmt *st, int i)
{
    int64_t v = sqlite3_column_int64(st, i);
    return v > 0 ? (uint64_t)v : 0;
}

/* The same, kept signed for the structs that hold int64_t. */
static inline int64_t ia_col_nonneg(sqlite3_stmt *st, int i)
{
    int64_t v = sqlite3_column_int64(st, i);
    return v > 0 ? v : 0;
}

/* A severity, clamped to IA_SEV_INFO..IA_SEV_ERROR. */
static inline int ia_col_severity(sqlite3_stmt *st, int i)
{
    int64_t v = sqlite3_column_int64(st, i);
    return v < IA_SEV_INFO ? IA_SEV_INFO
           : v > IA_SEV_ERROR ? IA_SEV_ERROR : (int)v;
}

/* A duplicate group's or a leak's kind: "exact", "pixel" or "near", or
 * "unknown" for anything else (the reports print and compare it). */
static inline const char *ia_col_kind(sqlite3_stmt *st, int i)
{
    static const char *const kinds[] = {"exact", "pixel", "near"};
    const char *s = ia_col_text(st, i);
    for (size_t k = 0; s && k < sizeof kinds / sizeof *kinds; k++)
        if (strcmp(s, kinds[k]) == 0)
            return kinds[k];
    return "unknown";
}

/* A nullable integer: -1 for NULL (an unknown size, width, ...). */
static inline int64_t ia_col_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? -1 : sqlite3_column_int64(st, i);
}

/* A nullable real: NaN for NULL. */
static inline double ia_col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? (double)NAN : sqlite3_column_double(st, i);
}

/* An int column read into an int: 64-bit values out of range are
 * clamped rather than truncated. */
static inline int ia_col_int(sqlite3_stmt *st, int i)
{
    int64_t v = sqlite3_column_int64(st, i);
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int)v;
}

#endif
