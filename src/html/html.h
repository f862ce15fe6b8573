/*
 * The html module's interface: page blocks, inline SVG charts (html.c)
 * and thumbnails checked against the scan (thumb.c), shared by the scan
 * report and the compare page.
 */
#ifndef IA_HTML_H
#define IA_HTML_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "imgaudit.h"

/*
 * Thumbnails for the HTML reports: a small JPEG of an image file.
 *
 * A thumbnail is made straight from the file on disk, never from the DB
 * (which holds no pixels), with memory O(image width): JPEG through
 * libjpeg-turbo's DCT scaling (the decoder itself outputs 1/8, 1/4, ...
 * of the size), PNG through libpng row by row; both then box-downscaled
 * to at most max_side pixels on the longer side and re-encoded as a JPEG.
 *
 * A thumbnail set (ia_thumbset) collects the files a report will show,
 * each once however often it is shown, makes them in one pass with a
 * progress callback, and keeps the JPEG bytes for the renderer. It is
 * bounded: past max_items files, ia_thumbset_add answers "no room" and the
 * report shows text instead. Files that are missing, unreadable or not
 * decodable get a status instead of bytes, never an error: a report of a
 * dataset whose files moved still renders.
 *
 * A file is opened as the scan opened it and shown only while it still
 * holds the bytes scanned (ia_thumb_src; docs/security.md, "Thumbnails in
 * HTML reports"): a report meant to be shared never shows what a symlink
 * put in a scanned file's place, nor a file rewritten since.
 */

typedef struct ia_thumb_opts {
    unsigned max_side;         /* 0: IA_THUMB_DEFAULT_SIDE */
    int quality;               /* JPEG quality; 0: IA_THUMB_DEFAULT_QUALITY */
    uint64_t max_pixels;       /* larger images are refused; 0: default */
    uint64_t max_file_bytes;   /* larger files are refused; 0: default */
    size_t max_set_bytes;      /* a set's JPEG budget; 0: default */
} ia_thumb_opts;

#define IA_THUMB_DEFAULT_SIDE 128
#define IA_THUMB_DEFAULT_QUALITY 70
/* Progressive JPEG scans and libjpeg warnings past which a file is
 * refused, so a hostile file cannot keep the report busy. */
#define IA_THUMB_MAX_SCANS 256
#define IA_THUMB_MAX_WARNINGS 1000

typedef enum ia_thumb_status {
    IA_THUMB_OK = 0,
    IA_THUMB_PARTIAL,      /* decoding stopped early; the rest is gray */
    IA_THUMB_MISSING,      /* no such file */
    IA_THUMB_UNREADABLE,   /* cannot be opened or read */
    IA_THUMB_FORMAT,       /* neither JPEG nor PNG */
    IA_THUMB_TOO_LARGE,    /* over max_pixels or max_file_bytes */
    IA_THUMB_UNDECODABLE,  /* the decoder gave no pixels */
    IA_THUMB_SKIPPED,      /* not made (cancelled, or the set was full) */
    IA_THUMB_CHANGED,      /* size or SHA-256 not those scanned */
    IA_THUMB_SYMLINK,      /* the file is a symlink the scan did not follow */
    IA_THUMB_VIA_SYMLINK,  /* a folder on its path is such a symlink */
    IA_THUMB_OUTSIDE,      /* an absolute path the scan did not allow, ".." */
    IA_THUMB_UNVERIFIED,   /* the scan stored no SHA-256: it read nothing */
    IA_THUMB_STATUS_COUNT
} ia_thumb_status;

/* "ok", "missing", ... (short English words for placeholders). */
const char *ia_thumb_status_name(int status);

typedef struct ia_thumb {
    int status;            /* ia_thumb_status */
    unsigned width, height;
    uint8_t *jpeg;         /* OK and PARTIAL only; else NULL */
    size_t len;
} ia_thumb;

/* A file as a scan saw it. */
typedef struct ia_thumb_src {
    const char *root;          /* the scan's root folder */
    const char *path;          /* relative to root, as stored; absolute for
                                  a manifest row outside the root */
    int follow;                /* the scan followed symlinks */
    int allow_outside;         /* the scan allowed paths outside the root */
    int64_t size;              /* bytes scanned */
    int have_sha256;           /* 0: not shown (IA_THUMB_UNVERIFIED) */
    uint8_t sha256[32];        /* of the bytes scanned */
} ia_thumb_src;

/* ---- one thumbnail --------------------------------------------------- */

typedef struct ia_thumber ia_thumber;

/* IA_OK or IA_ERR_NOMEM. opt may be NULL (defaults). */
int ia_thumber_new(const ia_thumb_opts *opt, ia_thumber **out);
void ia_thumber_free(ia_thumber *t);

/* Makes the thumbnail of the file src names into *out (whose jpeg, when
 * set, is malloc'd and owned by the caller): opened beneath src->root by
 * the scan's symlink rule (core/core.h), its size and the SHA-256 of
 * every byte read (the decoder's and the rest of the file's) checked
 * against src's. Returns IA_OK whatever the file is (the verdict is
 * out->status), or IA_ERR_NOMEM. */
int ia_thumb_make(ia_thumber *t, const ia_thumb_src *src, ia_thumb *out);

/* ---- a set of thumbnails --------------------------------------------- */

typedef struct ia_thumbset ia_thumbset;

typedef void (*ia_thumb_progress_fn)(void *user, uint64_t done,
                                     uint64_t total);

/* max_items 0: IA_THUMBSET_DEFAULT_MAX. */
int ia_thumbset_new(const ia_thumb_opts *opt, size_t max_items,
                    ia_thumbset **out);
void ia_thumbset_free(ia_thumbset *s);

#define IA_THUMBSET_DEFAULT_MAX 1500
/* JPEG bytes a set makes at most (default of max_set_bytes): once a
 * thumbnail would pass this, it and the rest are IA_THUMB_SKIPPED. 6 MiB
 * is 8 MiB of base64 in a page; a 128-pixel thumbnail of a photo is 2-6
 * KB, of pure noise 9 KB (docs/reports.md, "Size"). */
#define IA_THUMBSET_MAX_BYTES (6u << 20)

/* Adds the file src names (copied; once: the same file, root, path and
 * bytes, gives the same id). *id is its id, or -1 when the set is full.
 * IA_OK or IA_ERR_NOMEM. */
int ia_thumbset_add(ia_thumbset *s, const ia_thumb_src *src, long *id);
size_t ia_thumbset_count(const ia_thumbset *s);

/* Makes every thumbnail not made yet, in the order added, calling
 * progress (may be NULL) after each one. Stops early, leaving the rest
 * IA_THUMB_SKIPPED, when *cancel becomes non-zero or the set's JPEG bytes
 * would pass IA_THUMBSET_MAX_BYTES. IA_OK or IA_ERR_NOMEM. */
int ia_thumbset_make(ia_thumbset *s, ia_thumb_progress_fn progress,
                     void *user, volatile sig_atomic_t *cancel);

/* The thumbnail of id (NULL for an id not in the set). Before
 * ia_thumbset_make its status is IA_THUMB_SKIPPED. */
const ia_thumb *ia_thumbset_get(const ia_thumbset *s, long id);

/*
 * Building blocks of the HTML reports (report/html.c for a scan, the
 * compare reports for two): one self-contained page, escaping, summary
 * cards, inline SVG charts with one or two series, and galleries of
 * thumbnails from a thumbnail set (html/html.h).
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
    const char *key;       /* NULL or "": the value alone ("3783 files") */
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
 * cat") as the caption. set may be NULL (placeholder); path NULL: the
 * caption has no path (a card that names the file once in its heading). */
void ia_html_figure(FILE *out, const ia_thumbset *set, long id,
                    const char *path, const char *note);
/* The same with nboxes boxes (x, y, w, h over 0..1 of the image, 4
 * doubles each; non-finite ones skipped) drawn over the thumbnail. */
void ia_html_figure_boxes(FILE *out, const ia_thumbset *set, long id,
                          const char *path, const char *note,
                          const double *boxes, size_t nboxes);
/* A path in <span class="path">, escaped, with a <wbr> after each '/'
 * so a long path wraps between folders, not inside a name. */
void ia_html_path(FILE *out, const char *path);
/* A grid of groups (ia_html_group_begin): compact cards, several to a
 * row, for duplicate groups, leak pairs and modified pairs. */
void ia_html_cardgrid_begin(FILE *out);
void ia_html_cardgrid_end(FILE *out);

/* A group of figures shown side by side as one unit (a duplicate group,
 * a leak pair), with a heading line (escaped). */
void ia_html_group_begin(FILE *out, const char *heading);
/* The same for a pair of versions of one file: its path (once, wrapped
 * at '/') and a line saying what changed ("quality 70 → 20"), both
 * escaped; the figures go without a path. Closed by ia_html_group_end. */
void ia_html_pair_begin(FILE *out, const char *path, const char *reason);
void ia_html_group_end(FILE *out);

/* "and N more WHAT" (what escaped, e.g. "files" or "groups"), when n is
 * not 0. */
void ia_html_more(FILE *out, uint64_t n, const char *what);

/* A list of images a page will show, gathered before the thumbnails are
 * made (so each file is decoded once, with a progress count) and drawn
 * after. Paths are shown as given; the file read is the one the scan
 * read, or a placeholder says why not (html/html.h, ia_thumb_src). */
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

/* ---- sections that read the DB (report/sections.c) --------------------- */

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


#endif
