/*
 * Unchanged rescans (docs/performance.md): a rescan that finds exactly the
 * reused scan's files again takes its rows as they are. Into the DB it
 * reuses, it stores no rows at all: the new scan shares the reused scan's
 * (scan.same_as). Into a new DB reusing a DB of one scan, the rows are
 * copied table by table, ids and all (store_copy.h).
 *
 * The writer thread follows the reused scan while the walk repeats it:
 * each event the scan would store (a file row the workers took over
 * without decoding, a note about a path) is compared with the reused
 * scan's next file row or next 'walk' finding, in id (walk) order,
 * through two cursors on the reused DB's read-only snapshot. Nothing is
 * stored while the events match. At a file that differs (changed, added,
 * or after files removed), the runs followed so far are copied in two
 * INSERT ... SELECT statements (the reused DB, if another, attached
 * read-only to the written one), the file is stored as usual and
 * following goes on; a note that differs, a manifest's order or too many
 * changes stop it for good, and the scan goes on as a normal reusing
 * rescan. When the walk ends with
 * both cursors exhausted, every row the scan would write equals one of
 * the reused scan, in the same order, so the rows the analysis derives
 * from them would be equal too: the scan takes them and skips the
 * analysis.
 */
#ifndef IA_STORE_FOLLOW_H
#define IA_STORE_FOLLOW_H

#include <stdint.h>

#include "entry.h"
#include "imgaudit.h"
#include "result.h"
#include "store.h"
#include "store_reuse.h"

typedef struct ia_follow ia_follow;

/* Starts following when the new scan (scan_id, made with m) can take the
 * reused scan's rows: a complete reused scan made with the same options,
 * layout and shard. *out is NULL when it cannot (not an error). Another
 * DB file is attached to db until ia_follow_free, and when the whole
 * copy applies (store_copy.h) it starts at once: until the follower
 * stops, db is not to be used but through it. */
int ia_follow_begin(ia_db *db, const ia_reuse *r, const ia_scan_meta *m,
                    int64_t scan_id, ia_follow **out);

/* The next event of the walk, in walk order: a file entry with its result
 * (res NULL for a failed one), or a note. *same = 1: it repeats the
 * reused scan and nothing is to be stored now. *same = 0: the runs
 * followed so far have just been stored; store this event as usual (and,
 * once ia_follow_active says so, every later one). */
int ia_follow_file(ia_follow *f, const ia_entry *e, const ia_file_result *res,
                   int *same);
/* --trust-mtime, before any reading: *same = 1 when e, as the walk
 * stat'ed it, is the reused scan's next file row (path, place, size,
 * mtime) that was read (has a SHA-256): it is followed. *same = 0
 * decides nothing: the follower goes on
 * and the file is to be scanned and given to ia_follow_file or
 * ia_follow_stored. Any file row qualifies, whatever its format: trusting
 * the mtime, its bytes are those the reused row was made from. */
int ia_follow_stat(ia_follow *f, const ia_entry *e, int *same);

/* A file the scan decoded or read itself (nothing to take over: a file
 * that is not JPEG or PNG, say) is compared as stored: this stores it as
 * a trial row, compares that with the reused row (every column, every
 * 'walk' finding in order) and deletes it. *same as above; when 0, store
 * the file again, after the runs just stored. */
int ia_follow_stored(ia_follow *f, const ia_entry *e,
                     const ia_file_result *res, int *same);
int ia_follow_note(ia_follow *f, const ia_entry *e, const char *code,
                   int severity, int *same);

/* At the end of the walk. walk_complete: every entry was seen and
 * followed or stored. *finished 1: the scan repeated the reused scan
 * entirely and has taken its rows, totals and analysis; it is complete.
 * Otherwise the runs followed have been stored (if not already), and
 * the scan is to be finished as usual. */
int ia_follow_end(ia_follow *f, int walk_complete, const char *finished_at,
                  int *finished);

/* Files followed so far without storing a row. */
uint64_t ia_follow_count(const ia_follow *f);
/* Whether it still follows: after a few changes it does (their files are
 * stored by the caller, the runs between them copied); after many, or a
 * change it cannot follow around, it has stopped for good. */
int ia_follow_active(const ia_follow *f);

void ia_follow_free(ia_follow *f);

#endif
