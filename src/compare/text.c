/*
 * Text and Markdown output of `imgaudit compare` (docs/compare.md): the
 * two scans, the file counts, then every finding ranked most severe first
 * (each with its numbers and a few example paths), the changed files per
 * kind (capped at opt.text_list), and a one-line verdict last, so that
 * `tail -1` of a CI log says pass or fail.
 */
#include <string.h>

#include "compare/model.h"
#include "compare/writers.h"
#include "core/core.h"

static int io_fail(ia_compare *c)
{
    return ia_cmp_fail(c, IA_ERR_IO, "cannot write the comparison");
}

/* Every string from a DB or a dataset (scan names, paths, labels,
 * splits, statuses, and the details that quote them) goes through the one
 * sanitiser of its format: nothing can drive the terminal or add markup
 * (docs/security.md). */
static void put(FILE *out, int md, const char *s)
{
    if (md)
        ia_fput_md(out, s);
    else
        ia_fput_clean(out, s);
}

/* A path: a code span in Markdown (no link: a job summary or a comment
 * is not beside the dataset), sanitised text otherwise. */
static void put_path(FILE *out, int md, const char *s)
{
    if (md)
        ia_fput_md_code(out, s);
    else
        ia_fput_clean(out, s);
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
            put(out, md, s->name);
            fprintf(out, " | %lld | ", (long long)s->id);
            put_path(out, md, s->db_path);
            fprintf(out, " | %zu | %s |\n", s->n, s->complete ? "yes" : "no");
        } else {
            fprintf(out, "  %-5s '", side[i]);
            put(out, md, s->name);
            fprintf(out, "' (scan %lld in ", (long long)s->id);
            put_path(out, md, s->db_path);
            fprintf(out, "): %zu files%s\n", s->n,
                    s->complete ? "" : ", INCOMPLETE");
        }
    }
}

static void counts(const ia_compare *c, FILE *out, int md)
{
    static const int order[] = {CMP_UNCHANGED, CMP_ADDED, CMP_REMOVED,
                                CMP_MODIFIED, CMP_MOVED, CMP_RELABELED,
                                CMP_RENAMED};
    if (md) {
        fputs("\n## Files\n\n|", out);
        for (size_t i = 0; i < sizeof order / sizeof *order; i++)
            fprintf(out, " %s |", ia_cmp_kind_name(order[i]));
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
                (unsigned long long)c->kinds[order[i]],
                ia_cmp_kind_name(order[i]));
    fputc('\n', out);
}

static void examples(const ia_compare *c, const cmp_finding *f, FILE *out,
                     int md)
{
    unsigned n = (unsigned)f->nexamples < c->opt.text_examples
                     ? (unsigned)f->nexamples : c->opt.text_examples;
    for (unsigned k = 0; k < n; k++) {
        fputs(!k ? "" : md ? "<br>" : ", ", out);
        put_path(out, md, f->examples[k]);
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
            put(out, md, f->detail);
            fputs(" | ", out);
            examples(c, f, out, 1);
            fputs(" |\n", out);
            continue;
        }
        fprintf(out, "  %-8s %-18s ", ia_severity_name(f->severity),
                ia_cc_name(f->code));
        put(out, md, f->detail);
        fputc('\n', out);
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

/* "(a -> b)" after a listed file. */
static void change(const list_ctx *l, const char *a, const char *b)
{
    fputs(" (", l->out);
    put(l->out, l->md, a);
    fputs(" -> ", l->out);
    put(l->out, l->md, b);
    fputc(')', l->out);
}

static int list_cb(ia_compare *c, const cmp_file *f, const cmp_file *o,
                   void *user)
{
    list_ctx *l = user;
    (void)c;
    if (!l->left)
        return 1;
    l->left--;
    fputs(l->md ? "- " : "  ", l->out);
    if (o && l->kind != CMP_MODIFIED) {
        put_path(l->out, l->md, o->path);
        fputs(" -> ", l->out);
    }
    put_path(l->out, l->md, f->path);
    if (l->kind == CMP_MODIFIED) {
        char reason[512];
        ia_cmp_mod_reason(f, o, " -> ", reason, sizeof reason);
        fputs(": ", l->out);
        put(l->out, l->md, reason);
    }
    if (l->kind == CMP_MOVED)
        change(l, ia_cmp_split_name(o->split), ia_cmp_split_name(f->split));
    if (l->kind == CMP_RELABELED)
        change(l, o->label ? o->label : "none", f->label ? f->label : "none");
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
                ia_cmp_kind_name(k), (unsigned long long)n);
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
