/*
 * An ordered, bounded work pipeline. The caller (the one thread that owns
 * the DB) acquires a slot, fills it, submits it; N workers process slots;
 * the caller takes finished slots back strictly in submission order, so
 * results are stored in walk order whatever the thread timing. The number
 * of slots bounds memory and gives back-pressure. With 0 threads, submit
 * runs the job inline.
 */
#ifndef IA_POOL_H
#define IA_POOL_H

#include <stddef.h>

typedef struct ia_pool ia_pool;

typedef struct ia_pool_ops {
    /* Per-worker state, created on the worker's thread once. */
    int (*worker_new)(void *shared, void **state);
    void (*worker_free)(void *state);
    /* Processes one slot. */
    void (*run)(void *shared, void *state, void *slot);
} ia_pool_ops;

/* threads: 0 = inline. slot_size bytes per slot, nslots slots. */
int ia_pool_create(unsigned threads, size_t slot_size, size_t nslots,
                   const ia_pool_ops *ops, void *shared, ia_pool **out);
/* A free slot, or NULL when all are in flight (collect first). */
void *ia_pool_acquire(ia_pool *p);
/* Queues the slot last returned by ia_pool_acquire. */
void ia_pool_submit(ia_pool *p);
/* Number of submitted slots not yet released. */
size_t ia_pool_pending(const ia_pool *p);
/* Waits for the oldest submitted slot to finish and returns it; NULL when
 * nothing is pending. Release it before the next call. */
void *ia_pool_collect(ia_pool *p);
void ia_pool_release(ia_pool *p);
/* Stops and joins the workers (pending slots are finished first). */
void ia_pool_free(ia_pool *p);

#endif
