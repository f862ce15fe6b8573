/*
 * Dataset-wide analysis after the walk: duplicate groups (exact bytes,
 * equal pixels, near-identical by perceptual hash), leaks between splits
 * and label conflicts. Reads the compact hash index from the store, works
 * in memory, writes groups and findings back.
 */
#ifndef IA_ANALYZE_H
#define IA_ANALYZE_H

#include <stdint.h>

#include "imgaudit.h"

/* Defaults, chosen from the distance distributions measured on real data
 * (bench/dup_eval on clothing-small, docs/duplicates.md): at 4 and 8 no
 * pair of the 7.1 million pairs of different photos matches, while every
 * JPEG re-encode (q30-q90), resize, brightness change and re-save does
 * (>= 99.97%), and 91% of 2% crops. One step wider on either hash brings
 * pairs of different garments on the same background. phash distances
 * are always even (each phash has 32 bits set), so 4 also means 5. */
#define IA_NEAR_PHASH_RADIUS 4
#define IA_NEAR_DHASH_RADIUS 8
/* The "same photo" radius: a near copy within phash 2 (and the dhash
 * radius above) of its partner is the same photo re-encoded, resized or
 * re-saved, as certain as an exact copy: no pair of the 7.1 million pairs
 * of different photos of clothing-small comes within phash 2 at any dhash
 * distance, while 99.6% of JPEG q30 re-encodes and 99.8% of halvings do
 * (docs/duplicates.md). A leak or conflict within it is an error; beyond
 * it, up to the near radius, a warning. */
#define IA_SAME_PHOTO_PHASH_RADIUS 2

typedef struct ia_dup_options {
    int phash_radius;   /* < 0: default */
    int dhash_radius;   /* < 0: default */
    unsigned threads;
} ia_dup_options;

int ia_analyze_duplicates(ia_db *db, int64_t scan_id,
                          const ia_dup_options *opt);

/* WebDataset sample keys repeated across archives (analyze/samples.c):
 * a sample_key_repeated finding on each file row of the later archives. */
int ia_analyze_samples(ia_db *db, int64_t scan_id);

/* Every dataset-wide step that runs once the files of a scan are stored
 * (by a scan, a resumed scan or a merge of shards), in a fixed order, so
 * all paths to a complete scan give the same results: duplicates, the
 * statistics, then what each loader profile will do (loader/loader.h).
 * With threads > 1, and when db has nothing uncommitted (the caller
 * committed: ia_store_batch_close) in a WAL DB, a helper thread reads
 * the rows for the statistics and the loaders through its own read-only
 * handle while the duplicates are found and written; every write stays
 * on db, in the same order, so the results are the same. The steps'
 * writes then go into a transaction opened here, left to the caller. */
int ia_analyze_scan(ia_db *db, int64_t scan_id, unsigned threads);

#endif
