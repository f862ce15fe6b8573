/*
 * An ia_memgate (decode.h) for the decoders' unit tests: it grants every
 * request (or refuses every one while refuse is set) and counts what is
 * reserved and released, so a test can check that a decoder asks for
 * exactly its whole-image buffer and gives it back.
 */
#ifndef IA_TEST_COUNT_GATE_H
#define IA_TEST_COUNT_GATE_H

#include <stdint.h>

#include "decode/decode.h"

typedef struct count_gate {
    uint64_t reserved, released;
    int reserves, releases, refuse;
} count_gate;

static inline int count_reserve(void *ctx, uint64_t bytes)
{
    count_gate *g = ctx;
    g->reserves++;
    if (g->refuse)
        return -1;
    g->reserved += bytes;
    return 0;
}

static inline void count_release(void *ctx, uint64_t bytes)
{
    count_gate *g = ctx;
    g->releases++;
    g->released += bytes;
}

/* A gate over g whose budget, for messages, is total bytes. */
static inline ia_memgate count_gate_of(count_gate *g, uint64_t total)
{
    return (ia_memgate){g, count_reserve, count_release, total};
}

#endif
