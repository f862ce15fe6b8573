/*
 * The scan's image files for matching (files.h): read once from the
 * store, sorted by path (the query's order) and indexed by base name,
 * because a COCO file_name is usually a base name and sometimes a path.
 */
#include <stdlib.h>
#include <string.h>

#include "annot/files.h"
#include "core/core.h"

const char *annot_path_split(const char *path)
{
    char comp[64];
    const char *p = path;
    while (*p) {
        const char *slash = strchr(p, '/');
        if (!slash)
            return NULL;        /* the last component is the file */
        size_t n = (size_t)(slash - p);
        if (n < sizeof comp) {
            memcpy(comp, p, n);
            comp[n] = '\0';
            const char *s = ia_split_canonical(comp);
            if (s)
                return s;
        }
        p = slash + 1;
    }
    return NULL;
}

static int add_file(void *user, const ia_annot_file *r)
{
    annot_files *f = user;
    annot_file *g = ia_grow(f->v, &f->cap, f->n + 1, sizeof *g, 256);
    if (!g)
        return IA_ERR_NOMEM;
    f->v = g;
    annot_file *a = &g[f->n];
    memset(a, 0, sizeof *a);
    if (!(a->path = ia_strdup(r->path)))
        return IA_ERR_NOMEM;
    const char *slash = strrchr(a->path, '/');
    a->base = slash ? slash + 1 : a->path;
    a->file_id = r->file_id;
    a->split = r->split ? ia_split_canonical(r->split) : NULL;
    if (!a->split)
        a->split = annot_path_split(a->path);
    a->status_ok = r->status_ok;
    a->width = r->width, a->height = r->height;
    a->orientation = r->orientation;
    f->n++;
    return IA_OK;
}

static int cmp_base(const void *a, const void *b, void *arg)
{
    const annot_files *f = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(f->v[x].base, f->v[y].base);
    return c ? c : (x > y) - (x < y);
}

int annot_files_load(ia_db *db, int64_t scan_id, annot_files *f)
{
    memset(f, 0, sizeof *f);
    int rc = ia_store_annot_files(db, scan_id, add_file, f);
    if (rc == IA_ERR_NOMEM)
        rc = ia_store_fail(db, rc, "out of memory");
    if (rc != IA_OK || f->n == 0)
        return rc;
    f->by_base = malloc(f->n * sizeof *f->by_base);
    if (!f->by_base)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < f->n; i++)
        f->by_base[i] = i;
    ia_qsort_r(f->by_base, f->n, sizeof *f->by_base, cmp_base, f);
    return IA_OK;
}

void annot_files_free(annot_files *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].path);
    free(f->v);
    free(f->by_base);
    memset(f, 0, sizeof *f);
}

annot_file *annot_files_find(const annot_files *f, const char *path)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->v[mid].path, path);
        if (c == 0)
            return &f->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

annot_file *annot_files_by_base(const annot_files *f, const char *base,
                                const char *split)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(f->v[f->by_base[mid]].base, base) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    annot_file *one = NULL, *in_split = NULL;
    size_t n = 0, nsplit = 0;
    for (size_t i = lo; i < f->n; i++) {
        annot_file *a = &f->v[f->by_base[i]];
        if (strcmp(a->base, base) != 0)
            break;
        one = a, n++;
        if (split && a->split && strcmp(a->split, split) == 0)
            in_split = a, nsplit++;
    }
    if (nsplit == 1)
        return in_split;
    return n == 1 ? one : NULL;
}
