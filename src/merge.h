/*
 * Merging shard scans into one scan (ia_merge, docs/scale-out.md): the
 * SQL half lives in store_merge.c (the only place that reads a shard's
 * rows), the checks and the sequence in merge.c.
 */
#ifndef IA_MERGE_H
#define IA_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "imgaudit.h"
#include "store.h"

/* The scan row of a shard DB that merge needs. Strings are owned. */
typedef struct ia_shard_scan {
    int64_t scan_id;
    char *name, *root, *layout, *options, *tool_version, *started_at;
    int complete;
    unsigned k, n;
    int64_t files;       /* file rows stored (also of an unfinished scan) */
} ia_shard_scan;

/* The latest scan of shard that was made with a shard (--shard K/N).
 * IA_ERR_NOT_FOUND with a message when the DB holds none; IA_ERR_DB_VERSION
 * when its schema is not the one this tool writes. */
int ia_store_shard_scan(ia_db *shard, ia_shard_scan *out);
void ia_shard_scan_release(ia_shard_scan *s);

/* One shard to copy: its read-only handle, the scan to copy, and a label
 * for messages (the file name). */
typedef struct ia_merge_src {
    ia_db *db;
    int64_t scan_id;
    const char *label;
} ia_merge_src;

/* Copies into scan_id of db the file rows of every source, interleaved in
 * walk order (path order for a manifest layout: manifest_order), and the
 * findings with stage 'walk' (per-file results and notes); findings the
 * analysis added are left behind. A path in two sources, or a source not
 * in walk order, is IA_ERR_SHARDS with a message. *files: rows copied. */
int ia_store_merge_rows(ia_db *db, int64_t scan_id, const ia_merge_src *src,
                        size_t nsrc, int manifest_order, uint64_t *files);

/* Deletes the scans a killed run of the merge described by m left
 * unfinished (docs/scale-out.md); *removed: how many. The caller holds
 * the DB's writer lock. */
int ia_store_merge_orphans(ia_db *db, const ia_scan_meta *m,
                           int64_t *removed);

/* Deletes a half-merged scan and everything that refers to it (the
 * error message on db is kept). */
int ia_store_merge_discard(ia_db *db, int64_t scan_id);

#endif
