/*
 * Private to the annot module: one annotation source read into memory
 * (a COCO file, or the YOLO label folders), its images, categories and
 * boxes in flat arrays, and the findings its parser made. model.c owns
 * the arrays; coco.c and yolo.c fill them; check.c reads them.
 */
#ifndef IA_ANNOT_MODEL_H
#define IA_ANNOT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "annot/annot.h"

enum { IA_ANNOT_COCO = 1, IA_ANNOT_YOLO = 2 };

typedef struct annot_image {
    char *name;          /* COCO file_name; YOLO: the image's relpath */
    char *label_path;    /* YOLO: its label file, NULL when none */
    int64_t ext_id;      /* COCO image id */
    int64_t width, height;  /* COCO's claim; 0 when not given */
    size_t first, nboxes;   /* its boxes: boxes[first .. first + nboxes) */
    int64_t file_id;     /* the matched file row, 0 when none */
    long file_index;     /* its index in annot_files, -1 when none */
    const char *split;   /* canonical split (static string) or NULL */
    double fw, fh;       /* the frame boxes are judged in; 0 unknown */
} annot_image;

typedef struct annot_box {
    size_t image;        /* index in images */
    int64_t category;
    double b[4];         /* x, y, w, h: COCO pixels, YOLO normalised */
    double seg_area;     /* segmentation area as given, -1 when none */
    int polygons;        /* COCO polygon count; YOLO polygon points */
    int iscrowd;
    long line;           /* YOLO line; COCO: index in annotations[] */
    int64_t ext_id;      /* COCO annotation id */
} annot_box;

typedef struct annot_category {
    int64_t id;
    char *name;
    uint64_t boxes[3];   /* per split: train, val, test (check.c) */
} annot_category;

typedef struct annot_issue {
    const char *code;
    int severity;
    char *path;          /* the file it is about */
    int64_t file_id;     /* or 0 */
    char detail[200];
} annot_issue;

typedef struct annot_set {
    int kind;            /* IA_ANNOT_COCO, IA_ANNOT_YOLO */
    char *source;        /* the COCO file or "data.yaml"/"labels" */
    char *split;         /* the split the spec or the paths give, or NULL */
    int normalised;      /* boxes in 0..1 (YOLO) */
    annot_image *images;
    size_t nimages, cap_images;
    annot_box *boxes;
    size_t nboxes, cap_boxes;
    annot_category *cats;
    size_t ncats, cap_cats;
    annot_issue *issues;
    size_t nissues, cap_issues;
    long long nc;        /* YOLO class count, -1 when unknown */
} annot_set;

void annot_set_free(annot_set *s);
int annot_add_image(annot_set *s, const char *name, annot_image **out);
int annot_add_box(annot_set *s, const annot_box *b);
int annot_add_category(annot_set *s, int64_t id, const char *name);
/* A parse or check finding; detail printf-style. */
int annot_issue_add(annot_set *s, const char *code, int severity,
                    const char *path, int64_t file_id, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Sorts the boxes by image (then line) and sets each image's range. */
void annot_index_boxes(annot_set *s);
/* Sorts the categories by id, as annot_category_name needs. */
void annot_sort_categories(annot_set *s);
/* The category's name, or NULL when the set has no such id. */
const char *annot_category_name(const annot_set *s, int64_t id);
/* The category of that id, or NULL. */
annot_category *annot_category_get(const annot_set *s, int64_t id);

/* coco.c: reads path (whole, at most IA_ANNOT_MAX_JSON_BYTES) into s;
 * what is wrong with it becomes issues. IA_ERR_NOMEM only. */
int annot_coco_load(const char *path, annot_set *s);
/* yolo.c: the class names of data.yaml (names: list or map, nc); issues
 * for what is wrong. IA_ERR_NOMEM only. */
int annot_yaml_load(const char *path, annot_set *s);
/* yolo.c: the boxes of one label file, read beneath rootfd into image
 * img of s. IA_ERR_NOMEM only. */
int annot_yolo_read(annot_set *s, int rootfd, size_t img);

#endif
