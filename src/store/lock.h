/*
 * The writer lock of a DB (docs/cli.md, "One writer at a time"): an
 * exclusive flock on the sidecar file DB.lock, taken by every writable
 * ia_db handle before it opens the DB and released when it closes, so a
 * second writer is turned away before it writes anything. Readers never
 * take it (WAL lets them read while a writer writes).
 */
#ifndef IA_STORE_LOCK_H
#define IA_STORE_LOCK_H

#include <stddef.h>

/* A held lock: the open lock file and its path. */
typedef struct ia_dblock {
    int fd;          /* -1: not held */
    char *path;      /* DB.lock, malloc'd */
} ia_dblock;

/* Takes the writer lock of the DB at db_path without waiting. IA_OK;
 * IA_ERR_BUSY when another handle (of any process) holds it, with
 * "(pid N)" of the holder in why when known; IA_ERR_DB or IA_ERR_NOMEM
 * when the lock file cannot be made. why (cap bytes) says what failed;
 * *lock is set only on success. */
int ia_dblock_take(const char *db_path, ia_dblock *lock, char *why,
                   size_t cap);

/* Removes the lock file and releases the lock; a lock not held is left
 * alone. */
void ia_dblock_release(ia_dblock *lock);

#endif
