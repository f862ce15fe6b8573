/*
 * Near-duplicate search on 64-bit hashes: every pair (i, j), i < j, with
 * Hamming distance <= radius, found by multi-index hashing (Norouzi et al.,
 * "Fast Search in Hamming Space with Multi-Index Hashing", CVPR 2012)
 * instead of comparing all pairs. Exact: returns the same pairs as brute
 * force (property-tested against it).
 */
#ifndef IA_NEARINDEX_H
#define IA_NEARINDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct ia_near_pair {
    uint32_t i, j;      /* indexes into the input, i < j */
    uint32_t distance;  /* Hamming distance */
} ia_near_pair;

/* Finds all pairs within radius (0-64) among n hashes using up to
 * `threads` threads (0 or 1: the calling thread only). On success *pairs
 * (malloc'd, sorted by i then j) and *npairs are set; 0 or IA_ERR_NOMEM /
 * IA_ERR_ARG / IA_ERR_THREAD. A few hashes (up to 3,000) are
 * compared pair by pair, more through the index: the same pairs. */
int ia_near_pairs(const uint64_t *hashes, size_t n, int radius,
                  unsigned threads, ia_near_pair **pairs, size_t *npairs);

/* The index whatever n (tests and benchmarks). */
int ia_near_pairs_index(const uint64_t *hashes, size_t n, int radius,
                        unsigned threads, ia_near_pair **pairs,
                        size_t *npairs);

/* The same by comparing every pair: O(n^2). */
int ia_near_pairs_brute(const uint64_t *hashes, size_t n, int radius,
                        ia_near_pair **pairs, size_t *npairs);

#endif
