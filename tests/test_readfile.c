/*
 * The reader: SHA-256 of the bytes, statuses for empty, vanished,
 * symlinked, special and oversized files, no blocking on a FIFO, and the
 * read() calls a file costs (one for a small file; short reads and
 * growth since fstat handled), counted and steered through the linker's
 * --wrap=read (tests/meson.build).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "imgaudit.h"
#include "read/read.h"

static char dir[64];

#ifdef IA_WRAP_READ
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);
static unsigned long read_calls;
static size_t read_chunk;       /* > 0: no read returns more than this */
static const char *grow_path;   /* grows by GROW_BYTES at the next read */
#define GROW_BYTES 100

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
    read_calls++;
    if (grow_path) {
        FILE *f = fopen(grow_path, "ab");
        assert_non_null(f);
        for (int i = 0; i < GROW_BYTES; i++)
            fputc('g', f);
        fclose(f);
        grow_path = NULL;
    }
    if (read_chunk && n > read_chunk)
        n = read_chunk;
    return __real_read(fd, buf, n);
}
#endif

static int setup(void **st)
{
    (void)st;
    strcpy(dir, "/tmp/ia_readfile_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void write_file(const char *name, const void *data, size_t n)
{
    char p[256];
    path_of(name, p, sizeof p);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static int read_one(const char *name, int follow, uint64_t max,
                    ia_file_result *res, size_t *len)
{
    ia_reader *r = NULL;
    const uint8_t *data = NULL;
    char p[256];
    path_of(name, p, sizeof p);
    assert_int_equal(ia_reader_new(&r), IA_OK);
    ia_result_reset(res);
    *len = 0;
    int rc = ia_read_file(r, AT_FDCWD, p, follow, max, res, &data, len);
    ia_reader_free(r);
    return rc;
}

static void test_sha256(void **st)
{
    (void)st;
    ia_file_result res;
    size_t len;
    char hex[65];
    write_file("abc", "abc", 3);
    assert_int_equal(read_one("abc", 0, 0, &res, &len), 0);
    assert_int_equal(len, 3);
    assert_int_equal(res.size, 3);
    assert_true(res.mtime_ns > 0);
    assert_true(res.have_sha256);
    ia_hex(res.sha256, 32, hex);
    /* FIPS 180-2 example */
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
}

static void test_big_and_reuse(void **st)
{
    (void)st;
    size_t n = 3u << 20;
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 7);
    write_file("big", buf, n);
    ia_reader *r = NULL;
    ia_file_result res;
    const uint8_t *data = NULL;
    size_t len = 0;
    char p[256];
    path_of("big", p, sizeof p);
    assert_int_equal(ia_reader_new(&r), IA_OK);
    for (int k = 0; k < 2; k++) {
        ia_result_reset(&res);
        assert_int_equal(ia_read_file(r, AT_FDCWD, p, 0, 0, &res, &data,
                                      &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(data, buf, n);
    }
    ia_result_reset(&res);
    assert_int_equal(ia_read_file(r, AT_FDCWD, p, 0, n - 1, &res, &data,
                                  &len), 1);
    assert_int_equal(res.status, IA_ST_TOO_LARGE);
    ia_reader_free(r);
    free(buf);
}

static size_t keep_seen;

static int keep_none(const uint8_t *head, size_t len)
{
    (void)head;
    keep_seen = len;
    return 0;
}

/* A file the keep function turns down is hashed through a window: only
 * its head comes back, with the size and SHA-256 of all its bytes. */
static void test_not_kept(void **st)
{
    (void)st;
    size_t n = (5u << 20) + 123;
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 13 + (i >> 12));
    write_file("junk", buf, n);
    ia_reader *r = NULL;
    ia_file_result whole, part;
    const uint8_t *data = NULL;
    size_t len = 0;
    char p[256];
    path_of("junk", p, sizeof p);
    assert_int_equal(ia_reader_new(&r), IA_OK);
    ia_result_reset(&whole);
    assert_int_equal(ia_read_file(r, AT_FDCWD, p, 0, 0, &whole, &data, &len), 0);
    assert_int_equal(len, n);
    ia_reader_set_keep(r, keep_none);
    ia_result_reset(&part);
    assert_int_equal(ia_read_file(r, AT_FDCWD, p, 0, 0, &part, &data, &len), 0);
    assert_int_equal(keep_seen, IA_READ_HEAD);
    assert_int_equal(len, IA_READ_HEAD);
    assert_memory_equal(data, buf, IA_READ_HEAD);
    assert_int_equal(part.size, (int64_t)n);
    assert_true(part.have_sha256 && whole.have_sha256);
    assert_memory_equal(part.sha256, whole.sha256, 32);
    /* over the limit: too_large as before, never read */
    ia_result_reset(&part);
    assert_int_equal(ia_read_file(r, AT_FDCWD, p, 0, n - 1, &part, &data, &len), 1);
    assert_int_equal(part.status, IA_ST_TOO_LARGE);
    /* a file within the first window is read whole without asking */
    keep_seen = 0;
    write_file("small", buf, 1000);
    path_of("small", p, sizeof p);
    ia_result_reset(&part);
    assert_int_equal(ia_read_file(r, AT_FDCWD, p, 0, 0, &part, &data, &len), 0);
    assert_int_equal(len, 1000);
    assert_int_equal(keep_seen, 0);
    ia_reader_free(r);
    free(buf);
}

#ifdef IA_WRAP_READ
/* Reads name with a fresh reader: its length, the read() calls it took,
 * and its bytes compared with want[0..want_len). */
static unsigned long reads_of(const char *name, const void *want,
                              size_t want_len, int64_t *size)
{
    ia_reader *r = NULL;
    ia_file_result res;
    const uint8_t *data = NULL;
    size_t len = 0;
    char p[256];
    path_of(name, p, sizeof p);
    assert_int_equal(ia_reader_new(&r), IA_OK);
    ia_result_reset(&res);
    unsigned long before = read_calls;
    assert_int_equal(ia_read_file(r, AT_FDCWD, p, 0, 0, &res, &data, &len),
                     0);
    unsigned long n = read_calls - before;
    assert_int_equal(len, (size_t)res.size);
    assert_true(len >= want_len);
    assert_memory_equal(data, want, want_len);
    *size = res.size;
    ia_reader_free(r);
    return n;
}
#endif

/* A small file costs one read(): the short read that ends at fstat's
 * size is its end. Reads cut short before that go on; a file that grew
 * since fstat is read to its new end. */
static void test_read_calls(void **st)
{
    (void)st;
#ifdef IA_WRAP_READ
    unsigned char buf[5000];
    int64_t size = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 31);
    write_file("five", buf, sizeof buf);
    assert_int_equal(reads_of("five", buf, sizeof buf, &size), 1);
    assert_int_equal(size, 5000);

    read_chunk = 1000;
    assert_int_equal(reads_of("five", buf, sizeof buf, &size), 5);
    assert_int_equal(size, 5000);
    read_chunk = 0;

    char p[256];
    path_of("five", p, sizeof p);
    grow_path = p;
    assert_int_equal(reads_of("five", buf, sizeof buf, &size), 2);
    assert_int_equal(size, 5000 + GROW_BYTES);
#else
    skip();
#endif
}

static void test_statuses(void **st)
{
    (void)st;
    ia_file_result res;
    size_t len;
    char p[256], target[256];
    write_file("empty", "", 0);
    assert_int_equal(read_one("empty", 0, 0, &res, &len), 1);
    assert_int_equal(res.status, IA_ST_EMPTY);
    assert_true(res.have_sha256); /* the empty string has a digest too */

    assert_int_equal(read_one("missing", 0, 0, &res, &len), 1);
    assert_int_equal(res.status, IA_ST_UNREADABLE);
    assert_non_null(strstr(res.message, "vanished"));

    path_of("abc", target, sizeof target);
    write_file("abc", "abc", 3);
    path_of("link", p, sizeof p);
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(read_one("link", 0, 0, &res, &len), 1);
    assert_int_equal(res.status, IA_ST_UNREADABLE);
    assert_non_null(strstr(res.message, "symlink"));
    assert_int_equal(read_one("link", 1, 0, &res, &len), 0);
    assert_int_equal(len, 3);

    path_of("fifo", p, sizeof p);
    assert_int_equal(mkfifo(p, 0600), 0);
    /* Would block forever without O_NONBLOCK: no writer ever comes. */
    assert_int_equal(read_one("fifo", 0, 0, &res, &len), 1);
    assert_int_equal(res.status, IA_ST_UNREADABLE);
    assert_non_null(strstr(res.message, "not a regular file"));

    path_of("adir", p, sizeof p);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(read_one("adir", 0, 0, &res, &len), 1);
    assert_int_equal(res.status, IA_ST_UNREADABLE);
}

/* A stream pulled in pieces of at most `step` bytes. */
typedef struct stream {
    const uint8_t *p;
    size_t n, at, step;
} stream;

static ssize_t pull(void *arg, uint8_t *dst, size_t n, ia_file_result *res)
{
    stream *s = arg;
    (void)res;
    size_t k = s->n - s->at < n ? s->n - s->at : n;
    k = k < s->step ? k : s->step;
    memcpy(dst, s->p + s->at, k);
    s->at += k;
    return (ssize_t)k;
}

/* Archive members: pulled by the walk (held whole without a hash, or
 * only their head with the SHA-256 of all), then taken by a worker,
 * which hashes what the walk did not: the SHA-256 and size of a file. */
static void test_member(void **st)
{
    (void)st;
    size_t n = (3u << 20) + 77;
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 7 + (i >> 10));
    write_file("member", buf, n);
    ia_reader *walk = NULL, *worker = NULL;
    ia_file_result file, res;
    const uint8_t *data = NULL;
    size_t len = 0;
    char p[256];
    path_of("member", p, sizeof p);
    assert_int_equal(ia_reader_new(&walk), IA_OK);
    assert_int_equal(ia_reader_new(&worker), IA_OK);
    ia_result_reset(&file);
    assert_int_equal(ia_read_file(worker, AT_FDCWD, p, 0, 0, &file, &data,
                                  &len), 0);
    for (int keep = 1; keep >= 0; keep--) {
        stream s = {buf, n, 0, 5000};
        ia_member m = {.mtime_ns = 42, .status = IA_ST_OK};
        ia_reader_set_keep(walk, keep ? NULL : keep_none);
        ia_result_reset(&res);
        assert_int_equal(ia_read_pull(walk, pull, &s, n, 0, &res, &data,
                                      &len), 0);
        assert_int_equal(res.size, (int64_t)n);
        /* held whole: the worker hashes it; else only the head travels */
        assert_int_equal(len, keep ? n : IA_READ_HEAD);
        assert_int_equal(res.have_sha256, !keep);
        m.data = malloc(len);
        assert_non_null(m.data);
        memcpy(m.data, data, len);
        m.len = len;
        m.size = res.size;
        m.have_sha256 = res.have_sha256;
        memcpy(m.sha256, res.sha256, 32);
        ia_result_reset(&res);
        assert_int_equal(ia_read_member(worker, &m, &res, &data, &len), 0);
        assert_true(data == m.data && len == m.len);
        assert_true(res.have_sha256);
        assert_memory_equal(res.sha256, file.sha256, 32);
        assert_int_equal(res.size, file.size);
        assert_int_equal(res.mtime_ns, 42);
        free(m.data);
    }
    /* a member over the limit while pulled is too_large */
    stream s = {buf, n, 0, 1 << 20};
    ia_result_reset(&res);
    assert_int_equal(ia_read_pull(walk, pull, &s, 0, n - 1, &res, &data,
                                  &len), 1);
    assert_int_equal(res.status, IA_ST_TOO_LARGE);
    /* a status the walk gave, and an empty member */
    ia_member bad = {.size = 9, .mtime_ns = -1, .status = IA_ST_UNREADABLE,
                     .message = "encrypted archive member: not decrypted"};
    ia_result_reset(&res);
    assert_int_equal(ia_read_member(worker, &bad, &res, &data, &len), 1);
    assert_int_equal(res.status, IA_ST_UNREADABLE);
    assert_string_equal(res.message, bad.message);
    ia_member empty = {.data = buf, .status = IA_ST_OK};
    ia_result_reset(&res);
    assert_int_equal(ia_read_member(worker, &empty, &res, &data, &len), 1);
    assert_int_equal(res.status, IA_ST_EMPTY);
    ia_reader_free(walk);
    ia_reader_free(worker);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_big_and_reuse),
        cmocka_unit_test(test_not_kept),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_read_calls),
        cmocka_unit_test(test_member),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
