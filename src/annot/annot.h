/*
 * The annot module's interface: detection and segmentation annotations
 * (COCO JSON, YOLO label folders with data.yaml) read under fixed limits,
 * matched with the scanned files and audited against their pixels
 * (docs/annotations.md). Parsers (coco.c, yolo.c) know nothing of the
 * store; run.c drives matching (match.c), checks (check.c, across.c) and
 * storing (save.c, through store/store.h). Private to the module:
 * model.h (the in-memory annotation set), plan.h, files.h, check.h.
 */
#ifndef IA_ANNOT_H
#define IA_ANNOT_H

#include <stddef.h>
#include <stdint.h>

#include "imgaudit.h"

/* Limits on what annotations may cost (docs/security.md). */
#define IA_ANNOT_MAX_JSON_BYTES (256u << 20)   /* a COCO file */
#define IA_ANNOT_MAX_LABEL_BYTES (16u << 20)   /* a YOLO label file */
#define IA_ANNOT_MAX_YAML_BYTES (1u << 20)     /* data.yaml */
#define IA_ANNOT_MAX_LINE 65536                /* a YOLO label line */
#define IA_ANNOT_MAX_BOXES 50000000u           /* boxes of one scan */
#define IA_ANNOT_MAX_CLASSES 100000            /* names in data.yaml */

/* One YOLO label line: "class cx cy w h" (a box, normalised) or
 * "class x1 y1 x2 y2 x3 y3 ..." (a polygon, normalised: its bounding box
 * and shoelace area are given). */
typedef struct ia_yolo_line {
    long long cls;
    double cx, cy, w, h;   /* the box, centre and size */
    double poly_area;      /* the polygon's area, 0 for a box */
    int points;            /* polygon points, 0 for a box */
} ia_yolo_line;

enum {
    IA_YOLO_OK = 0,       /* *out filled */
    IA_YOLO_BLANK = 1,    /* empty or white space only: no box */
    IA_YOLO_BAD = -1,     /* malformed: why in why[] */
};

/* Parses one line (len bytes, no NUL needed, no newline) strictly: a
 * non-negative integer class, then 4 numbers or an even count >= 6, all
 * finite. Pure: no allocation, any bytes accepted. */
int ia_yolo_parse_line(const char *s, size_t len, ia_yolo_line *out,
                       char *why, size_t whycap);

/* Intersection over union of two boxes given as x, y, w, h. */
double ia_annot_iou(const double a[4], const double b[4]);

/* The annotation inputs of one scan. */
typedef struct ia_annot_plan ia_annot_plan;

/* coco: "FILE.json" or "SPLIT=FILE.json" (ncoco of them); yolo_on: audit
 * the YOLO layout, yolo_yaml its data.yaml (NULL: DIR/data.yaml when
 * present). IA_ERR_ARG with msg for a malformed spec. */
int ia_annot_plan_new(const char *root, const char *const *coco,
                      size_t ncoco, int yolo_on, const char *yolo_yaml,
                      ia_annot_plan **out, char *msg, size_t msgcap);
void ia_annot_plan_free(ia_annot_plan *p);

/* Whether the walk's relpath is an annotation file (a YOLO label, the
 * data.yaml, a COCO file under the root) rather than a file to decode;
 * YOLO labels are remembered for ia_annot_run. IA_ERR_NOMEM, or 0 / 1
 * in *claimed. */
int ia_annot_claim(ia_annot_plan *p, const char *relpath, int *claimed);

/* After the walk and the analysis: reads the annotations, matches them
 * with the scan's files, stores them and their findings (not committed:
 * ia_store_scan_finish does). rootfd: the root, for the label files. */
int ia_annot_run(ia_db *db, int64_t scan_id, int rootfd, ia_annot_plan *p);

#endif
