/*
 * Fuzz target: the CSV manifest reader (src/walk/manifest.c, behind
 * ia_walk_open with --manifest). The reader takes a file name, so each
 * input is written to a file in a private temporary folder, which is also
 * the dataset root; rows are then read to the end as the scan reads them.
 *
 * Besides crashes, leaks and sanitizer reports, the checks below are the
 * reader's contract: rows come back sorted by path, and unless
 * allow_outside is set no row that will be opened names a path outside
 * the root (no absolute path, no ".." component, fullpath = root + "/" +
 * relpath). Bits of the input length pick allow_outside and
 * follow_symlinks, so both modes are fuzzed without spending input bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "fuzz.h"
#include "imgaudit.h"
#include "walk/source.h"

static char dir[64];
static int rootfd = -1;    /* dir, the root rows are looked at beneath */
static char csv[96];
static char *prev;

void ia_fuzz_cleanup(void)
{
    if (rootfd >= 0)
        close(rootfd);
    rootfd = -1;
    if (csv[0])
        unlink(csv);
    if (dir[0])
        rmdir(dir);
    dir[0] = csv[0] = '\0';
}

static void setup(void)
{
    if (dir[0])
        return;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/ia-fuzz-manifest-XXXXXX", tmp);
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    FUZZ_CHECK(rootfd >= 0);
    snprintf(csv, sizeof csv, "%s/m.csv", dir);
    /* libFuzzer never calls ia_fuzz_cleanup; it does exit() normally. */
    atexit(ia_fuzz_cleanup);
}

static void write_input(const uint8_t *data, size_t size)
{
    int fd = open(csv, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    while (size > 0) {
        ssize_t k = write(fd, data, size);
        if (k < 0 && errno == EINTR)
            continue;
        FUZZ_CHECK(k > 0);
        data += k;
        size -= (size_t)k;
    }
    FUZZ_CHECK(close(fd) == 0);
}

static int has_dotdot(const char *p)
{
    for (const char *c = p; (c = strstr(c, "..")) != NULL; c += 2)
        if ((c == p || c[-1] == '/') && (c[2] == '/' || c[2] == '\0'))
            return 1;
    return 0;
}

/* Rows the scan will open (or stat) must stay under the root. */
static int opened(int kind)
{
    return kind == IA_ENT_FILE || kind == IA_ENT_SPECIAL ||
           kind == IA_ENT_MISSING || kind == IA_ENT_SYMLINK_SKIPPED ||
           kind == IA_ENT_SYMLINK_BROKEN || kind == IA_ENT_SYMLINK_LOOP;
}

static void check_entry(const ia_entry *e, int allow_outside)
{
    size_t dl = strlen(dir);
    FUZZ_CHECK(e->relpath && e->fullpath);
    FUZZ_CHECK(memchr(e->detail, '\0', sizeof e->detail) != NULL);
    FUZZ_CHECK(!prev || strcmp(prev, e->relpath) <= 0);
    FUZZ_CHECK((e->label == NULL) == (e->outside_class != 0));
    if (e->kind == IA_ENT_OUTSIDE_ROOT)
        FUZZ_CHECK(!allow_outside);
    if (!opened(e->kind) || (allow_outside && e->relpath[0] == '/'))
        return;
    FUZZ_CHECK(e->relpath[0] != '/' && e->relpath[0] != '\0');
    FUZZ_CHECK(!has_dotdot(e->relpath));
    FUZZ_CHECK(strstr(e->relpath, "//") == NULL);
    FUZZ_CHECK(strncmp(e->fullpath, dir, dl) == 0 && e->fullpath[dl] == '/');
    FUZZ_CHECK(strcmp(e->fullpath + dl + 1, e->relpath) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int allow_outside = (int)(size & 1), follow = (int)((size >> 1) & 1);
    ia_source m = {NULL, NULL};
    char err[512] = "";
    setup();
    write_input(data, size);
    int rc = ia_manifest_open(csv, dir, rootfd, follow, allow_outside, &m,
                              err, sizeof err);
    FUZZ_CHECK(rc == IA_OK || rc == IA_ERR_MANIFEST);
    if (rc != IA_OK) {
        FUZZ_CHECK(err[0] != '\0' && m.self == NULL);
        return 0;
    }
    ia_entry *e = NULL;
    while ((rc = m.ops->next(m.self, &e)) == 1) {
        check_entry(e, allow_outside);
        free(prev);
        prev = e->relpath;
        e->relpath = NULL;
        ia_entry_free(e);
    }
    FUZZ_CHECK(rc == 0);
    free(prev);
    prev = NULL;
    m.ops->close(m.self);
    return 0;
}
