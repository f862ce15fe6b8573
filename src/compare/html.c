/*
 * The HTML page of `imgaudit compare` (docs/reports.md): built from a
 * finished comparison (compare/model.h) with the same blocks as the scan report
 * (html.h), so both read alike. Sections: the verdict, file counts per
 * kind of change, the ranked changes with their numbers, label charts per
 * split with both versions side by side (as shares, so datasets of other
 * sizes compare), the histograms of both overlaid, and thumbnails of the
 * changed files: added and removed, modified as base | new pairs, moved,
 * relabeled and renamed with where they came from.
 *
 * As in report/html.c the images are gathered first (capped per kind),
 * made once each with a progress count, then the page is written. Each
 * file is opened by the rules of the scan it belongs to and shown only
 * while it holds the bytes that scan stored (ia_html_files). A base file
 * that was modified in place (both scans of one folder) is no longer on
 * disk as it was: its side of the pair says so instead of showing the new
 * bytes under the old name.
 */
#include <stdlib.h>
#include <string.h>

#include "compare/model.h"
#include "compare/writers.h"
#include "html/html.h"
#include "store/store.h"
#include "core/core.h"

#define KIND_MAX 24         /* images per kind of change */
#define PAIRS_MAX 12        /* modified files shown as base | new */
#define CHANGES_MAX 200     /* rows of the changes table */

/* Kinds shown as galleries, in page order. */
static const int gallery_kinds[] = {CMP_ADDED, CMP_REMOVED, CMP_MODIFIED,
                                    CMP_MOVED, CMP_RELABELED, CMP_RENAMED};

/* A modified file, base (o) and new (f), ranked by how much it changed. */
typedef struct modpair {
    const cmp_file *f, *o;
    int score;
} modpair;

typedef struct cpage {
    ia_compare *c;
    FILE *out;
    ia_thumbset *thumbs;
    ia_html_files *disk[2];     /* base, new: as thumbnails see them */
    ia_html_shots shots[CMP_KIND_COUNT];
    modpair *mods;          /* every modified file, most changed first */
    size_t nmods, capmods;
    int kind;               /* the kind being gathered */
    int err;                /* the first error while gathering */
} cpage;

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

/* ---- gathering ------------------------------------------------------- */

/* The DB handle holding scan side (one handle may serve both). */
static ia_db *side_db(const ia_compare *c, int side)
{
    ia_db *db0 = c->scan[0].db ? c->scan[0].db : c->dbs[0];
    return side == 0 || !c->scan[1].db ? db0 : c->scan[1].db;
}

static int add(cpage *p, int side, const char *path, const char *note)
{
    int ret = ia_html_files_add(p->disk[side], &p->shots[p->kind],
                                p->thumbs, path, note);
    if (ret != IA_OK && !p->err)
        p->err = ret;
    return ret;
}

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* How much a modified file changed, for the order of the pairs: a file
 * that stopped decoding first, then a new color space or format, a new
 * size, a lower JPEG quality (by how much), pixels changed, and last a
 * re-encoding that kept the pixels. */
static int mod_score(const cmp_file *f, const cmp_file *o)
{
    if (!o)
        return 0;
    int score = 0;
    if (!same(o->status, f->status))
        score += strcmp(o->status, "ok") == 0 ? 100000 : 50000;
    if (!same(o->color_space, f->color_space))
        score += 20000;
    if (!same(o->format, f->format))
        score += 10000;
    if (o->width != f->width || o->height != f->height)
        score += 5000;
    if (o->quality > f->quality && f->quality >= 0)
        score += 1000 + (int)(o->quality - f->quality) * 10;
    if (o->have_pix && f->have_pix && memcmp(o->pix, f->pix, sizeof o->pix))
        score += 100;
    return score;
}

static int collect_mod(cpage *p, const cmp_file *f, const cmp_file *o)
{
    if (p->nmods == p->capmods) {
        size_t cap = p->capmods ? p->capmods * 2 : 64;
        modpair *m = realloc(p->mods, cap * sizeof *m);
        if (!m) {
            p->err = IA_ERR_NOMEM;
            return IA_ERR_NOMEM;
        }
        p->mods = m;
        p->capmods = cap;
    }
    p->mods[p->nmods++] = (modpair){f, o, mod_score(f, o)};
    return IA_OK;
}

static int mod_cmp(const void *a, const void *b)
{
    const modpair *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->f->path, y->f->path);
}

/* The PAIRS_MAX most changed files as base | new pairs; the pair's card
 * names the file once, so the figures carry no path. */
static int gather_mods(cpage *p)
{
    ia_compare *c = p->c;
    int same_place = strcmp(c->scan[0].root, c->scan[1].root) == 0;
    ia_html_shots *s = &p->shots[CMP_MODIFIED];
    int ret = IA_OK;
    if (p->nmods)
        qsort(p->mods, p->nmods, sizeof *p->mods, mod_cmp);
    p->kind = CMP_MODIFIED;
    for (size_t i = 0; ret == IA_OK && i < p->nmods && i < PAIRS_MAX; i++) {
        const cmp_file *f = p->mods[i].f, *o = p->mods[i].o;
        char note[128];
        ia_bprintf(note, sizeof note, "base: %s", o ? o->status : "?");
        ret = same_place
                  ? ia_html_shots_add_text(s, f->path, note,
                                           "base version replaced on disk")
                  : ia_html_files_add(p->disk[0], s, p->thumbs,
                                      o ? o->path : f->path, note);
        ia_bprintf(note, sizeof note, "new: %s", f->status);
        if (ret == IA_OK)
            ret = ia_html_files_add(p->disk[1], s, p->thumbs, f->path, note);
    }
    return ret;
}

static int gather_cb(ia_compare *c, const cmp_file *f, const cmp_file *o,
                     void *user)
{
    cpage *p = user;
    char note[256];
    ia_html_shots *s = &p->shots[p->kind];
    if (p->kind != CMP_MODIFIED && s->n >= KIND_MAX)
        return 1;   /* enough: stop the walk */
    switch (p->kind) {
    case CMP_ADDED:
        ia_bprintf(note, sizeof note, "%s / %s",
                   ia_cmp_split_name(f->split), or_dash(f->label));
        return add(p, 1, f->path, note);
    case CMP_REMOVED:
        ia_bprintf(note, sizeof note, "%s / %s",
                   ia_cmp_split_name(f->split), or_dash(f->label));
        return add(p, 0, f->path, note);
    case CMP_MODIFIED:
        return collect_mod(p, f, o);
    case CMP_MOVED:
        ia_bprintf(note, sizeof note, "split %s \xE2\x86\x92 %s",
                   o ? ia_cmp_split_name(o->split) : "?",
                   ia_cmp_split_name(f->split));
        return add(p, 1, f->path, note);
    case CMP_RELABELED:
        ia_bprintf(note, sizeof note, "label %s \xE2\x86\x92 %s",
                   o ? or_dash(o->label) : "?", or_dash(f->label));
        return add(p, 1, f->path, note);
    default:
        ia_bprintf(note, sizeof note, "was %s", o ? o->path : "?");
        return add(p, 1, f->path, note);
    }
}

/* err, with the message of whichever DB handle failed, moved onto c. */
static int db_fail(ia_compare *c, int err)
{
    const char *m0 = ia_db_errmsg(side_db(c, 0));
    const char *m1 = ia_db_errmsg(side_db(c, 1));
    return ia_cmp_fail(c, err, "%s", *m0 ? m0 : m1);
}

static int gather(cpage *p)
{
    ia_thumb_opts topt = {0};
    if (ia_thumbset_new(&topt, 0, &p->thumbs) != IA_OK)
        return IA_ERR_NOMEM;
    for (int side = 0; side < 2; side++) {
        int ret = ia_html_files_open(side_db(p->c, side), p->c->scan[side].id,
                                     &p->disk[side]);
        if (ret != IA_OK)
            return db_fail(p->c, ret);
    }
    for (size_t i = 0; i < IA_ARRAY_LEN(gallery_kinds); i++) {
        p->kind = gallery_kinds[i];
        int ret = ia_cmp_each(p->c, p->kind, gather_cb, p);
        if (p->err)
            return db_fail(p->c, p->err);
        if (ret != IA_OK && ret != 1)
            return ret;
    }
    int ret = gather_mods(p);
    return ret != IA_OK ? db_fail(p->c, ret) : IA_OK;
}

/* ---- writing --------------------------------------------------------- */

static void head(cpage *p)
{
    const ia_compare *c = p->c;
    char title[512], base[512], new_[512];
    ia_bprintf(title, sizeof title, "%s \xE2\x86\x92 %s", c->scan[0].name,
               c->scan[1].name);
    ia_bprintf(base, sizeof base, "%s (scan %lld in %s, %zu files)",
               c->scan[0].name, (long long)c->scan[0].id,
               c->scan[0].db_path, c->scan[0].n);
    ia_bprintf(new_, sizeof new_, "%s (scan %lld in %s, %zu files)",
               c->scan[1].name, (long long)c->scan[1].id,
               c->scan[1].db_path, c->scan[1].n);
    char page_title[560];
    ia_bprintf(page_title, sizeof page_title, "imgaudit compare: %s", title);
    ia_html_page_begin(p->out, page_title);
    ia_html_meta meta[] = {
        {"base", base}, {"base root", c->scan[0].root},
        {"base time", or_dash(c->scan[0].started_at)},
        {"new", new_}, {"new root", c->scan[1].root},
        {"new time", or_dash(c->scan[1].started_at)},
    };
    ia_html_header(p->out, "imgaudit compare", title, meta,
                   IA_ARRAY_LEN(meta));
    static const char *const ids[] = {"summary", "changes", "labels",
                                      "distributions", "files"};
    static const char *const titles[] = {"Summary", "Changes", "Labels",
                                         "Distributions", "Changed files"};
    ia_html_nav(p->out, ids, titles, IA_ARRAY_LEN(ids));
}

static void verdict(cpage *p)
{
    static const char *const fail_on[] = {"error", "warning", "never"};
    const ia_compare *c = p->c;
    char detail[200];
    int level = c->fail ? IA_HTML_FAIL
                : c->sev[IA_SEV_WARNING] ? IA_HTML_WARN : IA_HTML_PASS;
    ia_bprintf(detail, sizeof detail,
               "%llu errors, %llu warnings, %llu info (--fail-on %s)",
               (unsigned long long)c->sev[IA_SEV_ERROR],
               (unsigned long long)c->sev[IA_SEV_WARNING],
               (unsigned long long)c->sev[IA_SEV_INFO],
               fail_on[c->opt.fail_on]);
    ia_html_verdict(p->out, level,
                    c->fail ? "Fail"
                    : level == IA_HTML_WARN ? "Pass with warnings" : "Pass",
                    detail);
    for (int i = 0; i < 2; i++)
        if (!c->scan[i].complete)
            ia_html_notice(p->out, IA_HTML_FAIL,
                           i == 0 ? "The base scan is incomplete."
                                  : "The new scan is incomplete.");
}

static void summary(cpage *p)
{
    static const int order[] = {CMP_UNCHANGED, CMP_ADDED, CMP_REMOVED,
                                CMP_MODIFIED, CMP_MOVED, CMP_RELABELED,
                                CMP_RENAMED};
    const ia_compare *c = p->c;
    FILE *out = p->out;
    ia_html_section_begin(out, "summary", "Summary");
    ia_html_cards_begin(out);
    for (size_t i = 0; i < IA_ARRAY_LEN(order); i++)
        ia_html_card(out, ia_cmp_kind_name(order[i]), c->kinds[order[i]],
                     IA_HTML_PASS);
    ia_html_cards_end(out);
    fputs("<table class=\"status\"><thead><tr><th>status</th>"
          "<th class=\"n\">base</th><th class=\"n\">new</th></tr></thead>"
          "<tbody>\n", out);
    for (int s = 0; s < IA_ST_COUNT; s++) {
        if (!c->scan[0].status[s] && !c->scan[1].status[s] && s != IA_ST_OK)
            continue;
        fprintf(out, "<tr><td>%s</td><td class=\"n\">", ia_status_name(s));
        ia_html_count(out, c->scan[0].status[s]);
        fputs("</td><td class=\"n\">", out);
        ia_html_count(out, c->scan[1].status[s]);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
    ia_html_section_end(out);
}

static void changes(cpage *p)
{
    const ia_compare *c = p->c;
    FILE *out = p->out;
    ia_html_section_begin(out, "changes", "Changes, most severe first");
    if (!c->nfindings) {
        ia_html_para(out, "No change between the two scans.");
        ia_html_section_end(out);
        return;
    }
    fputs("<table class=\"codes\"><thead><tr><th>severity</th><th>code</th>"
          "<th>detail</th><th>examples</th></tr></thead><tbody>\n", out);
    for (size_t i = 0; i < c->nfindings && i < CHANGES_MAX; i++) {
        const cmp_finding *f = &c->findings[i];
        fputs("<tr><td>", out);
        ia_html_severity(out, f->severity);
        fputs("</td><td><code>", out);
        ia_html_text(out, ia_cc_name(f->code));
        fputs("</code></td><td>", out);
        ia_html_text(out, f->detail);
        fputs("</td><td>", out);
        for (int k = 0; k < f->nexamples && k < IA_CMP_EXAMPLES_MAX; k++) {
            fputs(k ? "<br><span class=\"path\">" : "<span class=\"path\">",
                  out);
            ia_html_text(out, f->examples[k]);
            fputs("</span>", out);
        }
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
    if (c->nfindings > CHANGES_MAX)
        ia_html_more(out, c->nfindings - CHANGES_MAX,
                     "changes (all in --format json)");
    ia_html_section_end(out);
}

/* The DB-reading sections, both scans at once. */
static int charts(cpage *p)
{
    ia_compare *c = p->c;
    ia_db *db0 = side_db(c, 0), *db1 = side_db(c, 1);
    ia_html_scans s = {{db0, db1},
                       {c->scan[0].id, c->scan[1].id},
                       {"base", "new"}, 2};
    FILE *out = p->out;
    ia_html_section_begin(out, "labels", "Labels per split");
    ia_html_para(out, "Share of each split's decoded images per label, "
                      "base and new side by side.");
    int ret = ia_html_label_charts(out, &s);
    ia_html_section_end(out);
    if (ret == IA_OK) {
        ia_html_section_begin(out, "distributions", "Distributions");
        ia_html_para(out, "Share of decoded images per bin, base and new "
                          "overlaid.");
        ret = ia_html_measure_charts(out, &s);
        ia_html_section_end(out);
    }
    if (ret != IA_OK)
        return db_fail(c, ret);
    return IA_OK;
}

/* The pairs, most changed first, as compact cards: the path once, the
 * reason, then base | new without their paths. */
static void modified(cpage *p, const ia_html_shots *s)
{
    FILE *out = p->out;
    char reason[512];
    ia_html_para(out, "Most changed first: a file that no longer decodes, "
                      "then a new color space, format or size, then a "
                      "lower JPEG quality.");
    ia_html_cardgrid_begin(out);
    for (size_t j = 0; j + 1 < s->n && j / 2 < p->nmods; j += 2) {
        const modpair *m = &p->mods[j / 2];
        ia_cmp_mod_reason(m->f, m->o, " \xE2\x86\x92 ", reason,
                          sizeof reason);
        ia_html_pair_begin(out, m->f->path, reason);
        for (size_t i = j; i < j + 2; i++) {
            ia_html_shot t = s->v[i];
            t.path = NULL;
            ia_html_shots shot = {&t, 1, 1};
            ia_html_shots_render(out, p->thumbs, &shot, 0, 1);
        }
        ia_html_group_end(out);
    }
    ia_html_cardgrid_end(out);
}

static void files(cpage *p)
{
    const ia_compare *c = p->c;
    FILE *out = p->out;
    char head_[128];
    size_t shown = 0;
    ia_html_section_begin(out, "files", "Changed files");
    for (size_t i = 0; i < IA_ARRAY_LEN(gallery_kinds); i++) {
        int k = gallery_kinds[i];
        const ia_html_shots *s = &p->shots[k];
        uint64_t n = c->kinds[k];
        if (!n)
            continue;
        shown++;
        ia_bprintf(head_, sizeof head_, "%s (%llu)", ia_cmp_kind_name(k),
                   (unsigned long long)n);
        fprintf(out, "<div class=\"code-gallery\" data-code=\"%s\">\n",
                ia_cmp_kind_name(k));
        ia_html_subhead(out, head_);
        if (k == CMP_MODIFIED) {
            modified(p, s);
            ia_html_more(out, n - s->n / 2, "modified files");
        } else {
            ia_html_gallery_begin(out);
            ia_html_shots_render(out, p->thumbs, s, 0, s->n);
            ia_html_gallery_end(out);
            ia_html_more(out, n - s->n, "files");
        }
        fputs("</div>\n", out);
    }
    if (!shown)
        ia_html_para(out, "No file was added, removed or changed.");
    ia_html_section_end(out);
}

static int write_page(cpage *p)
{
    char footer[160];
    head(p);
    verdict(p);
    summary(p);
    changes(p);
    int ret = charts(p);
    if (ret != IA_OK)
        return ret;
    files(p);
    ia_bprintf(footer, sizeof footer, "imgaudit %s, compare of scan %lld "
               "with scan %lld", IMGAUDIT_VERSION, (long long)p->c->scan[0].id,
               (long long)p->c->scan[1].id);
    ia_html_page_end(p->out, footer);
    if (fflush(p->out) != 0 || ferror(p->out))
        return ia_cmp_fail(p->c, IA_ERR_IO, "cannot write the comparison");
    return IA_OK;
}

int ia_html_compare(ia_compare *c, FILE *out, const ia_report_options *opt)
{
    cpage p;
    if (!c || !out)
        return IA_ERR_ARG;
    memset(&p, 0, sizeof p);
    p.c = c;
    p.out = out;
    int ret = gather(&p);
    if (ret == IA_OK)
        ret = ia_thumbset_make(p.thumbs, opt ? opt->progress : NULL,
                               opt ? opt->user : NULL,
                               opt ? opt->cancel : NULL);
    if (ret == IA_ERR_NOMEM)
        ret = ia_cmp_fail(c, ret, "out of memory");
    else if (ret == IA_OK && opt && opt->cancel && *opt->cancel)
        ret = ia_cmp_fail(c, IA_ERR_INTERRUPTED,
                          "stopped while making thumbnails");
    if (ret == IA_OK)
        ret = write_page(&p);
    for (int k = 0; k < CMP_KIND_COUNT; k++)
        ia_html_shots_free(&p.shots[k]);
    free(p.mods);
    ia_thumbset_free(p.thumbs);
    ia_html_files_free(p.disk[0]);
    ia_html_files_free(p.disk[1]);
    return ret;
}
