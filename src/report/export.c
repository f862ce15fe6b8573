/*
 * export: one row per file with every stored column, as CSV (libcsv) or
 * JSON Lines (jansson). One table of output columns drives both formats,
 * so CSV headers and JSONL keys cannot drift apart (docs/json.md).
 *
 * CSV: every field goes through libcsv's csv_fwrite, which quotes it, so
 * a path with commas, quotes or newlines round-trips; NULL is an empty,
 * unquoted field, told apart from an empty string ("").
 * JSONL: one compact object per line; the object is reused across rows.
 * Channel means and stds are derived from the exact integer sums.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

typedef enum col_kind {
    K_VALUE,     /* the stored value as it is */
    K_HEX,       /* BLOB as lower-case hex */
    K_HEX64,     /* 64-bit hash as 16 hex digits, MSB first */
    K_MEAN,      /* 3 values: channel_mean_r.._b (CSV) or an array */
    K_STD,
    K_FINDINGS,  /* codes: ';'-joined (CSV) or an array */
    K_PARTNERS,  /* paths: ';'-joined (CSV) or an array */
} col_kind;

static const struct {
    const char *name;
    col_kind kind;
    ia_qf qf;
} cols[] = {
    {"path", K_VALUE, IA_QF_PATH},
    {"split", K_VALUE, IA_QF_SPLIT},
    {"split_canonical", K_VALUE, IA_QF_SPLIT_CANONICAL},
    {"label", K_VALUE, IA_QF_LABEL},
    {"format", K_VALUE, IA_QF_FORMAT},
    {"status", K_VALUE, IA_QF_STATUS},
    {"width", K_VALUE, IA_QF_WIDTH},
    {"height", K_VALUE, IA_QF_HEIGHT},
    {"channels", K_VALUE, IA_QF_CHANNELS},
    {"bytes", K_VALUE, IA_QF_SIZE},
    {"sha256", K_HEX, IA_QF_SHA256},
    {"pixel_hash", K_HEX, IA_QF_PIXEL_HASH},
    {"phash", K_HEX64, IA_QF_PHASH},
    {"dhash", K_HEX64, IA_QF_DHASH},
    {"channel_mean", K_MEAN, IA_QF_PIXELS},
    {"channel_std", K_STD, IA_QF_PIXELS},
    {"brightness", K_VALUE, IA_QF_BRIGHTNESS},
    {"contrast", K_VALUE, IA_QF_CONTRAST},
    {"sharpness", K_VALUE, IA_QF_SHARPNESS},
    {"entropy", K_VALUE, IA_QF_ENTROPY},
    {"jpeg_quality", K_VALUE, IA_QF_JPEG_QUALITY},
    {"findings", K_FINDINGS, IA_QF_FINDINGS},
    {"message", K_VALUE, IA_QF_MESSAGE},
    {"ext_format", K_VALUE, IA_QF_EXT_FORMAT},
    {"outside_class", K_VALUE, IA_QF_OUTSIDE_CLASS},
    {"mtime_ns", K_VALUE, IA_QF_MTIME_NS},
    {"bit_depth", K_VALUE, IA_QF_BIT_DEPTH},
    {"color_space", K_VALUE, IA_QF_COLOR_SPACE},
    {"rows_decoded", K_VALUE, IA_QF_ROWS_DECODED},
    {"rows_total", K_VALUE, IA_QF_ROWS_TOTAL},
    {"progressive", K_VALUE, IA_QF_PROGRESSIVE},
    {"subsampling", K_VALUE, IA_QF_SUBSAMPLING},
    {"exif_orientation", K_VALUE, IA_QF_EXIF_ORIENTATION},
    {"icc", K_VALUE, IA_QF_ICC},
    {"interlaced", K_VALUE, IA_QF_INTERLACED},
    {"palette", K_VALUE, IA_QF_PALETTE},
    {"has_alpha", K_VALUE, IA_QF_HAS_ALPHA},
    {"animated", K_VALUE, IA_QF_ANIMATED},
    {"frames", K_VALUE, IA_QF_FRAMES},
    {"pixels", K_VALUE, IA_QF_PIXELS},
    {"sum_r", K_VALUE, IA_QF_SUM_R},
    {"sum_g", K_VALUE, IA_QF_SUM_G},
    {"sum_b", K_VALUE, IA_QF_SUM_B},
    {"sumsq_r", K_VALUE, IA_QF_SUMSQ_R},
    {"sumsq_g", K_VALUE, IA_QF_SUMSQ_G},
    {"sumsq_b", K_VALUE, IA_QF_SUMSQ_B},
    {"min_r", K_VALUE, IA_QF_MIN_R},
    {"min_g", K_VALUE, IA_QF_MIN_G},
    {"min_b", K_VALUE, IA_QF_MIN_B},
    {"max_r", K_VALUE, IA_QF_MAX_R},
    {"max_g", K_VALUE, IA_QF_MAX_G},
    {"max_b", K_VALUE, IA_QF_MAX_B},
    {"frac_black", K_VALUE, IA_QF_FRAC_BLACK},
    {"frac_white", K_VALUE, IA_QF_FRAC_WHITE},
    {"is_constant", K_VALUE, IA_QF_IS_CONSTANT},
    {"alpha_used", K_VALUE, IA_QF_ALPHA_USED},
    {"hash_uniform", K_VALUE, IA_QF_HASH_UNIFORM},
    /* a leak's or label conflict's group ids and the other files of the
     * groups: the train copy to remove, the test file to keep */
    {"groups", K_VALUE, IA_QF_GROUPS},
    {"partners", K_PARTNERS, IA_QF_PARTNERS},
};

static const char *const channel_suffix[3] = {"_r", "_g", "_b"};

/* Per-row values shared by both writers. */
typedef struct row_calc {
    int have_stats;
    double mean[3], std[3];
} row_calc;

typedef struct ectx {
    ia_db *db;
    FILE *out;
    json_t *obj;    /* JSONL: reused for every row */
} ectx;

static int io_fail(ectx *c)
{
    return ia_store_fail(c->db, IA_ERR_IO, "cannot write the export: %s",
                         errno ? strerror(errno) : "write error");
}

static void calc_row(const ia_q_file *f, row_calc *rc)
{
    const ia_qval *px = &f->v[IA_QF_PIXELS];
    ia_sums s;
    memset(&s, 0, sizeof s);
    rc->have_stats = 0;
    if (px->type != IA_QV_INT || px->i <= 0)
        return;
    s.images = 1;
    s.n = (ia_u128)px->i;
    for (int c = 0; c < 3; c++) {
        const ia_qval *sum = &f->v[IA_QF_SUM_R + c];
        const ia_qval *sq = &f->v[IA_QF_SUMSQ_R + c];
        if (sum->type != IA_QV_INT || sq->type != IA_QV_INT ||
            sum->i < 0 || sq->i < 0)
            return;
        s.sum[c] = (ia_u128)sum->i;
        s.sumsq[c] = (ia_u128)sq->i;
    }
    rc->have_stats = ia_sums_mean_std(&s, rc->mean, rc->std) == 0;
}

/* Hex of a BLOB, or of a 64-bit hash; NULL when there is none. */
static const char *hex_of(const ia_qval *v, col_kind kind, char buf[129])
{
    if (kind == K_HEX64) {
        if (v->type != IA_QV_INT)
            return NULL;
        ia_hex64((uint64_t)v->i, buf);
        return buf;
    }
    if (v->type != IA_QV_BLOB)
        return NULL;
    ia_hex(v->blob, v->len < 64 ? v->len : 64, buf);
    return buf;
}

/* ---- CSV ------------------------------------------------------------- */

/* The shortest of %.15g..%.17g that reads back as the same double. */
static void format_real(double d, char buf[40])
{
    for (int prec = 15; prec <= 17; prec++) {
        ia_bprintf(buf, 40, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static int csv_field(ectx *c, int *first, const char *s)
{
    if (!*first && fputc(',', c->out) == EOF)
        return io_fail(c);
    *first = 0;
    if (s && csv_fwrite(c->out, s, strlen(s)) != 0)
        return io_fail(c);
    return IA_OK;
}

static int csv_value(ectx *c, int *first, const ia_qval *v)
{
    char buf[40];
    switch (v->type) {
    case IA_QV_INT:
        ia_bprintf(buf, sizeof buf, "%lld", (long long)v->i);
        return csv_field(c, first, buf);
    case IA_QV_REAL:
        format_real(v->d, buf);
        return csv_field(c, first, buf);
    case IA_QV_TEXT:
        return csv_field(c, first, v->s);
    default:
        return csv_field(c, first, NULL);
    }
}

/* The '\x1f'-joined paths with ';' between them, as the codes. */
static int csv_partners(ectx *c, int *first, const ia_qval *v)
{
    if (v->type != IA_QV_TEXT)
        return csv_field(c, first, NULL);
    char *s = strdup(v->s);
    if (!s)
        return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
    for (char *p = s; (p = strchr(p, '\x1f'));)
        *p = ';';
    int ret = csv_field(c, first, s);
    free(s);
    return ret;
}

static int csv_header(ectx *c)
{
    char name[64];
    int first = 1, ret = IA_OK;
    for (size_t i = 0; i < IA_ARRAY_LEN(cols) && ret == IA_OK; i++) {
        if (cols[i].kind != K_MEAN && cols[i].kind != K_STD) {
            ret = csv_field(c, &first, cols[i].name);
            continue;
        }
        for (int ch = 0; ch < 3 && ret == IA_OK; ch++) {
            ia_bprintf(name, sizeof name, "%s%s", cols[i].name,
                       channel_suffix[ch]);
            ret = csv_field(c, &first, name);
        }
    }
    if (ret == IA_OK && fputc('\n', c->out) == EOF)
        ret = io_fail(c);
    return ret;
}

static int csv_row(void *user, const ia_q_file *f)
{
    ectx *c = user;
    row_calc rc;
    char buf[129];
    int first = 1, ret = IA_OK;
    calc_row(f, &rc);
    for (size_t i = 0; i < IA_ARRAY_LEN(cols) && ret == IA_OK; i++) {
        const ia_qval *v = &f->v[cols[i].qf];
        switch (cols[i].kind) {
        case K_HEX:
        case K_HEX64:
            ret = csv_field(c, &first, hex_of(v, cols[i].kind, buf));
            break;
        case K_MEAN:
        case K_STD:
            for (int ch = 0; ch < 3 && ret == IA_OK; ch++) {
                ia_qval d = {.type = rc.have_stats ? IA_QV_REAL : IA_QV_NULL,
                             .d = cols[i].kind == K_MEAN ? rc.mean[ch]
                                                         : rc.std[ch]};
                ret = csv_value(c, &first, &d);
            }
            break;
        case K_PARTNERS:
            ret = csv_partners(c, &first, v);
            break;
        case K_FINDINGS:
        case K_VALUE:
            ret = csv_value(c, &first, v);
            break;
        }
    }
    if (ret == IA_OK && fputc('\n', c->out) == EOF)
        ret = io_fail(c);
    return ret;
}

/* ---- JSONL ----------------------------------------------------------- */

static json_t *json_value(const ia_qval *v)
{
    switch (v->type) {
    case IA_QV_INT:
        return json_integer(v->i);
    case IA_QV_REAL:
        return ia_json_real(v->d);
    case IA_QV_TEXT:
        return ia_json_text(v->s);
    default:
        return json_null();
    }
}

static json_t *json_triple(const row_calc *rc, int mean)
{
    if (!rc->have_stats)
        return json_null();
    json_t *a = json_array();
    int bad = a == NULL;
    for (int ch = 0; ch < 3; ch++)
        bad |= json_array_append_new(a, ia_json_real(mean ? rc->mean[ch]
                                                          : rc->std[ch]));
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* "a;b;c" as ["a","b","c"]; none: []. Codes and paths come from the DB
 * and need not be UTF-8, hence ia_json_text on each (on a copy cut at
 * sep: ";" for codes, "\x1f" for paths). */
static json_t *json_list(const ia_qval *v, const char *sep)
{
    json_t *a = json_array();
    char *codes = v->type == IA_QV_TEXT ? strdup(v->s) : NULL;
    int bad = a == NULL || (v->type == IA_QV_TEXT && !codes);
    for (char *p = codes; p && *p && !bad;) {
        size_t n = strcspn(p, sep);
        int last = p[n] == '\0';
        p[n] = '\0';
        bad |= json_array_append_new(a, ia_json_text(p));
        p += n + !last;
    }
    free(codes);
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static int jsonl_row(void *user, const ia_q_file *f)
{
    ectx *c = user;
    row_calc rc;
    char buf[129];
    int bad = 0;
    calc_row(f, &rc);
    for (size_t i = 0; i < IA_ARRAY_LEN(cols); i++) {
        const ia_qval *v = &f->v[cols[i].qf];
        const char *hex;
        json_t *j = NULL;
        switch (cols[i].kind) {
        case K_HEX:
        case K_HEX64:
            hex = hex_of(v, cols[i].kind, buf);
            j = hex ? json_string(hex) : json_null();
            break;
        case K_MEAN:
        case K_STD:
            j = json_triple(&rc, cols[i].kind == K_MEAN);
            break;
        case K_FINDINGS:
            j = json_list(v, ";");
            break;
        case K_PARTNERS:
            j = json_list(v, "\x1f");
            break;
        case K_VALUE:
            j = json_value(v);
            break;
        }
        bad |= json_object_set_new(c->obj, cols[i].name, j);
    }
    if (bad)
        return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
    if (json_dumpf(c->obj, c->out, JSON_COMPACT) != 0 ||
        fputc('\n', c->out) == EOF)
        return io_fail(c);
    return IA_OK;
}

/* ---- entry point ----------------------------------------------------- */

int ia_export(ia_db *db, const char *scan_ref, ia_format fmt,
              int problems_only, FILE *out)
{
    int64_t id = 0;
    ectx c = {db, out, NULL};
    if (!db || !out)
        return IA_ERR_ARG;
    if (fmt != IA_FORMAT_CSV && fmt != IA_FORMAT_JSONL)
        return ia_store_fail(db, IA_ERR_ARG, "not an export format (export "
                             "formats: csv, jsonl)");
    int ret = ia_store_resolve_scan(db, scan_ref, &id);
    /* the findings the scan's reports show, at their severities */
    if (ret == IA_OK)
        ret = ia_report_lens(db, id, NULL, NULL);
    if (ret != IA_OK)
        return ret;
    errno = 0;
    if (fmt == IA_FORMAT_CSV) {
        ret = csv_header(&c);
        if (ret == IA_OK)
            ret = ia_q_files(db, id, problems_only, csv_row, &c);
    } else {
        if (!(c.obj = json_object()))
            return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
        ret = ia_q_files(db, id, problems_only, jsonl_row, &c);
        json_decref(c.obj);
    }
    if (ret == IA_OK)
        ret = ia_report_flush(db, out, "export");
    return ret;
}
