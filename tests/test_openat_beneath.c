/*
 * ia_open_beneath and ia_stat_beneath (src/core/beneath.c): a file
 * beneath the root opens; a symlink, as the file or as a folder on the
 * way (pointing outside the root or inside it), "..", and a path too long
 * are refused with the documented errno; with follow the links are
 * followed; an absolute path is opened as given.
 *
 * Every case runs three times: as the kernel does it (openat2 on Linux
 * 5.6+), then under a seccomp filter that makes openat2 fail with ENOSYS,
 * then with EPERM (as a container's filter may), so the one-component-at-
 * a-time fallback is held to the same answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include "core/core.h"

/* tmp/root/{top.txt, a/in.txt, a/file, a/link -> ../outside,
 *           a/inlink -> ../b, b/in.txt, a/flink -> in.txt}
 * tmp/outside/in.txt */
static char tmp[64];
static int rootfd = -1;

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void sub(const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", tmp, rel);
}

static int link_at(const char *target, const char *rel)
{
    char p[256];
    sub(rel, p, sizeof p);
    return symlink(target, p);
}

static int setup(void **st)
{
    (void)st;
    char p[256], q[256];
    strcpy(tmp, "/tmp/ia_beneath_XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    const char *dirs[] = {"root", "root/a", "root/b", "outside"};
    for (size_t i = 0; i < 4; i++) {
        sub(dirs[i], p, sizeof p);
        if (mkdir(p, 0755) != 0)
            return -1;
    }
    put("root/top.txt", "top");
    put("root/a/in.txt", "inside");
    put("root/a/file", "a file");
    put("root/b/in.txt", "b inside");
    put("outside/in.txt", "OUTSIDE");
    sub("outside", q, sizeof q);
    if (link_at(q, "root/a/link") != 0 ||
        link_at("../b", "root/a/inlink") != 0 ||
        link_at("in.txt", "root/a/flink") != 0)
        return -1;
    sub("root", p, sizeof p);
    rootfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return rootfd >= 0 ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    close(rootfd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* The text of relpath opened beneath the root, or "" with *err. */
static void read_at(const char *relpath, int follow, char *out, size_t cap,
                    int *err)
{
    out[0] = '\0';
    *err = 0;
    int fd = ia_open_beneath(rootfd, relpath, O_RDONLY | O_CLOEXEC, follow);
    if (fd < 0) {
        *err = errno;
        return;
    }
    ssize_t n = read(fd, out, cap - 1);
    assert_true(n >= 0);
    out[n] = '\0';
    close(fd);
}

static void expect_text(const char *relpath, int follow, const char *want)
{
    char buf[64];
    int err;
    read_at(relpath, follow, buf, sizeof buf, &err);
    assert_int_equal(err, 0);
    assert_string_equal(buf, want);
}

static void expect_errno(const char *relpath, int follow, int want)
{
    char buf[64];
    int err;
    read_at(relpath, follow, buf, sizeof buf, &err);
    assert_string_equal(buf, "");
    assert_int_equal(err, want);
}

static void test_beneath(void **st)
{
    (void)st;
    expect_text("top.txt", 0, "top");
    expect_text("a/in.txt", 0, "inside");
    expect_text("./a//in.txt", 0, "inside");
    expect_errno("a/missing", 0, ENOENT);
    expect_errno("nowhere/in.txt", 0, ENOENT);
    expect_errno("a/file/in.txt", 0, ENOTDIR);
}

static void test_symlinks_refused(void **st)
{
    (void)st;
    /* a folder on the way: outside the root, or inside it */
    expect_errno("a/link/in.txt", 0, EXDEV);
    expect_errno("a/inlink/in.txt", 0, EXDEV);
    /* the file itself */
    expect_errno("a/flink", 0, ELOOP);
    /* ".." even when it stays inside */
    expect_errno("../outside/in.txt", 0, EXDEV);
    expect_errno("a/../top.txt", 0, EXDEV);
    /* a symlinked folder opened as a folder */
    errno = 0;
    assert_int_equal(ia_open_beneath(rootfd, "a/link", O_RDONLY | O_DIRECTORY
                                     | O_CLOEXEC, 0), -1);
    assert_int_equal(errno, ELOOP);
}

static void test_follow(void **st)
{
    (void)st;
    expect_text("a/link/in.txt", 1, "OUTSIDE");
    expect_text("a/inlink/in.txt", 1, "b inside");
    expect_text("a/flink", 1, "inside");
}

static void test_absolute(void **st)
{
    (void)st;
    char p[256];
    sub("outside/in.txt", p, sizeof p);
    expect_text(p, 0, "OUTSIDE");
    sub("root/a/flink", p, sizeof p);
    expect_errno(p, 0, ELOOP);
    expect_text(p, 1, "inside");
}

static void test_too_long(void **st)
{
    (void)st;
    size_t n = PATH_MAX + 8;
    char *p = malloc(n + 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = i % 8 == 7 ? '/' : 'x';
    p[n] = '\0';
    expect_errno(p, 0, ENAMETOOLONG);
    free(p);
}

static void test_stat(void **st)
{
    (void)st;
    struct stat s;
    assert_int_equal(ia_stat_beneath(rootfd, "a/in.txt", 0, &s), 0);
    assert_true(S_ISREG(s.st_mode));
    assert_int_equal(s.st_size, 6);
    /* lstat: the link itself; stat with follow: its target */
    assert_int_equal(ia_stat_beneath(rootfd, "a/flink", 0, &s), 0);
    assert_true(S_ISLNK(s.st_mode));
    assert_int_equal(ia_stat_beneath(rootfd, "a/flink", 1, &s), 0);
    assert_true(S_ISREG(s.st_mode));
    errno = 0;
    assert_int_equal(ia_stat_beneath(rootfd, "a/link/in.txt", 0, &s), -1);
    assert_int_equal(errno, EXDEV);
    assert_int_equal(ia_stat_beneath(rootfd, "a/link/in.txt", 1, &s), 0);
    assert_int_equal(s.st_size, 7);
}

/* From now on openat2 fails with err (with ENOSYS under valgrind, which
 * does not know it): the fallback answers. */
static void forbid_openat2(int err)
{
#ifdef SYS_openat2
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof code / sizeof *code),
                              code};
    assert_int_equal(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    assert_int_equal(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
    errno = 0;
    assert_int_equal(syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0), -1);
    assert_true(errno == err || errno == ENOSYS);
#else
    (void)err;
#endif
}

static int without_openat2_enosys(void **st)
{
    (void)st;
    forbid_openat2(ENOSYS);
    return 0;
}

static int without_openat2_eperm(void **st)
{
    (void)st;
    forbid_openat2(EPERM);
    return 0;
}

#define CASES(pre)                                                        \
    cmocka_unit_test_setup(test_beneath, pre),                            \
    cmocka_unit_test(test_symlinks_refused),                              \
    cmocka_unit_test(test_follow),                                        \
    cmocka_unit_test(test_absolute),                                      \
    cmocka_unit_test(test_too_long),                                      \
    cmocka_unit_test(test_stat)

static int nothing(void **st)
{
    (void)st;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASES(nothing),
        CASES(without_openat2_enosys),
        CASES(without_openat2_eperm),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
