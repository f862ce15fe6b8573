/*
 * ia_annot_run: the annotation audit after the walk and the analysis.
 * Every source is read and matched first, then checked alone, then
 * across sources and the scan's files, then stored with its findings.
 */
#include <stdlib.h>
#include <string.h>

#include "annot/check.h"
#include "annot/plan.h"
#include "core/core.h"

static int read_sources(ia_annot_plan *p, annot_files *f, int rootfd,
                        annot_set *sets, size_t *nsets)
{
    int rc = IA_OK;
    for (size_t i = 0; rc == IA_OK && i < p->ncoco; i++) {
        annot_set *s = &sets[(*nsets)++];
        const annot_spec *c = &p->coco[i];
        s->source = ia_strdup(c->rel ? c->rel : c->path);
        s->split = c->split ? ia_strdup(c->split) : NULL;
        if (!s->source || (c->split && !s->split))
            return IA_ERR_NOMEM;
        rc = annot_coco_load(c->path, s);
        if (rc == IA_OK)
            rc = annot_match_coco(s, f);
    }
    if (rc != IA_OK || !p->yolo)
        return rc;
    annot_set *s = &sets[(*nsets)++];
    s->kind = IA_ANNOT_YOLO;
    s->normalised = 1;
    s->nc = -1;
    s->source = ia_strdup(p->yaml ? (p->yaml_rel ? p->yaml_rel : p->yaml)
                                  : "labels");
    if (!s->source)
        return IA_ERR_NOMEM;
    if (p->yaml)
        rc = annot_yaml_load(p->yaml, s);
    if (rc == IA_OK)
        rc = annot_build_yolo(s, f, p->labels, p->nlabels, rootfd);
    return rc;
}

int ia_annot_run(ia_db *db, int64_t scan_id, int rootfd, ia_annot_plan *p)
{
    size_t nsets = 0, cap = p->ncoco + 1;
    annot_files f;
    annot_set *sets = calloc(cap, sizeof *sets);
    if (!sets)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    int rc = annot_files_load(db, scan_id, &f);
    if (rc == IA_OK) {
        rc = read_sources(p, &f, rootfd, sets, &nsets);
        for (size_t i = 0; rc == IA_OK && i < nsets; i++)
            rc = annot_check_set(&sets[i], &f);
        if (rc == IA_OK && nsets)
            rc = annot_check_across(db, scan_id, sets, nsets, &f);
        if (rc == IA_ERR_NOMEM)
            rc = ia_store_fail(db, rc, "annotations: out of memory (limits "
                               "in docs/security.md)");
        if (rc == IA_OK)
            rc = annot_store(db, scan_id, sets, nsets);
    }
    for (size_t i = 0; i < cap; i++)
        annot_set_free(&sets[i]);
    free(sets);
    annot_files_free(&f);
    return rc;
}
