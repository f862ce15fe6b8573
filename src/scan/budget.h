/*
 * The memory budget shared by a scan's workers (docs/security.md): the
 * ia_memgate of decode.h, on a mutex and a condition variable. Requests
 * are granted in the order they arrive, each as soon as it fits, so a
 * large one is not starved by a stream of small ones; a worker holds at
 * most one reservation and never waits while holding it, so waiting
 * cannot deadlock.
 */
#ifndef IA_BUDGET_H
#define IA_BUDGET_H

#include <stdint.h>

#include "decode/decode.h"

typedef struct ia_budget ia_budget;

/* A budget of total bytes (0: IA_DEFAULT_MAX_MEMORY, at least what one
 * image of max_pixels may need). 0 or IA_ERR_NOMEM. */
int ia_budget_new(uint64_t total, uint64_t max_pixels, ia_budget **out);
void ia_budget_free(ia_budget *b);
/* The gate decoders call; valid as long as b. */
const ia_memgate *ia_budget_gate(const ia_budget *b);
/* Bytes reserved now (tests). */
uint64_t ia_budget_used(ia_budget *b);

#endif
