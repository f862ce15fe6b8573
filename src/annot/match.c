/*
 * Sources read and matched with the scan's files: a COCO file's images
 * by file_name (a path under the root, SPLIT/name, or a base name unique
 * in the split), the YOLO layout's images by its rule (images/ ->
 * labels/, extension -> .txt). Each matched image gets the frame its
 * boxes are judged in: COCO's claimed size, else the decoded size.
 */
#include <stdlib.h>
#include <string.h>

#include "annot/check.h"
#include "core/core.h"

static annot_file *match_name(const annot_files *f, const char *name,
                              const char *split)
{
    char buf[4096];
    annot_file *a = annot_files_find(f, name);
    if (!a && split) {
        ia_bprintf(buf, sizeof buf, "%s/%s", split, name);
        a = annot_files_find(f, buf);
    }
    if (!a) {
        const char *slash = strrchr(name, '/');
        a = annot_files_by_base(f, slash ? slash + 1 : name, split);
    }
    return a;
}

static void set_frame(annot_image *im, const annot_file *a, int coco)
{
    if (coco && im->width > 0 && im->height > 0) {
        im->fw = (double)im->width, im->fh = (double)im->height;
    } else if (a && a->status_ok && a->width > 0 && a->height > 0) {
        im->fw = (double)a->width, im->fh = (double)a->height;
    }
}

/* The split most matched files of a COCO file lie in, when not given. */
static const char *majority_split(const annot_set *s)
{
    static const char *const names[] = {"train", "val", "test"};
    size_t n[3] = {0, 0, 0};
    for (size_t i = 0; i < s->nimages; i++)
        for (int k = 0; k < 3; k++)
            if (s->images[i].split && strcmp(s->images[i].split,
                                             names[k]) == 0)
                n[k]++;
    int best = n[0] >= n[1] ? 0 : 1;
    best = n[best] >= n[2] ? best : 2;
    return n[best] ? names[best] : NULL;
}

static int match_image(annot_set *s, const annot_files *f, annot_image *im)
{
    annot_file *a = match_name(f, im->name, s->split);
    im->split = a ? a->split : s->split ? ia_split_canonical(s->split) : NULL;
    set_frame(im, a, 1);
    if (!a)
        return annot_issue_add(s, "annot_image_missing", IA_SEV_ERROR,
                               im->name, 0, "%s names image id %lld, not "
                               "found under the root", s->source,
                               (long long)im->ext_id);
    im->file_id = a->file_id;
    im->file_index = (long)(a - f->v);
    a->annotated = 1;
    if (!a->status_ok)
        return annot_issue_add(s, "annot_image_undecodable", IA_SEV_ERROR,
                               NULL, a->file_id, "annotated by %s (image id "
                               "%lld) but does not decode (see its status)",
                               s->source, (long long)im->ext_id);
    return IA_OK;
}

int annot_match_coco(annot_set *s, const annot_files *f)
{
    int rc = IA_OK;
    for (size_t i = 0; rc == IA_OK && i < s->nimages; i++)
        rc = match_image(s, f, &s->images[i]);
    if (rc == IA_OK && !s->split) {
        const char *sp = majority_split(s);
        if (sp && !(s->split = ia_strdup(sp)))
            rc = IA_ERR_NOMEM;
    }
    return rc;
}

/* The YOLO label path of an image: the last images/ folder of its path
 * becomes labels/ and its extension .txt; "" when it has no images/. */
static void label_of(const char *path, char *out, size_t cap)
{
    const char *p = NULL;
    out[0] = '\0';
    for (const char *c = path; (c = strstr(c, "images/")) != NULL; c++)
        if (c == path || c[-1] == '/')
            p = c;
    if (!p)
        return;
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    size_t stem = dot && dot > slash ? (size_t)(dot - path) : strlen(path);
    ia_bprintf(out, cap, "%.*slabels/%.*s.txt", (int)(p - path), path,
               (int)(stem - (size_t)(p - path) - 7), p + 7);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int yolo_image(annot_set *s, annot_files *f, size_t i, char **labels,
                      size_t nlabels, unsigned char *used, int rootfd)
{
    annot_file *a = &f->v[i];
    char lab[4096];
    label_of(a->path, lab, sizeof lab);
    if (!lab[0])
        return IA_OK;           /* not in the YOLO layout */
    const char *key = lab;
    char **hit = nlabels ? bsearch(&key, labels, nlabels, sizeof *labels,
                                   cmp_str) : NULL;
    annot_image *im;
    if (annot_add_image(s, a->path, &im) != IA_OK)
        return IA_ERR_NOMEM;
    im->file_id = a->file_id;
    im->file_index = (long)i;
    im->split = a->split;
    set_frame(im, a, 0);
    if (!hit)
        return IA_OK;           /* unannotated: check.c says so */
    used[hit - labels] = 1;
    a->annotated = 1;
    if (!(im->label_path = ia_strdup(lab)))
        return IA_ERR_NOMEM;
    if (!a->status_ok && annot_issue_add(s, "annot_image_undecodable",
                                         IA_SEV_ERROR, NULL, a->file_id,
                                         "labelled by %s but does not "
                                         "decode (see its status)", lab))
        return IA_ERR_NOMEM;
    return annot_yolo_read(s, rootfd, s->nimages - 1);
}

int annot_build_yolo(annot_set *s, annot_files *f, char **labels,
                     size_t nlabels, int rootfd)
{
    if (nlabels > 1)
        qsort(labels, nlabels, sizeof *labels, cmp_str);
    unsigned char *used = calloc(nlabels ? nlabels : 1, 1);
    if (!used)
        return IA_ERR_NOMEM;
    int rc = IA_OK;
    for (size_t i = 0; rc == IA_OK && i < f->n; i++)
        rc = yolo_image(s, f, i, labels, nlabels, used, rootfd);
    /* a label file whose image is gone */
    for (size_t i = 0; rc == IA_OK && i < nlabels; i++)
        if (!used[i])
            rc = annot_issue_add(s, "annot_image_missing", IA_SEV_ERROR,
                                 labels[i], 0, "a label file with no image "
                                 "beside it under images/");
    free(used);
    if (rc == IA_OK)
        annot_index_boxes(s);
    return rc;
}
