/*
 * Read each file once, into a buffer reused across files, and hash its
 * bytes on the way (SHA-256 through OpenSSL EVP; the digest is fetched
 * once per reader, the context reused). Opening never blocks: O_NONBLOCK
 * keeps a FIFO that replaced a file since the walk from hanging us, and
 * fstat on the opened descriptor decides what it really is.
 *
 * Only files the caller decodes are held whole (ia_reader_set_keep): the
 * first window is read, its first IA_READ_HEAD bytes decide, and any
 * other file is hashed through that window to its end, so a huge or
 * sparse file that is not an image costs one window of memory and time
 * in proportion to its size (its SHA-256 still finds its duplicates).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "imgaudit.h"
#include "core/core.h"
#include "read/read.h"

/* A buffer grown past this by one big file is released afterwards, so one
 * huge file does not pin memory for the rest of the scan. */
#define KEEP_BUFFER_BYTES (64u << 20)
/* Read before deciding; the rest of a file not kept streams through it. */
#define WINDOW_BYTES (1u << 20)

struct ia_reader {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
    uint8_t *buf;
    size_t cap;
    ia_read_keep_fn keep;
};

int ia_reader_new(ia_reader **out)
{
    ia_reader *r = calloc(1, sizeof *r);
    if (!r)
        return IA_ERR_NOMEM;
    *out = r;
    return IA_OK;
}

/* SHA-256 is set up at the first file hashed, not with the reader:
 * OpenSSL reads its configuration and loads its provider at the first
 * fetch (about 2 ms), which an unchanged rescan trusting mtimes never
 * needs. 0 when the digest could not be set up (out of memory). */
static int digest_ready(ia_reader *r)
{
    if (!r->md)
        r->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!r->ctx)
        r->ctx = EVP_MD_CTX_new();
    return r->md && r->ctx;
}

void ia_reader_free(ia_reader *r)
{
    if (!r)
        return;
    EVP_MD_CTX_free(r->ctx);
    EVP_MD_free(r->md);
    free(r->buf);
    free(r);
}

static int reserve(ia_reader *r, size_t need)
{
    if (r->cap > KEEP_BUFFER_BYTES && need <= KEEP_BUFFER_BYTES) {
        free(r->buf);
        r->buf = NULL;
        r->cap = 0;
    }
    if (need <= r->cap)
        return IA_OK;
    size_t cap = r->cap ? r->cap : 1u << 20;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *nb = realloc(r->buf, cap);
    if (!nb)
        return IA_ERR_NOMEM;
    r->buf = nb;
    r->cap = cap;
    return IA_OK;
}

/* The message of err in buf. glibc with _GNU_SOURCE has the GNU
 * strerror_r, which may return a static string and leave buf untouched. */
static const char *errstr(int err, char *buf, size_t cap)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(err, buf, cap);
#else
    if (strerror_r(err, buf, cap) != 0)
        ia_bprintf(buf, cap, "error %d", err);
    return buf;
#endif
}

static void open_failed(ia_file_result *res, int err)
{
    char buf[128];
    const char *msg = errstr(err, buf, sizeof buf);
    if (err == ENOENT)
        ia_result_status(res, IA_ST_UNREADABLE,
                         "vanished between walk and read");
    else if (err == ELOOP)
        ia_result_status(res, IA_ST_UNREADABLE,
                         "is a symlink (not followed)");
    else if (err == EXDEV)
        ia_result_status(res, IA_ST_UNREADABLE,
                         "path goes through a symlink (not followed)");
    else
        ia_result_status(res, IA_ST_UNREADABLE, "cannot open: %s", msg);
}

void ia_reader_set_keep(ia_reader *r, ia_read_keep_fn keep)
{
    r->keep = keep;
}

/* Where the bytes come from: a descriptor, or the walk's pull function
 * over an archive member's stream. pull returns bytes read, 0 at the
 * end, or -1 with res's status set. */
typedef struct source {
    ia_read_pull_fn pull;
    void *arg;
} source;

/* One read(), retried on EINTR: bytes read, 0 at EOF, -1 on failure
 * (the status set). */
static ssize_t read_fd(void *arg, uint8_t *dst, size_t n, ia_file_result *res)
{
    int fd = *(const int *)arg;
    for (;;) {
        ssize_t k = read(fd, dst, n);
        if (k >= 0)
            return k;
        if (errno != EINTR) {
            char buf[128];
            ia_result_status(res, IA_ST_UNREADABLE, "read failed: %s",
                             errstr(errno, buf, sizeof buf));
            return -1;
        }
    }
}

static int grew_past(uint64_t max, ia_file_result *res)
{
    ia_result_status(res, IA_ST_TOO_LARGE, "file grew past the %llu-byte limit",
                     (unsigned long long)max);
    return 1;
}

/* Reads into r->buf from *n on until EOF (*eof set) or until it holds
 * until bytes, growing the buffer: the file may have grown or shrunk
 * since fstat. A read that returns less than asked and ends at the size
 * fstat gave (expect) is the end too: a small file costs one read(), not
 * a second one to see 0 (a file that grew since fstat fills the read
 * past expect and is read on to its end). 0, 1 (final status set) or
 * -IA_ERR_NOMEM. */
static int read_until(ia_reader *r, const source *src, size_t until,
                      size_t expect,
                      uint64_t max, size_t *n, int *eof, ia_file_result *res)
{
    int rc = IA_OK;
    while (rc == IA_OK && *n < until) {
        if (*n == r->cap) {
            if (*n >= max)
                return grew_past(max, res);
            rc = reserve(r, r->cap + 1);
            continue;
        }
        size_t asked = (r->cap < until ? r->cap : until) - *n;
        ssize_t k = src->pull(src->arg, r->buf + *n, asked, res);
        if (k < 0)
            return 1;
        *n += (size_t)k;
        if (k == 0 || ((size_t)k < asked && *n == expect)) {
            *eof = 1;
            break;
        }
    }
    return rc == IA_OK ? 0 : -rc;
}

/* Hashes the n bytes in the buffer and the rest of the file, read into
 * the buffer after its first IA_READ_HEAD bytes, which stay as they are.
 * *total counts every byte. 0, or 1 with the final status set. */
static int hash_rest(ia_reader *r, const source *src, size_t n, uint64_t max,
                     uint64_t *total, int *hashed, ia_file_result *res)
{
    assert(r->cap >= WINDOW_BYTES && WINDOW_BYTES > 2 * IA_READ_HEAD);
    uint8_t *win = r->buf + IA_READ_HEAD;
    size_t cap = r->cap - IA_READ_HEAD;
    *hashed = EVP_DigestUpdate(r->ctx, r->buf, n) == 1;
    *total = n;
    for (;;) {
        ssize_t k = src->pull(src->arg, win, cap, res);
        if (k <= 0)
            return k < 0;
        *hashed = *hashed && EVP_DigestUpdate(r->ctx, win, (size_t)k) == 1;
        *total += (uint64_t)k;
        if (*total > max)
            return grew_past(max, res);
    }
}

/* The file's bytes: all of them in r->buf (*len == *total), or for a file
 * the reader does not keep its first IA_READ_HEAD (*len < *total), with
 * the SHA-256 of all of them in res (of those kept only when hash_kept).
 * 0, 1 (final status set) or -IA_ERR_NOMEM. */
static int read_bytes(ia_reader *r, const source *src, size_t expect,
                      uint64_t max, int hash_kept, size_t *len,
                      uint64_t *total, ia_file_result *res)
{
    size_t n = 0;
    int eof = 0, hashed = 0;
    unsigned int dlen = 0;
    int rc = reserve(r, expect < WINDOW_BYTES ? expect + 1 : WINDOW_BYTES);
    if (rc != IA_OK)
        return -rc;
    if (!digest_ready(r))
        return -IA_ERR_NOMEM;
    hashed = EVP_DigestInit_ex2(r->ctx, r->md, NULL) == 1;
    rc = read_until(r, src, WINDOW_BYTES, expect, max, &n, &eof, res);
    if (rc == 0 && !eof && r->keep &&
        !r->keep(r->buf, n < IA_READ_HEAD ? n : IA_READ_HEAD)) {
        rc = hash_rest(r, src, n, max, total, &hashed, res);
        *len = IA_READ_HEAD;
    } else if (rc == 0) {
        if (!eof && (rc = reserve(r, expect + 1)) != IA_OK)
            return -rc;
        if (!eof)
            rc = read_until(r, src, SIZE_MAX, expect, max, &n, &eof, res);
        hashed = hash_kept && hashed &&
                 EVP_DigestUpdate(r->ctx, r->buf, n) == 1;
        *len = n;
        *total = n;
    }
    if (rc == 0 && hashed &&
        EVP_DigestFinal_ex(r->ctx, res->sha256, &dlen) == 1 && dlen == 32)
        res->have_sha256 = 1;
    return rc;
}

int ia_read_file(ia_reader *r, int rootfd, const char *path, int follow,
                 uint64_t max_bytes, ia_file_result *res,
                 const uint8_t **data, size_t *len)
{
    struct stat st;
    size_t got = 0;
    uint64_t total = 0;
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    if (!max_bytes)
        max_bytes = IA_DEFAULT_MAX_FILE_BYTES;
    int fd = ia_open_beneath(rootfd, path, flags, follow);
    if (fd < 0) {
        open_failed(res, errno);
        return 1;
    }
    int rc = 1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ia_result_status(res, IA_ST_UNREADABLE,
                         "not a regular file when opened");
        goto out;
    }
    res->size = (int64_t)st.st_size;
    res->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
                    (int64_t)st.st_mtim.tv_nsec;
    if ((uint64_t)st.st_size > max_bytes) {
        ia_result_status(res, IA_ST_TOO_LARGE,
                         "file of %lld bytes over the %llu-byte limit",
                         (long long)st.st_size, (unsigned long long)max_bytes);
        goto out;
    }
    source src = {read_fd, &fd};
    rc = read_bytes(r, &src, (size_t)st.st_size, max_bytes, 1, &got, &total,
                    res);
    if (rc != 0)
        goto out;
    res->size = (int64_t)total;
    if (total == 0) {
        ia_result_status(res, IA_ST_EMPTY, "empty file");
        rc = 1;
        goto out;
    }
    *data = r->buf;
    *len = got;
out:
    close(fd);
    return rc;
}

int ia_read_pull(ia_reader *r, ia_read_pull_fn pull, void *arg,
                 uint64_t expect, uint64_t max_bytes, ia_file_result *res,
                 const uint8_t **data, size_t *len)
{
    source src = {pull, arg};
    size_t got = 0;
    uint64_t total = 0;
    if (!max_bytes)
        max_bytes = IA_DEFAULT_MAX_FILE_BYTES;
    if (expect > max_bytes)
        expect = max_bytes;
    int rc = read_bytes(r, &src, (size_t)expect, max_bytes, 0, &got, &total,
                        res);
    if (rc != 0)
        return rc;
    res->size = (int64_t)total;
    *data = r->buf;
    *len = got;
    return 0;
}

int ia_read_member(ia_reader *r, const ia_member *m, ia_file_result *res,
                   const uint8_t **data, size_t *len)
{
    unsigned int dlen = 0;
    res->size = m->size;
    res->mtime_ns = m->mtime_ns;
    if (m->have_sha256) {
        memcpy(res->sha256, m->sha256, sizeof res->sha256);
        res->have_sha256 = 1;
    }
    if (m->status != IA_ST_OK) {
        ia_result_status(res, m->status, "%s", m->message);
        return 1;
    }
    if (m->size == 0) {
        ia_result_status(res, IA_ST_EMPTY, "empty file");
        return 1;
    }
    if (!m->have_sha256 && !digest_ready(r))
        return -IA_ERR_NOMEM;
    if (!m->have_sha256 &&
        EVP_DigestInit_ex2(r->ctx, r->md, NULL) == 1 &&
        EVP_DigestUpdate(r->ctx, m->data, m->len) == 1 &&
        EVP_DigestFinal_ex(r->ctx, res->sha256, &dlen) == 1 && dlen == 32)
        res->have_sha256 = 1;
    *data = m->data;
    *len = m->len;
    return 0;
}
