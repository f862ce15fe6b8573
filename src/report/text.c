/*
 * Reports for people: plain text for a terminal and GitHub-flavoured
 * Markdown (for a pull request or a CI summary), the scan list, and the
 * ia_report entry point that picks the renderer.
 *
 * Both renderers put problems first: a reader wants to know whether the
 * dataset is healthy before the inventory. Problems are grouped by code
 * with a few example paths each ("... and N more"), so a dataset with a
 * million findings still gives a report that fits on a screen; the full
 * list is in the JSON report and the export.
 *
 * Dataset and DB strings are untrusted (file names, labels, scan names,
 * finding codes and details): text output goes through ia_fput_clean so
 * that none can move the cursor or clear the terminal, Markdown through
 * ia_fput_md so that none can break a table or add markup.
 */
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

#define EXAMPLES_TEXT 5     /* example paths per code in text */
#define LEAKS_TEXT 10       /* leak pairs listed in text */
#define MATRIX_MAX_SPLITS 8 /* more splits: one line per (split, label) */
#define MD_MAX_CODES 30

/* ---- output helpers -------------------------------------------------- */

/* Writes s padded with spaces to width columns (bytes; names are usually
 * ASCII, and a misaligned column is harmless). */
static void put_pad(FILE *out, const char *s, size_t width, int right)
{
    size_t len = s ? strlen(s) : 0;
    if (right)
        for (size_t i = len; i < width; i++)
            fputc(' ', out);
    ia_fput_clean(out, s);
    if (!right)
        for (size_t i = len; i < width; i++)
            fputc(' ', out);
}

/* A list of split names, gathered before the label table is drawn. */
typedef struct split_list {
    char **names;
    size_t n, cap;
} split_list;

static void split_list_free(split_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
}

typedef struct tctx {
    ia_db *db;
    FILE *out;
    int md;
    int64_t scan_id;
    split_list splits;
    /* label table state */
    size_t label_width;
    char *label;           /* current label row, reused */
    size_t label_cap;
    uint64_t *row;         /* counts of the current label per split */
    uint64_t *totals;
    int row_open;
    /* findings group state */
    int severity;
    uint64_t shown;
    int leaks_listed;      /* split_leak already shown by leaks_section */
    int complete;          /* the scan is complete */
    int fail_on;           /* IA_FAIL_ON_*: the verdict's threshold */
    /* per severity: distinct files with a finding of it, dataset-level
     * findings of it (docs/reports.md, "Counting") */
    uint64_t sev_files[3], sev_dataset[3];
} tctx;

static int nomem(ia_db *db)
{
    return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
}

/* ---- header ---------------------------------------------------------- */

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SSZ" (the store's format),
 * by the days-from-civil formula: no time zone, no timegm. */
static int parse_utc(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi,
                     &sec) != 6 || mo < 1 || mo > 12)
        return -1;
    int64_t yy = y - (mo <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = days * 86400 + h * 3600 + mi * 60 + sec;
    return 0;
}

static int header_text(void *user, const ia_q_scan *s)
{
    tctx *c = user;
    FILE *out = c->out;
    fputs("imgaudit report: scan '", out);
    ia_fput_clean(out, s->name);
    fprintf(out, "' (id %lld, %s)\n", (long long)s->id,
            s->complete ? "complete" : "INCOMPLETE");
    fputs("  root     ", out);
    ia_fput_clean(out, s->root);
    fprintf(out, "\n  files    %lld (%lld decoded)\n", (long long)s->files,
            (long long)s->decoded);
    fprintf(out, "  size     %.1f MB, %.1f megapixels\n",
            (double)s->bytes / 1e6, (double)s->pixels / 1e6);
    fputs("  time     ", out);
    ia_fput_clean(out, s->started_at);
    fputs(" to ", out);
    ia_fput_clean(out, s->finished_at ? s->finished_at : "(unfinished)");
    int64_t t0, t1;
    if (parse_utc(s->started_at, &t0) == 0 &&
        parse_utc(s->finished_at, &t1) == 0 && t1 >= t0)
        fprintf(out, " (%lld s)", (long long)(t1 - t0));
    fputc('\n', out);
    return IA_OK;
}

static int header_md(void *user, const ia_q_scan *s)
{
    tctx *c = user;
    FILE *out = c->out;
    fputs("## imgaudit report: ", out);
    ia_fput_md(out, s->name);
    fputs("\n\n", out);
    if (!s->complete)
        fputs("> **The scan is incomplete**: it was interrupted or failed."
              "\n\n", out);
    fputs("| root | files | decoded | MB | megapixels |\n"
          "| --- | ---: | ---: | ---: | ---: |\n| ", out);
    ia_fput_md_code(out, s->root);
    fprintf(out, " | %lld | %lld | %.1f | %.1f |\n\n", (long long)s->files,
            (long long)s->decoded, (double)s->bytes / 1e6,
            (double)s->pixels / 1e6);
    return IA_OK;
}

/* ---- status counts --------------------------------------------------- */

static int status_section(tctx *c)
{
    uint64_t counts[IA_ST_COUNT];
    int ret = ia_q_status_counts(c->db, c->scan_id, counts);
    if (ret != IA_OK)
        return ret;
    if (c->md) {
        fputs("| status | files |\n| --- | ---: |\n", c->out);
        for (int s = 0; s < IA_ST_COUNT; s++)
            if (counts[s] || s == IA_ST_OK)
                fprintf(c->out, "| %s | %llu |\n", ia_status_name(s),
                        (unsigned long long)counts[s]);
        fputc('\n', c->out);
        return IA_OK;
    }
    fputs("\nstatus\n ", c->out);
    for (int s = 0; s < IA_ST_COUNT; s++)
        if (counts[s] || s == IA_ST_OK)
            fprintf(c->out, " %s %llu", ia_status_name(s),
                    (unsigned long long)counts[s]);
    fputc('\n', c->out);
    return IA_OK;
}

/* ---- problems, grouped by code --------------------------------------- */

static int example_cb(void *user, const ia_q_finding *f)
{
    tctx *c = user;
    fputs("    ", c->out);
    ia_fput_clean(c->out, f->path ? f->path : "(dataset)");
    if (f->detail) {
        fputs(": ", c->out);
        ia_fput_clean(c->out, f->detail);
    }
    fputc('\n', c->out);
    c->shown++;
    return IA_OK;
}

/* "1 file, 1 dataset-level": a code's findings, files and dataset apart */
static void put_code_counts(FILE *out, const ia_q_code_files *q)
{
    char buf[96];
    ia_report_code_line(buf, sizeof buf, q->files, q->dataset);
    fputs(buf, out);
}

static int problem_code_text(void *user, const ia_q_code_files *q)
{
    tctx *c = user;
    if (q->severity < IA_SEV_WARNING)
        return IA_OK;
    if (q->severity != c->severity) {
        c->severity = q->severity;
        fprintf(c->out, "\n%ss\n", ia_severity_name(q->severity));
    }
    fputs("  ", c->out);
    ia_fput_clean(c->out, q->code);
    fputs(": ", c->out);
    put_code_counts(c->out, q);
    /* counted with the others, its examples listed once, above */
    if (c->leaks_listed && strcmp(q->code, "split_leak") == 0) {
        fputs(" (listed under leaks between splits)\n", c->out);
        return IA_OK;
    }
    fputc('\n', c->out);
    c->shown = 0;
    int ret = ia_q_findings(c->db, c->scan_id, q->code, q->severity,
                            EXAMPLES_TEXT, example_cb, c);
    if (ret == IA_OK && q->findings > c->shown)
        fprintf(c->out, "    ... and %llu more findings\n",
                (unsigned long long)(q->findings - c->shown));
    return ret;
}

static int md_example_cb(void *user, const ia_q_finding *f)
{
    tctx *c = user;
    if (f->path)
        ia_fput_md_code(c->out, f->path);
    if (f->detail) {
        fputs(f->path ? ": " : "", c->out);
        ia_fput_md(c->out, f->detail);
    }
    return IA_OK;
}

static int problem_code_md(void *user, const ia_q_code_files *q)
{
    tctx *c = user;
    if (q->severity < IA_SEV_WARNING || c->shown >= MD_MAX_CODES)
        return IA_OK;
    if (c->shown++ == 0)
        fputs("### Top findings\n\n| severity | code | files "
              "| dataset-level | example |\n"
              "| --- | --- | ---: | ---: | --- |\n", c->out);
    fprintf(c->out, "| %s | ", ia_severity_name(q->severity));
    ia_fput_md(c->out, q->code);
    fprintf(c->out, " | %llu | %llu | ", (unsigned long long)q->files,
            (unsigned long long)q->dataset);
    int ret = ia_q_findings(c->db, c->scan_id, q->code, q->severity, 1,
                            md_example_cb, c);
    fputs(" |\n", c->out);
    return ret;
}

/* ---- leaks: listed before every other problem ------------------------ */

/* The dataset-level split_leak findings: one per pair of splits, "12 of
 * 372 test images also appear in train (exact 3, pixel 1, near 8)". */
static int leak_summary_cb(void *user, const ia_q_finding *f)
{
    tctx *c = user;
    if (f->path)
        return IA_OK;
    if (c->shown++ == 0)
        fputs("\nleaks between splits\n", c->out);
    fprintf(c->out, "  %-7s ", ia_severity_name(f->severity));
    ia_fput_clean(c->out, f->detail);
    fputc('\n', c->out);
    return IA_OK;
}

static int leak_pair_cb(void *user, const ia_q_leak *l)
{
    tctx *c = user;
    if (c->shown++ >= LEAKS_TEXT)
        return IA_OK;
    fputs("    ", c->out);
    ia_fput_clean(c->out, l->b);
    fputs(": ", c->out);
    ia_fput_clean(c->out, l->kind);
    fputs(" copy of ", c->out);
    ia_fput_clean(c->out, l->a);
    if (strcmp(l->kind, "near") == 0)
        fprintf(c->out, " (distance %d)", l->distance);
    fputc('\n', c->out);
    return IA_OK;
}

static int leaks_section(tctx *c)
{
    c->shown = 0;
    int ret = ia_q_findings(c->db, c->scan_id, "split_leak", -1, 0,
                            leak_summary_cb, c);
    if (ret != IA_OK || c->shown == 0)
        return ret;     /* no summary (a DB of an older version): none */
    c->leaks_listed = 1;
    c->shown = 0;
    ret = ia_q_leaks(c->db, c->scan_id, leak_pair_cb, c);
    if (ret == IA_OK && c->shown > LEAKS_TEXT)
        fprintf(c->out, "    ... and %llu more\n",
                (unsigned long long)(c->shown - LEAKS_TEXT));
    return ret;
}

static int info_code_text(void *user, const ia_q_code_files *q)
{
    tctx *c = user;
    if (q->severity != IA_SEV_INFO)
        return IA_OK;
    if (c->shown++ == 0)
        fputs("\ninfo\n", c->out);
    fputs("  ", c->out);
    put_pad(c->out, q->code, 24, 0);
    fputc(' ', c->out);
    put_code_counts(c->out, q);
    fputc('\n', c->out);
    return IA_OK;
}

/* ---- labels per split ------------------------------------------------ */

/* The splits that hold labelled files, in order: the table's columns. */
static int collect_split(void *user, const ia_q_label *s)
{
    tctx *c = user;
    split_list *l = &c->splits;
    if (l->n && strcmp(l->names[l->n - 1], s->split) == 0)
        return IA_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **names = realloc(l->names, cap * sizeof *names);
        if (!names)
            return nomem(c->db);
        l->names = names;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(s->split)))
        return nomem(c->db);
    l->n++;
    return IA_OK;
}

static int label_width_cb(void *user, const ia_q_label *l)
{
    tctx *c = user;
    size_t len = strlen(l->label);
    if (len > c->label_width)
        c->label_width = len;
    return IA_OK;
}

static const char *split_title(const char *name)
{
    return *name ? name : "(no split)";
}

static void matrix_head(tctx *c)
{
    if (c->md) {
        fputs("### Labels per split\n\n| label |", c->out);
        for (size_t i = 0; i < c->splits.n; i++) {
            fputc(' ', c->out);
            ia_fput_md(c->out, split_title(c->splits.names[i]));
            fputs(" |", c->out);
        }
        fputs("\n| --- |", c->out);
        for (size_t i = 0; i < c->splits.n; i++)
            fputs(" ---: |", c->out);
        fputc('\n', c->out);
        return;
    }
    fputs("\nlabels (decoded images per split)\n  ", c->out);
    put_pad(c->out, "label", c->label_width, 0);
    for (size_t i = 0; i < c->splits.n; i++) {
        fputs("  ", c->out);
        put_pad(c->out, split_title(c->splits.names[i]), 10, 1);
    }
    fputc('\n', c->out);
}

static void matrix_row(tctx *c, const char *label, const uint64_t *counts,
                       int total)
{
    if (c->md) {
        fputs("| ", c->out);
        if (total)
            fputs("**total**", c->out);
        else
            ia_fput_md(c->out, label);
        fputs(" |", c->out);
        for (size_t i = 0; i < c->splits.n; i++)
            fprintf(c->out, " %llu |", (unsigned long long)counts[i]);
        fputc('\n', c->out);
        return;
    }
    fputs("  ", c->out);
    put_pad(c->out, total ? "total" : label, c->label_width, 0);
    for (size_t i = 0; i < c->splits.n; i++)
        fprintf(c->out, "  %10llu", (unsigned long long)counts[i]);
    fputc('\n', c->out);
}

static void matrix_flush(tctx *c)
{
    if (!c->row_open)
        return;
    matrix_row(c, c->label, c->row, 0);
    for (size_t i = 0; i < c->splits.n; i++)
        c->totals[i] += c->row[i];
    c->row_open = 0;
}

static int matrix_cb(void *user, const ia_q_label *l)
{
    tctx *c = user;
    if (!c->row_open || strcmp(c->label, l->label) != 0) {
        matrix_flush(c);
        size_t len = strlen(l->label);
        if (len + 1 > c->label_cap) {
            size_t cap = c->label_cap ? c->label_cap : 64;
            while (cap < len + 1)
                cap *= 2;
            char *p = realloc(c->label, cap);
            if (!p)
                return nomem(c->db);
            c->label = p;
            c->label_cap = cap;
        }
        memcpy(c->label, l->label, len + 1);
        memset(c->row, 0, c->splits.n * sizeof *c->row);
        c->row_open = 1;
    }
    for (size_t i = 0; i < c->splits.n; i++)
        if (strcmp(c->splits.names[i], l->split) == 0)
            c->row[i] += l->images;
    return IA_OK;
}

/* Past MATRIX_MAX_SPLITS splits (a manifest can name any) the matrix
 * would not fit: one line per (split, label) instead. */
static int long_cb(void *user, const ia_q_label *l)
{
    tctx *c = user;
    if (c->md) {
        fputs("| ", c->out);
        ia_fput_md(c->out, split_title(l->split));
        fputs(" | ", c->out);
        ia_fput_md(c->out, l->label);
        fprintf(c->out, " | %llu |\n", (unsigned long long)l->images);
    } else {
        fputs("  ", c->out);
        put_pad(c->out, split_title(l->split), 16, 0);
        fputs("  ", c->out);
        put_pad(c->out, l->label, c->label_width, 0);
        fprintf(c->out, "  %10llu\n", (unsigned long long)l->images);
    }
    return IA_OK;
}

static int labels_long(tctx *c)
{
    if (c->md)
        fputs("### Labels per split\n\n| split | label | images |\n"
              "| --- | --- | ---: |\n", c->out);
    else
        fputs("\nlabels (decoded images per split and label)\n", c->out);
    int ret = ia_q_labels(c->db, c->scan_id, 0, long_cb, c);
    if (c->md)
        fputc('\n', c->out);
    return ret;
}

static int labels_section(tctx *c)
{
    int ret = ia_q_labels(c->db, c->scan_id, 0, collect_split, c);
    c->label_width = 5;   /* "label", "total" */
    if (ret == IA_OK)
        ret = ia_q_labels(c->db, c->scan_id, 1, label_width_cb, c);
    if (ret != IA_OK || c->splits.n == 0)
        return ret;
    if (c->splits.n > MATRIX_MAX_SPLITS)
        return labels_long(c);
    c->row = calloc(c->splits.n, sizeof *c->row);
    c->totals = calloc(c->splits.n, sizeof *c->totals);
    if (!c->row || !c->totals)
        return nomem(c->db);
    matrix_head(c);
    ret = ia_q_labels(c->db, c->scan_id, 1, matrix_cb, c);
    if (ret != IA_OK)
        return ret;
    matrix_flush(c);
    matrix_row(c, NULL, c->totals, 1);
    if (c->md)
        fputc('\n', c->out);
    return IA_OK;
}

/* ---- the reports ----------------------------------------------------- */

static void tctx_release(tctx *c)
{
    split_list_free(&c->splits);
    free(c->label);
    free(c->row);
    free(c->totals);
}

static int text_body(tctx *c, const uint64_t sev[3])
{
    char counts[240];
    ia_report_sev_line(counts, sizeof counts, c->sev_files, c->sev_dataset);
    int ret = ia_q_scan_get(c->db, c->scan_id, header_text, c);
    if (ret == IA_OK)
        ret = status_section(c);
    if (ret == IA_OK)
        ret = leaks_section(c);
    c->severity = -1;
    if (ret == IA_OK)
        ret = ia_q_code_file_counts(c->db, c->scan_id, problem_code_text,
                                    c);
    if (ret == IA_OK && sev[IA_SEV_ERROR] + sev[IA_SEV_WARNING] == 0)
        fputs("\nno problems found\n", c->out);
    if (ret == IA_OK)
        ret = labels_section(c);
    if (ret == IA_OK)
        ret = ia_report_classes_section(c->db, c->scan_id, c->out, 0);
    if (ret == IA_OK)
        ret = ia_report_annot_section(c->db, c->scan_id, c->out, 0);
    if (ret == IA_OK)
        ret = ia_report_stats_section(c->db, c->scan_id, c->out, c->md);
    c->shown = 0;
    if (ret == IA_OK)
        ret = ia_q_code_file_counts(c->db, c->scan_id, info_code_text, c);
    if (ret == IA_OK)
        fprintf(c->out, "\nsummary: %s\n", counts);
    if (ret == IA_OK)
        fprintf(c->out, "verdict: %s%s\n",
                ia_report_verdict(sev, c->complete, c->fail_on),
                c->complete ? "" : " (the scan is incomplete: it covers "
                                   "part of the dataset)");
    return ret;
}

static int md_body(tctx *c, const uint64_t sev[3])
{
    char counts[240];
    ia_report_sev_line(counts, sizeof counts, c->sev_files, c->sev_dataset);
    int ret = ia_q_scan_get(c->db, c->scan_id, header_md, c);
    if (ret != IA_OK)
        return ret;
    /* an incomplete scan covers part of the dataset: it never passes */
    fprintf(c->out, "**Verdict: %s%s**",
            ia_report_verdict(sev, c->complete, c->fail_on),
            c->complete ? "" : " (incomplete scan)");
    fprintf(c->out, " (%s)\n\n", counts);
    ret = status_section(c);
    c->shown = 0;
    if (ret == IA_OK)
        ret = ia_q_code_file_counts(c->db, c->scan_id, problem_code_md, c);
    if (ret == IA_OK && c->shown)
        fputc('\n', c->out);
    if (ret == IA_OK)
        ret = labels_section(c);
    if (ret == IA_OK)
        ret = ia_report_classes_section(c->db, c->scan_id, c->out, 1);
    if (ret == IA_OK)
        ret = ia_report_annot_section(c->db, c->scan_id, c->out, 1);
    if (ret == IA_OK)
        ret = ia_report_stats_section(c->db, c->scan_id, c->out, c->md);
    return ret;
}

static int render(ia_db *db, int64_t scan_id, FILE *out, int md,
                  int fail_on)
{
    tctx c;
    uint64_t sev[3];
    memset(&c, 0, sizeof c);
    c.db = db;
    c.out = out;
    c.md = md;
    c.scan_id = scan_id;
    c.fail_on = fail_on;
    int ret = ia_q_severity_files(db, scan_id, sev, c.sev_files,
                                  c.sev_dataset);
    if (ret == IA_OK)
        ret = ia_report_complete(db, scan_id, &c.complete);
    if (ret == IA_OK)
        ret = md ? md_body(&c, sev) : text_body(&c, sev);
    if (ret == IA_OK)
        ret = ia_report_flush(db, out, "report");
    tctx_release(&c);
    return ret;
}

int ia_report_text(ia_db *db, int64_t scan_id, FILE *out, int fail_on)
{
    return render(db, scan_id, out, 0, fail_on);
}

int ia_report_md(ia_db *db, int64_t scan_id, FILE *out, int fail_on)
{
    return render(db, scan_id, out, 1, fail_on);
}

int ia_report_ex(ia_db *db, const char *scan_ref, ia_format fmt, FILE *out,
                 const ia_report_options *opt)
{
    int64_t id = 0;
    if (!db || !out)
        return IA_ERR_ARG;
    switch (fmt) {
    case IA_FORMAT_TEXT:
    case IA_FORMAT_JSON:
    case IA_FORMAT_MD:
    case IA_FORMAT_HTML:
        break;
    default:
        return ia_store_fail(db, IA_ERR_ARG, "not a report format (report "
                             "formats: text, md, json, html)");
    }
    int fail_on = opt ? opt->fail_on : IA_FAIL_ON_ERROR;
    int ret = ia_store_resolve_scan(db, scan_ref, &id);
    if (ret == IA_OK)
        ret = ia_report_lens(db, id, opt ? opt->loaders : NULL,
                             opt ? opt->policy : NULL);
    if (ret != IA_OK)
        return ret;
    if (fmt == IA_FORMAT_JSON)
        return ia_report_json(db, id, out, fail_on);
    if (fmt == IA_FORMAT_HTML)
        return ia_report_html(db, id, out, opt);
    return fmt == IA_FORMAT_MD ? ia_report_md(db, id, out, fail_on)
                               : ia_report_text(db, id, out, fail_on);
}

int ia_report(ia_db *db, const char *scan_ref, ia_format fmt, FILE *out)
{
    return ia_report_ex(db, scan_ref, fmt, out, NULL);
}

/* ---- the scan list --------------------------------------------------- */

typedef struct list_ctx {
    FILE *out;
    size_t name_width;
    int64_t db_bytes, db_rows;  /* ia_q_db_usage: for each scan's share */
} list_ctx;

/* "1.2 MB": a scan's estimated share of the DB (its rows over all). */
static void put_share(FILE *out, const list_ctx *c, int64_t rows)
{
    double mb = c->db_rows > 0 ? (double)c->db_bytes * (double)rows /
                                     (double)c->db_rows / 1e6 : 0.0;
    char buf[32];
    snprintf(buf, sizeof buf, "%.1f MB", mb);
    fprintf(out, "  %9s", buf);
}

/* "own", "own, 2 sharing", "= scan 4": where a scan's rows are. */
static void put_rows(FILE *out, const ia_q_scan *s)
{
    char buf[48];
    if (s->same_as > 0)
        snprintf(buf, sizeof buf, "= scan %lld", (long long)s->same_as);
    else if (s->sharers > 0)
        snprintf(buf, sizeof buf, "own, %lld sharing",
                 (long long)s->sharers);
    else
        snprintf(buf, sizeof buf, "own");
    fprintf(out, "  %-16s", buf);
}

static int scan_width_cb(void *user, const ia_q_scan *s)
{
    list_ctx *c = user;
    size_t len = strlen(s->name);
    if (len > c->name_width)
        c->name_width = len;
    return IA_OK;
}

static int scan_line_cb(void *user, const ia_q_scan *s)
{
    list_ctx *c = user;
    fprintf(c->out, "%6lld  ", (long long)s->id);
    put_pad(c->out, s->name, c->name_width, 0);
    fprintf(c->out, "  %-8s  %10lld  %10lld", s->complete ? "yes" : "no",
            (long long)s->files, (long long)s->decoded);
    put_rows(c->out, s);
    put_share(c->out, c, s->same_as > 0 ? 0 : s->own_rows);
    fputs("  ", c->out);
    put_pad(c->out, s->started_at, 20, 0);
    fputs("  ", c->out);
    ia_fput_clean(c->out, s->root);
    fputc('\n', c->out);
    return IA_OK;
}

int ia_list_scans(ia_db *db, FILE *out)
{
    list_ctx c = {out, 4, 0, 0};
    if (!db || !out)
        return IA_ERR_ARG;
    int ret = ia_q_scan_list(db, scan_width_cb, &c);
    if (ret == IA_OK)
        ret = ia_q_db_usage(db, &c.db_bytes, &c.db_rows);
    if (ret != IA_OK)
        return ret;
    fprintf(out, "%6s  ", "id");
    put_pad(out, "name", c.name_width, 0);
    fprintf(out, "  %-8s  %10s  %10s  %-16s  %9s  %-20s  %s\n", "complete",
            "files", "decoded", "rows", "~size", "started_at", "root");
    ret = ia_q_scan_list(db, scan_line_cb, &c);
    if (ret == IA_OK)
        ret = ia_report_flush(db, out, "scan list");
    return ret;
}
