/*
 * The row sink between the decoders and the measurements: each row's luma
 * is computed once, in the same pass as the channel statistics
 * (into the row the hasher or the Laplacian keeps), and shared with the
 * hashes, so every decoded pixel is touched by one pass of consumers and
 * never stored or copied.
 */
#include <stdlib.h>

#include "measure/hash.h"
#include "imgaudit.h"
#include "measure/measure.h"
#include "measure/stats.h"

struct ia_measure {
    ia_stats *stats;
    ia_hasher *hasher;
    uint8_t *luma;
    size_t luma_cap;
    uint32_t width, height, rows;
    int channels;
};

int ia_measure_new(ia_measure **out)
{
    ia_measure *m = calloc(1, sizeof *m);
    if (!m)
        return IA_ERR_NOMEM;
    if (ia_stats_new(&m->stats) != IA_OK ||
        ia_hasher_new(&m->hasher) != IA_OK) {
        ia_measure_free(m);
        return IA_ERR_NOMEM;
    }
    *out = m;
    return IA_OK;
}

void ia_measure_share(ia_measure *m, ia_hash_tables *t)
{
    ia_hasher_share(m->hasher, t);
}

void ia_measure_free(ia_measure *m)
{
    if (!m)
        return;
    ia_stats_free(m->stats);
    ia_hasher_free(m->hasher);
    free(m->luma);
    free(m);
}

static int sink_begin(void *ctx, uint32_t width, uint32_t height,
                      int channels, int bit_depth)
{
    ia_measure *m = ctx;
    if (width == 0 || height == 0 || channels < 1 || channels > 4)
        return IA_ERR_ARG;
    if (width > m->luma_cap) {
        size_t cap = m->luma_cap ? m->luma_cap : 1024;
        while (cap < width)
            cap *= 2;
        uint8_t *nl = realloc(m->luma, cap);
        if (!nl)
            return IA_ERR_NOMEM;
        m->luma = nl;
        m->luma_cap = cap;
    }
    m->width = width;
    m->height = height;
    m->channels = channels;
    m->rows = 0;
    int rc = ia_stats_begin(m->stats, width, height, channels);
    if (rc == IA_OK)
        rc = ia_hasher_begin(m->hasher, width, height, channels, bit_depth);
    return rc;
}

static void sink_row(void *ctx, const uint8_t *row)
{
    ia_measure *m = ctx;
    if (m->rows >= m->height)
        return; /* a decoder bug must not overrun the hashes' windows */
    /* luma computed where the hasher keeps its rows when it does (the
     * Laplacian reads it there too), else where the Laplacian does: no
     * row is copied */
    uint8_t *slot = ia_hasher_luma_slot(m->hasher);
    if (slot) {
        ia_stats_row_held(m->stats, row, slot);
        ia_hasher_row(m->hasher, row, slot);
    } else {
        ia_hasher_row(m->hasher, row,
                      ia_stats_row_kept(m->stats, row, m->luma));
    }
    m->rows++;
}

void ia_measure_sink(ia_measure *m, ia_rowsink *sink)
{
    m->rows = 0;
    m->height = 0;
    sink->ctx = m;
    sink->begin = sink_begin;
    sink->row = sink_row;
}

void ia_measure_finish(ia_measure *m, ia_file_result *res)
{
    if (m->height == 0 || m->rows != m->height)
        return;
    ia_stats_end(m->stats, &res->stats);
    ia_hasher_end(m->hasher, &res->hashes);
    res->have_measures = 1;
}
