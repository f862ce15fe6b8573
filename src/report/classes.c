/*
 * The class index table of the text and Markdown reports (the JSON's is
 * "loader_classes", json.c): per loader profile, the index each class
 * gets in each split as that loader numbers the class folders, with the
 * files it lists there. Training code trusts these indices to mean the
 * same class in every split; a row whose index differs between splits is
 * the silent evaluation error `class_renumbered` reports, so it is marked.
 *
 * Profiles whose tables are equal share one table (pillow, torchvision
 * and opencv usually do). Past ROWS_MAX classes only the rows that differ
 * between splits or list nothing are printed, and the rest counted: a
 * thousand-class table helps nobody read a report.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "report/report.h"
#include "store/store.h"

#define ROWS_MAX 40

typedef struct crow {
    char *loader, *split, *label;
    int64_t idx;
    uint64_t listed;
} crow;

typedef struct ctab {
    crow *v;
    size_t n, cap;
} ctab;

static int collect(void *user, const ia_q_loader_class *q)
{
    ctab *t = user;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        crow *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return IA_ERR_NOMEM;
        t->v = v;
        t->cap = cap;
    }
    crow *r = &t->v[t->n];
    r->loader = strdup(q->loader);
    r->split = strdup(q->split);
    r->label = strdup(q->label);
    r->idx = q->idx;
    r->listed = q->listed;
    t->n++;
    return r->loader && r->split && r->label ? IA_OK : IA_ERR_NOMEM;
}

static void ctab_free(ctab *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].loader);
        free(t->v[i].split);
        free(t->v[i].label);
    }
    free(t->v);
}

/* Label, then split: a class's cells side by side. */
static int by_label(const void *a, const void *b)
{
    const crow *x = a, *y = b;
    int c = strcmp(x->label, y->label);
    return c ? c : strcmp(x->split, y->split);
}

static size_t range_end(const ctab *t, size_t a)
{
    size_t b = a;
    while (b < t->n && strcmp(t->v[b].loader, t->v[a].loader) == 0)
        b++;
    return b;
}

static int same_table(const ctab *t, size_t a, size_t b, size_t c, size_t d)
{
    if (b - a != d - c)
        return 0;
    for (size_t i = 0; i < b - a; i++) {
        const crow *x = &t->v[a + i], *y = &t->v[c + i];
        if (strcmp(x->split, y->split) || strcmp(x->label, y->label) ||
            x->idx != y->idx || x->listed != y->listed)
            return 0;
    }
    return 1;
}

/* The splits of a loader's rows, sorted (each at most once). */
typedef struct splits {
    const char **name;
    size_t n;
} splits;

static int split_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int splits_of(const ctab *t, size_t a, size_t b, splits *s)
{
    s->name = malloc((b - a) * sizeof *s->name);
    s->n = 0;
    if (!s->name)
        return IA_ERR_NOMEM;
    for (size_t i = a; i < b; i++)
        s->name[s->n++] = t->v[i].split;
    qsort(s->name, s->n, sizeof *s->name, split_cmp);
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (k == 0 || strcmp(s->name[k - 1], s->name[i]) != 0)
            s->name[k++] = s->name[i];
    s->n = k;
    return IA_OK;
}

typedef struct cout {
    FILE *out;
    int md;
    const splits *sp;
} cout;

/* One class [a, b) (its cells, by split): 1 when it is worth showing in
 * a long table (its index differs between splits, it is missing from a
 * split, or a split lists none of its files). */
static int unusual(const crow *v, size_t a, size_t b, size_t nsplits)
{
    if (b - a != nsplits)
        return 1;
    for (size_t i = a; i < b; i++)
        if (v[i].idx != v[a].idx || v[i].listed == 0)
            return 1;
    return 0;
}

static void put_row(const cout *o, const crow *v, size_t a, size_t b)
{
    int differs = unusual(v, a, b, o->sp->n) && b - a > 0;
    if (o->md) {
        fputs("| `", o->out);
        ia_fput_md(o->out, v[a].label);
        fputs(differs ? "` (differs) |" : "` |", o->out);
    } else {
        fputs(differs ? "  * " : "    ", o->out);
        ia_fput_clean(o->out, v[a].label);
        for (size_t n = strlen(v[a].label); n < 16; n++)
            fputc(' ', o->out);
    }
    size_t i = a;
    for (size_t s = 0; s < o->sp->n; s++) {
        char cell[48] = "-";
        if (i < b && strcmp(v[i].split, o->sp->name[s]) == 0) {
            snprintf(cell, sizeof cell, "%lld (%llu)", (long long)v[i].idx,
                     (unsigned long long)v[i].listed);
            i++;
        }
        fprintf(o->out, o->md ? " %s |" : "  %12s", cell);
    }
    fputc('\n', o->out);
}

/* A split's name as a column head: from the dataset, so through the
 * escapers of every other dataset string (docs/security.md). */
static void put_split(const cout *o, const char *name)
{
    const char *s = *name ? name : "(no split)";
    if (o->md) {
        fputc(' ', o->out);
        ia_fput_md(o->out, s);
        fputs(" |", o->out);
        return;
    }
    fputs("  ", o->out);
    for (size_t n = strlen(s); n < 12; n++)
        fputc(' ', o->out);
    ia_fput_clean(o->out, s);
}

static void put_head(const cout *o, const char *names)
{
    if (o->md)
        fprintf(o->out, "\n**%s**\n\n| class |", names);
    else
        fprintf(o->out, "  %s\n    %-16s", names, "class");
    for (size_t s = 0; s < o->sp->n; s++)
        put_split(o, o->sp->name[s]);
    if (o->md) {
        fputs("\n| --- |", o->out);
        for (size_t s = 0; s < o->sp->n; s++)
            fputs(" --- |", o->out);
    }
    fputc('\n', o->out);
}

/* One table: the rows of [a, b), already sorted by class. */
static int put_table(FILE *out, int md, ctab *t, size_t a, size_t b,
                     const char *names)
{
    splits sp;
    int ret = splits_of(t, a, b, &sp);
    if (ret != IA_OK)
        return ret;
    cout o = {out, md, &sp};
    size_t nclass = 0, hidden = 0;
    for (size_t i = a; i < b; nclass++) {
        size_t j = i;
        while (j < b && strcmp(t->v[j].label, t->v[i].label) == 0)
            j++;
        i = j;
    }
    put_head(&o, names);
    for (size_t i = a; i < b;) {
        size_t j = i;
        while (j < b && strcmp(t->v[j].label, t->v[i].label) == 0)
            j++;
        if (nclass <= ROWS_MAX || unusual(t->v, i, j, sp.n))
            put_row(&o, t->v, i, j);
        else
            hidden++;
        i = j;
    }
    if (hidden)
        fprintf(out, md ? "\n%zu more classes have the same index in every "
                          "split.\n"
                        : "    ... %zu more classes, the same index in "
                          "every split\n", hidden);
    free(sp.name);
    return IA_OK;
}

/* "pillow, torchvision": the profiles whose table equals [a, b)'s,
 * marking them done. */
static void names_like(const ctab *t, size_t a, size_t b, char *done,
                       char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t c = a; c < t->n;) {
        size_t d = range_end(t, c);
        if (!done[c] && same_table(t, a, b, c, d)) {
            done[c] = 1;
            used += (size_t)snprintf(buf + used, used < cap ? cap - used : 0,
                                     "%s%s", used ? ", " : "",
                                     t->v[c].loader);
            if (used >= cap)
                used = cap - 1;
        }
        c = d;
    }
}

static int put_tables(FILE *out, int md, ctab *t)
{
    char *done = calloc(t->n, 1);
    int ret = done ? IA_OK : IA_ERR_NOMEM;
    fputs(md ? "\n### Class indices\n\nThe index each loader gives each "
               "class folder in each split, with the files it lists there "
               "in brackets. A class marked *differs* has another index in "
               "some split (it changes meaning: `class_renumbered`), is "
               "missing from a split, or has no file listed there.\n"
             : "\nclass indices (as each loader numbers the class "
               "folders; files listed in\nbrackets; * a class whose index "
               "differs between splits, missing from one,\nor with no file "
               "listed in one)\n", out);
    for (size_t a = 0; a < t->n; a = range_end(t, a))
        qsort(t->v + a, range_end(t, a) - a, sizeof *t->v, by_label);
    for (size_t a = 0; ret == IA_OK && a < t->n;) {
        size_t b = range_end(t, a);
        if (!done[a]) {
            char names[160];
            names_like(t, a, b, done, names, sizeof names);
            ret = put_table(out, md, t, a, b, names);
        }
        a = b;
    }
    free(done);
    return ret;
}

int ia_report_classes_section(ia_db *db, int64_t scan_id, FILE *out, int md)
{
    ctab t;
    memset(&t, 0, sizeof t);
    int ret = ia_q_loader_classes(db, scan_id, collect, &t);
    if (ret == IA_ERR_NOMEM)
        ret = ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    if (ret == IA_OK && t.n)
        ret = put_tables(out, md, &t);
    ctab_free(&t);
    return ret;
}
