/*
 * Private to the compare module: the analysis of two matched scans
 * (analyze.c: file changes, health, ranking; splits.c: labels, pixels,
 * distributions and mixes per split), which fills the model's findings
 * and drift lists.
 */
#ifndef IA_COMPARE_ANALYSIS_H
#define IA_COMPARE_ANALYSIS_H

#include "compare/model.h"

/* Fills health, labels, modified_summary, drift, findings (ranked), sev
 * and fail from the matched scans. */
int ia_cmp_analyze(ia_compare *c);

/* Labels, pixels, distributions and mixes of every split. */
int ia_cmp_splits(ia_compare *c);

/* Annotation drift per split (annot.c): categories, box counts, sizes. */
int ia_cmp_annotations(ia_compare *c);

#endif
