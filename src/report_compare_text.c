/*
 * Text and Markdown output of `imgaudit compare` (docs/compare.md): the
 * two scans, the file counts, then every finding ranked most severe first
 * (each with its numbers and a few example paths), the changed files per
 * kind (capped at opt.text_list), and a one-line verdict last, so that
 * `tail -1` of a CI log says pass or fail.
 */
#include <string.h>

#include "compare.h"

static int io_fail(ia_compare *c)
{
    return ia_cmp_fail(c, IA_ERR_IO, "cannot write the comparison");
}

/* Markdown table cells: '|' and line breaks would end the cell. */
static void md_cell(FILE *out, const char *s)
{
    /* GitHub renders inline HTML in tables: '<', '>' and '&' become
     * entities so a hostile file name shows as text. */
    for (; s && *s; s++) {
        if (*s == '<')
            fputs("&lt;", out);
        else if (*s == '>')
            fputs("&gt;", out);
        else if (*s == '&')
            fputs("&amp;", out);
        else {
            if (strchr("|\\`*_[]", *s))
                fputc('\\', out);
            fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
        }
    }
}

static const char *verdict_line(const ia_compare *c, char *buf, size_t cap)
{
    static const char *const fail_on[] = {"error", "warning", "never"};
    snprintf(buf, cap, "%s: %llu errors, %llu warnings, %llu info "
             "(--fail-on %s)", c->fail ? "FAIL" : "PASS",
             (unsigned long long)c->sev[IA_SEV_ERROR],
             (unsigned long long)c->sev[IA_SEV_WARNING],
             (unsigned long long)c->sev[IA_SEV_INFO],
             fail_on[c->opt.fail_on]);
    return buf;
}

static void header(const ia_compare *c, FILE *out, int md)
{
    static const char *const side[2] = {"base", "new"};
    if (md)
        fputs("# imgaudit compare\n\n"
              "| | scan | id | database | files | complete |\n"
              "| --- | --- | --- | --- | --- | --- |\n", out);
    else
        fputs("imgaudit compare\n", out);
    for (int i = 0; i < 2; i++) {
        const cmp_scan *s = &c->scan[i];
        if (md) {
            fprintf(out, "| %s | ", side[i]);
            md_cell(out, s->name);
            fprintf(out, " | %lld | ", (long long)s->id);
            md_cell(out, s->db_path);
            fprintf(out, " | %zu | %s |\n", s->n, s->complete ? "yes" : "no");
        } else {
            fprintf(out, "  %-5s '%s' (scan %lld in %s): %zu files%s\n",
                    side[i], s->name, (long long)s->id, s->db_path, s->n,
                    s->complete ? "" : ", INCOMPLETE");
        }
    }
}

static const char *const kind_names[CMP_KIND_COUNT] = {
    "unchanged", "modified", "renamed", "moved", "relabeled", "removed",
    "added",
};

static void counts(const ia_compare *c, FILE *out, int md)
{
    static const int order[] = {CMP_UNCHANGED, CMP_ADDED, CMP_REMOVED,
                                CMP_MODIFIED, CMP_MOVED, CMP_RELABELED,
                                CMP_RENAMED};
    if (md) {
        fputs("\n## Files\n\n|", out);
        for (size_t i = 0; i < sizeof order / sizeof *order; i++)
            fprintf(out, " %s |", kind_names[order[i]]);
        fputs("\n|", out);
        for (size_t i = 0; i < sizeof order / sizeof *order; i++)
            fputs(" ---: |", out);
        fputs("\n|", out);
        for (size_t i = 0; i < sizeof order / sizeof *order; i++)
            fprintf(out, " %llu |", (unsigned long long)c->kinds[order[i]]);
        fputc('\n', out);
        return;
    }
    fputs("\nfiles  ", out);
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        fprintf(out, "%s%llu %s", i ? ", " : "",
                (unsigned long long)c->kinds[order[i]], kind_names[order[i]]);
    fputc('\n', out);
}

static void examples(const ia_compare *c, const cmp_finding *f, FILE *out,
                     int md)
{
    unsigned n = (unsigned)f->nexamples < c->opt.text_examples
                     ? (unsigned)f->nexamples : c->opt.text_examples;
    for (unsigned k = 0; k < n; k++) {
        if (md) {
            fputs(k ? "<br>" : "", out);
            md_cell(out, f->examples[k]);
        } else {
            fprintf(out, "%s%s", k ? ", " : "", f->examples[k]);
        }
    }
}

static void findings(const ia_compare *c, FILE *out, int md)
{
    if (md)
        fputs("\n## Changes, most severe first\n\n"
              "| severity | code | detail | examples |\n"
              "| --- | --- | --- | --- |\n", out);
    else
        fputs("\nchanges, most severe first\n", out);
    if (!c->nfindings)
        fputs(md ? "| | | no change | |\n" : "  (none)\n", out);
    for (size_t i = 0; i < c->nfindings; i++) {
        const cmp_finding *f = &c->findings[i];
        if (md) {
            fprintf(out, "| %s | %s | ", ia_severity_name(f->severity),
                    ia_cc_name(f->code));
            md_cell(out, f->detail);
            fputs(" | ", out);
            examples(c, f, out, 1);
            fputs(" |\n", out);
            continue;
        }
        fprintf(out, "  %-8s %-18s %s\n", ia_severity_name(f->severity),
                ia_cc_name(f->code), f->detail);
        if (f->nexamples) {
            fputs("  e.g.     ", out);
            examples(c, f, out, 0);
            fputc('\n', out);
        }
    }
}

typedef struct list_ctx {
    FILE *out;
    int md;
    int kind;
    unsigned left;
} list_ctx;

static int list_cb(ia_compare *c, const cmp_file *f, const cmp_file *o,
                   void *user)
{
    list_ctx *l = user;
    (void)c;
    if (!l->left)
        return 1;
    l->left--;
    fputs(l->md ? "- " : "  ", l->out);
    if (o && l->kind != CMP_MODIFIED)
        fprintf(l->out, "%s -> ", o->path);
    fputs(f->path, l->out);
    if (l->kind == CMP_MODIFIED && o && o->have_pix && f->have_pix)
        fputs(memcmp(o->pix, f->pix, sizeof o->pix) ? " (pixels changed)"
                                                    : " (encoding only)",
              l->out);
    else if (l->kind == CMP_MODIFIED)
        fprintf(l->out, " (%s -> %s)", o ? o->status : "?", f->status);
    if (l->kind == CMP_MOVED)
        fprintf(l->out, " (%s -> %s)", ia_cmp_split_name(o->split),
                ia_cmp_split_name(f->split));
    if (l->kind == CMP_RELABELED)
        fprintf(l->out, " (%s -> %s)", o->label ? o->label : "none",
                f->label ? f->label : "none");
    fputc('\n', l->out);
    return IA_OK;
}

static int lists(ia_compare *c, FILE *out, int md)
{
    static const int order[] = {CMP_ADDED, CMP_REMOVED, CMP_MODIFIED,
                                CMP_MOVED, CMP_RELABELED, CMP_RENAMED};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        int k = order[i];
        uint64_t n = c->kinds[k];
        if (!n)
            continue;
        fprintf(out, md ? "\n### %s (%llu)\n\n" : "\n%s (%llu)\n",
                kind_names[k], (unsigned long long)n);
        list_ctx l = {out, md, k, c->opt.text_list};
        int ret = ia_cmp_each(c, k, list_cb, &l);
        if (ret != IA_OK && ret != 1)
            return ret;
        if (n > c->opt.text_list)
            fprintf(out, "%s... and %llu more (all in --format json)\n",
                    md ? "- " : "  ",
                    (unsigned long long)(n - c->opt.text_list));
    }
    return IA_OK;
}

int ia_cmp_write_text(ia_compare *c, FILE *out, int md)
{
    char verdict[160];
    header(c, out, md);
    counts(c, out, md);
    findings(c, out, md);
    int ret = lists(c, out, md);
    if (ret != IA_OK)
        return ret;
    fprintf(out, md ? "\n**Verdict: %s**\n" : "\nverdict: %s\n",
            verdict_line(c, verdict, sizeof verdict));
    if (fflush(out) != 0 || ferror(out))
        return io_fail(c);
    return IA_OK;
}
