/*
 * Tests of the walk and the CSV manifest: each test builds its own small
 * tree under one mkdtemp folder (removed at the end) and checks the exact
 * sequence of entries: order, kind, split, label, outside_class.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "imgaudit.h"
#include "walk/ahead.h"
#include "walk/walk.h"

typedef struct fixture {
    char tmp[64];
} fixture;

typedef struct expect {
    const char *rel;
    int kind;
    const char *split;
    const char *canon;
    const char *label;
    int outside;
    const char *detail_has; /* substring of detail, or NULL */
} expect;

typedef struct entries {
    ia_entry **e;
    size_t n, cap;
} entries;

/* ---- helpers ------------------------------------------------------------ */

static char *path_of(const char *base, const char *rel)
{
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", base, rel);
    return p;
}

static void make_parents(char *p)
{
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) != 0)
            assert_int_equal(errno, EEXIST);
        *s = '/';
    }
}

/* Creates base/rel (a file, or a folder when rel ends with '/'). */
static void mk(const char *base, const char *rel)
{
    char *p = path_of(base, rel);
    size_t n = strlen(p);
    make_parents(p);
    if (p[n - 1] == '/') {
        p[n - 1] = '\0';
        if (mkdir(p, 0755) != 0)
            assert_int_equal(errno, EEXIST);
    } else {
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
    }
    free(p);
}

static void mklink(const char *base, const char *rel, const char *target)
{
    char *p = path_of(base, rel);
    make_parents(p);
    assert_int_equal(symlink(target, p), 0);
    free(p);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *subdir(void **state, const char *name)
{
    const fixture *fx = *state;
    char *p = path_of(fx->tmp, name);
    assert_int_equal(mkdir(p, 0755), 0);
    return p;
}

static void entries_free(entries *es)
{
    for (size_t i = 0; i < es->n; i++)
        ia_entry_free(es->e[i]);
    free(es->e);
    memset(es, 0, sizeof *es);
}

static void walk_all(const ia_walk_options *opt, entries *es,
                     const char *layout)
{
    ia_walker *w = NULL;
    ia_entry *e = NULL;
    char err[256];
    int rc;
    memset(es, 0, sizeof *es);
    rc = ia_walk_open(opt, &w, err, sizeof err);
    if (rc != 0)
        print_error("ia_walk_open: %s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(ia_walk_layout(w), layout);
    while ((rc = ia_walk_next(w, &e)) == 1) {
        if (es->n == es->cap) {
            es->cap = es->cap ? es->cap * 2 : 64;
            es->e = realloc(es->e, es->cap * sizeof *es->e);
            assert_non_null(es->e);
        }
        es->e[es->n++] = e;
    }
    assert_int_equal(rc, 0);
    ia_walk_close(w);
}

static void assert_str_or_null(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

static void check(const entries *es, const expect *x, size_t nx)
{
    for (size_t i = 0; i < es->n && i < nx; i++) {
        const ia_entry *e = es->e[i];
        print_message("  [%zu] %s kind=%d detail=%s\n", i, e->relpath,
                      e->kind, e->detail);
        assert_string_equal(e->relpath, x[i].rel);
        assert_int_equal(e->kind, x[i].kind);
        assert_str_or_null(e->split, x[i].split);
        assert_str_or_null(e->split_canonical, x[i].canon);
        assert_str_or_null(e->label, x[i].label);
        assert_int_equal(e->outside_class, x[i].outside);
        if (x[i].detail_has && !strstr(e->detail, x[i].detail_has)) {
            print_error("detail '%s' lacks '%s'\n", e->detail,
                        x[i].detail_has);
            fail();
        }
    }
    assert_int_equal(es->n, nx);
}

#define CHECK(es, table) check(es, table, sizeof(table) / sizeof(table[0]))

/* ---- layouts ---------------------------------------------------------------- */

static void test_split_layout(void **state)
{
    char *root = subdir(state, "split");
    static const char *const files[] = {
        "README.txt", "train/cat/1.jpg", "train/cat/2.jpg",
        "train/cat/sub/z.jpg", "train/cat.txt", "train/dog/1.jpg",
        "train/stray.jpg", "validation/cat/5.png", "test/dog/3.jpg",
        "extras/x/y.jpg", "extras/z.jpg", "TESTING/a/b.jpg",
    };
    static const expect x[] = {
        {"README.txt", IA_ENT_FILE, NULL, NULL, NULL, 1, NULL},
        {"TESTING/a/b.jpg", IA_ENT_FILE, "TESTING", "test", "a", 0, NULL},
        {"extras/x/y.jpg", IA_ENT_FILE, "extras", NULL, "x", 0, NULL},
        {"extras/z.jpg", IA_ENT_FILE, "extras", NULL, NULL, 1, NULL},
        {"test/dog/3.jpg", IA_ENT_FILE, "test", "test", "dog", 0, NULL},
        {"train/cat/1.jpg", IA_ENT_FILE, "train", "train", "cat", 0, NULL},
        {"train/cat/2.jpg", IA_ENT_FILE, "train", "train", "cat", 0, NULL},
        {"train/cat/sub/z.jpg", IA_ENT_FILE, "train", "train", "cat", 0,
         NULL},
        {"train/cat.txt", IA_ENT_FILE, "train", "train", NULL, 1, NULL},
        {"train/dog/1.jpg", IA_ENT_FILE, "train", "train", "dog", 0, NULL},
        {"train/stray.jpg", IA_ENT_FILE, "train", "train", NULL, 1, NULL},
        {"validation/cat/5.png", IA_ENT_FILE, "validation", "val", "cat", 0,
         NULL},
    };
    ia_walk_options opt = {0};
    entries es;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        mk(root, files[i]);
    opt.root = root;
    walk_all(&opt, &es, "splits");
    CHECK(&es, x);
    /* a walked file is opened beneath the root by relpath: no fullpath */
    assert_null(es.e[5]->fullpath);
    entries_free(&es);
    free(root);
}

static void test_folder_layout(void **state)
{
    char *root = subdir(state, "folders");
    static const expect x[] = {
        {"a/1.jpg", IA_ENT_FILE, NULL, NULL, "a", 0, NULL},
        {"a/deep/er/2.jpg", IA_ENT_FILE, NULL, NULL, "a", 0, NULL},
        {"b/3.jpg", IA_ENT_FILE, NULL, NULL, "b", 0, NULL},
        /* an empty class folder: loaders count it (torchvision raises) */
        {"empty", IA_ENT_EMPTY_CLASS, NULL, NULL, "empty", 0,
         "ImageFolder raises"},
        {"root.jpg", IA_ENT_FILE, NULL, NULL, NULL, 1, NULL},
        {"train", IA_ENT_FILE, NULL, NULL, NULL, 1, NULL},
        {"trainer/4.jpg", IA_ENT_FILE, NULL, NULL, "trainer", 0, NULL},
    };
    ia_walk_options opt = {0};
    entries es;
    mk(root, "b/3.jpg");
    mk(root, "a/deep/er/2.jpg");
    mk(root, "a/1.jpg");
    mk(root, "root.jpg");
    mk(root, "train");      /* a file named like a split: not a layout */
    mk(root, "trainer/4.jpg");
    mk(root, "empty/");
    /* a root with a trailing slash walks the same */
    char *slashed = path_of(root, "");
    opt.root = slashed;
    walk_all(&opt, &es, "folders");
    CHECK(&es, x);
    entries_free(&es);
    free(slashed);
    free(root);
}

static void test_root_symlink_and_errors(void **state)
{
    const fixture *fx = *state;
    char *root = subdir(state, "rootreal");
    char *link = path_of(fx->tmp, "rootlink");
    char *file = path_of(fx->tmp, "plainfile");
    char *missing = path_of(fx->tmp, "nope");
    static const expect x[] = {
        {"c/1.jpg", IA_ENT_FILE, NULL, NULL, "c", 0, NULL},
    };
    ia_walk_options opt = {0};
    ia_walker *w = NULL;
    entries es;
    char err[256];
    mk(root, "c/1.jpg");
    assert_int_equal(symlink(root, link), 0);
    opt.root = link;
    walk_all(&opt, &es, "folders");
    CHECK(&es, x);
    entries_free(&es);

    opt.root = missing;
    assert_int_equal(ia_walk_open(&opt, &w, err, sizeof err), IA_ERR_IO);
    assert_null(w);
    assert_non_null(strstr(err, "No such file"));
    mk(fx->tmp, "plainfile");
    opt.root = file;
    assert_int_equal(ia_walk_open(&opt, &w, err, sizeof err), IA_ERR_IO);
    assert_non_null(strstr(err, "is not a folder"));
    assert_null(strchr(err, '\n'));
    opt.root = NULL;
    assert_int_equal(ia_walk_open(&opt, &w, NULL, 0), IA_ERR_IO);
    free(root);
    free(link);
    free(file);
    free(missing);
}

/* ---- special files and symlinks ------------------------------------------------ */

static void test_special_files(void **state)
{
    char *root = subdir(state, "special");
    char *fifo = path_of(root, "c/pipe");
    char *sock = path_of(root, "c/sock");
    struct sockaddr_un addr;
    static const expect x[] = {
        {"c/a.jpg", IA_ENT_FILE, NULL, NULL, "c", 0, NULL},
        {"c/pipe", IA_ENT_SPECIAL, NULL, NULL, "c", 0, "FIFO"},
        {"c/sock", IA_ENT_SPECIAL, NULL, NULL, "c", 0, "socket"},
        {"c/z.jpg", IA_ENT_FILE, NULL, NULL, "c", 0, NULL},
    };
    ia_walk_options opt = {0};
    entries es;
    int fd;
    mk(root, "c/a.jpg");
    mk(root, "c/z.jpg");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    assert_true(strlen(sock) < sizeof addr.sun_path);
    memcpy(addr.sun_path, sock, strlen(sock) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    opt.root = root;
    walk_all(&opt, &es, "folders"); /* would hang if the FIFO were opened */
    CHECK(&es, x);
    entries_free(&es);
    close(fd);
    free(fifo);
    free(sock);
    free(root);
}

static void test_symlinks(void **state)
{
    char *root = subdir(state, "links");
    static const expect nofollow[] = {
        {"c/dangling", IA_ENT_SYMLINK_SKIPPED, NULL, NULL, "c", 0,
         "-> nowhere"},
        {"c/dirlink", IA_ENT_SYMLINK_SKIPPED, NULL, NULL, "c", 0, "-> ../d"},
        {"c/dirlink2", IA_ENT_SYMLINK_SKIPPED, NULL, NULL, "c", 0, "../d"},
        {"c/link.jpg", IA_ENT_SYMLINK_SKIPPED, NULL, NULL, "c", 0,
         "real.jpg"},
        {"c/real.jpg", IA_ENT_FILE, NULL, NULL, "c", 0, NULL},
        {"d/x.jpg", IA_ENT_FILE, NULL, NULL, "d", 0, NULL},
    };
    static const expect follow[] = {
        {"c/dangling", IA_ENT_SYMLINK_BROKEN, NULL, NULL, "c", 0, "nowhere"},
        {"c/dirlink/x.jpg", IA_ENT_FILE, NULL, NULL, "c", 0, NULL},
        {"c/dirlink2", IA_ENT_SYMLINK_LOOP, NULL, NULL, "c", 0,
         "already walked"},
        {"c/link.jpg", IA_ENT_FILE, NULL, NULL, "c", 0, NULL},
        {"c/real.jpg", IA_ENT_FILE, NULL, NULL, "c", 0, NULL},
        {"d/x.jpg", IA_ENT_FILE, NULL, NULL, "d", 0, NULL},
    };
    ia_walk_options opt = {0};
    entries es;
    mk(root, "c/real.jpg");
    mk(root, "d/x.jpg");
    mklink(root, "c/link.jpg", "real.jpg");
    mklink(root, "c/dirlink", "../d");
    mklink(root, "c/dirlink2", "../d");
    mklink(root, "c/dangling", "nowhere");
    opt.root = root;
    walk_all(&opt, &es, "folders");
    CHECK(&es, nofollow);
    entries_free(&es);
    opt.follow_symlinks = 1;
    walk_all(&opt, &es, "folders");
    CHECK(&es, follow);
    entries_free(&es);
    free(root);
}

static void test_symlink_loops(void **state)
{
    char *root = subdir(state, "loops");
    static const expect nofollow[] = {
        {"a/f.jpg", IA_ENT_FILE, NULL, NULL, "a", 0, NULL},
        {"a/loop", IA_ENT_SYMLINK_SKIPPED, NULL, NULL, "a", 0, "-> .."},
        {"a/self", IA_ENT_SYMLINK_SKIPPED, NULL, NULL, "a", 0, "-> ."},
        {"b/x", IA_ENT_SYMLINK_SKIPPED, NULL, NULL, "b", 0, "-> y"},
        {"b/y", IA_ENT_SYMLINK_SKIPPED, NULL, NULL, "b", 0, "-> x"},
    };
    static const expect follow[] = {
        {"a/f.jpg", IA_ENT_FILE, NULL, NULL, "a", 0, NULL},
        {"a/loop", IA_ENT_SYMLINK_LOOP, NULL, NULL, "a", 0,
         "ancestor folder '.'"},
        {"a/self", IA_ENT_SYMLINK_LOOP, NULL, NULL, "a", 0,
         "ancestor folder 'a'"},
        {"b/x", IA_ENT_SYMLINK_LOOP, NULL, NULL, "b", 0, "chain"},
        {"b/y", IA_ENT_SYMLINK_LOOP, NULL, NULL, "b", 0, "chain"},
    };
    ia_walk_options opt = {0};
    entries es;
    mk(root, "a/f.jpg");
    mklink(root, "a/loop", "..");
    mklink(root, "a/self", ".");
    mklink(root, "b/x", "y");
    mklink(root, "b/y", "x");
    opt.root = root;
    walk_all(&opt, &es, "folders");
    CHECK(&es, nofollow);
    entries_free(&es);
    opt.follow_symlinks = 1;
    walk_all(&opt, &es, "folders");
    CHECK(&es, follow);
    entries_free(&es);
    free(root);
}

static void test_junk_dirs(void **state)
{
    char *root = subdir(state, "junk");
    static const expect x[] = {
        {"__MACOSX", IA_ENT_JUNK_DIR, NULL, NULL, NULL, 1, "macOS"},
        {"__MACOSX/cat/._a.jpg", IA_ENT_FILE, NULL, NULL, "__MACOSX", 0,
         NULL},
        {"cat/.ipynb_checkpoints", IA_ENT_JUNK_DIR, NULL, NULL, "cat", 0,
         "ImageFolder"},
        {"cat/.ipynb_checkpoints/a-checkpoint.jpg", IA_ENT_FILE, NULL, NULL,
         "cat", 0, NULL},
        {"cat/a.jpg", IA_ENT_FILE, NULL, NULL, "cat", 0, NULL},
    };
    ia_walk_options opt = {0};
    entries es;
    mk(root, "cat/a.jpg");
    mk(root, "cat/.ipynb_checkpoints/a-checkpoint.jpg");
    mk(root, "__MACOSX/cat/._a.jpg");
    opt.root = root;
    walk_all(&opt, &es, "folders");
    CHECK(&es, x);
    entries_free(&es);
    free(root);
}

/* A folder that goes away (or is replaced) between its JUNK_DIR entry and
 * its listing becomes DIR_UNREADABLE; works as root too, unlike chmod. */
static void test_unreadable_dir(void **state)
{
    char *root = subdir(state, "unreadable");
    char *junk = path_of(root, "c/__MACOSX");
    char *moved = path_of(root, "moved");
    ia_walk_options opt = {0};
    ia_walker *w = NULL;
    ia_entry *e = NULL;
    mk(root, "c/__MACOSX/x.jpg");
    mk(root, "c/z.jpg");
    opt.root = root;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(ia_walk_open(&opt, &w, NULL, 0), 0);
        assert_int_equal(ia_walk_next(w, &e), 1);
        assert_int_equal(e->kind, IA_ENT_JUNK_DIR);
        ia_entry_free(e);
        assert_int_equal(rename(junk, moved), 0);
        if (round == 1)
            assert_int_equal(mkdir(junk, 0755), 0); /* another folder */
        assert_int_equal(ia_walk_next(w, &e), 1);
        assert_string_equal(e->relpath, "c/__MACOSX");
        assert_int_equal(e->kind, IA_ENT_DIR_UNREADABLE);
        assert_string_equal(e->label, "c");
        assert_non_null(strstr(e->detail, round ? "replaced"
                                                : "No such file"));
        ia_entry_free(e);
        assert_int_equal(ia_walk_next(w, &e), 1);
        assert_string_equal(e->relpath, "c/z.jpg");
        ia_entry_free(e);
        assert_int_equal(ia_walk_next(w, &e), 0);
        ia_walk_close(w);
        if (round == 1)
            assert_int_equal(rmdir(junk), 0);
        assert_int_equal(rename(moved, junk), 0);
    }
    if (geteuid() == 0) {
        print_message("skip: chmod 000 check (running as root)\n");
    } else {
        char *locked = path_of(root, "c/locked");
        entries es;
        mk(root, "c/locked/");
        assert_int_equal(chmod(locked, 0), 0);
        walk_all(&opt, &es, "folders");
        assert_int_equal(es.n, 4);
        assert_string_equal(es.e[2]->relpath, "c/locked");
        assert_int_equal(es.e[2]->kind, IA_ENT_DIR_UNREADABLE);
        assert_non_null(strstr(es.e[2]->detail, "Permission denied"));
        entries_free(&es);
        assert_int_equal(chmod(locked, 0755), 0);
        free(locked);
    }
    free(junk);
    free(moved);
    free(root);
}

static void test_odd_names(void **state)
{
    char *root = subdir(state, "names");
    static const expect x[] = {
        {"-class/-dash.jpg", IA_ENT_FILE, NULL, NULL, "-class", 0, NULL},
        {"my class/ a b .jpg", IA_ENT_FILE, NULL, NULL, "my class", 0, NULL},
        {"my class/new\nline.jpg", IA_ENT_FILE, NULL, NULL, "my class", 0,
         NULL},
        {"my class/\xff\xfe.jpg", IA_ENT_FILE, NULL, NULL, "my class", 0,
         NULL},
        {"\xc3\xa9t\xc3\xa9/x.jpg", IA_ENT_FILE, NULL, NULL,
         "\xc3\xa9t\xc3\xa9", 0, NULL},
    };
    ia_walk_options opt = {0};
    entries es;
    struct stat st;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        mk(root, x[i].rel);
    opt.root = root;
    walk_all(&opt, &es, "folders");
    CHECK(&es, x);
    for (size_t i = 0; i < es.n; i++) {
        char *full = path_of(root, es.e[i]->relpath);
        assert_int_equal(stat(full, &st), 0);
        free(full);
    }
    entries_free(&es);
    free(root);
}

static void test_deep_tree(void **state)
{
    char *root = subdir(state, "deep");
    /* 300 levels: the deeper paths pass the walk's 512-byte stack buffer
     * for a name's path (folder.c join_path), so both ways are walked. */
    char rel[2048];
    size_t n = 0;
    ia_walk_options opt = {0};
    entries es;
    for (int i = 0; i < 300; i++) {
        memcpy(rel + n, "d/", 2);
        n += 2;
    }
    memcpy(rel + n, "f.jpg", 6);
    mk(root, rel);
    opt.root = root;
    walk_all(&opt, &es, "folders");
    assert_int_equal(es.n, 1);
    assert_string_equal(es.e[0]->relpath, rel);
    assert_string_equal(es.e[0]->label, "d");
    assert_int_equal(es.e[0]->kind, IA_ENT_FILE);
    entries_free(&es);
    free(root);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_big_folder(void **state)
{
    enum { N = 20000 };
    char *root = subdir(state, "big");
    char **want = calloc(N, sizeof *want);
    ia_walk_options opt = {0};
    entries es;
    assert_non_null(want);
    mk(root, "c/");
    for (int i = 0; i < N; i++) {
        char rel[32];
        /* widths vary, so bytewise order is not numeric order */
        snprintf(rel, sizeof rel, "c/%d.jpg", (i * 7919) % N);
        want[i] = strdup(rel);
        assert_non_null(want[i]);
        char *p = path_of(root, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
        assert_true(fd >= 0);
        close(fd);
        free(p);
    }
    qsort(want, N, sizeof *want, cmp_str);
    assert_string_equal(want[0], "c/0.jpg");
    assert_string_equal(want[1], "c/1.jpg");
    assert_string_equal(want[2], "c/10.jpg");
    opt.root = root;
    walk_all(&opt, &es, "folders");
    assert_int_equal(es.n, N);
    for (int i = 0; i < N; i++) {
        assert_string_equal(es.e[i]->relpath, want[i]);
        free(want[i]);
    }
    free(want);
    entries_free(&es);
    free(root);
}

/* Two walks of one tree give the same entries, field by field. */
static void check_same(const entries *a, const entries *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const ia_entry *x = a->e[i], *y = b->e[i];
        assert_string_equal(x->relpath, y->relpath);
        assert_int_equal(x->kind, y->kind);
        assert_string_equal(x->detail, y->detail);
        assert_str_or_null(x->split, y->split);
        assert_str_or_null(x->label, y->label);
        assert_int_equal(x->outside_class, y->outside_class);
        assert_int_equal(x->have_stat, y->have_stat);
        assert_int_equal(x->size, y->size);
        assert_int_equal(x->mtime_ns, y->mtime_ns);
    }
}

/* stat_ahead (the lstats of a large folder's names shared with a helper
 * thread, src/walk/ahead.c, which lists the next sibling folder ahead)
 * changes nothing the walk returns: 4,000 names in one folder (more than
 * the ring of 2,048 results, a last partial chunk), then sibling folders
 * listed ahead or not,
 * among them sizes that differ, symlinks to files, to folders and to
 * nowhere, a FIFO, excluded names, and subfolders at names 7 and 2007
 * (the folder is left for a child mid-batch and taken up again with a
 * new lead). With and without --follow-symlinks. */
static void test_stat_ahead(void **state)
{
    enum { N = 4000 };
    static const char *const exclude[] = {"*.skip"};
    char *root = subdir(state, "ahead");
    ia_walk_options opt = {0};
    entries plain, ahead;
    mk(root, "c/");
    mk(root, "d/x.jpg");
    /* siblings the helper lists ahead (a real folder), or leaves to the
     * walker (an excluded folder, a symlink to a folder) */
    for (int i = 0; i < 100; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "c0/%03d.jpg", i);
        mk(root, rel);
    }
    mk(root, "c1.skip/x.jpg");
    mklink(root, "c2", "c0");
    for (int i = 0; i < N; i++) {
        char rel[48];
        snprintf(rel, sizeof rel, "c/%04d%s", i,
                 i % 2000 == 7 ? "" : i % 97 == 3 ? ".skip" : ".jpg");
        if (i % 2000 == 7) {
            char sub[64];
            snprintf(sub, sizeof sub, "%s/in.jpg", rel);
            mk(root, sub);
        } else if (i % 250 == 11) {
            mklink(root, rel, i % 500 == 11 ? "../d" : "nowhere");
        } else if (i % 250 == 12) {
            mklink(root, rel, "0000.jpg");
        } else if (i == 1600) {
            char *p = path_of(root, rel);
            assert_int_equal(mkfifo(p, 0644), 0);
            free(p);
        } else {
            char *p = path_of(root, rel);
            char buf[64] = {0};
            write_file(p, buf, (size_t)(i % 50));
            free(p);
        }
    }
    opt.root = root;
    opt.exclude = exclude;
    opt.nexclude = 1;
    for (int follow = 0; follow < 2; follow++) {
        opt.follow_symlinks = follow;
        opt.stat_ahead = 0;
        walk_all(&opt, &plain, "folders");
        opt.stat_ahead = 1;
        walk_all(&opt, &ahead, "folders");
        /* every name but the 41 excluded, the folders' files and d's */
        assert_true(plain.n > N - 50);
        check_same(&plain, &ahead);
        entries_free(&plain);
        entries_free(&ahead);
    }
    free(root);
}

/* One pass over the names from lo, asking for every step-th (a step over
 * the ring of 2,048 too), each result checked against the file's size;
 * pause: the walker sleeps now and then, so the helper fills the ring. */
static void ahead_pass(ia_ahead *a, const ia_ahead_job *job, size_t step,
                       int pause, size_t stop_at)
{
    ia_ahead_begin(a, job);
    assert_null(ia_ahead_get(a, job->lo ? job->lo - 1 : job->count));
    for (size_t i = job->lo; i < job->count && i < stop_at; i += step) {
        const ia_pre_stat *p = ia_ahead_get(a, i);
        assert_non_null(p);
        assert_int_equal(p->err, 0);
        assert_int_equal(p->st.st_size, (off_t)(atoi(job->names[i]) % 300));
        if (pause && i % 700 == 0)
            usleep(2000);
    }
    ia_ahead_end(a);
    assert_null(ia_ahead_get(a, job->lo));     /* ended: nothing, no wait */
}

/* The stat-ahead itself: names asked one by one, by steps that skip
 * chunks and whole rings, with the walker slower than the helper, a
 * folder left mid-way and another begun, from a name other than 0. */
static void test_ahead(void **state)
{
    enum { N = 5000 };
    char *root = subdir(state, "ahead-unit");
    char **names = malloc(N * sizeof *names);
    assert_non_null(names);
    mk(root, "c/");
    for (int i = 0; i < N; i++) {
        char rel[32], buf[300] = {0};
        snprintf(rel, sizeof rel, "c/%05d", i);
        char *p = path_of(root, rel);
        write_file(p, buf, (size_t)(i % 300));
        free(p);
        names[i] = malloc(8);
        assert_non_null(names[i]);
        snprintf(names[i], 8, "%05d", i);
    }
    qsort(names, N, sizeof *names, cmp_str);
    char *dir = path_of(root, "c");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    ia_ahead *a = ia_ahead_new();
    assert_non_null(a);
    ia_ahead_job job = {.fd = fd, .names = names, .lo = 0, .count = N,
                        .rel = "c", .rel_len = 1};
    ahead_pass(a, &job, 1, 0, N);
    ahead_pass(a, &job, 1, 1, N);
    ahead_pass(a, &job, 37, 0, N);
    ahead_pass(a, &job, 2100, 0, N);
    ahead_pass(a, &job, 1, 0, 777);      /* left mid-way */
    job.lo = 1234;
    ahead_pass(a, &job, 3, 1, N);
    job.count = 1300;                    /* two chunks, one partial */
    ahead_pass(a, &job, 1, 0, N);
    ia_ahead_free(a);
    close(fd);
    for (int i = 0; i < N; i++)
        free(names[i]);
    free(names);
    free(dir);
    free(root);
}

/* ---- manifests ---------------------------------------------------------------- */

static void test_manifest(void **state)
{
    char *base = subdir(state, "man");
    char *root = path_of(base, "data");
    char *csv = path_of(base, "m.csv");
    char *fifo = path_of(root, "fifo");
    char *outside = path_of(base, "outside.jpg");
    char text[4096];
    ia_walk_options opt = {0};
    entries es;
    mk(root, "cat/a.jpg");
    mk(root, "dog/b c.jpg");
    mk(root, "x,y.jpg");
    mk(root, "new\nline.jpg");
    mk(root, "dup.jpg");
    mk(root, "odd.jpg");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    snprintf(text, sizeof text,
             "id,Label,notes, PATH ,split\n"                         /* 1 */
             "1,cat,\"note, with comma\",data/cat/a.jpg,train\n"     /* 2 */
             "2,dog,x,\"data/dog/b c.jpg\",Validation\n"            /* 3 */
             "3,\"<b>'; DROP TABLE files;--\"\"&\",y,\"data/x,y.jpg\",test\n"
             "4,cat,\"multi\nline\",\"data/new\nline.jpg\",train\n" /* 5-7 */
             "5,cat,z,data/missing.jpg,train\n"                      /* 8 */
             "6,cat,z,data/../outside.jpg,train\n"                   /* 9 */
             "7,cat\n"                                               /* 10 */
             "8,dog,z,data/cat/a.jpg,train\n"                        /* 11 */
             "9,cat,z,%s/data/./cat/../dup.jpg,\n"                   /* 12 */
             "10,,z,data/fifo,train\n"                               /* 13 */
             "11,cat,z,data/cat,train,extra,fields\n"                /* 14 */
             "\n"                                                    /* 15 */
             "12,\"a\"\"b\",z,data/odd.jpg,holdout",                 /* 16 */
             base);
    write_file(csv, text, strlen(text));
    const char *lab = "<b>'; DROP TABLE files;--\"&";
    expect x[] = {
        {"", IA_ENT_MANIFEST_ROW, NULL, NULL, NULL, 1,
         "line 10: no 'path' field"},
        {outside, IA_ENT_OUTSIDE_ROOT, "train", "train", "cat", 0, "line 9:"},
        {"cat", IA_ENT_MANIFEST_ROW, "train", "train", "cat", 0,
         "line 14: names a folder"},
        {"cat/a.jpg", IA_ENT_FILE, "train", "train", "cat", 0, NULL},
        {"cat/a.jpg", IA_ENT_MANIFEST_ROW, "train", "train", "dog", 0,
         "line 11: listed twice (first at line 2)"},
        {"dog/b c.jpg", IA_ENT_FILE, "Validation", "val", "dog", 0, NULL},
        {"dup.jpg", IA_ENT_FILE, NULL, NULL, "cat", 0, NULL},
        {"fifo", IA_ENT_SPECIAL, "train", "train", NULL, 1, "FIFO"},
        {"missing.jpg", IA_ENT_MISSING, "train", "train", "cat", 0,
         "line 8: no such file"},
        {"new\nline.jpg", IA_ENT_FILE, "train", "train", "cat", 0, NULL},
        {"odd.jpg", IA_ENT_FILE, "holdout", NULL, "a\"b", 0, NULL},
        {"x,y.jpg", IA_ENT_FILE, "test", "test", lab, 0, NULL},
    };
    opt.root = root;
    opt.manifest = csv;
    walk_all(&opt, &es, "manifest");
    CHECK(&es, x);
    char *want = path_of(root, "dog/b c.jpg");
    assert_string_equal(es.e[5]->fullpath, want);
    free(want);
    entries_free(&es);

    /* allowed outside: the absolute path is relpath and fullpath */
    mk(base, "outside.jpg");
    opt.allow_outside = 1;
    walk_all(&opt, &es, "manifest");
    assert_int_equal(es.n, sizeof x / sizeof x[0]);
    assert_string_equal(es.e[1]->relpath, outside);
    assert_string_equal(es.e[1]->fullpath, outside);
    assert_int_equal(es.e[1]->kind, IA_ENT_FILE);
    entries_free(&es);
    free(base);
    free(root);
    free(csv);
    free(fifo);
    free(outside);
}

static void test_manifest_bad_header(void **state)
{
    char *base = subdir(state, "manhdr");
    char *csv = path_of(base, "m.csv");
    char *none = path_of(base, "none.csv");
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"path,split\na.jpg,train\n", "no 'label' column"},
        {"file,label\na.jpg,cat\n", "no 'path' column"},
        {"", "no header row"},
        {"\n\n", "no header row"},
    };
    ia_walk_options opt = {0};
    ia_walker *w = NULL;
    char err[512];
    opt.root = base;
    opt.manifest = csv;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(csv, cases[i].text, strlen(cases[i].text));
        assert_int_equal(ia_walk_open(&opt, &w, err, sizeof err),
                         IA_ERR_MANIFEST);
        assert_null(w);
        assert_non_null(strstr(err, cases[i].msg));
        assert_null(strchr(err, '\n'));
    }
    opt.manifest = none;
    assert_int_equal(ia_walk_open(&opt, &w, err, sizeof err),
                     IA_ERR_MANIFEST);
    assert_non_null(strstr(err, "cannot open manifest"));
    opt.manifest = base; /* a folder: opens, but cannot be read */
    assert_int_equal(ia_walk_open(&opt, &w, err, sizeof err),
                     IA_ERR_MANIFEST);
    assert_non_null(strstr(err, "cannot read manifest"));
    free(base);
    free(csv);
    free(none);
}

static void test_manifest_limits(void **state)
{
    enum { LONG = 70000 };
    char *base = subdir(state, "manlim");
    char *csv = path_of(base, "m.csv");
    size_t cap = 3 * LONG, n = 0;
    char *text = malloc(cap);
    static const expect x[] = {
        {"", IA_ENT_MANIFEST_ROW, NULL, NULL, NULL, 1,
         "line 2: a field is longer than 65536"},
        {"", IA_ENT_MANIFEST_ROW, NULL, NULL, NULL, 1, "line 7: empty path"},
        {"ok.jpg", IA_ENT_FILE, NULL, NULL, "cat", 0, NULL},
        {"zz.jpg", IA_ENT_MISSING, NULL, NULL, "dog", 0, "line 8:"},
    };
    ia_walk_options opt = {0};
    entries es;
    assert_non_null(text);
    mk(base, "ok.jpg");
    n += (size_t)snprintf(text, cap, "path,label,notes\n");
    memset(text + n, 'a', LONG); /* line 2: a path too long */
    n += LONG;
    n += (size_t)snprintf(text + n, cap - n, ",cat,x\nok.jpg,cat,\"");
    for (int i = 0; i < LONG; i++) /* lines 3-6: a long ignored field */
        text[n++] = i % 25000 == 1 ? '\n' : 'b';
    n += (size_t)snprintf(text + n, cap - n, "\"\n,cat,x\nzz.jpg,dog,x\n");
    write_file(csv, text, n);
    opt.root = base;
    opt.manifest = csv;
    walk_all(&opt, &es, "manifest");
    CHECK(&es, x);
    entries_free(&es);
    free(text);
    free(csv);
    free(base);
}

static void test_manifest_crlf_bom(void **state)
{
    char *base = subdir(state, "mancrlf");
    char *csv = path_of(base, "sub/m.csv");
    static const char text[] =
        "\xEF\xBB\xBFpath,label\r\n"  /* 1 */
        "../x.jpg,cat\r\n"            /* 2 */
        "\r\n"                        /* 3 */
        "../y.jpg,dog\r\n";           /* 4 */
    static const expect x[] = {
        {"x.jpg", IA_ENT_FILE, NULL, NULL, "cat", 0, NULL},
        {"y.jpg", IA_ENT_MISSING, NULL, NULL, "dog", 0, "line 4:"},
    };
    ia_walk_options opt = {0};
    entries es;
    mk(base, "x.jpg");
    mk(base, "sub/");
    write_file(csv, text, sizeof text - 1);
    opt.root = base;
    opt.manifest = csv;
    walk_all(&opt, &es, "manifest");
    CHECK(&es, x);
    entries_free(&es);
    free(csv);
    free(base);
}

/* ---- fixture ---------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path);
    return unlink(path);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->tmp, sizeof fx->tmp, "/tmp/ia_walk_XXXXXX");
    if (!mkdtemp(fx->tmp)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    int rc = nftw(fx->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_layout),
        cmocka_unit_test(test_folder_layout),
        cmocka_unit_test(test_root_symlink_and_errors),
        cmocka_unit_test(test_special_files),
        cmocka_unit_test(test_symlinks),
        cmocka_unit_test(test_symlink_loops),
        cmocka_unit_test(test_junk_dirs),
        cmocka_unit_test(test_unreadable_dir),
        cmocka_unit_test(test_odd_names),
        cmocka_unit_test(test_deep_tree),
        cmocka_unit_test(test_big_folder),
        cmocka_unit_test(test_stat_ahead),
        cmocka_unit_test(test_ahead),
        cmocka_unit_test(test_manifest),
        cmocka_unit_test(test_manifest_bad_header),
        cmocka_unit_test(test_manifest_limits),
        cmocka_unit_test(test_manifest_crlf_bom),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
