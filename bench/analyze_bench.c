/*
 * The dataset-wide analysis alone, phase by phase, on a scan already in
 * a DB (docs/performance.md, "A million files"):
 *
 *   analyze_bench DB [SCAN] [-j N] [--only STEP | --whole]
 *
 * Reruns each step of ia_analyze_scan (duplicates, sample checks,
 * statistics, loader profiles) on the scan (default: the latest) and
 * prints the wall time of each. The loader and statistics steps replace
 * what they wrote before; the duplicates step only adds (a scan runs it
 * once), so its groups, leaks and findings are deleted here first. The
 * DB is written: run it on a copy. --only (duplicates, samples,
 * statistics or loader) runs that step alone, so the process's peak RSS
 * is that step's. --whole runs ia_analyze_scan instead, as a scan does:
 * at -j 2 and up with its helper thread reading ahead (analyze.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/analyze.h"
#include "analyze/stats.h"
#include "core/core.h"
#include "imgaudit.h"
#include "loader/loader.h"
#include "store/db.h"
#include "store/store.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What the duplicates step writes, gone, so a rerun writes it afresh. */
static int clear_duplicates(ia_db *db, int64_t scan)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "DELETE FROM finding WHERE scan_id = %lld AND code IN"
             " ('exact_duplicate', 'pixel_duplicate', 'near_duplicate',"
             " 'split_leak', 'label_conflict');"
             "DELETE FROM leak WHERE scan_id = %lld;"
             "DELETE FROM dup_member WHERE group_id IN"
             " (SELECT id FROM dup_group WHERE scan_id = %lld);"
             "DELETE FROM dup_group WHERE scan_id = %lld",
             (long long)scan, (long long)scan, (long long)scan,
             (long long)scan);
    int rc = ia_store_batch_begin(db);
    if (rc == IA_OK)
        rc = ia_store_exec(db, sql, "clearing the duplicates");
    return rc == IA_OK ? ia_store_batch_commit(db) : rc;
}

static int step(ia_db *db, int64_t scan, unsigned jobs, int which)
{
    ia_dup_options dup = {.phash_radius = -1, .dhash_radius = -1,
                          .threads = jobs};
    switch (which) {
    case 0: return ia_analyze_duplicates(db, scan, &dup);
    case 1: return ia_analyze_samples(db, scan);
    case 2: return ia_analyze_stats(db, scan);
    default: return ia_loader_analyze(db, scan);
    }
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"duplicates", "samples",
                                        "statistics", "loader profiles"};
    static const char *const short_names[] = {"duplicates", "samples",
                                              "statistics", "loader"};
    const char *path = NULL, *ref = NULL, *only = NULL;
    unsigned jobs = 2;
    int whole = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-j") && i + 1 < argc)
            jobs = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--whole"))
            whole = 1;
        else if (!path)
            path = argv[i];
        else
            ref = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: analyze_bench DB [SCAN] [-j N]"
                        " [--only duplicates|samples|statistics|loader |"
                        " --whole]\n");
        return 2;
    }
    ia_db *db = NULL;
    int64_t scan = 0;
    int rc = ia_db_open(path, IA_DB_CREATE, &db);
    if (rc == IA_OK)
        rc = ia_store_resolve_scan(db, ref, &scan);
    if (rc == IA_OK && (!only || !strcmp(only, "duplicates")))
        rc = clear_duplicates(db, scan);
    double total = 0;
    if (rc == IA_OK && whole) {
        double t0 = now();
        rc = ia_analyze_scan(db, scan, jobs);
        if (rc == IA_OK)
            rc = ia_store_batch_commit(db);
        total = now() - t0;
        only = "";  /* no step on its own */
    }
    for (int k = 0; rc == IA_OK && k < 4; k++) {
        if (only && strcmp(only, short_names[k]))
            continue;
        double t0 = now();
        rc = step(db, scan, jobs, k);
        if (rc == IA_OK)
            rc = ia_store_batch_commit(db);
        double t = now() - t0;
        total += t;
        printf("  %-16s %8.2f s\n", names[k], t);
    }
    if (rc == IA_OK)
        printf("  %-16s %8.2f s\n", "analysis", total);
    else
        fprintf(stderr, "analyze_bench: %s\n",
                db ? ia_db_errmsg(db) : "cannot open the DB");
    ia_db_close(db);
    return rc == IA_OK ? 0 : 1;
}
