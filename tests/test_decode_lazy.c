/*
 * Libraries opened at first use (src/core/dynlib.c, core.h): what the
 * TIFF, AVIF, HEIF and JPEG XL decoders do when their library opens,
 * lacks a function or is missing, and the same table filled from a
 * library linked in. libm stands in for a codec library: it is on every
 * glibc system under the soname libm.so.6.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/core.h"
#include "decode/codec.h"
#include "imgaudit.h"

#define MATH_FUNCS(X) X(cos) X(ldexp)

typedef struct math_api {
    IA_LIB_FIELDS(MATH_FUNCS)
} math_api;

/* A library that is there: every function found, and callable with its
 * own type; a second open is the first one's answer. */
static void test_open_and_look_up(void **state)
{
    (void)state;
    ia_dynlib lib = {0};
    math_api api = {0};
    int rc = -1;
    assert_int_equal(ia_dynlib_open(&lib, "libm.so.6"), 0);
    assert_int_equal(lib.state, 1);
    IA_LIB_LOOKUPS(MATH_FUNCS, &lib, &api, rc);
    assert_int_equal(rc, 0);
    assert_non_null(api.cos);
    assert_true(api.cos(0.5) == cos(0.5));
    assert_true(api.ldexp(3.0, 4) == 48.0);
    assert_int_equal(ia_dynlib_open(&lib, "libm.so.6"), 0);
    ia_dynlib_close(&lib);
    assert_null(lib.handle);
}

/* A library without one of the functions: failed, and says which; the
 * lookups after it are not tried, the handle is closed. */
static void test_missing_function(void **state)
{
    (void)state;
    ia_dynlib lib = {0};
    void (*fn)(void) = NULL;
    assert_int_equal(ia_dynlib_open(&lib, "libm.so.6"), 0);
    assert_int_equal(ia_dynlib_sym(&lib, "ia_no_such_function", &fn,
                                      sizeof fn), -1);
    assert_null(fn);
    assert_int_equal(lib.state, -1);
    assert_null(lib.handle);
    assert_non_null(strstr(lib.why, "has no ia_no_such_function"));
    assert_int_equal(ia_dynlib_sym(&lib, "cos", &fn, sizeof fn), -1);
    assert_int_equal(ia_dynlib_open(&lib, "libm.so.6"), -1);
    ia_dynlib_close(&lib);
}

/* A library that is not installed: failed once, with dlopen's reason,
 * and the file it was opened for is unsupported, saying why. */
static void test_missing_library(void **state)
{
    (void)state;
    ia_dynlib lib = {0};
    ia_file_result res;
    assert_int_equal(ia_dynlib_open(&lib, "libia-none.so.0"), -1);
    assert_int_equal(lib.state, -1);
    assert_null(lib.handle);
    assert_non_null(strstr(lib.why, "libia-none.so.0 could not be loaded"));
    assert_int_equal(ia_dynlib_open(&lib, "libia-none.so.0"), -1);
    ia_result_reset(&res);
    res.format = IA_FMT_JXL;
    ia_codec_lib_missing(&lib, &res);
    assert_int_equal(res.status, IA_ST_UNSUPPORTED);
    assert_non_null(strstr(res.message, "not decoded: libia-none.so.0"));
    assert_non_null(strstr(res.message, ia_fmt_name(IA_FMT_JXL)));
    ia_dynlib_close(&lib);
}

typedef struct math_user {
    ia_dynlib lib;
    math_api api;
} math_user;

IA_LIB_READY_FN(math_opened, math_user, MATH_FUNCS, "libm.so.6")
IA_LIB_READY_FN(none_opened, math_user, MATH_FUNCS, "libia-none.so.0")
IA_LIB_LINKED_FN(math_linked, math_user, MATH_FUNCS)

/* The ready functions a user defines: opened at the first call, once;
 * linked, the table holds the functions the program links, no library
 * is opened, and it is always ready. */
static void test_ready_functions(void **state)
{
    (void)state;
    math_user opened = {0}, none = {0}, linked = {0};
    assert_true(math_opened(&opened));
    assert_true(opened.api.cos(0.25) == cos(0.25));
    assert_true(math_opened(&opened));
    assert_false(none_opened(&none));
    assert_null(none.api.cos);
    assert_false(none_opened(&none));
    assert_true(math_linked(&linked));
    assert_null(linked.lib.handle);
    assert_true(linked.api.cos == &cos);
    assert_true(linked.api.ldexp(1.0, 3) == 8.0);
    ia_dynlib_close(&opened.lib);
    ia_dynlib_close(&none.lib);
    ia_dynlib_close(&linked.lib);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_look_up),
        cmocka_unit_test(test_missing_function),
        cmocka_unit_test(test_missing_library),
        cmocka_unit_test(test_ready_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
