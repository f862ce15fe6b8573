/*
 * export: one row per file with every stored column, as CSV (libcsv) or
 * JSON Lines (jansson). Both write the rows of the files table
 * (rows.c, ia_scan_rows), so CSV headers, JSONL keys and the Python
 * package's DataFrame columns cannot drift apart (docs/json.md).
 *
 * CSV: every field goes through libcsv's csv_fwrite, which quotes it, so
 * a path with commas, quotes or newlines round-trips; NULL is an empty,
 * unquoted field, told apart from an empty string ("").
 * A list of reals (channel means and stds) is three CSV columns, a list
 * of codes one field joined with ';'.
 * JSONL: one compact object per line; the object is reused across rows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

typedef struct ectx {
    ia_db *db;
    FILE *out;
    const ia_column *cols;
    size_t ncols;
    json_t *obj;    /* JSONL: reused for every row */
} ectx;

static const char *const channel_suffix[3] = {"_r", "_g", "_b"};

static int io_fail(ectx *c)
{
    return ia_store_fail(c->db, IA_ERR_IO, "cannot write the export: %s",
                         errno ? strerror(errno) : "write error");
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

static int csv_scalar(ectx *c, int *first, const ia_value *v)
{
    char buf[40];
    switch (v->type) {
    case IA_VALUE_INT:
        ia_bprintf(buf, sizeof buf, "%lld", (long long)v->i);
        return csv_field(c, first, buf);
    case IA_VALUE_REAL:
        format_real(v->d, buf);
        return csv_field(c, first, buf);
    case IA_VALUE_TEXT:
        return csv_field(c, first, v->s);
    default:
        return csv_field(c, first, NULL);
    }
}

/* Codes joined with ';' in one field, as stored; none: null. */
static int csv_texts(ectx *c, int *first, const ia_value *v)
{
    if (v->type != IA_VALUE_TEXTS || v->n == 0)
        return csv_field(c, first, NULL);
    if (!*first && fputc(',', c->out) == EOF)
        return io_fail(c);
    *first = 0;
    /* csv_fwrite quotes each piece: write the quotes once, the pieces
     * with their own quotes doubled, by hand. */
    if (fputc('"', c->out) == EOF)
        return io_fail(c);
    for (size_t k = 0; k < v->n; k++) {
        if (k && fputc(';', c->out) == EOF)
            return io_fail(c);
        for (const char *p = v->texts[k]; *p; p++)
            if ((*p == '"' && fputc('"', c->out) == EOF) ||
                fputc(*p, c->out) == EOF)
                return io_fail(c);
    }
    return fputc('"', c->out) == EOF ? io_fail(c) : IA_OK;
}

static int csv_header(ectx *c)
{
    char name[64];
    int first = 1, ret = IA_OK;
    for (size_t i = 0; i < c->ncols && ret == IA_OK; i++) {
        if (c->cols[i].type != IA_VALUE_REALS) {
            ret = csv_field(c, &first, c->cols[i].name);
            continue;
        }
        for (int ch = 0; ch < 3 && ret == IA_OK; ch++) {
            ia_bprintf(name, sizeof name, "%s%s", c->cols[i].name,
                       channel_suffix[ch]);
            ret = csv_field(c, &first, name);
        }
    }
    if (ret == IA_OK && fputc('\n', c->out) == EOF)
        ret = io_fail(c);
    return ret;
}

static int csv_row(void *user, const ia_value *row)
{
    ectx *c = user;
    int first = 1, ret = IA_OK;
    for (size_t i = 0; i < c->ncols && ret == IA_OK; i++) {
        const ia_value *v = &row[i];
        if (c->cols[i].type == IA_VALUE_TEXTS) {
            ret = csv_texts(c, &first, v);
            continue;
        }
        if (c->cols[i].type != IA_VALUE_REALS) {
            ret = csv_scalar(c, &first, v);
            continue;
        }
        for (size_t ch = 0; ch < 3 && ret == IA_OK; ch++) {
            ia_value d = {.type = IA_VALUE_NULL};
            if (v->type == IA_VALUE_REALS && ch < v->n)
                d = (ia_value){.type = IA_VALUE_REAL, .d = v->reals[ch]};
            ret = csv_scalar(c, &first, &d);
        }
    }
    if (ret == IA_OK && fputc('\n', c->out) == EOF)
        ret = io_fail(c);
    return ret;
}

/* ---- JSONL ----------------------------------------------------------- */

static json_t *json_list(const ia_value *v)
{
    json_t *a = json_array();
    int bad = a == NULL;
    for (size_t k = 0; k < v->n && !bad; k++)
        bad |= json_array_append_new(a, v->type == IA_VALUE_TEXTS
                                            ? ia_json_text(v->texts[k])
                                            : ia_json_real(v->reals[k]));
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *json_value(const ia_value *v)
{
    switch (v->type) {
    case IA_VALUE_INT:
        return json_integer(v->i);
    case IA_VALUE_REAL:
        return ia_json_real(v->d);
    case IA_VALUE_TEXT:
        return ia_json_text(v->s);
    case IA_VALUE_REALS:
    case IA_VALUE_TEXTS:
        return json_list(v);
    default:
        return json_null();
    }
}

static int jsonl_row(void *user, const ia_value *row)
{
    ectx *c = user;
    int bad = 0;
    for (size_t i = 0; i < c->ncols; i++)
        bad |= json_object_set_new(c->obj, c->cols[i].name,
                                   json_value(&row[i]));
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
    int table = problems_only ? IA_ROWS_PROBLEMS : IA_ROWS_FILES;
    ectx c = {db, out, NULL, 0, NULL};
    if (!db || !out)
        return IA_ERR_ARG;
    if (fmt != IA_FORMAT_CSV && fmt != IA_FORMAT_JSONL)
        return ia_store_fail(db, IA_ERR_ARG, "not an export format (export "
                             "formats: csv, jsonl)");
    int ret = ia_store_resolve_scan(db, scan_ref, &id);
    if (ret != IA_OK)
        return ret;
    ia_scan_columns(table, &c.cols, &c.ncols);
    errno = 0;
    if (fmt == IA_FORMAT_CSV) {
        ret = csv_header(&c);
        if (ret == IA_OK)
            ret = ia_report_rows(db, id, table, csv_row, &c);
    } else {
        if (!(c.obj = json_object()))
            return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
        ret = ia_report_rows(db, id, table, jsonl_row, &c);
        json_decref(c.obj);
    }
    if (ret == IA_OK)
        ret = ia_report_flush(db, out, "export");
    return ret;
}
