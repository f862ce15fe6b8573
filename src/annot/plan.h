/*
 * Private to the annot module: what ia_annot_plan holds (plan.c fills
 * it, check.c reads it).
 */
#ifndef IA_ANNOT_PLAN_H
#define IA_ANNOT_PLAN_H

#include <stddef.h>

#include "annot/annot.h"

typedef struct annot_spec {
    char *path;      /* as given */
    char *rel;       /* beneath the root: the walk skips it; else NULL */
    char *split;     /* canonical split of SPLIT=, or NULL */
} annot_spec;

struct ia_annot_plan {
    char *root;      /* absolute */
    annot_spec *coco;
    size_t ncoco;
    int yolo;
    char *yaml, *yaml_rel;     /* data.yaml, NULL when none */
    char **labels;   /* label files the walk met, in walk order */
    size_t nlabels, cap_labels;
};

#endif
