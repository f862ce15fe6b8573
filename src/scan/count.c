/*
 * Counting ahead (count.h). The thread owns its walker; the scan's thread
 * reads two atomics (the count, and whether it is final) and sets one
 * (stop). Nothing else is shared, so the count never slows the scan by a
 * lock; its only cost is the second listing of each folder and an
 * lstat per entry, which the kernel's caches make cheap next to decoding.
 */
#include <pthread.h>
#include <stdlib.h>

#include "imgaudit.h"
#include "scan/count.h"

struct ia_counter {
    ia_walk_options wo;
    ia_count_fn counts;
    void *user;
    pthread_t thread;
    uint64_t n;         /* atomic: files counted */
    int state;          /* atomic: 0 counting, 1 final, -1 unknown */
    int stop;           /* atomic: set by ia_counter_stop */
};

/* The walk's archives: met means the total cannot be known cheaply. */
static int give_up_on_archive(void *user, const char *relpath)
{
    (void)relpath;
    __atomic_store_n(&((ia_counter *)user)->state, -1, __ATOMIC_RELAXED);
    return 1;
}

static void *count_main(void *arg)
{
    ia_counter *c = arg;
    ia_walker *w = NULL;
    ia_entry *e = NULL;
    char err[256];
    int rc = ia_walk_open(&c->wo, &w, err, sizeof err);
    uint64_t n = 0;
    while (rc == IA_OK && !__atomic_load_n(&c->stop, __ATOMIC_RELAXED) &&
           __atomic_load_n(&c->state, __ATOMIC_RELAXED) == 0) {
        int more = ia_walk_next(w, &e);
        if (more <= 0) {
            rc = more < 0 ? -more : IA_OK;
            break;
        }
        if (c->counts(c->user, e))
            __atomic_store_n(&c->n, ++n, __ATOMIC_RELAXED);
        ia_entry_free(e);
    }
    int done = rc == IA_OK && !__atomic_load_n(&c->stop, __ATOMIC_RELAXED);
    int expected = 0;
    __atomic_compare_exchange_n(&c->state, &expected, done ? 1 : -1, 0,
                                __ATOMIC_RELEASE, __ATOMIC_RELAXED);
    ia_walk_close(w);
    return NULL;
}

int ia_counter_start(const ia_walk_options *wo, ia_count_fn counts,
                     void *user, ia_counter **out)
{
    ia_counter *c = calloc(1, sizeof *c);
    if (!c)
        return IA_ERR_NOMEM;
    c->wo = *wo;
    c->wo.skip_archive = give_up_on_archive;
    c->wo.user = c;
    c->counts = counts;
    c->user = user;
    if (pthread_create(&c->thread, NULL, count_main, c) != 0) {
        free(c);
        return IA_ERR_IO;
    }
    *out = c;
    return IA_OK;
}

uint64_t ia_counter_total(const ia_counter *c)
{
    if (!c || __atomic_load_n(&c->state, __ATOMIC_ACQUIRE) != 1)
        return 0;
    return __atomic_load_n(&c->n, __ATOMIC_RELAXED);
}

void ia_counter_stop(ia_counter *c)
{
    if (!c)
        return;
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
    pthread_join(c->thread, NULL);
    free(c);
}
