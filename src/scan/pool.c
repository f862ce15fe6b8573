/*
 * Ordered bounded pipeline (see pool.h). Slots are addressed by sequence
 * numbers that only grow: acquired (A) >= submitted (S) >= dispatched (D)
 * >= released (R), slot of n = n % nslots. A - R <= nslots bounds memory;
 * collect returns slot R only once it is done, so the caller consumes in
 * submission order however the workers interleave. One mutex guards the
 * counters; it is held only to move them, never while a job runs.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "imgaudit.h"
#include "scan/pool.h"
#include "core/core.h"

struct ia_pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;   /* workers: a slot was submitted, or stop */
    pthread_cond_t done_cv;   /* caller: a slot finished; create: inited */
    ia_pool_ops ops;
    void *shared;
    unsigned nthreads;
    unsigned started;         /* threads created */
    unsigned inited;          /* workers whose state is ready (or failed) */
    int init_failed;
    int stop;
    pthread_t *threads;
    void *inline_state;
    unsigned char *slots;
    unsigned char *done;
    size_t slot_size, nslots;
    size_t acquired, submitted, dispatched, released;
};

static void *slot_at(const ia_pool *p, size_t seq)
{
    return p->slots + (seq % p->nslots) * p->slot_size;
}

static void *worker_main(void *arg)
{
    ia_pool *p = arg;
    void *state = NULL;
    int rc = p->ops.worker_new ? p->ops.worker_new(p->shared, &state) : 0;

    pthread_mutex_lock(&p->mu);
    p->inited++;
    if (rc != 0)
        p->init_failed = 1;
    pthread_cond_broadcast(&p->done_cv);
    for (;;) {
        while (!p->stop && p->dispatched == p->submitted)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->dispatched == p->submitted)
            break; /* stopping with nothing left to run */
        size_t seq = p->dispatched++;
        pthread_mutex_unlock(&p->mu);
        if (rc == 0)
            p->ops.run(p->shared, state, slot_at(p, seq));
        pthread_mutex_lock(&p->mu);
        p->done[seq % p->nslots] = 1;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (p->ops.worker_free && state)
        p->ops.worker_free(state);
    return NULL;
}

static int start_threads(ia_pool *p)
{
    p->threads = calloc(p->nthreads, sizeof *p->threads);
    if (!p->threads)
        return IA_ERR_NOMEM;
    for (unsigned i = 0; i < p->nthreads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
            return IA_ERR_THREAD;
        p->started++;
    }
    pthread_mutex_lock(&p->mu);
    while (p->inited < p->started)
        pthread_cond_wait(&p->done_cv, &p->mu);
    int failed = p->init_failed;
    pthread_mutex_unlock(&p->mu);
    return failed ? IA_ERR_NOMEM : IA_OK;
}

int ia_pool_create(unsigned threads, size_t slot_size, size_t nslots,
                   const ia_pool_ops *ops, void *shared, ia_pool **out)
{
    int rc = IA_ERR_NOMEM;
    size_t bytes;
    ia_pool *p = calloc(1, sizeof *p);
    if (!p)
        return IA_ERR_NOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (nslots == 0 || ia_mul_size(slot_size, nslots, &bytes) != 0)
        goto out;
    p->ops = *ops;
    p->shared = shared;
    p->nthreads = threads;
    p->slot_size = slot_size;
    p->nslots = nslots;
    p->slots = calloc(1, bytes);
    p->done = calloc(nslots, 1);
    if (!p->slots || !p->done)
        goto out;
    if (threads == 0) {
        if (ops->worker_new && ops->worker_new(shared, &p->inline_state) != 0)
            goto out;
        rc = IA_OK;
    } else {
        rc = start_threads(p);
    }
out:
    if (rc != IA_OK) {
        ia_pool_free(p);
        return rc;
    }
    *out = p;
    return IA_OK;
}

void *ia_pool_acquire(ia_pool *p)
{
    assert(p->acquired == p->submitted);
    if (p->acquired - p->released >= p->nslots)
        return NULL;
    void *slot = slot_at(p, p->acquired++);
    memset(slot, 0, p->slot_size);
    return slot;
}

void ia_pool_submit(ia_pool *p)
{
    assert(p->acquired == p->submitted + 1);
    if (p->nthreads == 0) {
        size_t seq = p->submitted++;
        p->dispatched++;
        p->ops.run(p->shared, p->inline_state, slot_at(p, seq));
        p->done[seq % p->nslots] = 1;
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->submitted++;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

size_t ia_pool_pending(const ia_pool *p)
{
    return p->submitted - p->released;
}

void *ia_pool_collect(ia_pool *p)
{
    if (p->released == p->submitted)
        return NULL;
    size_t idx = p->released % p->nslots;
    if (p->nthreads) {
        pthread_mutex_lock(&p->mu);
        while (!p->done[idx])
            pthread_cond_wait(&p->done_cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    return slot_at(p, p->released);
}

void ia_pool_release(ia_pool *p)
{
    if (p->nthreads)
        pthread_mutex_lock(&p->mu);
    p->done[p->released % p->nslots] = 0;
    p->released++;
    if (p->nthreads)
        pthread_mutex_unlock(&p->mu);
}

void ia_pool_free(ia_pool *p)
{
    if (!p)
        return;
    if (p->threads) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->mu);
        for (unsigned i = 0; i < p->started; i++)
            pthread_join(p->threads[i], NULL);
        free(p->threads);
    }
    if (p->inline_state && p->ops.worker_free)
        p->ops.worker_free(p->inline_state);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->slots);
    free(p->done);
    free(p);
}
