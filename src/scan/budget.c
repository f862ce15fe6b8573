/*
 * Scan-wide memory budget (budget.h). Tickets make the grants first come,
 * first served: a request waits until every earlier one was granted and
 * its own bytes fit. A request larger than the whole budget is refused at
 * once, whatever the others hold, so the verdict on a file does not
 * depend on timing and -j 1 refuses exactly what -j N refuses.
 */
#include <pthread.h>
#include <stdlib.h>

#include "scan/budget.h"
#include "imgaudit.h"

struct ia_budget {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t used;
    uint64_t next_ticket;     /* the next request's turn */
    uint64_t serving;         /* the turn being granted */
    ia_memgate gate;
};

static int reserve(void *ctx, uint64_t bytes)
{
    ia_budget *b = ctx;
    if (bytes > b->gate.total)
        return -1;
    pthread_mutex_lock(&b->mu);
    uint64_t ticket = b->next_ticket++;
    while (ticket != b->serving || b->used + bytes > b->gate.total)
        pthread_cond_wait(&b->cv, &b->mu);
    b->used += bytes;
    b->serving++;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

static void release(void *ctx, uint64_t bytes)
{
    ia_budget *b = ctx;
    pthread_mutex_lock(&b->mu);
    b->used -= bytes;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* 8 bytes a pixel is the most any layout needs (a CMYK 4:4:4 progressive
 * JPEG's coefficients); the ninth covers the padding to whole blocks. */
static uint64_t default_total(uint64_t max_pixels)
{
    if (!max_pixels)
        max_pixels = IA_DEFAULT_MAX_PIXELS;
    uint64_t one_image = max_pixels > UINT64_MAX / 9 ? UINT64_MAX
                                                     : max_pixels * 9;
    return one_image > IA_DEFAULT_MAX_MEMORY ? one_image
                                             : IA_DEFAULT_MAX_MEMORY;
}

int ia_budget_new(uint64_t total, uint64_t max_pixels, ia_budget **out)
{
    ia_budget *b = calloc(1, sizeof *b);
    if (!b)
        return IA_ERR_NOMEM;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->gate.ctx = b;
    b->gate.reserve = reserve;
    b->gate.release = release;
    b->gate.total = total ? total : default_total(max_pixels);
    *out = b;
    return IA_OK;
}

void ia_budget_free(ia_budget *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

const ia_memgate *ia_budget_gate(const ia_budget *b)
{
    return &b->gate;
}

uint64_t ia_budget_used(ia_budget *b)
{
    pthread_mutex_lock(&b->mu);
    uint64_t used = b->used;
    pthread_mutex_unlock(&b->mu);
    return used;
}
