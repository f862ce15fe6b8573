/*
 * Libraries opened at first use (src/decode/lazy.c, codec.h): what the
 * AVIF, HEIF and JPEG XL decoders do when their library opens, lacks a
 * function or is missing. libm stands in for a codec library: it is on
 * every glibc system under the soname libm.so.6.
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
    ia_codec_lib lib = {0};
    math_api api = {0};
    int rc = -1;
    assert_int_equal(ia_codec_lib_open(&lib, "libm.so.6"), 0);
    assert_int_equal(lib.state, 1);
    IA_LIB_LOOKUPS(MATH_FUNCS, &lib, &api, rc);
    assert_int_equal(rc, 0);
    assert_non_null(api.cos);
    assert_true(api.cos(0.5) == cos(0.5));
    assert_true(api.ldexp(3.0, 4) == 48.0);
    assert_int_equal(ia_codec_lib_open(&lib, "libm.so.6"), 0);
    ia_codec_lib_close(&lib);
    assert_null(lib.handle);
}

/* A library without one of the functions: failed, and says which; the
 * lookups after it are not tried, the handle is closed. */
static void test_missing_function(void **state)
{
    (void)state;
    ia_codec_lib lib = {0};
    void (*fn)(void) = NULL;
    assert_int_equal(ia_codec_lib_open(&lib, "libm.so.6"), 0);
    assert_int_equal(ia_codec_lib_sym(&lib, "ia_no_such_function", &fn,
                                      sizeof fn), -1);
    assert_null(fn);
    assert_int_equal(lib.state, -1);
    assert_null(lib.handle);
    assert_non_null(strstr(lib.why, "has no ia_no_such_function"));
    assert_int_equal(ia_codec_lib_sym(&lib, "cos", &fn, sizeof fn), -1);
    assert_int_equal(ia_codec_lib_open(&lib, "libm.so.6"), -1);
    ia_codec_lib_close(&lib);
}

/* A library that is not installed: failed once, with dlopen's reason,
 * and the file it was opened for is unsupported, saying why. */
static void test_missing_library(void **state)
{
    (void)state;
    ia_codec_lib lib = {0};
    ia_file_result res;
    assert_int_equal(ia_codec_lib_open(&lib, "libia-none.so.0"), -1);
    assert_int_equal(lib.state, -1);
    assert_null(lib.handle);
    assert_non_null(strstr(lib.why, "libia-none.so.0 could not be loaded"));
    assert_int_equal(ia_codec_lib_open(&lib, "libia-none.so.0"), -1);
    ia_result_reset(&res);
    res.format = IA_FMT_JXL;
    ia_codec_lib_missing(&lib, &res);
    assert_int_equal(res.status, IA_ST_UNSUPPORTED);
    assert_non_null(strstr(res.message, "not decoded: libia-none.so.0"));
    assert_non_null(strstr(res.message, ia_fmt_name(IA_FMT_JXL)));
    ia_codec_lib_close(&lib);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_look_up),
        cmocka_unit_test(test_missing_function),
        cmocka_unit_test(test_missing_library),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
