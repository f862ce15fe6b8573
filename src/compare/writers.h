/*
 * Private to the compare module: the writers of a finished comparison.
 * Each reads it through model.h only, and ia_compare_write (write.c) is
 * the one caller.
 */
#ifndef IA_COMPARE_WRITERS_H
#define IA_COMPARE_WRITERS_H

#include <stdio.h>

#include "compare/model.h"

int ia_cmp_write_json(ia_compare *c, FILE *out);
int ia_cmp_write_text(ia_compare *c, FILE *out, int markdown);
/* Writes the HTML page of a finished comparison (ia_compare_open): the
 * verdict, files per kind of change, the ranked changes, label charts and
 * histograms of both scans, and thumbnails of the changed files (from the
 * roots of both scans). opt may be NULL (no progress, no cancel). Returns
 * IA_OK or an ia_error with the message in ia_compare_errmsg(c). */
int ia_html_compare(ia_compare *c, FILE *out, const ia_report_options *opt);

#endif
