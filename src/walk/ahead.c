/*
 * Stat-ahead (ahead.h). On an unchanged rescan (--reuse --trust-mtime)
 * the walk is the scan, and most of it is the lstat of every name. A
 * folder's names are cut into chunks of CHUNK consecutive names; whoever
 * claims a chunk lstats all of it: a helper thread claims them in order,
 * and the walker, when the chunk it needs is not done, claims it itself,
 * or, while the helper is on it, claims a later one instead of waiting.
 * So neither thread waits for the other while a chunk is left, and the
 * lstats split between the two by their speed (the walker also compares
 * each file with the reused scan).
 *
 * Results live in a ring of RING chunks: chunk c in slot c % RING, never
 * claimed beyond the walker's chunk + RING (memory: RING x CHUNK results,
 * whatever the folder's size). Everything shared is under the mutex but
 * the lstats themselves and the results a slot holds: a slot is written
 * by its claimer while busy, and read by the walker only after it saw
 * the slot done under the mutex.
 */
#include "walk/ahead.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "walk/source.h"

#define CHUNK 32
#define RING 64

typedef struct slot {
    size_t chunk;       /* claimed for this chunk; SIZE_MAX: never */
    int busy;           /* its claimer is taking the lstats */
} slot;

struct ia_ahead {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ia_ahead_job job;
    size_t nchunks;
    size_t base;        /* the walker's chunk: slots of earlier ones free */
    size_t next;        /* the helper's next chunk */
    int running;        /* a helper thread is to be joined */
    int stop;
    slot slots[RING];
    pthread_t th;
    /* the walker's own, unlocked: the chunk it reads without the mutex */
    int have;
    size_t cur;
    ia_pre_stat res[RING * CHUNK];
};

/* The walker's rule for a name looked up in its folder (folder.c visit):
 * an excluded or too long name is left to the walker. */
static void stat_name(const ia_ahead_job *j, int fd, const char *name,
                      ia_pre_stat *p)
{
    p->err = -1;
    if (j->rel_len + strlen(name) + 2 >= PATH_MAX)
        return;
    if (ia_walk_excluded_in(j->exclude, j->nexclude, j->rel, j->rel_len,
                            name))
        return;
    p->err = fstatat(fd, name, &p->st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

/* Takes the lstats of chunk c, claimed by the caller, mutex not held;
 * fd: the caller's descriptor on the folder. */
static void stat_chunk(ia_ahead *a, int fd, size_t c)
{
    const ia_ahead_job *j = &a->job;
    size_t lo = j->lo + c * CHUNK;
    size_t hi = j->count - lo > CHUNK ? lo + CHUNK : j->count;
    ia_pre_stat *out = &a->res[(c % RING) * CHUNK];
    for (size_t i = lo; i < hi; i++)
        stat_name(j, fd, j->names[i], &out[i - lo]);
}

/* Whether chunk c may be claimed now (mutex held). */
static int claimable(const ia_ahead *a, size_t c)
{
    const slot *s = &a->slots[c % RING];
    return c >= a->base && c < a->base + RING && c < a->nchunks &&
           s->chunk != c && !s->busy;
}

/* Claims chunk c, takes its lstats and marks it done; the mutex is held
 * on entry and on return, released meanwhile. */
static void run_chunk(ia_ahead *a, int fd, size_t c)
{
    slot *s = &a->slots[c % RING];
    s->chunk = c;
    s->busy = 1;
    pthread_mutex_unlock(&a->mu);
    stat_chunk(a, fd, c);
    pthread_mutex_lock(&a->mu);
    s->busy = 0;
    pthread_cond_broadcast(&a->cv);
}

static void *helper(void *arg)
{
    ia_ahead *a = arg;
    /* A descriptor of its own (a struct file of its own): in a threaded
     * process each lookup through a descriptor takes a reference on its
     * file, and two threads doing so on one file bounce its counter
     * between their cores. */
    int own = openat(a->job.fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int fd = own >= 0 ? own : a->job.fd;
    if (a->job.first)
        a->job.first(a->job.ctx);
    pthread_mutex_lock(&a->mu);
    while (!a->stop && a->next < a->nchunks) {
        size_t c = a->next < a->base ? a->base : a->next;
        const slot *s = &a->slots[c % RING];
        if (c >= a->nchunks)
            break;
        if (s->chunk == c) {            /* the walker took it */
            a->next = c + 1;
        } else if (claimable(a, c)) {
            a->next = c + 1;
            run_chunk(a, fd, c);
        } else {                        /* the ring is full */
            pthread_cond_wait(&a->cv, &a->mu);
        }
    }
    pthread_mutex_unlock(&a->mu);
    if (own >= 0)
        close(own);
    return NULL;
}

ia_ahead *ia_ahead_new(void)
{
    ia_ahead *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return NULL;
    }
    if (pthread_cond_init(&a->cv, NULL) != 0) {
        pthread_mutex_destroy(&a->mu);
        free(a);
        return NULL;
    }
    return a;
}

void ia_ahead_free(ia_ahead *a)
{
    if (!a)
        return;
    ia_ahead_end(a);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void ia_ahead_begin(ia_ahead *a, const ia_ahead_job *job)
{
    ia_ahead_end(a);
    a->job = *job;
    a->nchunks = job->count > job->lo
                     ? (job->count - job->lo + CHUNK - 1) / CHUNK : 0;
    a->base = a->next = 0;
    a->stop = a->have = 0;
    for (size_t s = 0; s < RING; s++)
        a->slots[s] = (slot){.chunk = SIZE_MAX, .busy = 0};
    /* no thread: the walker claims every chunk itself */
    a->running = a->nchunks > 1 &&
                 pthread_create(&a->th, NULL, helper, a) == 0;
}

/* The walker's chunk c, done (mutex held on entry and return). */
static void wait_chunk(ia_ahead *a, size_t c)
{
    if (c > a->base) {
        a->base = c;                    /* frees the slots before it */
        pthread_cond_broadcast(&a->cv);
    }
    for (;;) {
        const slot *s = &a->slots[c % RING];
        if (s->chunk == c && !s->busy)
            return;
        if (claimable(a, c)) {
            run_chunk(a, a->job.fd, c);
            continue;
        }
        /* the helper is on c: take a later chunk rather than wait */
        size_t d = c + 1;
        while (d < a->nchunks && d < a->base + RING && !claimable(a, d))
            d++;
        if (d < a->nchunks && d < a->base + RING)
            run_chunk(a, a->job.fd, d);
        else
            pthread_cond_wait(&a->cv, &a->mu);
    }
}

const ia_pre_stat *ia_ahead_get(ia_ahead *a, size_t i)
{
    /* outside begin..end (nchunks 0) there is nothing, and waiting for a
     * chunk nobody can claim would never end */
    if (!a->nchunks || i < a->job.lo || i >= a->job.count)
        return NULL;
    size_t c = (i - a->job.lo) / CHUNK;
    if (!a->have || c != a->cur) {
        pthread_mutex_lock(&a->mu);
        wait_chunk(a, c);
        pthread_mutex_unlock(&a->mu);
        a->have = 1;
        a->cur = c;
    }
    return &a->res[(c % RING) * CHUNK + (i - a->job.lo) % CHUNK];
}

void ia_ahead_end(ia_ahead *a)
{
    if (a->running) {
        pthread_mutex_lock(&a->mu);
        a->stop = 1;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->th, NULL);
        a->running = 0;
    }
    a->have = 0;
    a->nchunks = 0;
}
