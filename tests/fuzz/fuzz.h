/*
 * What the fuzz targets share with the replay driver (replay.c), which
 * stands in for libFuzzer's main() when the targets are built without
 * -fsanitize=fuzzer: the libFuzzer entry point, and a hook that frees the
 * per-process state a target keeps between inputs, so a replay run under
 * valgrind or LeakSanitizer ends with nothing allocated.
 */
#ifndef IA_FUZZ_H
#define IA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void ia_fuzz_cleanup(void);

/* Aborts with a message naming the broken invariant: the fuzzer treats an
 * abort as a crash and saves the input. */
#define FUZZ_CHECK(cond)                                                   \
    do {                                                                   \
        if (!(cond))                                                       \
            ia_fuzz_fail(__FILE__, __LINE__, #cond);                       \
    } while (0)

_Noreturn void ia_fuzz_fail(const char *file, int line, const char *what);

#endif
