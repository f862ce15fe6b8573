/*
 * One file, start to verdict: read (and SHA-256), sniff, decode with row
 * measurement, then the findings that follow from the verdict. Everything
 * the worker needs is in its ia_worker, built once per thread.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "imgaudit.h"
#include "measure/measure.h"
#include "read/read.h"
#include "scan/file.h"
#include "decode/decode.h"
#include "loader/loader.h"
#include "store/store.h"

struct ia_worker {
    ia_reader *reader;
    ia_decoder_set *decoders;
    ia_measure *measure;
};

/* Only what is decoded is held whole; the rest is hashed in passing. */
int ia_file_keep(const uint8_t *head, size_t len)
{
    return ia_decoder_find(ia_sniff(head, len)) != NULL;
}

int ia_worker_new(ia_worker **out, ia_hash_tables *tables)
{
    ia_worker *w = calloc(1, sizeof *w);
    if (!w)
        return IA_ERR_NOMEM;
    if (ia_reader_new(&w->reader) != IA_OK ||
        ia_decoder_set_new(&w->decoders) != IA_OK ||
        ia_measure_new(&w->measure) != IA_OK) {
        ia_worker_free(w);
        return IA_ERR_NOMEM;
    }
    ia_reader_set_keep(w->reader, ia_file_keep);
    if (tables)
        ia_measure_share(w->measure, tables);
    *out = w;
    return IA_OK;
}

void ia_worker_free(ia_worker *w)
{
    if (!w)
        return;
    ia_reader_free(w->reader);
    ia_decoder_set_free(w->decoders);
    ia_measure_free(w->measure);
    free(w);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Why a file without an image signature sits in the dataset: the junk
 * that training loaders trip on gets named, so the user knows what to
 * delete. */
static const char *junk_reason(const char *relpath)
{
    const char *name = base_name(relpath);
    if (strncmp(name, "._", 2) == 0)
        return "macOS AppleDouble metadata file (loaders that match "
               "the extension will fail on it)";
    if (strcmp(name, ".DS_Store") == 0)
        return "macOS Finder metadata file";
    if (strstr(relpath, ".ipynb_checkpoints/") ||
        strncmp(relpath, ".ipynb_checkpoints", 18) == 0)
        return "Jupyter checkpoint copy";
    if (strcmp(name, "Thumbs.db") == 0 || strcmp(name, "desktop.ini") == 0)
        return "Windows folder metadata file";
    return NULL;
}

static void not_image(const ia_entry *e, ia_file_result *res)
{
    const char *junk = junk_reason(e->relpath);
    if (junk)
        ia_result_status(res, IA_ST_NOT_IMAGE, "%s", junk);
    else if (res->ext_format != IA_FMT_UNKNOWN)
        ia_result_status(res, IA_ST_NOT_IMAGE,
                         "no image signature although named .%s",
                         ia_fmt_name(res->ext_format));
    else
        ia_result_status(res, IA_ST_NOT_IMAGE, "no image signature");
}

static int decode(ia_worker *w, const ia_file_config *cfg,
                  const uint8_t *data, size_t len, ia_file_result *res)
{
    ia_rowsink sink;
    ia_measure_sink(w->measure, &sink);
    int rc = ia_decoder_set_decode(w->decoders, res->format, data, len,
                                   &cfg->limits, &sink, res);
    if (rc == IA_OK && res->status == IA_ST_OK)
        ia_measure_finish(w->measure, res);
    if (rc == IA_OK)
        ia_loader_facts(data, len, res);
    return rc;
}

static void check_extension(const ia_entry *e, ia_file_result *res)
{
    if (res->format == IA_FMT_UNKNOWN || res->ext_format == IA_FMT_UNKNOWN ||
        res->format == res->ext_format)
        return;
    const char *dot = strrchr(base_name(e->relpath), '.');
    ia_result_add(res, "extension_mismatch", IA_SEV_WARNING,
                  "%s data in a file named %s", ia_fmt_name(res->format),
                  dot ? dot : "without extension");
}

/* The status itself becomes a finding, so reports list every problem in
 * one place. Non-images outside class folders are only info: loaders
 * never see a README at the dataset root. */
static void status_finding(const ia_entry *e, ia_file_result *res)
{
    int sev = ia_status_severity(res->status);
    if (sev < 0)
        return;
    if (res->status == IA_ST_NOT_IMAGE && e->outside_class)
        sev = IA_SEV_INFO;
    ia_result_add(res, ia_status_name(res->status), sev, "%s", res->message);
}

/* --trust-mtime: a file stored in the reused scan with this path, size
 * and mtime is taken over without reading it. The stat sees what the read
 * would (the same file, the symlink rule of readfile). */
static int reuse_unread(const ia_file_config *cfg, const ia_entry *e,
                        ia_file_result *res)
{
    struct stat st;
    ia_reuse_hit hit;
    if (ia_stat_beneath(cfg->rootfd, e->relpath, cfg->follow_symlinks,
                        &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 +
                    (int64_t)st.st_mtim.tv_nsec;
    if (!ia_reuse_by_stat(cfg->reuse, e->relpath, (int64_t)st.st_size, mtime,
                          &hit))
        return 0;
    res->size = (int64_t)st.st_size;
    res->mtime_ns = mtime;
    memcpy(res->sha256, hit.sha256, sizeof res->sha256);
    res->have_sha256 = 1;
    res->ext_format = ia_ext_format(e->relpath);
    res->format = hit.format;
    check_extension(e, res);
    res->reuse_id = hit.file_id;
    return 1;
}

static int scan_regular(ia_worker *w, const ia_file_config *cfg,
                        const ia_entry *e, ia_file_result *res)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    if (!e->member && cfg->reuse && cfg->trust_mtime &&
        reuse_unread(cfg, e, res))
        return IA_OK;
    /* an archive's member: its bytes came with it from the walk */
    int rc = e->member
                 ? ia_read_member(w->reader, e->member, res, &data, &len)
                 : ia_read_file(w->reader, cfg->rootfd, e->relpath,
                                cfg->follow_symlinks, cfg->max_file_bytes,
                                res, &data, &len);
    if (rc < 0)
        return -rc;
    res->ext_format = ia_ext_format(e->relpath);
    if (rc > 0)
        return IA_OK;
    /* the bytes the reader decided on, whole file or not */
    res->format = ia_sniff(data, len < IA_READ_HEAD ? len : IA_READ_HEAD);
    check_extension(e, res);
    if (res->format == IA_FMT_UNKNOWN) {
        not_image(e, res);
        ia_loader_facts(data, len, res);
        return IA_OK;
    }
    if (!ia_decoder_find(res->format)) {
        ia_result_status(res, IA_ST_UNSUPPORTED, "%s image (not decoded: %s)",
                         ia_fmt_name(res->format),
                         ia_decoder_missing(res->format));
        return IA_OK;
    }
    /* The same bytes were decoded in the reused scan: its results are
     * copied by the writer instead (store/store.h). */
    if (cfg->reuse && res->have_sha256 &&
        ia_reuse_by_sha(cfg->reuse, res->sha256, &res->reuse_id))
        return IA_OK;
    return decode(w, cfg, data, len, res);
}

int ia_scan_file(ia_worker *w, const ia_file_config *cfg, const ia_entry *e,
                 ia_file_result *res)
{
    int rc = IA_OK;
    ia_result_reset(res);
    switch (e->kind) {
    case IA_ENT_FILE:
        rc = scan_regular(w, cfg, e, res);
        break;
    case IA_ENT_SPECIAL:
        ia_result_status(res, IA_ST_UNREADABLE, "%s", e->detail);
        break;
    case IA_ENT_MISSING:
        ia_result_status(res, IA_ST_UNREADABLE, "%s", e->detail);
        break;
    default:
        return IA_OK; /* not a file row: scan.c records a finding */
    }
    /* a reused file's status finding is among those copied */
    if (res->reuse_id == 0)
        status_finding(e, res);
    return rc;
}
