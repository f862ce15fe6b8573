/*
 * The statistics sections of the text and Markdown reports: per split,
 * the channel mean and standard deviation over all pixels (from the exact
 * sums, so they read the same from any schema version), and the label
 * balance the analysis stored (schema 4 and later; older DBs show none).
 *
 * Split names come from the dataset: text goes through ia_fput_clean,
 * Markdown through ia_fput_md, as in report/text.c.
 */
#include <math.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

typedef struct sctx {
    FILE *out;
    int md;
    int rows;
} sctx;

static void put_name(const sctx *c, const char *s, int width)
{
    if (!*s)
        s = "(no split)";
    if (c->md)
        ia_fput_md(c->out, s);
    else
        ia_fput_clean(c->out, s);
    for (size_t n = strlen(s); n < (size_t)width; n++)
        fputc(' ', c->out);
}

static int channel_row(void *user, const ia_q_split *s)
{
    sctx *c = user;
    double mean[3], std[3];
    /* A split without decoded images (the root of a split layout with
     * its README, a folder of documents) has no pixels to describe. */
    if (s->images == 0 || ia_sums_mean_std(&s->sums, mean, std) != 0)
        return IA_OK;
    if (c->rows++ == 0)
        fputs(c->md ? "### Channels per split\n\n"
                      "| split | images | megapixels | mean R | mean G |"
                      " mean B | std R | std G | std B |\n"
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
                      " ---: | ---: |\n"
                    : "\nchannels (0-255 over all pixels of the decoded "
                      "images)\n  split         images  megapixels  mean R"
                      "  mean G  mean B   std R   std G   std B\n",
              c->out);
    fputs(c->md ? "| " : "  ", c->out);
    put_name(c, s->split, c->md ? 0 : 12);
    double mp = (double)s->sums.n / 1e6;
    if (c->md)
        fprintf(c->out, " | %llu | %.1f |", (unsigned long long)s->images,
                mp);
    else
        fprintf(c->out, "  %6llu  %10.1f", (unsigned long long)s->images,
                mp);
    for (int i = 0; i < 6; i++)
        fprintf(c->out, c->md ? " %.2f |" : "  %6.2f",
                i < 3 ? mean[i] : std[i - 3]);
    fputc('\n', c->out);
    return IA_OK;
}

static int balance_row(void *user, const ia_q_stat_group *g)
{
    sctx *c = user;
    /* Split rows only, and only splits with labelled images. */
    if (!g->split || g->label || g->labels <= 0)
        return IA_OK;
    if (c->rows++ == 0)
        fputs(c->md ? "### Label balance\n\n"
                      "| split | images | share | labels |"
                      " largest / smallest | normalized entropy |\n"
                      "| --- | ---: | ---: | ---: | ---: | ---: |\n"
                    : "\nlabel balance\n  split         images   share"
                      "  labels  largest/smallest  normalized entropy\n",
              c->out);
    fputs(c->md ? "| " : "  ", c->out);
    put_name(c, g->split, c->md ? 0 : 12);
    double share = isfinite(g->share) ? 100.0 * g->share : 0.0;
    if (c->md)
        fprintf(c->out, " | %llu | %.1f%% | %lld | %.2f |",
                (unsigned long long)g->images, share, (long long)g->labels,
                g->imbalance);
    else
        fprintf(c->out, "  %6llu  %5.1f%%  %6lld  %16.2f",
                (unsigned long long)g->images, share, (long long)g->labels,
                g->imbalance);
    if (isfinite(g->label_entropy))
        fprintf(c->out, c->md ? " %.3f |\n" : "  %18.3f\n",
                g->label_entropy);
    else
        fputs(c->md ? " - |\n" : "                   -\n", c->out);
    return IA_OK;
}

int ia_report_stats_section(ia_db *db, int64_t scan_id, FILE *out, int md)
{
    sctx c = {out, md, 0};
    int ret = ia_q_splits(db, scan_id, channel_row, &c);
    if (ret == IA_OK && md && c.rows)
        fputc('\n', out);
    c.rows = 0;
    if (ret == IA_OK)
        ret = ia_q_stat_groups(db, scan_id, balance_row, &c);
    if (ret == IA_OK && md && c.rows)
        fputc('\n', out);
    return ret;
}
