/*
 * Private to the annot module: the steps of ia_annot_run (check.c):
 * matching sources with files (match.c), the checks of boxes and images
 * and across sources (check.c), storing (store.c).
 */
#ifndef IA_ANNOT_CHECK_H
#define IA_ANNOT_CHECK_H

#include "annot/files.h"
#include "annot/model.h"

int annot_match_coco(annot_set *s, const annot_files *f);
/* labels: the label files the walk met (sorted here). */
int annot_build_yolo(annot_set *s, annot_files *f, char **labels,
                     size_t nlabels, int rootfd);

/* The checks of one set's images and boxes, as issues of the set. */
int annot_check_set(annot_set *s, const annot_files *f);
/* Across sets: unannotated images, one image annotated differently in
 * two places, a category missing from a split: as issues of sets[0]. */
int annot_check_across(ia_db *db, int64_t scan_id, annot_set *sets,
                       size_t nsets, const annot_files *f);

/* The sets' rows and issues into the store. */
int annot_store(ia_db *db, int64_t scan_id, const annot_set *sets,
                size_t nsets);

#endif
