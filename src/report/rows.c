/*
 * rows: a scan's tables as rows of ia_value (include/imgaudit.h, "Results
 * as rows"), for the Python package and other bindings that want data,
 * not a document.
 *
 * The files table is the export's: one column table drives both, and
 * export.c writes these very rows as CSV or JSONL, so a DataFrame and the
 * export cannot drift apart. The other tables carry the keys of the JSON
 * report (docs/json.md), in its order.
 *
 * Every value has its column's type: a hostile DB's value of another
 * type (text in an integer column) becomes NULL rather than a surprise
 * for the binding. Strings the store lends for one callback are copied
 * into a strs list when a row needs them longer (a duplicate group is
 * emitted once its last member has been read).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

/* ---- string lists ---------------------------------------------------- */

/* Strings kept back to back in one buffer; the pointer array is made
 * when the list is handed out, since the buffer may move while growing. */
typedef struct strs {
    char *buf;
    size_t len, cap;
    size_t *off;
    int64_t *num;           /* a count per string (COUNTS values) */
    size_t n, ncap, numcap;
    const char **ptr;
    size_t pcap;
} strs;

static void strs_free(strs *s)
{
    free(s->buf);
    free(s->off);
    free(s->num);
    free(s->ptr);
}

static const char *strs_get(const strs *s, size_t k)
{
    return s->buf + s->off[k];
}

/* Appends the first len bytes of t; -1 when out of memory. */
static int strs_addn(strs *s, const char *t, size_t len)
{
    char *b = ia_grow(s->buf, &s->cap, s->len + len + 1, 1, 256);
    if (!b)
        return -1;
    s->buf = b;
    size_t *o = ia_grow(s->off, &s->ncap, s->n + 1, sizeof *o, 16);
    if (!o)
        return -1;
    s->off = o;
    memcpy(s->buf + s->len, t, len);
    s->buf[s->len + len] = '\0';
    s->off[s->n++] = s->len;
    s->len += len + 1;
    return 0;
}

static int strs_add(strs *s, const char *t)
{
    return strs_addn(s, t, strlen(t));
}

/* Adds t unless it is NULL or already there (splits and labels of a
 * group are listed once each, in member order, as the JSON report). */
static int strs_add_unique(strs *s, const char *t)
{
    if (!t)
        return 0;
    for (size_t k = 0; k < s->n; k++)
        if (strcmp(strs_get(s, k), t) == 0)
            return 0;
    return strs_add(s, t);
}

/* Sets s's count for string k (the last added: k = n - 1). */
static int strs_set_num(strs *s, size_t k, int64_t v)
{
    int64_t *p = ia_grow(s->num, &s->numcap, k + 1, sizeof *p, 16);
    if (!p)
        return -1;
    s->num = p;
    s->num[k] = v;
    return 0;
}

/* v as a list of the strings of s (type IA_VALUE_TEXTS or COUNTS). */
static int strs_value(strs *s, int type, ia_value *v)
{
    const char **p = ia_grow(s->ptr, &s->pcap, s->n ? s->n : 1, sizeof *p,
                             16);
    if (!p)
        return -1;
    s->ptr = p;
    for (size_t k = 0; k < s->n; k++)
        p[k] = strs_get(s, k);
    memset(v, 0, sizeof *v);
    v->type = type;
    v->n = s->n;
    v->texts = p;
    v->ints = type == IA_VALUE_COUNTS ? s->num : NULL;
    return 0;
}

static void strs_clear(strs *s)
{
    s->len = s->n = 0;
}

/* ---- values ---------------------------------------------------------- */

static ia_value v_text(const char *s)
{
    ia_value v = {.type = s ? IA_VALUE_TEXT : IA_VALUE_NULL, .s = s};
    return v;
}

static ia_value v_int(int64_t i)
{
    ia_value v = {.type = IA_VALUE_INT, .i = i};
    return v;
}

static ia_value v_reals(const double *d, size_t n)
{
    ia_value v = {.type = IA_VALUE_REALS, .reals = d, .n = n};
    return v;
}

/* A stored value as a value of the column's type, else NULL. */
static ia_value v_stored(const ia_qval *q, int type)
{
    ia_value v = {.type = IA_VALUE_NULL};
    if (type == IA_VALUE_INT && q->type == IA_QV_INT)
        v = v_int(q->i);
    else if (type == IA_VALUE_REAL && q->type == IA_QV_REAL &&
             isfinite(q->d))
        v = (ia_value){.type = IA_VALUE_REAL, .d = q->d};
    else if (type == IA_VALUE_REAL && q->type == IA_QV_INT)
        v = (ia_value){.type = IA_VALUE_REAL, .d = (double)q->i};
    else if (type == IA_VALUE_TEXT && q->type == IA_QV_TEXT)
        v = v_text(q->s);
    return v;
}

static int nomem(ia_db *db)
{
    return ia_store_fail(db, IA_ERR_NOMEM, "out of memory reading rows");
}

/* ---- files: the export's columns ------------------------------------- */

typedef enum col_kind {
    K_VALUE,     /* the stored value as it is */
    K_HEX,       /* BLOB as lower-case hex */
    K_HEX64,     /* 64-bit hash as 16 hex digits, MSB first */
    K_MEAN,      /* [r, g, b] from the exact sums */
    K_STD,
    K_FINDINGS,  /* the ';'-joined codes as a list */
    K_PARTNERS,  /* the '\x1f'-joined paths as a list */
} col_kind;

#define T IA_VALUE_TEXT
#define I IA_VALUE_INT
#define R IA_VALUE_REAL
/* name, type, kind, stored column: docs/json.md, "The export". */
#define FILE_COLUMNS(X) \
    X("path", T, K_VALUE, IA_QF_PATH) \
    X("split", T, K_VALUE, IA_QF_SPLIT) \
    X("split_canonical", T, K_VALUE, IA_QF_SPLIT_CANONICAL) \
    X("label", T, K_VALUE, IA_QF_LABEL) \
    X("format", T, K_VALUE, IA_QF_FORMAT) \
    X("status", T, K_VALUE, IA_QF_STATUS) \
    X("width", I, K_VALUE, IA_QF_WIDTH) \
    X("height", I, K_VALUE, IA_QF_HEIGHT) \
    X("channels", I, K_VALUE, IA_QF_CHANNELS) \
    X("bytes", I, K_VALUE, IA_QF_SIZE) \
    X("sha256", T, K_HEX, IA_QF_SHA256) \
    X("pixel_hash", T, K_HEX, IA_QF_PIXEL_HASH) \
    X("phash", T, K_HEX64, IA_QF_PHASH) \
    X("dhash", T, K_HEX64, IA_QF_DHASH) \
    X("channel_mean", IA_VALUE_REALS, K_MEAN, IA_QF_PIXELS) \
    X("channel_std", IA_VALUE_REALS, K_STD, IA_QF_PIXELS) \
    X("brightness", R, K_VALUE, IA_QF_BRIGHTNESS) \
    X("contrast", R, K_VALUE, IA_QF_CONTRAST) \
    X("sharpness", R, K_VALUE, IA_QF_SHARPNESS) \
    X("entropy", R, K_VALUE, IA_QF_ENTROPY) \
    X("jpeg_quality", I, K_VALUE, IA_QF_JPEG_QUALITY) \
    X("findings", IA_VALUE_TEXTS, K_FINDINGS, IA_QF_FINDINGS) \
    X("finding_details", T, K_VALUE, IA_QF_FINDING_DETAILS) \
    X("message", T, K_VALUE, IA_QF_MESSAGE) \
    X("ext_format", T, K_VALUE, IA_QF_EXT_FORMAT) \
    X("outside_class", I, K_VALUE, IA_QF_OUTSIDE_CLASS) \
    X("mtime_ns", I, K_VALUE, IA_QF_MTIME_NS) \
    X("bit_depth", I, K_VALUE, IA_QF_BIT_DEPTH) \
    X("color_space", T, K_VALUE, IA_QF_COLOR_SPACE) \
    X("rows_decoded", I, K_VALUE, IA_QF_ROWS_DECODED) \
    X("rows_total", I, K_VALUE, IA_QF_ROWS_TOTAL) \
    X("progressive", I, K_VALUE, IA_QF_PROGRESSIVE) \
    X("subsampling", T, K_VALUE, IA_QF_SUBSAMPLING) \
    X("exif_orientation", I, K_VALUE, IA_QF_EXIF_ORIENTATION) \
    X("icc", I, K_VALUE, IA_QF_ICC) \
    X("interlaced", I, K_VALUE, IA_QF_INTERLACED) \
    X("palette", I, K_VALUE, IA_QF_PALETTE) \
    X("has_alpha", I, K_VALUE, IA_QF_HAS_ALPHA) \
    X("animated", I, K_VALUE, IA_QF_ANIMATED) \
    X("frames", I, K_VALUE, IA_QF_FRAMES) \
    X("pixels", I, K_VALUE, IA_QF_PIXELS) \
    X("sum_r", I, K_VALUE, IA_QF_SUM_R) \
    X("sum_g", I, K_VALUE, IA_QF_SUM_G) \
    X("sum_b", I, K_VALUE, IA_QF_SUM_B) \
    X("sumsq_r", I, K_VALUE, IA_QF_SUMSQ_R) \
    X("sumsq_g", I, K_VALUE, IA_QF_SUMSQ_G) \
    X("sumsq_b", I, K_VALUE, IA_QF_SUMSQ_B) \
    X("min_r", I, K_VALUE, IA_QF_MIN_R) \
    X("min_g", I, K_VALUE, IA_QF_MIN_G) \
    X("min_b", I, K_VALUE, IA_QF_MIN_B) \
    X("max_r", I, K_VALUE, IA_QF_MAX_R) \
    X("max_g", I, K_VALUE, IA_QF_MAX_G) \
    X("max_b", I, K_VALUE, IA_QF_MAX_B) \
    X("frac_black", R, K_VALUE, IA_QF_FRAC_BLACK) \
    X("frac_white", R, K_VALUE, IA_QF_FRAC_WHITE) \
    X("is_constant", I, K_VALUE, IA_QF_IS_CONSTANT) \
    X("alpha_used", I, K_VALUE, IA_QF_ALPHA_USED) \
    X("hash_uniform", I, K_VALUE, IA_QF_HASH_UNIFORM) \
    X("groups", T, K_VALUE, IA_QF_GROUPS) \
    X("partners", IA_VALUE_TEXTS, K_PARTNERS, IA_QF_PARTNERS)

#define AS_COLUMN(name, type, kind, qf) {name, type},
#define AS_SOURCE(name, type, kind, qf) {kind, qf},
static const ia_column file_columns[] = {FILE_COLUMNS(AS_COLUMN)};
static const struct {
    col_kind kind;
    ia_qf qf;
} file_sources[] = {FILE_COLUMNS(AS_SOURCE)};
#define NFILE IA_ARRAY_LEN(file_columns)

/* loader: the profile a loader_* or class finding is about; group and
 * partners: a leak's or conflict's group and its other members (the JSON
 * report's keys). */
static const ia_column finding_columns[] = {
    {"code", T}, {"severity", T}, {"path", T}, {"detail", T},
    {"loader", T}, {"group", I}, {"partners", IA_VALUE_TEXTS},
};
static const ia_column group_columns[] = {
    {"kind", T}, {"paths", IA_VALUE_TEXTS}, {"distances", IA_VALUE_INTS},
    {"splits", IA_VALUE_TEXTS}, {"labels", IA_VALUE_TEXTS},
};
static const ia_column leak_columns[] = {
    {"kind", T}, {"a", T}, {"b", T}, {"a_split", T}, {"b_split", T},
    {"distance", I},
};
static const ia_column split_columns[] = {
    {"split", T}, {"canonical", T}, {"images", I},
    {"labels", IA_VALUE_COUNTS}, {"channel_mean", IA_VALUE_REALS},
    {"channel_std", IA_VALUE_REALS},
};
#undef T
#undef I
#undef R

int ia_scan_columns(int table, const ia_column **cols, size_t *n)
{
    static const struct {
        const ia_column *cols;
        size_t n;
    } tables[] = {
        [IA_ROWS_FILES] = {file_columns, NFILE},
        [IA_ROWS_PROBLEMS] = {file_columns, NFILE},
        [IA_ROWS_FINDINGS] = {finding_columns,
                              IA_ARRAY_LEN(finding_columns)},
        [IA_ROWS_DUPLICATES] = {group_columns, IA_ARRAY_LEN(group_columns)},
        [IA_ROWS_LEAKS] = {leak_columns, IA_ARRAY_LEN(leak_columns)},
        [IA_ROWS_SPLITS] = {split_columns, IA_ARRAY_LEN(split_columns)},
    };
    if (!cols || !n || table < 0 || (size_t)table >= IA_ARRAY_LEN(tables))
        return IA_ERR_ARG;
    *cols = tables[table].cols;
    *n = tables[table].n;
    return IA_OK;
}

typedef struct rctx {
    ia_db *db;
    ia_row_fn fn;
    void *user;
    ia_value row[NFILE];     /* the widest table's */
    strs a, b, c;            /* per-row lists */
    double mean[3], std[3];
    char hex[NFILE][65];
    int64_t *ints;           /* a group's distances */
    size_t nints, capints;
    int64_t group;           /* the group being read, -1: none */
} rctx;

static int emit(rctx *c)
{
    return c->fn(c->user, c->row);
}

/* mean and std from the exact sums of the row; 0 when it has none. */
static int row_moments(const ia_q_file *f, double mean[3], double std[3])
{
    const ia_qval *px = &f->v[IA_QF_PIXELS];
    ia_sums s;
    memset(&s, 0, sizeof s);
    if (px->type != IA_QV_INT || px->i <= 0)
        return 0;
    s.images = 1;
    s.n = (ia_u128)px->i;
    for (int ch = 0; ch < 3; ch++) {
        const ia_qval *sum = &f->v[IA_QF_SUM_R + ch];
        const ia_qval *sq = &f->v[IA_QF_SUMSQ_R + ch];
        if (sum->type != IA_QV_INT || sq->type != IA_QV_INT ||
            sum->i < 0 || sq->i < 0)
            return 0;
        s.sum[ch] = (ia_u128)sum->i;
        s.sumsq[ch] = (ia_u128)sq->i;
    }
    return ia_sums_mean_std(&s, mean, std) == 0;
}

/* Hex of a BLOB (at most 32 bytes), or of a 64-bit hash; NULL when the
 * value is neither. */
static const char *hex_of(const ia_qval *v, col_kind kind, char buf[65])
{
    if (kind == K_HEX64) {
        if (v->type != IA_QV_INT)
            return NULL;
        ia_hex64((uint64_t)v->i, buf);
        return buf;
    }
    if (v->type != IA_QV_BLOB)
        return NULL;
    ia_hex(v->blob, v->len < 32 ? v->len : 32, buf);
    return buf;
}

/* "a;b;c" (sep ";") as a list of codes, or paths (sep "\x1f"); none
 * (NULL or ""): an empty list. */
static int split_codes(strs *s, const ia_qval *v, const char *sep,
                       ia_value *out)
{
    strs_clear(s);
    for (const char *p = v->type == IA_QV_TEXT ? v->s : ""; *p;) {
        size_t n = strcspn(p, sep);
        if (strs_addn(s, p, n) != 0)
            return -1;
        p += n + (p[n] != '\0');
    }
    return strs_value(s, IA_VALUE_TEXTS, out);
}

static int file_cb(void *user, const ia_q_file *f)
{
    rctx *c = user;
    int have = row_moments(f, c->mean, c->std);
    for (size_t k = 0; k < NFILE; k++) {
        const ia_qval *v = &f->v[file_sources[k].qf];
        ia_value *out = &c->row[k];
        switch (file_sources[k].kind) {
        case K_HEX:
        case K_HEX64:
            *out = v_text(hex_of(v, file_sources[k].kind, c->hex[k]));
            break;
        case K_MEAN:
        case K_STD:
            *out = have ? v_reals(file_sources[k].kind == K_MEAN ? c->mean
                                                                 : c->std, 3)
                        : v_text(NULL);
            break;
        case K_FINDINGS:
            if (split_codes(&c->a, v, ";", out) != 0)
                return nomem(c->db);
            break;
        case K_PARTNERS:
            if (split_codes(&c->b, v, "\x1f", out) != 0)
                return nomem(c->db);
            break;
        case K_VALUE:
            *out = v_stored(v, file_columns[k].type);
            break;
        }
    }
    return emit(c);
}

/* ---- findings, leaks ------------------------------------------------- */

static int partner_cb(void *user, const ia_q_partner *p)
{
    return strs_add(user, p->path) != 0 ? IA_ERR_NOMEM : IA_OK;
}

static int finding_cb(void *user, const ia_q_finding *f)
{
    rctx *c = user;
    int grouped = f->group_id > 0 && f->path;
    c->row[0] = v_text(f->code);
    c->row[1] = v_text(ia_severity_name(f->severity));
    c->row[2] = v_text(f->path);
    c->row[3] = v_text(f->detail);
    c->row[4] = v_text(f->loader);
    c->row[5] = grouped ? v_int(f->group_id) : v_text(NULL);
    strs_clear(&c->a);
    int ret = grouped ? ia_q_partners(c->db, f->group_id, f->path,
                                      partner_cb, &c->a) : IA_OK;
    if (ret == IA_ERR_NOMEM || (ret == IA_OK &&
        strs_value(&c->a, IA_VALUE_TEXTS, &c->row[6]) != 0))
        return nomem(c->db);
    return ret == IA_OK ? emit(c) : ret;
}

static int leak_cb(void *user, const ia_q_leak *l)
{
    rctx *c = user;
    c->row[0] = v_text(l->kind);
    c->row[1] = v_text(l->a);
    c->row[2] = v_text(l->b);
    c->row[3] = v_text(l->a_split);
    c->row[4] = v_text(l->b_split);
    c->row[5] = v_int(l->distance);
    return emit(c);
}

/* ---- duplicate groups: members arrive grouped ------------------------ */

/* Emits the group read so far (c->a: kind then paths). */
static int emit_group(rctx *c)
{
    if (c->group < 0)
        return IA_OK;
    c->group = -1;
    ia_value kind = v_text(strs_get(&c->a, 0));
    if (strs_value(&c->a, IA_VALUE_TEXTS, &c->row[1]) != 0 ||
        strs_value(&c->b, IA_VALUE_TEXTS, &c->row[3]) != 0 ||
        strs_value(&c->c, IA_VALUE_TEXTS, &c->row[4]) != 0)
        return nomem(c->db);
    /* The kind is kept as the list's first string: skip it. */
    c->row[0] = kind;
    c->row[1].texts++;
    c->row[1].n--;
    c->row[2] = (ia_value){.type = IA_VALUE_INTS, .ints = c->ints,
                           .n = c->nints};
    return emit(c);
}

static int member_cb(void *user, const ia_q_member *m)
{
    rctx *c = user;
    if (m->position == 0 || m->group_id != c->group) {
        int ret = emit_group(c);
        if (ret != IA_OK)
            return ret;
        strs_clear(&c->a);
        strs_clear(&c->b);
        strs_clear(&c->c);
        c->nints = 0;
        c->group = m->group_id;
        if (strs_add(&c->a, m->kind ? m->kind : "unknown") != 0)
            return nomem(c->db);
    }
    int64_t *d = ia_grow(c->ints, &c->capints, c->nints + 1, sizeof *d, 16);
    if (!d)
        return nomem(c->db);
    c->ints = d;
    c->ints[c->nints++] = m->distance;
    if (strs_add(&c->a, m->path ? m->path : "") != 0 ||
        strs_add_unique(&c->b, m->split) != 0 ||
        strs_add_unique(&c->c, m->label) != 0)
        return nomem(c->db);
    return IA_OK;
}

/* ---- splits: the report's, with their labels ------------------------- */

/* Splits first (c->a: names, c->b: canonical names or "" flags in
 * c->ints, images in a.num, sums in a growing array), labels second. */
typedef struct split_acc {
    rctx *c;
    uint64_t named;
    ia_sums *sums;
    size_t nsums, capsums;
    size_t at;               /* the split the labels are being read for */
} split_acc;

static int count_named_cb(void *user, const ia_q_split *s)
{
    split_acc *acc = user;
    acc->named += *s->split != '\0';
    return IA_OK;
}

static int split_cb(void *user, const ia_q_split *s)
{
    split_acc *acc = user;
    rctx *c = acc->c;
    if (!ia_report_split_shown(s, acc->named))
        return IA_OK;
    size_t k = c->a.n;
    ia_sums *p = ia_grow(acc->sums, &acc->capsums, k + 1, sizeof *p, 8);
    if (!p)
        return nomem(c->db);
    acc->sums = p;
    acc->sums[k] = s->sums;
    if (strs_add(&c->a, s->split) != 0 ||
        strs_set_num(&c->a, k, (int64_t)s->images) != 0 ||
        strs_add(&c->b, s->canonical ? s->canonical : "") != 0 ||
        strs_set_num(&c->b, k, s->canonical != NULL) != 0)
        return nomem(c->db);
    return IA_OK;
}

/* Labels come ordered by split then label, as the splits: emit each split
 * once the labels of a later one (or the end) are reached. */
static int emit_split(split_acc *acc)
{
    rctx *c = acc->c;
    size_t k = acc->at++;
    int have = ia_sums_mean_std(&acc->sums[k], c->mean, c->std) == 0;
    c->row[0] = v_text(strs_get(&c->a, k));
    c->row[1] = v_text(c->b.num[k] ? strs_get(&c->b, k) : NULL);
    c->row[2] = v_int(c->a.num[k]);
    if (strs_value(&c->c, IA_VALUE_COUNTS, &c->row[3]) != 0)
        return nomem(c->db);
    c->row[4] = have ? v_reals(c->mean, 3) : v_text(NULL);
    c->row[5] = have ? v_reals(c->std, 3) : v_text(NULL);
    strs_clear(&c->c);
    return emit(c);
}

static int split_label_cb(void *user, const ia_q_label *l)
{
    split_acc *acc = user;
    rctx *c = acc->c;
    int cmp = -1, ret = IA_OK;
    while (acc->at < c->a.n &&
           (cmp = strcmp(strs_get(&c->a, acc->at), l->split)) < 0 &&
           ret == IA_OK)
        ret = emit_split(acc);
    /* A label of a split not shown (none is, by the query) is skipped. */
    if (ret != IA_OK || cmp != 0)
        return ret;
    size_t k = c->c.n;
    if (strs_add(&c->c, l->label) != 0 ||
        strs_set_num(&c->c, k, (int64_t)l->images) != 0)
        return nomem(c->db);
    return IA_OK;
}

static int split_rows(rctx *c, int64_t id)
{
    split_acc acc = {.c = c};
    int ret = ia_q_splits(c->db, id, count_named_cb, &acc);
    if (ret == IA_OK)
        ret = ia_q_splits(c->db, id, split_cb, &acc);
    if (ret == IA_OK)
        ret = ia_q_labels(c->db, id, 0, split_label_cb, &acc);
    while (ret == IA_OK && acc.at < c->a.n)
        ret = emit_split(&acc);
    free(acc.sums);
    return ret;
}

/* ---- entry point ----------------------------------------------------- */

int ia_report_rows(ia_db *db, int64_t scan_id, int table, ia_row_fn fn,
                   void *user)
{
    int ret;
    rctx *c = calloc(1, sizeof *c);
    if (!c)
        return nomem(db);
    *c = (rctx){.db = db, .fn = fn, .user = user, .group = -1};
    switch (table) {
    case IA_ROWS_FILES:
    case IA_ROWS_PROBLEMS:
        ret = ia_q_files(db, scan_id, table == IA_ROWS_PROBLEMS, file_cb, c);
        break;
    case IA_ROWS_FINDINGS:
        ret = ia_q_findings(db, scan_id, NULL, -1, 0, finding_cb, c);
        break;
    case IA_ROWS_DUPLICATES:
        ret = ia_q_group_members(db, scan_id, member_cb, c);
        if (ret == IA_OK)
            ret = emit_group(c);
        break;
    case IA_ROWS_LEAKS:
        ret = ia_q_leaks(db, scan_id, leak_cb, c);
        break;
    case IA_ROWS_SPLITS:
        ret = split_rows(c, scan_id);
        break;
    default:
        ret = ia_store_fail(db, IA_ERR_ARG, "no such table: %d", table);
        break;
    }
    strs_free(&c->a);
    strs_free(&c->b);
    strs_free(&c->c);
    free(c->ints);
    free(c);
    return ret;
}

int ia_scan_rows(ia_db *db, const char *scan_ref, int table, ia_row_fn fn,
                 void *user)
{
    int64_t id = 0;
    const ia_column *cols;
    size_t n;
    if (!db || !fn)
        return IA_ERR_ARG;
    if (ia_scan_columns(table, &cols, &n) != IA_OK)
        return ia_store_fail(db, IA_ERR_ARG, "no such table: %d", table);
    int ret = ia_store_resolve_scan(db, scan_ref, &id);
    /* the findings the scan's reports show, at their severities */
    if (ret == IA_OK)
        ret = ia_report_lens(db, id, NULL, NULL);
    return ret == IA_OK ? ia_report_rows(db, id, table, fn, user) : ret;
}
