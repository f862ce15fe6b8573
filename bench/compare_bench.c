/*
 * compare_bench: how long `imgaudit compare` takes on two large scans
 * (docs/compare.md, "Performance").
 *
 *   compare_bench [FILES] [DIR]
 *
 * Writes two synthetic scans of FILES files each (default 100000) through
 * the real store API (ia_store_file, so the rows, indexes and findings are
 * those a scan writes) into DIR/base.db and DIR/new.db (default: a fresh
 * folder under /tmp, removed at the end), then times ia_compare_open and
 * the JSON and text output. The new scan differs as a real new version
 * does: 1% of files removed, 1% added, 2% re-encoded darker, 1% renamed,
 * 0.5% moved to another split. 80/10/10 train/val/test, 100 classes.
 * Prints one line per step with the wall time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "imgaudit.h"
#include "store/store.h"

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1) from (i, salt). */
static double u01(uint64_t i, uint64_t salt)
{
    return (double)(mix64(i * 0x9E3779B97F4A7C15ULL + salt) >> 11) * 0x1p-53;
}

enum change { SAME, REMOVED, MODIFIED, RENAMED, MOVED };

static enum change change_of(uint64_t i)
{
    double u = u01(i, 77);
    return u < 0.01 ? REMOVED : u < 0.03 ? MODIFIED : u < 0.04 ? RENAMED
           : u < 0.045 ? MOVED : SAME;
}

/* Fills entry and result for file i of a version (0 base, 1 new). */
static void make_file(uint64_t i, int version, ia_entry *e,
                      ia_file_result *r, char *path, size_t cap,
                      char *label)
{
    static char splits[3][8] = {"train", "val", "test"};
    enum change ch = version ? change_of(i) : SAME;
    double us = u01(i, 1);
    int split = us < 0.8 ? 0 : us < 0.9 ? 1 : 2;
    if (ch == MOVED)
        split = (split + 1) % 3;
    snprintf(label, 16, "class%03d", (int)(u01(i, 2) * 100));
    snprintf(path, cap, "%s/%s/%s%08llu.jpg", splits[split], label,
             ch == RENAMED ? "r" : "img", (unsigned long long)i);
    memset(e, 0, sizeof *e);
    e->relpath = path;
    e->split = splits[split];
    e->split_canonical = splits[split];
    e->label = label;
    ia_result_reset(r);
    r->size = 20000 + (int64_t)(u01(i, 3) * 20000);
    r->have_sha256 = 1;
    uint64_t key = mix64(i + (ch == MODIFIED ? 0x5555 : 0));
    for (int k = 0; k < 32; k += 8)
        memcpy(r->sha256 + k, &(uint64_t){mix64(key + (uint64_t)k)}, 8);
    r->format = IA_FMT_JPEG;
    r->status = IA_ST_OK;
    r->width = 300 + (int32_t)(u01(i, 4) * 200);
    r->height = 400 + (int32_t)(u01(i, 5) * 300);
    r->channels = 3;
    r->bit_depth = 8;
    r->color_space = "ycbcr";
    r->rows_decoded = r->rows_total = r->height;
    r->progressive = 0;
    r->subsampling = "4:2:0";
    r->jpeg_quality = ch == MODIFIED ? 30 : 75;
    r->have_measures = 1;
    ia_pixel_stats *s = &r->stats;
    s->pixels = (uint64_t)r->width * (uint64_t)r->height;
    double mean = 90.0 + 80.0 * u01(i, 6);
    if (ch == MODIFIED)
        mean /= 4.0;
    for (int c = 0; c < 3; c++) {
        s->sum[c] = (uint64_t)(mean * (double)s->pixels);
        s->sumsq[c] = (uint64_t)((mean * mean + 3600.0) * (double)s->pixels);
        s->min[c] = 0;
        s->max[c] = 255;
    }
    s->brightness = mean;
    s->contrast = 60.0 * u01(i, 7);
    s->entropy = 6.0 + 2.0 * u01(i, 8);
    s->sharpness = 1000.0 * u01(i, 9);
    s->alpha_used = -1;
    for (int k = 0; k < 16; k += 8)
        memcpy(r->hashes.pixel_hash + k,
               &(uint64_t){mix64(key ^ 0xABCDULL) + (uint64_t)k}, 8);
    r->hashes.phash = mix64(key + 1);
    r->hashes.dhash = mix64(key + 2);
}

static int write_scan(const char *db_path, int version, uint64_t n)
{
    ia_db *db = NULL;
    int64_t scan_id = 0;
    char path[128], label[16];
    ia_entry e;
    static ia_file_result r;
    ia_scan_meta m;
    memset(&m, 0, sizeof m);
    m.name = version ? "new" : "base";
    m.root = "/bench";
    m.layout = "splits";
    m.options_json = "{}";
    m.tool_version = IMGAUDIT_VERSION;
    m.started_at = "2026-01-01T00:00:00Z";
    int rc = ia_db_open(db_path, IA_DB_CREATE, &db);
    if (rc == IA_OK)
        rc = ia_store_scan_begin(db, &m, &scan_id);
    for (uint64_t i = 0; rc == IA_OK && i < n + n / 100; i++) {
        /* files n .. n + 1% exist only in the new version */
        if ((i >= n && !version) || (version && i < n &&
                                     change_of(i) == REMOVED))
            continue;
        make_file(i, version, &e, &r, path, sizeof path, label);
        rc = ia_store_file(db, scan_id, &e, &r, NULL);
    }
    if (rc == IA_OK)
        rc = ia_store_scan_finish(db, scan_id, 1, "2026-01-01T00:01:00Z");
    if (rc != IA_OK)
        fprintf(stderr, "compare_bench: %s: %s\n", db_path,
                ia_db_errmsg(db));
    ia_db_close(db);
    return rc;
}

static int time_compare(const char *base, const char *new_)
{
    ia_compare *c = NULL;
    ia_compare_options opt = {0};
    FILE *null = fopen("/dev/null", "w");
    double t0 = ia_now();
    int rc = null ? ia_compare_open(base, new_, &opt, &c) : IA_ERR_IO;
    double t1 = ia_now();
    if (rc == IA_OK)
        rc = ia_compare_write(c, IA_FORMAT_JSON, null);
    double t2 = ia_now();
    if (rc == IA_OK)
        rc = ia_compare_write(c, IA_FORMAT_TEXT, null);
    double t3 = ia_now();
    if (rc == IA_OK) {
        ia_compare_summary sum;
        ia_compare_get_summary(c, &sum);
        printf("compare (load, match, analyze)  %.2f s\n", t1 - t0);
        printf("write JSON (complete lists)     %.2f s\n", t2 - t1);
        printf("write text                      %.2f s\n", t3 - t2);
        printf("total                           %.2f s  (%llu errors, "
               "%llu warnings, %llu info)\n", t3 - t0,
               (unsigned long long)sum.errors,
               (unsigned long long)sum.warnings,
               (unsigned long long)sum.infos);
    } else {
        fprintf(stderr, "compare_bench: %s\n", ia_compare_errmsg(c));
    }
    ia_compare_close(c);
    if (null)
        fclose(null);
    return rc;
}

int main(int argc, char **argv)
{
    char dir[256], base[300], new_[300];
    unsigned long long n = 100000;
    int own_dir = argc < 3;
    if (argc > 1 && (sscanf(argv[1], "%llu", &n) != 1 || n < 100 ||
                     n > 100000000ULL)) {
        fprintf(stderr, "usage: compare_bench [FILES] [DIR]\n");
        return 2;
    }
    if (own_dir) {
        ia_strlcpy(dir, "/tmp/ia_compare_bench_XXXXXX", sizeof dir);
        if (!mkdtemp(dir))
            return 1;
    } else {
        ia_strlcpy(dir, argv[2], sizeof dir);
        mkdir(dir, 0755);
    }
    ia_bprintf(base, sizeof base, "%s/base.db", dir);
    ia_bprintf(new_, sizeof new_, "%s/new.db", dir);
    unlink(base);
    unlink(new_);
    double t0 = ia_now();
    int rc = write_scan(base, 0, n);
    if (rc == IA_OK)
        rc = write_scan(new_, 1, n);
    printf("compare_bench: %llu files per scan; writing both DBs took "
           "%.1f s\n", n, ia_now() - t0);
    if (rc == IA_OK)
        rc = time_compare(base, new_);
    if (own_dir) {
        unlink(base);
        unlink(new_);
        rmdir(dir);
    }
    return rc == IA_OK ? 0 : 1;
}
