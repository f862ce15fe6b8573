/*
 * imgaudit's schema (schema.h): the migrations, and the rows of
 * sqlite_master they make, as SQLite writes them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/schema.h"

/* Schema steps; a step takes a DB from user_version v to v + 1.
 * Append only: a shipped step is never edited (docs/schema.md). */
const char *const ia_schema_migrations[] = {
    /* 1: scans, files, findings */
    "CREATE TABLE scan ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " root TEXT NOT NULL,"
    " layout TEXT NOT NULL,"
    " options TEXT NOT NULL,"
    " tool_version TEXT NOT NULL,"
    " started_at TEXT NOT NULL,"
    " finished_at TEXT,"
    " complete INTEGER NOT NULL DEFAULT 0,"
    " files INTEGER NOT NULL DEFAULT 0,"
    " decoded INTEGER NOT NULL DEFAULT 0,"
    " bytes INTEGER NOT NULL DEFAULT 0,"
    " pixels INTEGER NOT NULL DEFAULT 0,"
    " shard_k INTEGER,"
    " shard_n INTEGER);"
    "CREATE INDEX scan_name ON scan(name);"
    "CREATE TABLE file ("
    " id INTEGER PRIMARY KEY,"
    " scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,"
    " path TEXT NOT NULL,"
    " split TEXT,"
    " split_canonical TEXT,"
    " label TEXT,"
    " outside_class INTEGER NOT NULL,"
    " size INTEGER,"
    " mtime_ns INTEGER,"
    " sha256 BLOB,"
    " format TEXT NOT NULL,"
    " ext_format TEXT,"
    " status TEXT NOT NULL,"
    " message TEXT,"
    " width INTEGER, height INTEGER, channels INTEGER, bit_depth INTEGER,"
    " color_space TEXT,"
    " rows_decoded INTEGER, rows_total INTEGER,"
    " progressive INTEGER,"
    " subsampling TEXT,"
    " jpeg_quality INTEGER, exif_orientation INTEGER, icc INTEGER,"
    " interlaced INTEGER, palette INTEGER, has_alpha INTEGER,"
    " animated INTEGER, frames INTEGER,"
    " pixels INTEGER,"
    " sum_r INTEGER, sum_g INTEGER, sum_b INTEGER,"
    " sumsq_r INTEGER, sumsq_g INTEGER, sumsq_b INTEGER,"
    " min_r INTEGER, min_g INTEGER, min_b INTEGER,"
    " max_r INTEGER, max_g INTEGER, max_b INTEGER,"
    " brightness REAL, contrast REAL, entropy REAL, sharpness REAL,"
    " frac_black REAL, frac_white REAL,"
    " is_constant INTEGER, alpha_used INTEGER,"
    " pixel_hash BLOB, phash INTEGER, dhash INTEGER, hash_uniform INTEGER,"
    " UNIQUE(scan_id, path));"
    "CREATE INDEX file_sha256 ON file(scan_id, sha256);"
    "CREATE INDEX file_status ON file(scan_id, status);"
    "CREATE INDEX file_split_label ON file(scan_id, split, label);"
    "CREATE TABLE finding ("
    " id INTEGER PRIMARY KEY,"
    " scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,"
    " file_id INTEGER REFERENCES file(id) ON DELETE CASCADE,"
    " path TEXT,"
    " code TEXT NOT NULL,"
    " severity INTEGER NOT NULL,"
    " detail TEXT);"
    "CREATE INDEX finding_code ON finding(scan_id, code);"
    "CREATE INDEX finding_file ON finding(file_id);",
    /* 2: duplicate groups and split leaks */
    "CREATE TABLE dup_group ("
    " id INTEGER PRIMARY KEY,"
    " scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (kind IN ('exact', 'pixel', 'near')),"
    " size INTEGER NOT NULL);"
    "CREATE INDEX dup_group_scan ON dup_group(scan_id, kind);"
    "CREATE TABLE dup_member ("
    " group_id INTEGER NOT NULL REFERENCES dup_group(id) ON DELETE CASCADE,"
    " file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,"
    " position INTEGER NOT NULL,"
    " distance INTEGER NOT NULL,"
    " PRIMARY KEY (group_id, position)) WITHOUT ROWID;"
    "CREATE INDEX dup_member_file ON dup_member(file_id);"
    "CREATE TABLE leak ("
    " id INTEGER PRIMARY KEY,"
    " scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,"
    " group_id INTEGER NOT NULL REFERENCES dup_group(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL,"
    " a_file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,"
    " b_file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,"
    " distance INTEGER NOT NULL);"
    "CREATE INDEX leak_scan ON leak(scan_id);",
    /* 3: where a finding came from (docs/schema.md): 'walk' for what the
     * per-file pipeline stored (a file's own verdict and facts, notes
     * about paths that are not files), 'analysis' for what the
     * dataset-wide steps add after the walk. Merge and reuse copy only
     * 'walk' findings. Rows of older scans are classified by code, exact
     * for schema 2, whose only analysis findings on files were these. */
    "ALTER TABLE finding ADD COLUMN stage TEXT NOT NULL DEFAULT 'analysis'"
    " CHECK (stage IN ('walk', 'analysis'));"
    "UPDATE finding SET stage = 'walk'"
    " WHERE (file_id IS NOT NULL AND code NOT IN ('exact_duplicate',"
    "  'pixel_duplicate', 'near_duplicate', 'split_leak', 'label_conflict'))"
    " OR (file_id IS NULL AND path IS NOT NULL);",
    /* 4: dataset statistics (docs/statistics.md). In stat_group and
     * stat_metric, split and label NULL mean "all", '' means "none";
     * channel sums are decimal text because they can pass 2^63. */
    "CREATE TABLE stat_group ("
    " scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,"
    " split TEXT, label TEXT,"
    " files INTEGER NOT NULL, images INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL, pixels INTEGER NOT NULL,"
    " sum_r TEXT, sum_g TEXT, sum_b TEXT,"
    " sumsq_r TEXT, sumsq_g TEXT, sumsq_b TEXT,"
    " mean_r REAL, mean_g REAL, mean_b REAL,"
    " std_r REAL, std_g REAL, std_b REAL,"
    " labels INTEGER, imbalance REAL, label_entropy REAL, share REAL);"
    "CREATE INDEX stat_group_scan ON stat_group(scan_id, split, label);"
    "CREATE TABLE stat_metric ("
    " scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,"
    " split TEXT, label TEXT, metric TEXT NOT NULL,"
    " n INTEGER NOT NULL, mean REAL, std REAL, min REAL, q1 REAL,"
    " median REAL, q3 REAL, max REAL, fence_low REAL, fence_high REAL);"
    "CREATE INDEX stat_metric_scan ON stat_metric(scan_id, metric, split,"
    " label);"
    "CREATE TABLE class_index ("
    " scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,"
    " split TEXT NOT NULL, label TEXT NOT NULL, idx INTEGER NOT NULL,"
    " PRIMARY KEY (scan_id, split, label));",
    /* 5: an unchanged rescan (docs/performance.md) stores no rows of its
     * own: same_as names the scan whose rows it shares (never itself a
     * sharer), NULL for a scan with its own rows. */
    "ALTER TABLE scan ADD COLUMN same_as INTEGER REFERENCES scan(id);",
    /* 6: archive members (docs/archives.md): the relpath of the archive a
     * file row was read from, NULL for a file on disk. A member's path is
     * ARCHIVE/MEMBER; its shard, and its place in merge's order, are its
     * archive's. */
    "ALTER TABLE file ADD COLUMN archive TEXT;",
    /* 7: what the training loaders will do (docs/loaders.md).
     * file.loader_facts: what a loader reads differently from imgaudit's
     * decoders (';'-joined names, NULL: nothing); finding.loader: the
     * loader profile a finding is about (NULL: not a loader finding);
     * finding.group_id: the dup_group a duplicate, leak or conflict
     * finding is about; loader_class: each profile's class index per
     * split, with the files it lists in the class. */
    "ALTER TABLE file ADD COLUMN loader_facts TEXT;"
    "ALTER TABLE finding ADD COLUMN loader TEXT;"
    "ALTER TABLE finding ADD COLUMN group_id INTEGER;"
    "CREATE TABLE loader_class ("
    " scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,"
    " loader TEXT NOT NULL, split TEXT NOT NULL, label TEXT NOT NULL,"
    " idx INTEGER NOT NULL, listed INTEGER NOT NULL,"
    " PRIMARY KEY (scan_id, loader, split, label));",
    /* 8: detection and segmentation annotations (docs/annotations.md):
     * each COCO file or YOLO layout read, its categories, the images it
     * names (matched to a file row, or file_id NULL when none) and their
     * boxes, in pixels where the image's size is known and normalised to
     * 0..1 where it is; NULL where it is not. */
    "CREATE TABLE annot_source ("
    " id INTEGER PRIMARY KEY,"
    " scan_id INTEGER NOT NULL REFERENCES scan(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (kind IN ('coco', 'yolo')),"
    " path TEXT NOT NULL, split TEXT);"
    "CREATE INDEX annot_source_scan ON annot_source(scan_id);"
    "CREATE TABLE annot_category ("
    " source_id INTEGER NOT NULL REFERENCES annot_source(id)"
    "  ON DELETE CASCADE,"
    " category_id INTEGER NOT NULL, name TEXT NOT NULL,"
    " PRIMARY KEY (source_id, category_id));"
    "CREATE TABLE annot_image ("
    " id INTEGER PRIMARY KEY,"
    " source_id INTEGER NOT NULL REFERENCES annot_source(id)"
    "  ON DELETE CASCADE,"
    " file_id INTEGER REFERENCES file(id) ON DELETE SET NULL,"
    " name TEXT NOT NULL, coco_id INTEGER, split TEXT,"
    " width INTEGER, height INTEGER, label_file TEXT);"
    "CREATE INDEX annot_image_source ON annot_image(source_id);"
    "CREATE INDEX annot_image_file ON annot_image(file_id);"
    "CREATE TABLE annot_box ("
    " id INTEGER PRIMARY KEY,"
    " image_id INTEGER NOT NULL REFERENCES annot_image(id)"
    "  ON DELETE CASCADE,"
    " category_id INTEGER NOT NULL, category TEXT,"
    " x REAL, y REAL, w REAL, h REAL,"
    " nx REAL, ny REAL, nw REAL, nh REAL,"
    " seg_area REAL, polygons INTEGER NOT NULL, iscrowd INTEGER NOT NULL);"
    "CREATE INDEX annot_box_image ON annot_box(image_id);",
};


/* The four columns of each row, copied into one block after the row
 * array, so the caller frees one pointer. */
static int copy_rows(sqlite3_stmt *st, ia_schema_row **out, size_t *n)
{
    size_t rows = 0, bytes = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        for (int i = 0; i < 4; i++)
            bytes += (size_t)sqlite3_column_bytes(st, i) + 1;
    }
    if (rc != SQLITE_DONE)
        return rc;
    sqlite3_reset(st);
    ia_schema_row *r = malloc(rows * sizeof *r + bytes + 1);
    if (!r)
        return SQLITE_NOMEM;
    char *p = (char *)(r + rows);
    size_t k = 0;
    for (; k < rows && sqlite3_step(st) == SQLITE_ROW; k++) {
        const char **col[4] = {&r[k].type, &r[k].name, &r[k].tbl_name,
                               &r[k].sql};
        for (int i = 0; i < 4; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            size_t len = (size_t)sqlite3_column_bytes(st, i);
            *col[i] = t ? p : NULL;
            if (t) {
                memcpy(p, t, len);
                p[len] = '\0';
                p += len + 1;
            }
        }
    }
    *out = r;
    *n = k;
    return SQLITE_OK;
}

int ia_schema_rows_now(int version, ia_schema_row **out, size_t *n,
                       char *err, size_t errlen)
{
    sqlite3 *mem = NULL;
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    int rc = version < 1 || version > IA_SCHEMA_LATEST
                 ? SQLITE_RANGE
                 : sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE |
                                   SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY |
                                   SQLITE_OPEN_NOMUTEX, NULL);
    for (int v = 0; rc == SQLITE_OK && v < version; v++)
        rc = sqlite3_exec(mem, ia_schema_migrations[v], NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(mem, IA_SCHEMA_ROWS_SQL, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = copy_rows(st, out, n);
    if (rc != SQLITE_OK && errlen)
        snprintf(err, errlen, "%s", mem ? sqlite3_errmsg(mem)
                                        : sqlite3_errstr(rc));
    sqlite3_finalize(st);
    sqlite3_close_v2(mem);
    return rc;
}
