/*
 * Reads a file once into a reused buffer and hashes its bytes with
 * SHA-256 (OpenSSL EVP; the digest is fetched once per reader). A file
 * the caller will not decode is hashed through a fixed window instead of
 * being held whole (ia_reader_set_keep).
 */
#ifndef IA_READFILE_H
#define IA_READFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct ia_reader ia_reader;

/* The bytes that decide whether a file is held whole; sniffing needs far
 * fewer (sniff.c). */
#define IA_READ_HEAD 4096u

/* Says from a file's first bytes (at most IA_READ_HEAD) whether the
 * caller needs the whole file in memory. */
typedef int (*ia_read_keep_fn)(const uint8_t *head, size_t len);

int ia_reader_new(ia_reader **out);     /* 0, IA_ERR_NOMEM */
void ia_reader_free(ia_reader *r);
/* keep NULL (the default): every file is held whole. */
void ia_reader_set_keep(ia_reader *r, ia_read_keep_fn keep);

/* Reads path, relative to the folder rootfd (never blocking on FIFOs;
 * unless follow, never going through a symlink nor out of rootfd:
 * ia_open_beneath) up to max_bytes. Sets res->size, mtime_ns, sha256 (of
 * all the bytes). Returns 0 with data and len set when there are bytes to
 * sniff: the whole file, or when the keep function said no, its first
 * IA_READ_HEAD bytes (len < res->size); 1 when the file already has its
 * final status (empty, unreadable, too large); -IA_ERR_NOMEM when the
 * tool itself ran out of memory. */
int ia_read_file(ia_reader *r, int rootfd, const char *path, int follow,
                 uint64_t max_bytes, ia_file_result *res,
                 const uint8_t **data, size_t *len);

#endif
