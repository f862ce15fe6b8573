/*
 * Building blocks of the HTML reports (report_html.c for a scan, the
 * compare reports for two): one self-contained page, escaping, summary
 * cards, inline SVG charts with one or two series, and galleries of
 * thumbnails from a thumbnail set (thumb.h).
 *
 * Contract of every function here:
 *   - Every string argument that can come from a dataset (paths, labels,
 *     split names, messages, scan names) is escaped by the function; the
 *     caller never pre-escapes. Only `id` arguments (section anchors) and
 *     CSS class names are written raw: pass literals.
 *   - Output is written to a FILE; write errors are left to the caller's
 *     final flush (ia_report_flush).
 *   - Nothing refers to anything outside the page: styles are inline,
 *     images are data: URIs, there is no script, and the page carries a
 *     Content-Security-Policy that forbids every fetch but data: images.
 *
 * A page is:
 *
 *     ia_html_page_begin(out, "imgaudit report: NAME");
 *     ia_html_header(out, "imgaudit report", name, meta_lines, n);
 *     ia_html_verdict(out, IA_HTML_FAIL, "Fail", "3 errors, 1 warning");
 *     ia_html_section_begin(out, "summary", "Summary");
 *     ...
 *     ia_html_section_end(out);
 *     ia_html_page_end(out, "made by imgaudit 0.1.0 from scan 3");
 */
#ifndef IA_HTML_H
#define IA_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "imgaudit.h"
#include "thumb.h"

/* ---- text ------------------------------------------------------------ */

/* s escaped for HTML text and for a double- or single-quoted attribute
 * value: & < > " ' become entities, control bytes and bytes that are not
 * valid UTF-8 become U+FFFD. NULL writes nothing. */
void ia_html_text(FILE *out, const char *s);
/* The same, cut after max_chars characters (code points) with an
 * ellipsis; for chart labels. */
void ia_html_text_cut(FILE *out, const char *s, size_t max_chars);
/* Standard base64 (RFC 4648, with padding) of n bytes. */
void ia_html_base64(FILE *out, const uint8_t *p, size_t n);
/* An unsigned count with thin-space thousands separators ("12 345"). */
void ia_html_count(FILE *out, uint64_t n);

/* ---- page structure -------------------------------------------------- */

/* <!doctype html> ... <body><main>: head with charset, CSP and the
 * inline style sheet; title escaped. */
void ia_html_page_begin(FILE *out, const char *title);
/* </main>, a footer line (escaped; NULL for none), </body></html>. */
void ia_html_page_end(FILE *out, const char *footer);

/* The page heading: a kicker ("imgaudit report"), the big name, and
 * meta lines shown as "key: value" pairs (both escaped). */
typedef struct ia_html_meta {
    const char *key;
    const char *value;
} ia_html_meta;
void ia_html_header(FILE *out, const char *kicker, const char *name,
                    const ia_html_meta *meta, size_t n);

/* A row of links to the sections of the page: ids and titles (literals
 * for ids; titles escaped). */
void ia_html_nav(FILE *out, const char *const *ids,
                 const char *const *titles, size_t n);

typedef enum ia_html_level {
    IA_HTML_PASS = 0,
    IA_HTML_WARN = 1,
    IA_HTML_FAIL = 2,
} ia_html_level;

/* The verdict banner: a colored block with a headline ("Fail") and a
 * detail line; both escaped. */
void ia_html_verdict(FILE *out, int level, const char *headline,
                     const char *detail);
/* A notice block (e.g. "the scan is incomplete"); escaped. */
void ia_html_notice(FILE *out, int level, const char *text);

/* <section id="ID"><h2>TITLE</h2> ... </section>. */
void ia_html_section_begin(FILE *out, const char *id, const char *title);
void ia_html_section_end(FILE *out);
/* <h3>TITLE</h3>, escaped. */
void ia_html_subhead(FILE *out, const char *title);
/* <p class="note">TEXT</p>, escaped. */
void ia_html_para(FILE *out, const char *text);

/* Summary cards: a row of big numbers with a caption each; level colors
 * the number (IA_HTML_PASS: neutral). */
void ia_html_cards_begin(FILE *out);
void ia_html_card(FILE *out, const char *caption, uint64_t value,
                  int level);
/* A card whose value is already text (e.g. "12.5 MB"); escaped. */
void ia_html_card_text(FILE *out, const char *caption, const char *value,
                       int level);
void ia_html_cards_end(FILE *out);

/* A severity badge: <span class="sev sev-error">error</span>. */
void ia_html_severity(FILE *out, int severity);

/* ---- charts ---------------------------------------------------------- */

/* One or two series of counts over the same categories (labels, bins).
 * With two series (compare: base and new) both are drawn in every
 * category: side by side in bar charts, overlaid in histograms. */
typedef struct ia_html_series {
    const char *name;          /* legend text, escaped */
    const uint64_t *values;    /* one per category */
} ia_html_series;

typedef struct ia_html_chart {
    const char *title;              /* caption, escaped */
    const char *const *names;       /* category names, escaped */
    size_t n;                       /* categories */
    const ia_html_series *series;
    size_t nseries;                 /* 1 or 2 */
    int percent;                    /* plot each series as % of its total */
    const char *axis;               /* histogram x-axis caption, or NULL */
    const char *const *ticks;       /* histogram: short names under the
                                     * axis (e.g. lower edges); NULL: names */
} ia_html_chart;

/* Horizontal bars, one row per category, the count at the end of each
 * bar; for label distributions. Names longer than 24 characters are cut
 * (the whole name is the bar's tooltip). */
void ia_html_bar_chart(FILE *out, const ia_html_chart *c);
/* Vertical bins from left to right; two series overlaid, translucent.
 * Bin names (e.g. "64–127") are the tooltips; ticks, or the names, are
 * printed under every few bins. */
void ia_html_histogram(FILE *out, const ia_html_chart *c);
/* A <div class="charts"> row that lays charts out side by side. */
void ia_html_charts_begin(FILE *out);
void ia_html_charts_end(FILE *out);

/* ---- thumbnails ------------------------------------------------------ */

/* <div class="gallery"> ... </div>: figures side by side, wrapping. */
void ia_html_gallery_begin(FILE *out);
void ia_html_gallery_end(FILE *out);

/* One figure: the thumbnail of id in set (an <img> with a data: URI and
 * alt text naming the path), or a placeholder box saying why there is
 * none (id < 0: not shown, else missing, cannot decode, ...); then the
 * path and an optional note line (e.g. "near, distance 4" or "train /
 * cat") as the caption. set may be NULL (placeholder). */
void ia_html_figure(FILE *out, const ia_thumbset *set, long id,
                    const char *path, const char *note);
/* A group of figures shown side by side as one unit (a duplicate group,
 * a leak pair), with a heading line (escaped). */
void ia_html_group_begin(FILE *out, const char *heading);
void ia_html_group_end(FILE *out);

/* "and N more WHAT" (what escaped, e.g. "files" or "groups"), when n is
 * not 0. */
void ia_html_more(FILE *out, uint64_t n, const char *what);

/* A list of images a page will show, gathered before the thumbnails are
 * made (so each file is decoded once, with a progress count) and drawn
 * after. Paths are shown as given; the file read is the one the scan
 * read, or a placeholder says why not (thumb.h, ia_thumb_src). */
typedef struct ia_html_shot {
    char *path;     /* as shown */
    char *note;     /* caption note, or NULL */
    char *text;     /* placeholder text instead of a thumbnail, or NULL */
    long id;        /* in the thumbnail set; -1: none */
} ia_html_shot;

typedef struct ia_html_shots {
    ia_html_shot *v;
    size_t n, cap;
} ia_html_shots;

/* Adds an image (src->path shown) and registers its file in set. IA_OK
 * or IA_ERR_NOMEM. Pages add a scan's files through ia_html_files_add,
 * which fills src from the DB. */
int ia_html_shots_add(ia_html_shots *s, ia_thumbset *set,
                      const ia_thumb_src *src, const char *note);
/* Adds an entry shown as a placeholder with text (e.g. "replaced on
 * disk"): no file is read. IA_OK or IA_ERR_NOMEM. */
int ia_html_shots_add_text(ia_html_shots *s, const char *path,
                           const char *note, const char *text);
/* The figures of s[from, to) (clamped to s->n), in order. */
void ia_html_shots_render(FILE *out, const ia_thumbset *set,
                          const ia_html_shots *s, size_t from, size_t to);
void ia_html_shots_free(ia_html_shots *s);

/* ---- sections that read the DB (html_sections.c) --------------------- */

/* One scan, or two compared (base then new): each chart draws one
 * series per scan. db[i] and scan[i] name scan i, names[i] its legend
 * text (escaped); n is 1 or 2. Errors are ia_error codes with the message
 * on the db handle that failed. */
typedef struct ia_html_scans {
    ia_db *db[2];
    int64_t scan[2];
    const char *names[2];
    size_t n;
} ia_html_scans;

/* The files of one scan as its thumbnails see them (docs/security.md,
 * "Thumbnails in HTML reports"): the scan's root, its symlink and
 * outside-the-root rules (its options), and each file's size and SHA-256
 * as stored, so a thumbnail shows a file only while it is the one
 * scanned. Errors are ia_error codes with the message on db. */
typedef struct ia_html_files ia_html_files;
int ia_html_files_open(ia_db *db, int64_t scan_id, ia_html_files **out);
/* Adds the scan's file at path (as stored) to s and set, with note. */
int ia_html_files_add(ia_html_files *f, ia_html_shots *s, ia_thumbset *set,
                      const char *path, const char *note);
void ia_html_files_free(ia_html_files *f);

/* Per split, a bar chart of decoded images per label: labels of every
 * scan, in byte order, at most IA_HTML_MAX_LABELS bars per chart (the
 * rest summed in one "N more labels" bar), at most IA_HTML_MAX_SPLITS
 * charts. With two scans the bars show shares of the split (percent),
 * so versions of different sizes compare. Writes a note when there are
 * no labels. */
int ia_html_label_charts(FILE *out, const ia_html_scans *s);
#define IA_HTML_MAX_LABELS 60
#define IA_HTML_MAX_SPLITS 12

/* Histograms of the decoded images: mean brightness (32 bins of 8),
 * pixels per image and file size (powers of two), JPEG quality (bins of
 * 5). With two scans each histogram overlays both, as percentages. */
int ia_html_measure_charts(FILE *out, const ia_html_scans *s);

/* ---- the compare page (html_compare.c) ------------------------------- */

/* Writes the HTML page of a finished comparison (ia_compare_open): the
 * verdict, files per kind of change, the ranked changes, label charts and
 * histograms of both scans, and thumbnails of the changed files (from the
 * roots of both scans). opt may be NULL (no progress, no cancel). Returns
 * IA_OK or an ia_error with the message in ia_compare_errmsg(c). The
 * compare module calls it for IA_FORMAT_HTML. */
int ia_html_compare(ia_compare *c, FILE *out, const ia_report_options *opt);

#endif
