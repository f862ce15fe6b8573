/*
 * The invariant failure shared by the fuzz targets: print what broke and
 * abort, which both libFuzzer and the replay driver report as a crash.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

_Noreturn void ia_fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}
