/*
 * The annotation inputs of a scan (annot.h): the COCO files with their
 * splits, the YOLO layout's data.yaml, and the label files the walk
 * hands over instead of decoding them (ia_annot_claim), kept sorted for
 * check.c to look up.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "annot/plan.h"
#include "core/core.h"

void ia_annot_plan_free(ia_annot_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ncoco; i++) {
        free(p->coco[i].path);
        free(p->coco[i].rel);
        free(p->coco[i].split);
    }
    for (size_t i = 0; i < p->nlabels; i++)
        free(p->labels[i]);
    free(p->coco);
    free(p->labels);
    free(p->yaml);
    free(p->yaml_rel);
    free(p->root);
    free(p);
}

/* The path relative to root when it lies beneath it, else NULL. */
static char *rel_to_root(const char *root, const char *path)
{
    char abs[PATH_MAX];
    size_t n = strlen(root);
    if (!realpath(path, abs) || strncmp(abs, root, n) != 0 ||
        abs[n] != '/')
        return NULL;
    return ia_strdup(abs + n + 1);
}

/* "val=FILE.json" or "FILE.json"; a split must be a split name. */
static int add_coco(ia_annot_plan *p, const char *spec, char *msg,
                    size_t cap)
{
    const char *eq = strchr(spec, '=');
    annot_spec *c = &p->coco[p->ncoco++];
    if (eq) {
        char split[64];
        size_t n = (size_t)(eq - spec);
        if (n == 0 || n >= sizeof split) {
            ia_bprintf(msg, cap, "--coco %s: expected SPLIT=FILE.json", spec);
            return IA_ERR_ARG;
        }
        memcpy(split, spec, n);
        split[n] = '\0';
        const char *canon = ia_split_canonical(split);
        c->split = ia_strdup(canon ? canon : split);
        spec = eq + 1;
        if (!c->split)
            return IA_ERR_NOMEM;
    }
    if (access(spec, R_OK) != 0) {
        ia_bprintf(msg, cap, "--coco %s: cannot read it", spec);
        return IA_ERR_ARG;
    }
    c->path = ia_strdup(spec);
    c->rel = rel_to_root(p->root, spec);
    return c->path ? IA_OK : IA_ERR_NOMEM;
}

static int set_yaml(ia_annot_plan *p, const char *yaml, char *msg,
                    size_t cap)
{
    char buf[PATH_MAX];
    if (!yaml) {
        struct stat st;
        ia_bprintf(buf, sizeof buf, "%s/data.yaml", p->root);
        if (stat(buf, &st) != 0)
            return IA_OK;       /* class ids without names */
        yaml = buf;
    } else if (access(yaml, R_OK) != 0) {
        ia_bprintf(msg, cap, "--yolo %s: cannot read it", yaml);
        return IA_ERR_ARG;
    }
    p->yaml = ia_strdup(yaml);
    p->yaml_rel = rel_to_root(p->root, yaml);
    return p->yaml ? IA_OK : IA_ERR_NOMEM;
}

int ia_annot_plan_new(const char *root, const char *const *coco,
                      size_t ncoco, int yolo_on, const char *yolo_yaml,
                      ia_annot_plan **out, char *msg, size_t msgcap)
{
    char abs[PATH_MAX];
    *out = NULL;
    if (!realpath(root, abs)) {
        ia_bprintf(msg, msgcap, "%s: no such folder", root);
        return IA_ERR_ARG;
    }
    ia_annot_plan *p = calloc(1, sizeof *p);
    if (!p || !(p->root = ia_strdup(abs)) ||
        (ncoco && !(p->coco = calloc(ncoco, sizeof *p->coco)))) {
        ia_annot_plan_free(p);
        return IA_ERR_NOMEM;
    }
    p->yolo = yolo_on;
    int rc = IA_OK;
    for (size_t i = 0; rc == IA_OK && i < ncoco; i++)
        rc = add_coco(p, coco[i], msg, msgcap);
    if (rc == IA_OK && yolo_on)
        rc = set_yaml(p, yolo_yaml, msg, msgcap);
    if (rc != IA_OK) {
        ia_annot_plan_free(p);
        return rc;
    }
    *out = p;
    return IA_OK;
}

static int has_component(const char *path, const char *name)
{
    size_t n = strlen(name);
    for (const char *c = path; (c = strstr(c, name)) != NULL; c += n)
        if ((c == path || c[-1] == '/') && c[n] == '/')
            return 1;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int ia_annot_claim(ia_annot_plan *p, const char *relpath, int *claimed)
{
    *claimed = 0;
    for (size_t i = 0; i < p->ncoco; i++)
        if (p->coco[i].rel && strcmp(p->coco[i].rel, relpath) == 0)
            *claimed = 1;
    if (!p->yolo || *claimed)
        return IA_OK;
    if (p->yaml_rel && strcmp(p->yaml_rel, relpath) == 0) {
        *claimed = 1;
        return IA_OK;
    }
    if (!has_component(relpath, "labels"))
        return IA_OK;
    /* Ultralytics' label caches sit beside the labels */
    *claimed = ends_with(relpath, ".txt") || ends_with(relpath, ".cache");
    if (!ends_with(relpath, ".txt"))
        return IA_OK;
    char **g = ia_grow(p->labels, &p->cap_labels, p->nlabels + 1,
                       sizeof *g, 64);
    if (!g)
        return IA_ERR_NOMEM;
    p->labels = g;
    if (!(g[p->nlabels] = ia_strdup(relpath)))
        return IA_ERR_NOMEM;
    p->nlabels++;
    return IA_OK;
}
