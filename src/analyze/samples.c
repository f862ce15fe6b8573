/*
 * WebDataset sample keys across archives (docs/archives.md): a key (a
 * member's name up to the first dot of its base name) names one sample
 * in the whole dataset, so the same key in two archives is a finding on
 * each file row of the later archives. The walk finds a key repeated
 * inside one archive; only the analysis sees all archives, and it runs
 * again after a merge, so keys repeated across shards are found too.
 *
 * Memory: one record (a 64-bit hash of the key, the archive's index, the
 * row id) per member row; the archives' names once each. A run of equal
 * hashes is checked against the keys themselves before it is reported.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "analyze/analyze.h"
#include "core/core.h"
#include "store/store.h"

typedef struct key_rec {
    uint64_t hash;
    uint32_t archive;
    int64_t file_id;
} key_rec;

typedef struct key_ctx {
    ia_db *db;
    int64_t scan_id;
    key_rec *v;
    size_t n, cap;
    char **archives;
    size_t narchives, archives_cap;
} key_ctx;

/* The key of the member at path in archive: the member's name up to the
 * first dot of its base name (a base name starting with a dot is its own
 * key). *len its length; NULL when path is not in archive. */
static const char *member_key(const char *path, const char *archive,
                              size_t *len)
{
    size_t al = strlen(archive);
    if (strncmp(path, archive, al) != 0 || path[al] != '/')
        return NULL;
    const char *name = path + al + 1;
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = base[0] != '.' ? strchr(base, '.') : NULL;
    *len = dot ? (size_t)(dot - name) : strlen(name);
    return name;
}

static int add_row(void *user, const ia_member_row *r)
{
    key_ctx *c = user;
    size_t len;
    const char *key = member_key(r->path, r->archive, &len);
    if (!key)
        return IA_OK;
    if (!c->narchives || strcmp(c->archives[c->narchives - 1], r->archive)) {
        char *copy = ia_strdup(r->archive);
        char **a = copy ? ia_grow(c->archives, &c->archives_cap,
                                  c->narchives + 1, sizeof *a, 16) : NULL;
        if (!a) {
            free(copy);
            return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
        }
        c->archives = a;
        c->archives[c->narchives++] = copy;
    }
    key_rec *v = ia_grow(c->v, &c->cap, c->n + 1, sizeof *v, 1024);
    if (!v)
        return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
    c->v = v;
    c->v[c->n++] = (key_rec){XXH3_64bits(key, len),
                             (uint32_t)(c->narchives - 1), r->file_id};
    return IA_OK;
}

static int cmp_rec(const void *pa, const void *pb)
{
    const key_rec *a = pa, *b = pb;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return (a->file_id > b->file_id) - (a->file_id < b->file_id);
}

/* A finding on rec, whose key first appeared in first's archive, when
 * their keys are indeed equal. */
static int repeated(key_ctx *c, const key_rec *rec, const key_rec *first)
{
    char path[1024], fpath[1024], detail[IA_DETAIL_MAX];
    size_t len, flen;
    int rc = ia_store_file_path(c->db, rec->file_id, path, sizeof path);
    if (rc == IA_OK)
        rc = ia_store_file_path(c->db, first->file_id, fpath, sizeof fpath);
    if (rc != IA_OK)
        return rc;
    const char *archive = c->archives[rec->archive];
    const char *key = member_key(path, archive, &len);
    const char *fkey = member_key(fpath, c->archives[first->archive], &flen);
    if (!key || !fkey || len != flen || memcmp(key, fkey, len) != 0)
        return IA_OK;   /* two keys of one hash */
    ia_bprintf(detail, sizeof detail, "sample key '%.*s' is also in '%s' "
               "(seen there first): a WebDataset key names one sample in "
               "the whole dataset", (int)(len > 120 ? 120 : len), key,
               c->archives[first->archive]);
    return ia_store_finding(c->db, c->scan_id, rec->file_id, path,
                            "sample_key_repeated", IA_SEV_WARNING, detail);
}

/* Each run of one key: the rows outside the archive of its first row
 * (in walk order) are reported. */
static int report_runs(key_ctx *c)
{
    int rc = IA_OK;
    ia_qsort(c->v, c->n, sizeof *c->v, cmp_rec);
    for (size_t i = 0; i < c->n && rc == IA_OK;) {
        size_t j = i + 1;
        while (j < c->n && c->v[j].hash == c->v[i].hash)
            j++;
        for (size_t k = i + 1; k < j && rc == IA_OK; k++)
            if (strcmp(c->archives[c->v[k].archive],
                       c->archives[c->v[i].archive]) != 0)
                rc = repeated(c, &c->v[k], &c->v[i]);
        i = j;
    }
    return rc;
}

int ia_analyze_samples(ia_db *db, int64_t scan_id)
{
    key_ctx c = {.db = db, .scan_id = scan_id};
    int rc = ia_store_member_rows(db, scan_id, add_row, &c);
    if (rc == IA_OK && c.narchives > 1)
        rc = report_runs(&c);
    for (size_t i = 0; i < c.narchives; i++)
        free(c.archives[i]);
    free(c.archives);
    free(c.v);
    return rc;
}
