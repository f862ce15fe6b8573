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
#include <sys/types.h>

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

/*
 * Archive members (walk/walk.h): the walk reads a member from the
 * archive's stream with ia_read_pull, keeping a copy of the bytes with
 * the entry (an ia_member, core/core.h), and a worker takes them with
 * ia_read_member: the same window, keep rule and SHA-256 as a file's.
 */

/* Pulls at most n bytes of the stream into dst: returns the bytes read,
 * 0 at its end, or -1 with res's status set. */
typedef ssize_t (*ia_read_pull_fn)(void *arg, uint8_t *dst, size_t n,
                                   ia_file_result *res);

/* Reads a stream of about expect bytes (a header's claim: a hint, not a
 * promise) up to max_bytes (0: IA_DEFAULT_MAX_FILE_BYTES) as ia_read_file
 * reads a file: returns 0 with res->size set and data/len the bytes held
 * (borrowed until the reader's next call): the whole stream, with no
 * SHA-256 (the worker hashes it: ia_read_member), or when the keep
 * function said no, its first IA_READ_HEAD bytes with res->sha256 of all
 * of them; 1 when the stream already has its final status (too large, a
 * failed pull); -IA_ERR_NOMEM. */
int ia_read_pull(ia_reader *r, ia_read_pull_fn pull, void *arg,
                 uint64_t expect, uint64_t max_bytes, ia_file_result *res,
                 const uint8_t **data, size_t *len);

/* A member's bytes as the walk held them: sets res->size, mtime_ns and
 * sha256 (hashing m->data unless the walk did), and returns 0 with
 * data/len (borrowed from m) to sniff, 1 when the member has its final
 * status (the walk's, or empty), or -IA_ERR_NOMEM. */
int ia_read_member(ia_reader *r, const ia_member *m, ia_file_result *res,
                   const uint8_t **data, size_t *len);

#endif
