/*
 * Private interface between the report and export modules (report/json.c,
 * report/text.c, export.c). They read the DB only through store/store.h.
 */
#ifndef IA_REPORT_H
#define IA_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "imgaudit.h"
#include "store/store.h"

/* One report of a resolved scan on out, through the lens set
 * (ia_report_lens); fail_on (IA_FAIL_ON_*) decides the verdict. */
int ia_report_json(ia_db *db, int64_t scan_id, FILE *out, int fail_on);
int ia_report_text(ia_db *db, int64_t scan_id, FILE *out, int fail_on);
int ia_report_md(ia_db *db, int64_t scan_id, FILE *out, int fail_on);
/* The channel statistics and label balance per split (report/stats.c),
 * as text or Markdown (md), for the text and Markdown reports. */
int ia_report_stats_section(ia_db *db, int64_t scan_id, FILE *out, int md);
/* The annotation balance: a text or Markdown section (report/annot.c)
 * and an "annotations" key of the JSON report (json.c); nothing without
 * annotations. */
int ia_report_annot_section(ia_db *db, int64_t scan_id, FILE *out, int md);
int ia_report_annot_json(ia_db *db, int64_t scan_id, json_t *root);
/* The class index table of each loader profile, per split (report/
 * classes.c), as text or Markdown; nothing before a loader analysis. */
int ia_report_classes_section(ia_db *db, int64_t scan_id, FILE *out, int md);
/* The self-contained HTML page (report/html.c); opt may be NULL. */
int ia_report_html(ia_db *db, int64_t scan_id, FILE *out,
                   const ia_report_options *opt);

/* mean = S/N and std = sqrt(N*SS - S^2)/N per channel (population std),
 * exact up to the final rounding. Returns 0, or -1 when s->n is 0. */
int ia_sums_mean_std(const ia_sums *s, double mean[3], double std[3]);

/* A JSON string of arbitrary bytes: json null for NULL; bytes that are
 * not valid UTF-8 (file names need not be) become U+FFFD, since JSON
 * text must be UTF-8. NULL only when out of memory. */
json_t *ia_json_text(const char *s);
/* A JSON real, or null when v is not finite (JSON has no NaN). */
json_t *ia_json_real(double v);
/* json_object_set_new with a key made valid UTF-8 like ia_json_text;
 * steals v; 0 on success. */
int ia_json_set(json_t *obj, const char *key, json_t *v);

/* Sets the lens every query of db reads the scan's findings through
 * (report/lens.c): the profiles named in loaders (comma-separated; NULL:
 * the scan's) and the policy file's severities (NULL: the scan's). */
int ia_report_lens(ia_db *db, int64_t scan_id, const char *loaders,
                   const char *policy_path);
/* Whether the scan is complete. */
int ia_report_complete(ia_db *db, int64_t scan_id, int *complete);
/* The verdict of counts sev (by severity) of a scan: fails when a
 * finding reaches fail_on (IA_FAIL_ON_*) or the scan is incomplete, its
 * results covering part of the dataset (never with IA_FAIL_ON_NEVER). */
int ia_report_fails(const uint64_t sev[3], int complete, int fail_on);
/* "fail", "pass with warnings" or "pass". */
const char *ia_report_verdict(const uint64_t sev[3], int complete,
                              int fail_on);
/* The rows of a table of a resolved scan (rows.c; ia_scan_rows). */
int ia_report_rows(ia_db *db, int64_t scan_id, int table, ia_row_fn fn,
                   void *user);
/* Whether a split is one of the report's: stray files at the root of a
 * split layout (README, LICENSE: no image, no label) are not a split of
 * their own when named splits exist. */
int ia_report_split_shown(const ia_q_split *s, uint64_t named_splits);

/* Files and findings counted apart (count.c; docs/reports.md,
 * "Counting"), the words every report uses. Per severity: "files with
 * errors: 3, with warnings: 2, with info: 0; dataset-level findings: 1
 * error, 0 warnings, 0 info" from the distinct files with a finding of
 * each severity and the dataset-level findings of each
 * (ia_q_severity_files). Per code: "1 file, 1 dataset-level". */
void ia_report_sev_line(char *buf, size_t cap, const uint64_t files[3],
                        const uint64_t dataset[3]);
void ia_report_code_line(char *buf, size_t cap, uint64_t files,
                         uint64_t dataset);

/* Flushes out; IA_ERR_IO with a message on the handle if any write on it
 * failed. */
int ia_report_flush(ia_db *db, FILE *out, const char *what);

#endif
