/*
 * Dataset-wide statistics after the walk (docs/statistics.md): exact
 * per-channel aggregates and per-image metric distributions per scan,
 * split and split x label; image quality flags judged by absolute
 * thresholds where physics fixes them and by robust fences over the
 * dataset where it does not; label balance per split and the class index
 * a folder loader derives. Reads the stored file rows back, works in
 * memory (about 120 bytes per decoded image), writes the stat tables and
 * findings inside the scan's last transaction.
 */
#ifndef IA_ANALYZE_STATS_H
#define IA_ANALYZE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "imgaudit.h"

/* Absolute thresholds (docs/findings.md gives the reason for each). */
#define IA_BLANK_STD 1.0        /* blank: every channel's std below this */
#define IA_DARK_LUMA 25.0       /* dark: mean luma below this */
#define IA_BRIGHT_LUMA 230.0    /* bright: mean luma above this */
#define IA_LOWINFO_BITS 4.0     /* low_information: entropy at most this */

/* Dataset-relative fences: Tukey fences q1 - k IQR, q3 + k IQR on a log2
 * scale (entropy is already one), never closer than IA_FENCE_MARGIN to
 * the quartile (a factor of 2; 1 bit), computed only over at least
 * IA_FENCE_MIN_IMAGES images. */
#define IA_FENCE_MIN_IMAGES 20
#define IA_FENCE_K_FAR 3.0      /* odd_size, odd_aspect, low_information */
#define IA_FENCE_K_BLUR 1.5     /* blurry */
#define IA_FENCE_MARGIN 1.0

/* Label balance. */
#define IA_TINY_CLASS 10        /* tiny_class: fewer images than this */
#define IA_IMBALANCE_RATIO 10.0 /* class_imbalance: largest/smallest above */

/* Runs the analysis for a scan whose files are stored; replaces what an
 * earlier run stored. IA_OK or an ia_error with the handle's message. */
int ia_analyze_stats(ia_db *db, int64_t scan_id);

/* The same in two steps, so that the first, which reads the file rows
 * (most of the time), can run on another connection and thread while
 * other steps write (analyze.c): _read loads the rows and writes
 * nothing; _finish, on the writing handle, computes and stores the rest
 * and frees in (NULL: it reads the rows itself). */
typedef struct ia_stats_input ia_stats_input;
int ia_analyze_stats_read(ia_db *db, int64_t scan_id, ia_stats_input **out);
int ia_analyze_stats_finish(ia_db *db, int64_t scan_id, ia_stats_input *in);
void ia_stats_input_free(ia_stats_input *in);

/* The p-quantile (0 <= p <= 1) of sorted[0..n), n >= 1, by linear
 * interpolation between order statistics (numpy's default, Hyndman and
 * Fan type 7): h = (n - 1) p, q = x[floor h] + (h - floor h) (x[floor h
 * + 1] - x[floor h]). */
double ia_quantile(const double *sorted, size_t n, double p);

/* Tukey fences of sorted[0..n): lo = min(q1 - k IQR, q1 - margin), hi =
 * max(q3 + k IQR, q3 + margin). */
void ia_fences(const double *sorted, size_t n, double k, double margin,
               double *lo, double *hi);

#endif
