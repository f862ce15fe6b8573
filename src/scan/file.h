/*
 * The per-file work: a pure function of (worker state, entry) to a
 * result. Runs on worker threads; touches no shared state.
 */
#ifndef IA_SCANFILE_H
#define IA_SCANFILE_H

#include "decode/decode.h"
#include "core/core.h"
#include "measure/measure.h"

struct ia_reuse;

typedef struct ia_file_config {
    ia_limits limits;
    uint64_t max_file_bytes;
    /* The walk's root: entries are read by their relpath beneath it,
     * never through a symlink unless follow_symlinks (core/core.h). */
    int rootfd;
    int follow_symlinks;
    /* Incremental rescans (store/store.h): a read-only index of another
     * scan, or NULL. An image whose bytes were decoded there is not
     * decoded again (res->reuse_id names the row to copy); with
     * trust_mtime a file whose path, size and mtime match is not even
     * read. */
    const struct ia_reuse *reuse;
    int trust_mtime;
} ia_file_config;

typedef struct ia_worker ia_worker;

/* Whether a file whose first bytes are these is held whole to be decoded
 * (read/read.h); the walk holds archive members by the same rule. */
int ia_file_keep(const uint8_t *head, size_t len);

/* tables: the hash tables the scan's workers share (NULL: its own). 0 or
 * IA_ERR_NOMEM. */
int ia_worker_new(ia_worker **out, ia_hash_tables *tables);
void ia_worker_free(ia_worker *w);

/* Fills res for entry e. Returns 0, or IA_ERR_NOMEM when the tool (not
 * the file) failed. */
int ia_scan_file(ia_worker *w, const ia_file_config *cfg, const ia_entry *e,
                 ia_file_result *res);

#endif
