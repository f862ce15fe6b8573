/*
 * The ordered pool: results come back in submission order whatever the
 * thread timing, back-pressure bounds slots in flight, and inline mode (0
 * threads) runs jobs at submit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "scan/budget.h"
#include "imgaudit.h"
#include "scan/pool.h"

typedef struct slot {
    unsigned seq;
    unsigned result;
    int worker_id;
} slot;

typedef struct shared {
    int next_id;
    int fail_init;
} shared;

static int w_new(void *sh, void **state)
{
    shared *s = sh;
    if (s->fail_init)
        return IA_ERR_NOMEM;
    int *id = malloc(sizeof *id);
    if (!id)
        return IA_ERR_NOMEM;
    *id = __atomic_fetch_add(&s->next_id, 1, __ATOMIC_SEQ_CST);
    *state = id;
    return IA_OK;
}

static void w_free(void *state)
{
    free(state);
}

static void w_run(void *sh, void *state, void *p)
{
    (void)sh;
    slot *sl = p;
    /* Uneven work so later jobs often finish first. */
    if (sl->seq % 7 == 0) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    sl->result = sl->seq * 3u + 1u;
    sl->worker_id = *(int *)state;
}

static void run_ordered(unsigned threads, size_t nslots, unsigned njobs)
{
    static const ia_pool_ops ops = {w_new, w_free, w_run};
    shared sh = {0};
    ia_pool *p = NULL;
    assert_int_equal(ia_pool_create(threads, sizeof(slot), nslots, &ops, &sh,
                                    &p), IA_OK);
    unsigned submitted = 0, collected = 0;
    while (collected < njobs) {
        slot *s = submitted < njobs ? ia_pool_acquire(p) : NULL;
        if (s) {
            s->seq = submitted++;
            ia_pool_submit(p);
            assert_true(ia_pool_pending(p) <= nslots);
            continue;
        }
        slot *done = ia_pool_collect(p);
        assert_non_null(done);
        assert_int_equal(done->seq, collected);
        assert_int_equal(done->result, collected * 3u + 1u);
        ia_pool_release(p);
        collected++;
    }
    assert_null(ia_pool_collect(p));
    assert_int_equal(ia_pool_pending(p), 0);
    ia_pool_free(p);
    assert_int_equal(sh.next_id, threads ? (int)threads : 1);
}

static void test_inline(void **st)
{
    (void)st;
    run_ordered(0, 1, 50);
    run_ordered(0, 4, 50);
}

static void test_threads_order(void **st)
{
    (void)st;
    static const struct {
        unsigned threads;
        size_t slots;
        unsigned jobs;
    } cases[] = {{1, 1, 100}, {2, 3, 500}, {4, 8, 2000}, {8, 64, 3000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_ordered(cases[i].threads, cases[i].slots, cases[i].jobs);
}

static void test_backpressure(void **st)
{
    (void)st;
    static const ia_pool_ops ops = {w_new, w_free, w_run};
    shared sh = {0};
    ia_pool *p = NULL;
    assert_int_equal(ia_pool_create(2, sizeof(slot), 3, &ops, &sh, &p),
                     IA_OK);
    for (unsigned i = 0; i < 3; i++) {
        slot *s = ia_pool_acquire(p);
        assert_non_null(s);
        s->seq = i;
        ia_pool_submit(p);
    }
    assert_null(ia_pool_acquire(p)); /* full until one is collected */
    slot *s = ia_pool_collect(p);
    assert_int_equal(s->seq, 0);
    ia_pool_release(p);
    assert_non_null(ia_pool_acquire(p));
    ia_pool_submit(p);
    ia_pool_free(p); /* frees with work pending: must not hang or leak */
}

static void test_init_failure(void **st)
{
    (void)st;
    static const ia_pool_ops ops = {w_new, w_free, w_run};
    shared sh = {.fail_init = 1};
    ia_pool *p = NULL;
    assert_int_equal(ia_pool_create(3, sizeof(slot), 4, &ops, &sh, &p),
                     IA_ERR_NOMEM);
    assert_null(p);
    assert_int_equal(ia_pool_create(0, sizeof(slot), 4, &ops, &sh, &p),
                     IA_ERR_NOMEM);
    assert_int_equal(ia_pool_create(2, sizeof(slot), 0, &ops, &sh, &p),
                     IA_ERR_NOMEM);
}

typedef struct waiter {
    const ia_memgate *gate;
    uint64_t bytes;
    int rc;
} waiter;

static void *reserve_thread(void *arg)
{
    waiter *w = arg;
    w->rc = w->gate->reserve(w->gate->ctx, w->bytes);
    return NULL;
}

/* A request over the whole budget is refused at once, whatever is held;
 * one that does not fit now waits for the release that makes it fit. */
static void test_budget(void **st)
{
    (void)st;
    ia_budget *b = NULL;
    pthread_t t;
    assert_int_equal(ia_budget_new(100, 0, &b), IA_OK);
    const ia_memgate *g = ia_budget_gate(b);
    assert_int_equal(g->total, 100);
    assert_int_equal(g->reserve(g->ctx, 60), 0);
    assert_int_not_equal(g->reserve(g->ctx, 101), 0);
    waiter w = {g, 50, -1};
    assert_int_equal(pthread_create(&t, NULL, reserve_thread, &w), 0);
    struct timespec ms50 = {0, 50 * 1000 * 1000};
    nanosleep(&ms50, NULL);
    assert_int_equal(ia_budget_used(b), 60); /* still waiting */
    g->release(g->ctx, 60);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_int_equal(ia_budget_used(b), 50);
    g->release(g->ctx, 50);
    assert_int_equal(ia_budget_used(b), 0);
    ia_budget_free(b);

    /* The default admits one image at the pixel limit: 9 bytes a pixel,
     * never under 1 GiB. */
    assert_int_equal(ia_budget_new(0, 0, &b), IA_OK);
    assert_int_equal(ia_budget_gate(b)->total, 9 * IA_DEFAULT_MAX_PIXELS);
    ia_budget_free(b);
    assert_int_equal(ia_budget_new(0, 1000, &b), IA_OK);
    assert_int_equal(ia_budget_gate(b)->total, IA_DEFAULT_MAX_MEMORY);
    ia_budget_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_threads_order),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_init_failure),
        cmocka_unit_test(test_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
