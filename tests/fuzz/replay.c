/*
 * main() for the fuzz targets when they are built without libFuzzer: runs
 * the target once on every file named on the command line, descending
 * into folders (sorted, so output is stable), the way libFuzzer replays a
 * corpus. The normal test suite runs it over fixtures/ and
 * tests/fuzz/crashes/, so every input that once crashed stays a test.
 * A crash aborts the run; otherwise it prints how many inputs it ran and
 * exits 0, or 1 when a path could not be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path, size_t *runs)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 1;
    if (!fp)
        goto out;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb)
                goto out;
            buf = nb;
            cap = ncap;
        }
        size_t k = fread(buf + len, 1, cap - len, fp);
        len += k;
        if (k == 0)
            break;
    }
    if (ferror(fp))
        goto out;
    LLVMFuzzerTestOneInput(buf, len);
    (*runs)++;
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "replay: cannot read %s\n", path);
    if (fp)
        fclose(fp);
    free(buf);
    return rc;
}

static int run_path(const char *path, size_t *runs);

static int run_dir(const char *path, size_t *runs)
{
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort);
    int rc = 0;
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s: %s\n", path,
                strerror(errno));
        return 1;
    }
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            size_t need = strlen(path) + strlen(name) + 2;
            char *child = malloc(need);
            if (!child) {
                rc = 1;
            } else {
                snprintf(child, need, "%s/%s", path, name);
                rc |= run_path(child, runs);
                free(child);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int run_path(const char *path, size_t *runs)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (S_ISDIR(st.st_mode))
        return run_dir(path, runs);
    if (S_ISREG(st.st_mode))
        return run_file(path, runs);
    return 0; /* symlinks and special files are not inputs */
}

int main(int argc, char **argv)
{
    size_t runs = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= run_path(argv[i], &runs);
    ia_fuzz_cleanup();
    printf("%s: %zu inputs replayed\n", argc > 0 ? argv[0] : "replay", runs);
    return rc;
}
