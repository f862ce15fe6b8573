/*
 * Fuzz target: the archive producer of the walk (src/walk/archive.c) on
 * any bytes, as a tar, tar.gz, tar.zst or zip: each input goes to a
 * memfd the producer reads as it reads an archive file, its entries are
 * drained as the scan drains them, and each member's bytes are taken by
 * a worker's reader (ia_read_member) as the scan takes them.
 *
 * Besides crashes, leaks and sanitizer reports, the checks below are the
 * producer's contract: every entry is inside the archive (its path
 * ARCHIVE/MEMBER with no empty, "." or ".." component, never absolute),
 * names its archive, and a note has a code and a severity; a member
 * holds at most the member limit, its head at least when hashed by the
 * walk, and the file rows never pass the entry limit. The limits are
 * lowered so that mutated headers stay cheap. Bit 0 of the input length
 * picks --label-field, so both label rules are fuzzed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/core.h"
#include "fuzz.h"
#include "imgaudit.h"
#include "read/read.h"
#include "walk/source.h"

#define ARCHIVE "in/a.tar"
#define MAX_MEMBERS 512
#define MAX_BYTES ((uint64_t)4 << 20)

static ia_reader *walker_reader, *worker_reader;

void ia_fuzz_cleanup(void)
{
    ia_reader_free(walker_reader);
    ia_reader_free(worker_reader);
    walker_reader = worker_reader = NULL;
}

static int keep_images(const uint8_t *head, size_t len)
{
    return (len >= 2 && head[0] == 0xff && head[1] == 0xd8) ||
           (len >= 4 && memcmp(head, "\x89PNG", 4) == 0);
}

static int image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".jpg") == 0 || strcmp(dot, ".png") == 0);
}

static int memfd_of(const uint8_t *data, size_t size)
{
    int fd = memfd_create("ia-fuzz-archive", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    while (size > 0) {
        ssize_t k = write(fd, data, size);
        FUZZ_CHECK(k > 0);
        data += k;
        size -= (size_t)k;
    }
    FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
    return fd;
}

/* No empty, "." or ".." component, not absolute. */
static int clean_path(const char *p)
{
    if (!*p || *p == '/')
        return 0;
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') ||
            (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        c += n;
        if (*c == '/' && !*++c)
            return 0;
    }
    return 1;
}

static void check_member(const ia_entry *e)
{
    const ia_member *m = e->member;
    ia_file_result res;
    const uint8_t *data = NULL;
    size_t len = 0;
    FUZZ_CHECK(m->status >= 0 && m->status < IA_ST_COUNT);
    FUZZ_CHECK(memchr(m->message, '\0', sizeof m->message) != NULL);
    if (m->status == IA_ST_OK) {
        FUZZ_CHECK(m->data != NULL && m->size >= 0);
        FUZZ_CHECK((uint64_t)m->size <= MAX_BYTES);
        FUZZ_CHECK(m->len == (size_t)m->size ||
                   (m->have_sha256 && m->len == IA_READ_HEAD));
    }
    ia_result_reset(&res);
    int rc = ia_read_member(worker_reader, m, &res, &data, &len);
    FUZZ_CHECK(rc == 0 || rc == 1);
    FUZZ_CHECK(rc == 1 || (data == m->data && res.have_sha256));
}

static void check_entry(const ia_entry *e, uint64_t *rows)
{
    size_t al = strlen(ARCHIVE);
    FUZZ_CHECK(e->relpath && e->archive && strcmp(e->archive, ARCHIVE) == 0);
    FUZZ_CHECK(memchr(e->detail, '\0', sizeof e->detail) != NULL);
    FUZZ_CHECK((e->label == NULL) == (e->outside_class != 0));
    FUZZ_CHECK(strncmp(e->relpath, ARCHIVE, al) == 0);
    FUZZ_CHECK(e->relpath[al] == '\0' ||
               (e->relpath[al] == '/' && clean_path(e->relpath + al + 1)));
    if (e->kind == IA_ENT_NOTE) {
        FUZZ_CHECK(e->note_code && *e->note_code);
        FUZZ_CHECK(e->note_severity >= IA_SEV_INFO &&
                   e->note_severity <= IA_SEV_ERROR);
        return;
    }
    FUZZ_CHECK(e->kind == IA_ENT_FILE || e->kind == IA_ENT_SPECIAL);
    FUZZ_CHECK(e->relpath[al] == '/');
    FUZZ_CHECK(++*rows <= MAX_MEMBERS);
    FUZZ_CHECK((e->kind == IA_ENT_FILE) == (e->member != NULL));
    if (e->member)
        check_member(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ia_entry at = {.kind = IA_ENT_FILE, .relpath = (char[]){ARCHIVE},
                   .split = (char[]){"train"}, .outside_class = 1};
    ia_source src = {NULL, NULL};
    uint64_t rows = 0;
    if (!walker_reader) {
        FUZZ_CHECK(ia_reader_new(&walker_reader) == IA_OK);
        FUZZ_CHECK(ia_reader_new(&worker_reader) == IA_OK);
        ia_reader_set_keep(walker_reader, keep_images);
        atexit(ia_fuzz_cleanup);
    }
    ia_archive_config cfg = {
        .label_field = size & 1 ? "label" : NULL,
        .max_members = MAX_MEMBERS, .max_member_bytes = MAX_BYTES,
        .is_image = image_name, .reader = walker_reader,
    };
    FUZZ_CHECK(ia_archive_open(memfd_of(data, size), "/root", &at, &cfg,
                               &src) == IA_OK);
    ia_entry *e = NULL;
    int rc;
    while ((rc = src.ops->next(src.self, &e)) == 1) {
        check_entry(e, &rows);
        ia_entry_free(e);
    }
    FUZZ_CHECK(rc == 0);
    src.ops->close(src.self);
    return 0;
}
