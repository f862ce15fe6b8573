/*
 * Private to the compare module: the comparison's data model, which
 * compare.c (references, loading, matching) builds, analyze.c and
 * splits.c (analysis.h) fill with findings and drift, and the writers
 * (writers.h: json.c, text.c, html.c) only read. Its functions are in
 * model.c, which calls nothing else of the module, so the module's
 * files call one another in one direction:
 *   write.c -> json.c, text.c, html.c -> model.c
 *   compare.c -> analyze.c -> splits.c -> model.c
 * Both scans live in memory as arrays of cmp_file in path order; every
 * string of both scans is interned once, so equal strings are equal
 * pointers.
 */
#ifndef IA_COMPARE_H
#define IA_COMPARE_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/core.h"
#include "imgaudit.h"
#include "policy/policy.h"
#include "store/store.h"

#define IA_CMP_EXAMPLES_MAX 5

/* What became of a file. Base files are UNCHANGED, MODIFIED, RENAMED,
 * MOVED, RELABELED (matched) or REMOVED; new files the same or ADDED. */
typedef enum cmp_kind {
    CMP_UNCHANGED = 0,
    CMP_MODIFIED,     /* same path, other bytes */
    CMP_RENAMED,      /* same content, other path, same split and label */
    CMP_MOVED,        /* same content, other split */
    CMP_RELABELED,    /* same content, same split, other label */
    CMP_REMOVED,
    CMP_ADDED,
    CMP_KIND_COUNT
} cmp_kind;

typedef struct cmp_file {
    const char *path;
    const char *split;        /* split key (canonical, else folder, else "") */
    const char *split_name;   /* folder name as found, NULL: none */
    const char *label;        /* NULL: none */
    const char *format, *status, *color_space;
    int64_t size, width, height, quality;        /* -1: unknown */
    double brightness, contrast, sharpness, entropy;   /* NaN: unknown */
    int64_t pixels;           /* -1: no sums */
    int64_t sum[3], sumsq[3];
    uint8_t sha[32], pix[16];
    uint8_t have_sha, have_pix;
    uint8_t kind;             /* cmp_kind */
    uint8_t recoded;          /* matched by pixels, not bytes */
    uint32_t other;           /* index + 1 of the match in the other scan */
    /* The new side of a modified file whose status changed to another
     * than ok: its status finding's detail ("premature end of JPEG data
     * after 14 of 72 rows"), why it changed; else NULL. */
    const char *status_detail;
} cmp_file;

typedef struct cmp_code {
    const char *code;         /* interned */
    uint64_t files, other;
    int max_severity;
} cmp_code;

typedef struct cmp_scan {
    const char *db_path;
    int64_t id;
    const char *name, *root, *started_at, *finished_at;
    int complete;
    cmp_file *files;
    size_t n, cap;
    cmp_code *codes;
    size_t ncodes, capcodes;
    uint64_t status[IA_ST_COUNT];
    void *db;                 /* ia_db, borrowed from ia_compare.dbs */
} cmp_scan;

typedef struct cmp_finding {
    int code;                 /* ia_cc */
    int severity;
    const char *split, *label, *metric;   /* NULL when not about one */
    char *detail;
    const char *examples[IA_CMP_EXAMPLES_MAX];
    int nexamples;
    double magnitude;         /* orders findings of one code */
    size_t seq;               /* insertion order, the last tie-break */
} cmp_finding;

typedef struct cmp_drift {
    int code;                 /* ia_cc this measure would raise */
    const char *split, *label, *metric;
    json_t *base, *new_;      /* owned */
    double statistic, p_value;   /* NaN: none */
    int severity;             /* -1: below thresholds (no finding) */
} cmp_drift;

/* String arena: blocks that never move. */
typedef struct cmp_block cmp_block;

struct ia_compare {
    char errmsg[1024];
    ia_compare_options opt;
    ia_policy policy;
    void *dbs[2];             /* ia_db handles; [1] NULL when one file */
    cmp_scan scan[2];         /* [0] base, [1] new */
    cmp_block *blocks;
    const char **intern;      /* open-addressing table of interned strings */
    size_t intern_cap, intern_n;
    uint64_t kinds[CMP_KIND_COUNT];   /* files per kind (new side, and
                                         REMOVED from the base side) */
    uint64_t pixels_changed, encoding_only, pixels_unknown;  /* modified */
    cmp_finding *findings;
    size_t nfindings, capfindings;
    cmp_drift *drift;
    size_t ndrift, capdrift;
    json_t *health;           /* JSON sections built by the analysis */
    json_t *labels;
    json_t *modified_summary;
    uint64_t sev[3];
    int fail;
};

/* ---- model.c: errors, strings, iteration --------------------------- */

/* Sets c->errmsg (printf-style); returns err for chaining. */
int ia_cmp_fail(ia_compare *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ia_cmp_nomem(ia_compare *c);
/* A copy of s in the arena (NULL for NULL; NULL on out of memory sets
 * nothing: check with the return). */
const char *ia_cmp_strdup(ia_compare *c, const char *s);
/* The first n bytes of s, NUL-terminated, in the arena (NULL: out of
 * memory). */
const char *ia_cmp_strndup(ia_compare *c, const char *s, size_t n);
/* s interned: the one arena copy of equal strings. */
const char *ia_cmp_intern(ia_compare *c, const char *s);
/* Frees the arena and the interning table (every string above). */
void ia_cmp_strings_free(ia_compare *c);

/* Files of the scan matched with kind k, for lists: calls fn for each in
 * path order of the side that has them (the base for CMP_REMOVED). */
typedef int (*ia_cmp_file_fn)(ia_compare *c, const cmp_file *f,
                              const cmp_file *other, void *user);
int ia_cmp_each(ia_compare *c, int kind, ia_cmp_file_fn fn, void *user);

/* "unchanged", "modified", ... of a cmp_kind. */
const char *ia_cmp_kind_name(int kind);
/* Display name of a split key: "(no split)" for "". */
const char *ia_cmp_split_name(const char *split);
/* "s" unless n is 1, for "%llu file%s". */
const char *ia_cmp_s(uint64_t n);
/* Why a modified file (new f, base o) changed, for its card or line:
 * "ok -> truncated (premature end of JPEG data after 14 of 72 rows),
 * ycbcr -> gray, quality 70 -> 20", or "pixels changed" / "encoding
 * only"; arrow is " -> " or " \u2192 ". Empty when o is NULL. */
void ia_cmp_mod_reason(const cmp_file *f, const cmp_file *o,
                       const char *arrow, char *buf, size_t size);
int ia_cmp_is_ok(const cmp_file *f);      /* status ok */
int ia_cmp_is_image(const cmp_file *f);   /* a recognised image format */

/* ---- model.c: findings and drift entries ---------------------------- */

/* The severity of a finding of code: the policy's, or auto_sev when the
 * policy leaves it automatic. IA_POLICY_OFF: do not report. */
int ia_cmp_sev(const ia_compare *c, int code, int auto_sev);
/* Adds a finding of final severity sev (nothing when sev < 0); *out, when
 * given, points at it until the next finding is added (else NULL). */
int ia_cmp_add_finding(ia_compare *c, int code, int sev, const char *split,
                       const char *label, const char *metric,
                       double magnitude, cmp_finding **out, const char *fmt,
                       ...) __attribute__((format(printf, 9, 10)));
/* Adds path to f's examples (f may be NULL; at most IA_CMP_EXAMPLES_MAX). */
void ia_cmp_add_example(cmp_finding *f, const char *path);
/* Adds a drift entry; takes base and new (NULL: out of memory, reported,
 * the other one released). severity -1: below the thresholds. */
int ia_cmp_add_drift(ia_compare *c, int code, const char *split,
                     const char *label, const char *metric, json_t *base,
                     json_t *new_, double statistic, double p_value,
                     int severity);

#endif
