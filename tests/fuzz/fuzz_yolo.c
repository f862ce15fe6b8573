/*
 * Fuzz target: the YOLO label line parser (src/annot/yolo.c), the one
 * parser of the annotation module written by hand. The input is split at
 * newlines as annot_yolo_read splits a label file, and each line parsed
 * from a copy of exactly its bytes (an exact-size heap buffer, so
 * AddressSanitizer sees a read past the line).
 *
 * Besides crashes and sanitizer reports, the parser's contract: every
 * line is OK, BLANK or BAD; BAD says why; OK gives a non-negative class
 * and finite values, and a polygon's area is non-negative and at most
 * its bounding box's (a far-off polygon broke that: the saved crash
 * polygon-area-past-its-box).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "annot/annot.h"
#include "fuzz.h"

void ia_fuzz_cleanup(void)
{
}

static void one_line(const uint8_t *p, size_t n)
{
    char *copy = malloc(n ? n : 1);
    char why[128];
    ia_yolo_line l;
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, p, n);
    why[0] = '\0';
    int r = ia_yolo_parse_line(copy, n, &l, why, sizeof why);
    FUZZ_CHECK(r == IA_YOLO_OK || r == IA_YOLO_BLANK || r == IA_YOLO_BAD);
    if (r == IA_YOLO_BAD)
        FUZZ_CHECK(why[0] != '\0' && memchr(why, '\0', sizeof why));
    if (r == IA_YOLO_OK) {
        FUZZ_CHECK(l.cls >= 0);
        FUZZ_CHECK(isfinite(l.cx) && isfinite(l.cy) && isfinite(l.w) &&
                   isfinite(l.h) && isfinite(l.poly_area));
        FUZZ_CHECK(l.points == 0 || l.points >= 3);
        /* a box's size is as written (check.c judges a negative one); a
         * polygon's bounds and area are computed, so they must agree */
        FUZZ_CHECK(l.points > 0 || l.poly_area == 0);
        FUZZ_CHECK(l.points == 0 || (l.w >= 0 && l.h >= 0 &&
                                     l.poly_area >= 0 &&
                                     l.poly_area <= l.w * l.h));
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    while (p <= end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        one_line(p, n);
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}
