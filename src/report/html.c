/*
 * The HTML report of one scan (docs/reports.md): a self-contained page
 * with the verdict, summary counts, findings by severity and code, label
 * charts per split, histograms, duplicate groups and leaks as thumbnails
 * side by side, and a gallery of flagged images per finding code.
 *
 * Three phases, so the thumbnails are made once each with an honest
 * progress count (done of total) and the page is written in one pass:
 *
 *   1. plan: read what the page will show of findings, groups and leaks,
 *      capped (24 images per code, 50 groups of at most 8 images, 50
 *      leaks), and register every image in a thumbnail set, which keeps
 *      one thumbnail per file however often it appears;
 *   2. thumbnails: make them from the files under the scan's root, opened
 *      by the scan's rules and checked to be the bytes scanned (a file
 *      that moved, vanished or changed gets a placeholder, never an
 *      error; docs/security.md);
 *   3. render: write the page; the cheap sections (counts, charts) query
 *      the DB again while writing.
 *
 * Memory is bounded by the caps, not by the dataset: a 100k-image scan
 * gives a page of at most IA_THUMBSET_DEFAULT_MAX thumbnails plus text.
 * The DB is only read. The page depends only on the DB and the files
 * (no time of day, no host name), so the same inputs give the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "html/html.h"
#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

#define GALLERY_MAX 24      /* images per finding code */
#define GROUPS_MAX 50       /* duplicate groups shown */
#define MEMBERS_MAX 8       /* images per duplicate group */
#define LEAKS_MAX 50        /* leak pairs shown */
#define EXAMPLES_MAX 10     /* text examples per code in the findings table */
#define DATASET_MAX 100     /* dataset-level findings listed */
#define ANNOT_MAX 12        /* images with box findings drawn */

/* Codes whose files are shown in the duplicate and leak sections. */
static const char *const grouped_codes[] = {
    "exact_duplicate", "pixel_duplicate", "near_duplicate", "split_leak",
};

/* ---- plan ------------------------------------------------------------ */

typedef struct gallery {
    char *code;
    int severity;
    uint64_t findings, files, dataset;
    ia_html_shots s;
} gallery;

typedef struct dgroup {
    char kind[8];
    uint64_t members;
    char split[64];         /* of the first member */
    int cross;              /* members in more than one split: a leak */
    ia_html_shots s;
} dgroup;

typedef struct leakrow {
    char kind[8];
    int distance;
    ia_html_shots s;            /* a, then b */
} leakrow;

typedef struct page {
    ia_db *db;
    int64_t scan_id;
    FILE *out;
    const ia_report_options *opt;
    /* the scan */
    char *name, *root, *started, *finished, *version, *layout;
    int complete;
    int64_t files, decoded, bytes, pixels;
    uint64_t sev[3];            /* findings per severity */
    uint64_t sev_files[3];      /* distinct files with a finding of it */
    uint64_t sev_dataset[3];    /* dataset-level findings of it */
    uint64_t status[IA_ST_COUNT];
    /* what the page shows */
    gallery *gal;
    size_t ngal, galcap;
    size_t cur;             /* the gallery being filled */
    dgroup *groups;
    size_t ngroups;
    uint64_t groups_total;
    int64_t last_group;     /* group of the previous member row */
    int in_shown;           /* that group is shown */
    leakrow *leaks;
    size_t nleaks;
    uint64_t leaks_total;
    ia_thumbset *thumbs;
    ia_html_files *disk;    /* the scan's files as thumbnails see them */
    ia_html_shots annot;    /* images with box findings */
    double *abox;           /* their boxes, 4 doubles each */
    size_t nabox, capabox;
    size_t afirst[ANNOT_MAX + 1];   /* shot i: boxes [afirst[i], afirst[i+1]) */
    uint64_t shown;     /* examples written for the current code */
} page;

static int nomem(page *p)
{
    return ia_store_fail(p->db, IA_ERR_NOMEM, "out of memory");
}

static void page_free(page *p)
{
    free(p->name);
    free(p->root);
    free(p->started);
    free(p->finished);
    free(p->version);
    free(p->layout);
    for (size_t i = 0; i < p->ngal; i++) {
        free(p->gal[i].code);
        ia_html_shots_free(&p->gal[i].s);
    }
    free(p->gal);
    for (size_t i = 0; i < p->ngroups; i++)
        ia_html_shots_free(&p->groups[i].s);
    free(p->groups);
    for (size_t i = 0; i < p->nleaks; i++)
        ia_html_shots_free(&p->leaks[i].s);
    free(p->leaks);
    ia_html_shots_free(&p->annot);
    free(p->abox);
    ia_thumbset_free(p->thumbs);
    ia_html_files_free(p->disk);
}

/* Adds an image to s and to the thumbnail set. */
static int shot_add(page *p, ia_html_shots *s, const char *path,
                    const char *note)
{
    return ia_html_files_add(p->disk, s, p->thumbs, path, note);
}

static char *dup_or_null(const char *s, int *fail)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *fail = 1;
    return d;
}

static int scan_cb(void *user, const ia_q_scan *s)
{
    page *p = user;
    int fail = 0;
    p->name = dup_or_null(s->name, &fail);
    p->root = dup_or_null(s->root ? s->root : "", &fail);
    p->started = dup_or_null(s->started_at, &fail);
    p->finished = dup_or_null(s->finished_at, &fail);
    p->version = dup_or_null(s->tool_version, &fail);
    p->layout = dup_or_null(s->layout, &fail);
    p->complete = s->complete;
    p->files = s->files;
    p->decoded = s->decoded;
    p->bytes = s->bytes;
    p->pixels = s->pixels;
    return fail ? nomem(p) : IA_OK;
}

static int is_grouped(const char *code)
{
    for (size_t i = 0; i < IA_ARRAY_LEN(grouped_codes); i++)
        if (strcmp(code, grouped_codes[i]) == 0)
            return 1;
    return 0;
}

static int code_cb(void *user, const ia_q_code_files *c)
{
    page *p = user;
    if (p->ngal == p->galcap) {
        size_t cap = p->galcap ? p->galcap * 2 : 16;
        gallery *g = realloc(p->gal, cap * sizeof *g);
        if (!g)
            return nomem(p);
        p->gal = g;
        p->galcap = cap;
    }
    gallery *g = &p->gal[p->ngal];
    memset(g, 0, sizeof *g);
    if (!(g->code = strdup(c->code)))
        return nomem(p);
    g->severity = c->severity;
    g->findings = c->findings;
    g->files = c->files;
    g->dataset = c->dataset;
    p->ngal++;
    return IA_OK;
}

static int flagged_cb(void *user, const ia_q_flagged *f)
{
    page *p = user;
    return shot_add(p, &p->gal[p->cur].s, f->path, f->detail);
}

/* Whether a code gets a gallery of its files. */
static int has_gallery(const gallery *g)
{
    return g->severity >= IA_SEV_WARNING && g->files > 0 &&
           !is_grouped(g->code);
}

static int plan_galleries(page *p)
{
    int ret = ia_q_code_file_counts(p->db, p->scan_id, code_cb, p);
    for (p->cur = 0; ret == IA_OK && p->cur < p->ngal; p->cur++)
        if (has_gallery(&p->gal[p->cur]))
            ret = ia_q_flagged_files(p->db, p->scan_id, p->gal[p->cur].code,
                                     p->gal[p->cur].severity, GALLERY_MAX,
                                     flagged_cb, p);
    return ret;
}

static int member_cb(void *user, const ia_q_member *m)
{
    page *p = user;
    char note[160];
    if (p->groups_total == 0 || m->group_id != p->last_group) {
        p->last_group = m->group_id;
        p->groups_total++;
        p->in_shown = p->ngroups < GROUPS_MAX;
        if (p->in_shown) {
            dgroup *g = &p->groups[p->ngroups++];
            memset(g, 0, sizeof *g);
            ia_strlcpy(g->kind, m->kind, sizeof g->kind);
            ia_strlcpy(g->split, m->split ? m->split : "", sizeof g->split);
        }
    }
    if (!p->in_shown)
        return IA_OK;
    dgroup *g = &p->groups[p->ngroups - 1];
    g->members++;
    if (strcmp(g->split, m->split ? m->split : "") != 0)
        g->cross = 1;
    if (g->s.n >= MEMBERS_MAX)
        return IA_OK;
    if (m->position > 0 && strcmp(m->kind, "near") == 0)
        ia_bprintf(note, sizeof note, "%s / %s, distance %d",
                   m->split ? m->split : "-", m->label ? m->label : "-",
                   m->distance);
    else
        ia_bprintf(note, sizeof note, "%s / %s", m->split ? m->split : "-",
                   m->label ? m->label : "-");
    return shot_add(p, &g->s, m->path, note);
}

static int leak_cb(void *user, const ia_q_leak *l)
{
    page *p = user;
    if (p->leaks_total++ >= LEAKS_MAX)
        return IA_OK;
    leakrow *r = &p->leaks[p->nleaks++];
    memset(r, 0, sizeof *r);
    ia_strlcpy(r->kind, l->kind, sizeof r->kind);
    r->distance = l->distance;
    int ret = shot_add(p, &r->s, l->a, l->a_split ? l->a_split : "-");
    if (ret == IA_OK)
        ret = shot_add(p, &r->s, l->b, l->b_split ? l->b_split : "-");
    return ret;
}

/* ---- annotations: a few images with box findings, boxes drawn ------- */

static int annot_box_cb(void *user, const double box[4])
{
    page *p = user;
    double *g = ia_grow(p->abox, &p->capabox, p->nabox + 4, sizeof *g, 64);
    if (!g)
        return nomem(p);
    p->abox = g;
    memcpy(g + p->nabox, box, 4 * sizeof *g);
    p->nabox += 4;
    return IA_OK;
}

static int annot_flagged_cb(void *user, int64_t file_id, const char *path,
                            const char *codes)
{
    page *p = user;
    size_t n = p->annot.n;
    int ret = shot_add(p, &p->annot, path, codes);
    if (ret != IA_OK || p->annot.n != n + 1)
        return ret == IA_OK ? IA_OK : nomem(p);
    p->afirst[n] = p->nabox / 4;
    ret = ia_q_annot_boxes(p->db, p->scan_id, file_id, annot_box_cb, p);
    p->afirst[n + 1] = p->nabox / 4;
    return ret;
}

static int plan(page *p)
{
    ia_thumb_opts topt = {0};
    int ret = ia_thumbset_new(&topt, 0, &p->thumbs);
    if (ret != IA_OK)
        return nomem(p);
    p->groups = calloc(GROUPS_MAX, sizeof *p->groups);
    p->leaks = calloc(LEAKS_MAX, sizeof *p->leaks);
    if (!p->groups || !p->leaks)
        return nomem(p);
    ret = ia_q_scan_get(p->db, p->scan_id, scan_cb, p);
    if (ret == IA_OK)
        ret = ia_html_files_open(p->db, p->scan_id, &p->disk);
    if (ret == IA_OK)
        ret = ia_q_severity_files(p->db, p->scan_id, p->sev, p->sev_files,
                                  p->sev_dataset);
    if (ret == IA_OK)
        ret = ia_q_status_counts(p->db, p->scan_id, p->status);
    /* Groups and leaks first: their images matter most when the
     * thumbnail set fills up. */
    if (ret == IA_OK)
        ret = ia_q_group_members(p->db, p->scan_id, member_cb, p);
    if (ret == IA_OK)
        ret = ia_q_leaks(p->db, p->scan_id, leak_cb, p);
    if (ret == IA_OK)
        ret = plan_galleries(p);
    if (ret == IA_OK)
        ret = ia_q_annot_flagged(p->db, p->scan_id, ANNOT_MAX,
                                 annot_flagged_cb, p);
    return ret;
}

/* ---- render ---------------------------------------------------------- */

static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

static int verdict_level(const page *p)
{
    return p->sev[IA_SEV_ERROR] ? IA_HTML_FAIL
           : p->sev[IA_SEV_WARNING] ? IA_HTML_WARN : IA_HTML_PASS;
}

static void render_head(page *p)
{
    char title[512], files[64], id[32], when[128];
    ia_bprintf(title, sizeof title, "imgaudit report: %s", p->name);
    ia_html_page_begin(p->out, title);
    ia_bprintf(id, sizeof id, "%lld", (long long)p->scan_id);
    ia_bprintf(files, sizeof files, "%lld files, %lld decoded",
               (long long)p->files, (long long)p->decoded);
    ia_bprintf(when, sizeof when, "%s to %s", p->started ? p->started : "?",
               p->finished ? p->finished : "(unfinished)");
    ia_html_meta meta[] = {
        {"root", p->root}, {"scan", id}, {NULL, files},
        {"layout", p->layout}, {"time", when}, {"imgaudit", p->version},
    };
    ia_html_header(p->out, "imgaudit report", p->name, meta,
                   IA_ARRAY_LEN(meta));
    static const char *const ids[] = {"summary", "findings", "labels",
                                      "distributions", "duplicates",
                                      "leaks", "flagged"};
    static const char *const titles[] = {"Summary", "Findings", "Labels",
                                         "Distributions", "Duplicates",
                                         "Leaks", "Flagged images"};
    ia_html_nav(p->out, ids, titles, IA_ARRAY_LEN(ids));
}

static void render_verdict(page *p)
{
    char detail[240];
    static const char *const headline[] = {"Pass", "Pass with warnings",
                                           "Fail"};
    int level = verdict_level(p);
    /* an incomplete scan covers part of the dataset: it never passes */
    const char *head = p->complete ? headline[level] : "Fail: incomplete scan";
    /* Files and dataset-level findings apart (docs/reports.md,
     * "Counting"): a finding about the dataset is not a file. */
    ia_report_sev_line(detail, sizeof detail, p->sev_files, p->sev_dataset);
    ia_html_verdict(p->out, p->complete ? level : IA_HTML_FAIL, head,
                    detail);
    if (!p->complete)
        ia_html_notice(p->out, IA_HTML_FAIL,
                       "The scan is incomplete: it was interrupted or "
                       "failed, so these results cover only part of the "
                       "dataset.");
}

static void render_summary(page *p)
{
    FILE *out = p->out;
    char mb[32], mp[32];
    ia_html_section_begin(out, "summary", "Summary");
    ia_html_cards_begin(out);
    ia_html_card(out, "files", (uint64_t)p->files, IA_HTML_PASS);
    ia_html_card(out, "decoded", (uint64_t)p->decoded, IA_HTML_PASS);
    ia_html_card(out, "files with errors", p->sev_files[IA_SEV_ERROR],
                 p->sev[IA_SEV_ERROR] ? IA_HTML_FAIL : IA_HTML_PASS);
    ia_html_card(out, "files with warnings", p->sev_files[IA_SEV_WARNING],
                 p->sev[IA_SEV_WARNING] ? IA_HTML_WARN : IA_HTML_PASS);
    ia_html_card(out, "files with info", p->sev_files[IA_SEV_INFO],
                 IA_HTML_PASS);
    ia_html_card(out, "dataset-level findings",
                 p->sev_dataset[0] + p->sev_dataset[1] + p->sev_dataset[2],
                 IA_HTML_PASS);
    ia_bprintf(mb, sizeof mb, "%.1f MB", (double)p->bytes / 1e6);
    ia_html_card_text(out, "read", mb, IA_HTML_PASS);
    ia_bprintf(mp, sizeof mp, "%.1f MP", (double)p->pixels / 1e6);
    ia_html_card_text(out, "decoded pixels", mp, IA_HTML_PASS);
    ia_html_cards_end(out);
    fputs("<table class=\"status\"><thead><tr><th>status</th>"
          "<th class=\"n\">files</th></tr></thead><tbody>\n", out);
    for (int s = 0; s < IA_ST_COUNT; s++)
        if (p->status[s] || s == IA_ST_OK) {
            fprintf(out, "<tr><td>%s</td><td class=\"n\">",
                    ia_status_name(s));
            ia_html_count(out, p->status[s]);
            fputs("</td></tr>\n", out);
        }
    fputs("</tbody></table>\n", out);
    ia_html_section_end(out);
}

static int example_cb(void *user, const ia_q_finding *f)
{
    page *p = user;
    fputs("<li>", p->out);
    if (f->path) {
        fputs("<span class=\"path\">", p->out);
        ia_html_text(p->out, f->path);
        fputs("</span>", p->out);
        if (f->detail)
            fputs(": ", p->out);
    }
    ia_html_text(p->out, f->detail);
    fputs("</li>\n", p->out);
    p->shown++;
    return IA_OK;
}

static int dataset_cb(void *user, const ia_q_finding *f)
{
    page *p = user;
    if (f->path)
        return IA_OK;
    if (p->shown++ >= DATASET_MAX)
        return IA_OK;
    fputs("<li>", p->out);
    ia_html_severity(p->out, f->severity);
    fputs(" <code>", p->out);
    ia_html_text(p->out, f->code);
    fputs("</code> ", p->out);
    ia_html_text(p->out, f->detail);
    fputs("</li>\n", p->out);
    return IA_OK;
}

static int render_code_row(page *p, const gallery *g)
{
    FILE *out = p->out;
    fputs("<tr><td>", out);
    ia_html_severity(out, g->severity);
    fputs("</td><td><code>", out);
    ia_html_text(out, g->code);
    fputs("</code></td><td class=\"n\">", out);
    ia_html_count(out, g->files);
    fputs("</td><td class=\"n\">", out);
    ia_html_count(out, g->dataset);
    fputs("</td><td><details><summary>examples</summary><ul class=\"ex\">\n",
          out);
    p->shown = 0;
    int ret = ia_q_findings(p->db, p->scan_id, g->code, g->severity,
                            EXAMPLES_MAX, example_cb, p);
    fputs("</ul>", out);
    if (ret == IA_OK)
        ia_html_more(out, g->findings - p->shown, "findings");
    fputs("</details></td></tr>\n", out);
    return ret;
}

static int render_findings(page *p)
{
    FILE *out = p->out;
    int ret = IA_OK;
    ia_html_section_begin(out, "findings", "Findings");
    if (p->ngal == 0) {
        ia_html_para(out, "No findings.");
        ia_html_section_end(out);
        return IA_OK;
    }
    ia_html_subhead(out, "About the dataset");
    fputs("<ul class=\"ex\" id=\"dataset-findings\">\n", out);
    p->shown = 0;
    ret = ia_q_findings(p->db, p->scan_id, NULL, -1, 0, dataset_cb, p);
    fputs("</ul>\n", out);
    if (p->shown == 0)
        ia_html_para(out, "None.");
    else if (p->shown > DATASET_MAX)
        ia_html_more(out, p->shown - DATASET_MAX, "dataset findings");
    ia_html_subhead(out, "By code");
    fputs("<table class=\"codes\"><thead><tr><th>severity</th><th>code</th>"
          "<th class=\"n\">files</th><th class=\"n\">dataset-level</th>"
          "<th>examples</th></tr></thead><tbody>\n", out);
    for (size_t i = 0; ret == IA_OK && i < p->ngal; i++)
        ret = render_code_row(p, &p->gal[i]);
    fputs("</tbody></table>\n", out);
    ia_html_para(out, "Every finding is in the JSON report; every finding "
                      "of a file, with its detail, is also in the export "
                      "(column finding_details). docs/findings.md explains "
                      "each code.");
    ia_html_section_end(out);
    return ret;
}

static int render_charts(page *p)
{
    ia_html_scans s = {{p->db, NULL}, {p->scan_id, 0}, {p->name, NULL}, 1};
    ia_html_section_begin(p->out, "labels", "Labels per split");
    ia_html_para(p->out, "Decoded images per label, one chart per split.");
    int ret = ia_html_label_charts(p->out, &s);
    ia_html_section_end(p->out);
    if (ret != IA_OK)
        return ret;
    ia_html_section_begin(p->out, "distributions", "Distributions");
    ret = ia_html_measure_charts(p->out, &s);
    ia_html_section_end(p->out);
    return ret;
}

static void render_shots(page *p, const ia_html_shots *s)
{
    ia_html_shots_render(p->out, p->thumbs, s, 0, s->n);
}

static void render_groups(page *p)
{
    FILE *out = p->out;
    char head[128];
    ia_html_section_begin(out, "duplicates", "Duplicate groups");
    if (p->groups_total == 0)
        ia_html_para(out, "No duplicates: no two files share their bytes, "
                          "their pixels or a near-identical perceptual "
                          "hash.");
    ia_html_cardgrid_begin(out);
    for (size_t i = 0; i < p->ngroups; i++) {
        const dgroup *g = &p->groups[i];
        char shown[48] = "";
        if (g->members > g->s.n)
            ia_bprintf(shown, sizeof shown, " (%zu shown)", g->s.n);
        ia_bprintf(head, sizeof head, "%s duplicates: %llu file%s%s%s",
                   g->kind, (unsigned long long)g->members,
                   plural(g->members), shown,
                   g->cross ? ", across splits (leak)" : "");
        ia_html_group_begin(out, head);
        render_shots(p, &g->s);
        ia_html_group_end(out);
    }
    ia_html_cardgrid_end(out);
    ia_html_more(out, p->groups_total - p->ngroups, "groups");
    ia_html_section_end(out);
}

static int shots_have(const ia_html_shots *s, const char *path)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].path && strcmp(s->v[i].path, path) == 0)
            return 1;
    return 0;
}

/* Whether both files of a leak are in a duplicate group shown above:
 * then the group card is the leak's one place on the page. */
static int in_group(const page *p, const leakrow *r)
{
    if (r->s.n < 2)
        return 0;
    for (size_t i = 0; i < p->ngroups; i++)
        if (shots_have(&p->groups[i].s, r->s.v[0].path) &&
            shots_have(&p->groups[i].s, r->s.v[1].path))
            return 1;
    return 0;
}

static void render_leaks(page *p)
{
    FILE *out = p->out;
    char head[128];
    size_t shown = 0;
    ia_html_section_begin(out, "leaks", "Leaks across splits");
    if (p->leaks_total == 0)
        ia_html_para(out, "No leaks: no image appears in two splits.");
    ia_html_cardgrid_begin(out);
    for (size_t i = 0; i < p->nleaks; i++) {
        const leakrow *r = &p->leaks[i];
        if (in_group(p, r))
            continue;
        shown++;
        if (strcmp(r->kind, "near") == 0)
            ia_bprintf(head, sizeof head, "near leak, phash distance %d",
                       r->distance);
        else
            ia_bprintf(head, sizeof head, "%s leak", r->kind);
        ia_html_group_begin(out, head);
        render_shots(p, &r->s);
        ia_html_group_end(out);
    }
    ia_html_cardgrid_end(out);
    if (shown < p->nleaks)
        fprintf(out, "<p class=\"note\">%zu leak%s shown above as "
                "duplicate groups across splits.</p>\n", p->nleaks - shown,
                plural(p->nleaks - shown));
    ia_html_more(out, p->leaks_total - p->nleaks, "leaks");
    ia_html_section_end(out);
}

static void render_galleries(page *p)
{
    FILE *out = p->out;
    char head[160];
    size_t n = 0;
    ia_html_section_begin(out, "flagged", "Flagged images");
    for (size_t i = 0; i < p->ngal; i++) {
        const gallery *g = &p->gal[i];
        if (!has_gallery(g))
            continue;
        n++;
        ia_bprintf(head, sizeof head, "%s (%s, %llu file%s)", g->code,
                   ia_severity_name(g->severity),
                   (unsigned long long)g->files, plural(g->files));
        fprintf(out, "<div class=\"code-gallery\" id=\"gallery-%zu\" "
                "data-code=\"", i);
        ia_html_text(out, g->code);
        fputs("\">\n", out);
        ia_html_subhead(out, head);
        ia_html_gallery_begin(out);
        render_shots(p, &g->s);
        ia_html_gallery_end(out);
        ia_html_more(out, g->files - g->s.n, "files");
        fputs("</div>\n", out);
    }
    if (n == 0)
        ia_html_para(out, "No image has a warning or an error.");
    else
        ia_html_para(out, "Duplicates and leaks are shown in their own "
                          "sections above.");
    ia_html_section_end(out);
}

static void render_annotations(page *p)
{
    if (p->annot.n == 0)
        return;
    ia_html_section_begin(p->out, "annotations", "Annotations");
    ia_html_para(p->out, "Images with box findings, their boxes drawn "
                         "(docs/annotations.md); every finding is listed "
                         "above.");
    ia_html_gallery_begin(p->out);
    for (size_t i = 0; i < p->annot.n; i++) {
        const ia_html_shot *s = &p->annot.v[i];
        if (s->text) {
            ia_html_shots_render(p->out, p->thumbs, &p->annot, i, i + 1);
            continue;
        }
        ia_html_figure_boxes(p->out, p->thumbs, s->id, s->path, s->note,
                             p->abox + 4 * p->afirst[i],
                             p->afirst[i + 1] - p->afirst[i]);
    }
    ia_html_gallery_end(p->out);
    ia_html_section_end(p->out);
}

static int render(page *p)
{
    char footer[160];
    render_head(p);
    render_verdict(p);
    render_summary(p);
    int ret = render_findings(p);
    if (ret == IA_OK)
        ret = render_charts(p);
    if (ret != IA_OK)
        return ret;
    render_groups(p);
    render_leaks(p);
    render_annotations(p);
    render_galleries(p);
    ia_bprintf(footer, sizeof footer, "imgaudit %s, scan %lld",
               IMGAUDIT_VERSION, (long long)p->scan_id);
    ia_html_page_end(p->out, footer);
    return IA_OK;
}

int ia_report_html(ia_db *db, int64_t scan_id, FILE *out,
                   const ia_report_options *opt)
{
    page p;
    memset(&p, 0, sizeof p);
    p.db = db;
    p.scan_id = scan_id;
    p.out = out;
    p.opt = opt;
    int ret = plan(&p);
    if (ret == IA_OK)
        ret = ia_thumbset_make(p.thumbs, opt ? opt->progress : NULL,
                               opt ? opt->user : NULL,
                               opt ? opt->cancel : NULL);
    if (ret == IA_ERR_NOMEM)
        ret = nomem(&p);
    if (ret == IA_OK && opt && opt->cancel && *opt->cancel)
        ret = ia_store_fail(db, IA_ERR_INTERRUPTED,
                            "stopped while making thumbnails");
    if (ret == IA_OK)
        ret = render(&p);
    if (ret == IA_OK)
        ret = ia_report_flush(db, out, "report");
    page_free(&p);
    return ret;
}
