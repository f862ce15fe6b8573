/*
 * The rowid range of one scan's rows in a table (file, finding), as SQL
 * for statements whose ?1 is the scan that owns the rows
 * (ia_store_rows_scan), for the store*.c files only.
 *
 * Why: reading a scan's rows in rowid order over its id range is how the
 * readers that want every row avoid a sort (store/groups.c), but no index
 * gives min(id) or max(id) for one scan_id: SQLite reads every entry the
 * scan has in one of the (scan_id, ...) indexes, about 15 ms per 100,000
 * files for each bound, a tenth of an unchanged rescan (docs/performance.md).
 * When the table's first row (its smallest id) is the scan's, that id is
 * the scan's smallest, and likewise for the last row and the largest: a
 * DB holding one scan's rows, or the first and the last scan of several,
 * gets its bounds from two rowid lookups. Other scans take the index
 * pass. Either way the bounds are exact, and the readers keep their own
 * "+scan_id = ?1" filter.
 */
#ifndef IA_STORE_RANGE_H
#define IA_STORE_RANGE_H

/* "<lo> AND <hi>" for "id BETWEEN" over table t's rows of scan ?1. */
#define IA_SCAN_ID_RANGE(t)                                                  \
    " (SELECT CASE WHEN scan_id = ?1 THEN id ELSE"                           \
    "  (SELECT min(id) FROM " t " WHERE scan_id = ?1) END"                   \
    "  FROM " t " ORDER BY id LIMIT 1)"                                      \
    " AND (SELECT CASE WHEN scan_id = ?1 THEN id ELSE"                       \
    "  (SELECT max(id) FROM " t " WHERE scan_id = ?1) END"                   \
    "  FROM " t " ORDER BY id DESC LIMIT 1)"

#endif
