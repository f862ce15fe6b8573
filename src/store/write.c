/*
 * The scan's writes: the scan row, each file with its findings, notes,
 * the totals and the mode judgement at the end, and the sharing of an
 * unchanged rescan's rows. A failed write rolls back the open batch, so
 * the DB stays consistent (the scan row, committed at begin, remains
 * with complete = 0).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/core.h"
#include "store/col.h"
#include "store/db.h"
#include "store/store.h"

typedef struct binder {
    sqlite3_stmt *st;
    int i;
    int rc;
} binder;

static void b_note(binder *b, int rc)
{
    if (b->rc == SQLITE_OK)
        b->rc = rc;
}

static void b_i64(binder *b, int64_t v)
{
    b_note(b, sqlite3_bind_int64(b->st, ++b->i, v));
}

/* -1 ("unknown" in ia_file_result) is stored as NULL. */
static void b_opt(binder *b, int64_t v)
{
    if (v < 0)
        b_note(b, sqlite3_bind_null(b->st, ++b->i));
    else
        b_i64(b, v);
}

static void b_null(binder *b)
{
    b_note(b, sqlite3_bind_null(b->st, ++b->i));
}

static void b_text(binder *b, const char *s)
{
    if (!s)
        b_null(b);
    else
        b_note(b, sqlite3_bind_text(b->st, ++b->i, s, -1, SQLITE_STATIC));
}

static void b_real(binder *b, double v)
{
    b_note(b, sqlite3_bind_double(b->st, ++b->i, v));
}

static void b_blob(binder *b, const void *p, int n)
{
    b_note(b, sqlite3_bind_blob(b->st, ++b->i, p, n, SQLITE_STATIC));
}

/* Steps a statement that returns no row. */
int ia_store_scan_begin(ia_db *db, const ia_scan_meta *m, int64_t *scan_id)
{
    int ret = ia_store_need_writer(db);
    if (ret != IA_OK)
        return ret;
    if (!m || !m->name || !m->root || !m->started_at)
        return ia_store_fail(db, IA_ERR_ARG, "scan name, root and start "
                             "time are required");
    /* The scan row is committed on its own, so an interrupted scan still
     * leaves its (incomplete) row behind. */
    ret = ia_store_batch_commit(db);
    if (ret != IA_OK)
        return ret;
    sqlite3_stmt *st = ia_store_stmt(db, ST_INSERT_SCAN);
    if (!st)
        return IA_ERR_DB;
    binder b = {st, 0, SQLITE_OK};
    b_text(&b, m->name);
    b_text(&b, m->root);
    b_text(&b, m->layout ? m->layout : "folders");
    b_text(&b, m->options_json ? m->options_json : "{}");
    b_text(&b, m->tool_version ? m->tool_version : IMGAUDIT_VERSION);
    b_text(&b, m->started_at);
    if (m->shard_n > 0) {
        b_i64(&b, m->shard_k);
        b_i64(&b, m->shard_n);
    } else {
        b_null(&b);
        b_null(&b);
    }
    if (b.rc != SQLITE_OK) {
        ia_store_stmt_done(st);
        return ia_store_sqlfail(db, "storing the scan");
    }
    ret = ia_store_step_done(db, st, "storing the scan");
    if (ret == IA_OK && scan_id)
        *scan_id = sqlite3_last_insert_rowid(db->conn);
    return ret;
}

/* What a finding is about besides its file: the loader profile
 * (migration 6; NULL: none) and the duplicate group (0: none). */
typedef struct about {
    const char *loader;
    int64_t group_id;
} about;

static const about NOTHING = {NULL, 0};

/* stage: "walk" or "analysis" (migration 3). */
static int insert_finding(ia_db *db, int64_t scan_id, int64_t file_id,
                          const char *path, const char *code, int severity,
                          const char *detail, const char *stage,
                          const about *ab)
{
    sqlite3_stmt *st = ia_store_stmt(db, ST_INSERT_FINDING);
    if (!st)
        return IA_ERR_DB;
    binder b = {st, 0, SQLITE_OK};
    b_i64(&b, scan_id);
    if (file_id > 0)
        b_i64(&b, file_id);
    else
        b_null(&b);
    b_text(&b, path);
    b_text(&b, code);
    b_i64(&b, severity);
    b_text(&b, detail && *detail ? detail : NULL);
    b_text(&b, stage);
    b_text(&b, ab->loader);
    b_opt(&b, ab->group_id > 0 ? ab->group_id : -1);
    if (b.rc != SQLITE_OK) {
        ia_store_stmt_done(st);
        return ia_store_sqlfail(db, "storing a finding");
    }
    return ia_store_step_done(db, st, "storing a finding");
}

static void bind_measures(binder *b, const ia_file_result *r)
{
    const ia_pixel_stats *s = &r->stats;
    if (!r->have_measures) {
        for (int i = 0; i < 25; i++)   /* pixels .. hash_uniform */
            b_null(b);
        return;
    }
    b_i64(b, (int64_t)s->pixels);
    for (int c = 0; c < 3; c++)
        b_i64(b, (int64_t)s->sum[c]);
    for (int c = 0; c < 3; c++)
        b_i64(b, (int64_t)s->sumsq[c]);
    for (int c = 0; c < 3; c++)
        b_i64(b, s->min[c]);
    for (int c = 0; c < 3; c++)
        b_i64(b, s->max[c]);
    b_real(b, s->brightness);
    b_real(b, s->contrast);
    b_real(b, s->entropy);
    b_real(b, s->sharpness);
    b_real(b, s->frac_black);
    b_real(b, s->frac_white);
    b_i64(b, s->constant ? 1 : 0);
    b_opt(b, s->alpha_used);
    b_blob(b, r->hashes.pixel_hash, (int)sizeof r->hashes.pixel_hash);
    b_i64(b, (int64_t)r->hashes.phash);
    b_i64(b, (int64_t)r->hashes.dhash);
    b_i64(b, r->hashes.uniform ? 1 : 0);
}

static void bind_file(binder *b, int64_t scan_id, const ia_entry *e,
                      const ia_file_result *r)
{
    b_i64(b, scan_id);
    b_text(b, e->relpath);
    b_text(b, e->split);
    b_text(b, e->split_canonical);
    b_text(b, e->label);
    b_i64(b, e->outside_class ? 1 : 0);
    b_opt(b, r->size);
    b_opt(b, r->mtime_ns);
    if (r->have_sha256)
        b_blob(b, r->sha256, (int)sizeof r->sha256);
    else
        b_null(b);
    b_text(b, ia_fmt_name(r->format));
    b_text(b, r->ext_format == IA_FMT_UNKNOWN ? NULL
                                              : ia_fmt_name(r->ext_format));
    b_text(b, ia_status_name(r->status));
    b_text(b, r->message[0] ? r->message : NULL);
    b_opt(b, r->width);
    b_opt(b, r->height);
    b_opt(b, r->channels);
    b_opt(b, r->bit_depth);
    b_text(b, r->color_space);
    b_opt(b, r->rows_decoded);
    b_opt(b, r->rows_total);
    b_opt(b, r->progressive);
    b_text(b, r->subsampling);
    b_opt(b, r->jpeg_quality);
    b_opt(b, r->exif_orientation);
    b_opt(b, r->icc);
    b_opt(b, r->interlaced);
    b_opt(b, r->palette);
    b_opt(b, r->has_alpha);
    b_opt(b, r->animated);
    b_opt(b, r->frames);
    bind_measures(b, r);
    b_text(b, e->archive);
    b_text(b, r->loader_facts[0] ? r->loader_facts : NULL);
}

/* A file whose status is not ok always carries the finding named after
 * its status; the scanner may already have added it. */
static int store_status_finding(ia_db *db, int64_t scan_id, int64_t file_id,
                                const ia_entry *e, const ia_file_result *r)
{
    int sev = ia_status_severity(r->status);
    const char *code = ia_status_name(r->status);
    if (sev < 0)
        return IA_OK;
    for (int i = 0; i < r->nfindings; i++)
        if (r->findings[i].code && strcmp(r->findings[i].code, code) == 0)
            return IA_OK;
    return insert_finding(db, scan_id, file_id, e->relpath, code, sev,
                          r->message, "walk", &NOTHING);
}

int ia_store_file(ia_db *db, int64_t scan_id, const ia_entry *e,
                  const ia_file_result *r, int64_t *file_id)
{
    int64_t id = 0;
    int ret = ia_store_need_writer(db);
    if (ret != IA_OK)
        return ret;
    if (!e || !r || !e->relpath)
        return ia_store_fail(db, IA_ERR_ARG, "a file needs a path");
    ret = ia_store_batch_begin(db);
    if (ret != IA_OK)
        return ret;
    sqlite3_stmt *st = ia_store_stmt(db, ST_INSERT_FILE);
    if (!st) {
        ret = IA_ERR_DB;
        goto out;
    }
    binder b = {st, 0, SQLITE_OK};
    bind_file(&b, scan_id, e, r);
    if (b.rc != SQLITE_OK || b.i != sqlite3_bind_parameter_count(st)) {
        ia_store_stmt_done(st);
        ret = ia_store_fail(db, IA_ERR_DB, "storing '%s': cannot bind "
                            "parameter %d", e->relpath, b.i);
        goto out;
    }
    ret = ia_store_step_done(db, st, "storing a file");
    if (ret != IA_OK)
        goto out;
    id = sqlite3_last_insert_rowid(db->conn);
    for (int i = 0; i < r->nfindings && ret == IA_OK; i++) {
        const ia_finding_rec *f = &r->findings[i];
        if (f->code)
            ret = insert_finding(db, scan_id, id, e->relpath, f->code,
                                 f->severity, f->detail, "walk", &NOTHING);
    }
    if (ret == IA_OK)
        ret = store_status_finding(db, scan_id, id, e, r);
    if (ret == IA_OK && ++db->batch >= IA_STORE_BATCH)
        ret = ia_store_batch_commit(db);
out:
    if (ret != IA_OK)
        ia_store_batch_abort(db);
    else if (file_id)
        *file_id = id;
    return ret;
}

static int store_finding(ia_db *db, int64_t scan_id, int64_t file_id,
                         const char *path, const char *code, int severity,
                         const char *detail, const char *stage,
                         const about *ab)
{
    int ret = ia_store_need_writer(db);
    if (ret != IA_OK)
        return ret;
    if (!code)
        return ia_store_fail(db, IA_ERR_ARG, "a finding needs a code");
    ret = ia_store_batch_begin(db);
    if (ret == IA_OK)
        ret = insert_finding(db, scan_id, file_id, path, code, severity,
                             detail, stage, ab);
    if (ret != IA_OK)
        ia_store_batch_abort(db);
    return ret;
}

int ia_store_finding(ia_db *db, int64_t scan_id, int64_t file_id,
                     const char *path, const char *code, int severity,
                     const char *detail)
{
    return store_finding(db, scan_id, file_id, path, code, severity, detail,
                         "analysis", &NOTHING);
}

int ia_store_finding_about(ia_db *db, int64_t scan_id, int64_t file_id,
                           const char *path, const char *code, int severity,
                           const char *detail, const char *loader,
                           int64_t group_id)
{
    about ab = {loader, group_id};
    return store_finding(db, scan_id, file_id, path, code, severity, detail,
                         "analysis", &ab);
}

int ia_store_note(ia_db *db, int64_t scan_id, const char *path,
                  const char *code, int severity, const char *detail)
{
    return store_finding(db, scan_id, 0, path, code, severity, detail,
                         "walk", &NOTHING);
}

/* ---- finishing a scan ------------------------------------------------ */

/* The finding codes judged against the dataset's majority, and how the
 * dataset-level finding words them ("41 of 3781 images are grayscale"). */
static const struct {
    const char *code;
    const char *phrase;
} mode_mix[] = {
    {"cmyk", "are CMYK"},
    {"grayscale", "are grayscale"},
    {"alpha", "have an alpha channel"},
    {"high_bit_depth", "have more than 8 bits per channel"},
    {"exif_rotated", "are rotated by their EXIF orientation"},
    {"animated", "are animated"},
    {"multi_page", "have several pages"},
    {"float_samples", "have floating-point samples"},
};

/* A mode is a problem only when it is the minority: a grayscale dataset
 * is fine, three grayscale images among RGB ones are not. */
static int judge_mode(ia_db *db, int64_t scan_id, size_t k, int64_t decoded)
{
    char detail[IA_DETAIL_MAX];
    int64_t n = 0;
    sqlite3_stmt *st = ia_store_stmt(db, ST_COUNT_CODE);
    if (!st)
        return IA_ERR_DB;
    sqlite3_bind_int64(st, 1, scan_id);
    sqlite3_bind_text(st, 2, mode_mix[k].code, -1, SQLITE_STATIC);
    int ret = ia_store_step_int(db, st, "judging the mode mix", &n, NULL);
    if (ret != IA_OK)
        return ret;
    /* Idempotent: a repeated finish replaces the dataset-level finding. */
    if (!(st = ia_store_stmt(db, ST_DELETE_DATASET_CODE)))
        return IA_ERR_DB;
    sqlite3_bind_int64(st, 1, scan_id);
    sqlite3_bind_text(st, 2, mode_mix[k].code, -1, SQLITE_STATIC);
    if ((ret = ia_store_step_done(db, st, "judging the mode mix")) != IA_OK ||
        n == 0)
        return ret;
    int sev = n * 2 < decoded ? IA_SEV_WARNING : IA_SEV_INFO;
    if (!(st = ia_store_stmt(db, ST_SET_CODE_SEVERITY)))
        return IA_ERR_DB;
    sqlite3_bind_int(st, 1, sev);
    sqlite3_bind_int64(st, 2, scan_id);
    sqlite3_bind_text(st, 3, mode_mix[k].code, -1, SQLITE_STATIC);
    if ((ret = ia_store_step_done(db, st, "judging the mode mix")) != IA_OK)
        return ret;
    ia_bprintf(detail, sizeof detail, "%lld of %lld images %s",
               (long long)n, (long long)decoded, mode_mix[k].phrase);
    return insert_finding(db, scan_id, 0, NULL, mode_mix[k].code, sev,
                          detail, "analysis", &NOTHING);
}

static int update_totals(ia_db *db, int64_t scan_id, int complete,
                         const char *finished_at)
{
    sqlite3_stmt *st = ia_store_stmt(db, ST_UPDATE_TOTALS);
    if (!st)
        return IA_ERR_DB;
    sqlite3_bind_int64(st, 1, scan_id);
    if (finished_at)
        sqlite3_bind_text(st, 2, finished_at, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int(st, 3, complete ? 1 : 0);
    int ret = ia_store_step_done(db, st, "storing the scan totals");
    if (ret == IA_OK && sqlite3_changes(db->conn) != 1)
        ret = ia_store_fail(db, IA_ERR_NOT_FOUND, "no scan with id %lld",
                            (long long)scan_id);
    return ret;
}

int ia_store_scan_finish(ia_db *db, int64_t scan_id, int complete,
                         const char *finished_at)
{
    int64_t decoded = 0;
    int ret = ia_store_need_writer(db);
    if (ret != IA_OK)
        return ret;
    ret = ia_store_batch_begin(db);
    if (ret != IA_OK)
        return ret;
    /* A scan stopped early (SIGINT, an error) builds them here; if even
     * that fails, the scan is still closed as incomplete and the next
     * writer to open the DB builds them. */
    ret = ia_store_restore_file_indexes(db);
    if (ret != IA_OK && complete)
        goto out;
    if (ret != IA_OK) {
        ret = ia_store_batch_begin(db);
        if (ret != IA_OK)
            goto out;
    }
    sqlite3_stmt *st = ia_store_stmt(db, ST_COUNT_DECODED);
    if (!st) {
        ret = IA_ERR_DB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, scan_id);
    ret = ia_store_step_int(db, st, "counting decoded files", &decoded, NULL);
    for (size_t k = 0; k < IA_ARRAY_LEN(mode_mix) && ret == IA_OK; k++)
        ret = judge_mode(db, scan_id, k, decoded);
    if (ret == IA_OK)
        ret = update_totals(db, scan_id, complete, finished_at);
    /* The complete flag is set in this, the scan's last transaction. */
    if (ret == IA_OK)
        ret = ia_store_batch_commit(db);
out:
    if (ret != IA_OK)
        ia_store_batch_abort(db);
    return ret;
}

int ia_store_scan_totals(ia_db *db, int64_t scan_id, ia_scan_summary *out)
{
    ia_scan_summary s;
    uint64_t sev[3] = {0, 0, 0}, files[3], dataset[3];
    int ret = IA_ERR_DB;
    sqlite3_stmt *st = ia_store_stmt(db, ST_SCAN_TOTALS);
    if (!st)
        return IA_ERR_DB;
    memset(&s, 0, sizeof s);
    sqlite3_bind_int64(st, 1, scan_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s.scan_id = scan_id;
        s.files = (uint64_t)sqlite3_column_int64(st, 0);
        s.decoded = (uint64_t)sqlite3_column_int64(st, 1);
        s.bytes = (uint64_t)sqlite3_column_int64(st, 2);
        s.megapixels = (double)sqlite3_column_int64(st, 3) / 1e6;
        ret = IA_OK;
    } else if (rc == SQLITE_DONE) {
        ret = ia_store_fail(db, IA_ERR_NOT_FOUND, "no scan with id %lld",
                            (long long)scan_id);
    } else {
        ret = ia_store_sqlfail(db, "reading the scan totals");
    }
    ia_store_stmt_done(st);
    if (ret == IA_OK)
        ret = ia_q_severity_files(db, scan_id, sev, files, dataset);
    if (ret != IA_OK)
        return ret;
    s.infos = sev[IA_SEV_INFO];
    s.warnings = sev[IA_SEV_WARNING];
    s.errors = sev[IA_SEV_ERROR];
    s.files_with_infos = files[IA_SEV_INFO];
    s.files_with_warnings = files[IA_SEV_WARNING];
    s.files_with_errors = files[IA_SEV_ERROR];
    s.dataset_infos = dataset[IA_SEV_INFO];
    s.dataset_warnings = dataset[IA_SEV_WARNING];
    s.dataset_errors = dataset[IA_SEV_ERROR];
    *out = s;
    return IA_OK;
}

int ia_store_scan_share(ia_db *db, int64_t scan_id, int64_t same_as,
                        const char *finished_at)
{
    int ret = ia_store_need_writer(db);
    if (ret == IA_OK)
        ret = ia_store_batch_begin(db);
    if (ret != IA_OK)
        return ret;
    sqlite3_stmt *st = ia_store_stmt(db, ST_SHARE);
    if (!st) {
        ia_store_batch_abort(db);
        return IA_ERR_DB;
    }
    sqlite3_bind_int64(st, 1, scan_id);
    sqlite3_bind_int64(st, 2, same_as);
    sqlite3_bind_text(st, 3, finished_at, -1, SQLITE_STATIC);
    ret = ia_store_step_done(db, st, "storing the scan totals");
    if (ret == IA_OK && sqlite3_changes(db->conn) != 1)
        ret = ia_store_fail(db, IA_ERR_NOT_FOUND, "scan %lld cannot share "
                            "the rows of scan %lld", (long long)scan_id,
                            (long long)same_as);
    if (ret == IA_OK)
        ret = ia_store_batch_commit(db);
    if (ret != IA_OK)
        ia_store_batch_abort(db);
    return ret;
}

