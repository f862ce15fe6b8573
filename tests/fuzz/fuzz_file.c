/*
 * Fuzz target: the per-file path on a memory buffer, as a worker runs it
 * (src/scan/file.c) minus the read: sniff, decode (every format of the
 * decoder table) into the measuring row sink, measure, then the loader
 * facts (src/loader/facts.c: PNG chunks as Pillow reads them, BMP headers
 * as TensorFlow does, the signatures of formats imgaudit does not know). Any crash, leak, sanitizer report or hang
 * is a bug; so is a result that breaks the contract of core/core.h, which
 * the checks below spell out (a verdict the store would mis-record is as
 * bad as a crash).
 *
 * The pixel limit is lowered to FUZZ_MAX_PIXELS so that a mutated header
 * claiming a large (but allowed) image costs milliseconds, not seconds:
 * what the default limit costs in memory and time is measured by
 * tests/integration/test_hostile.py instead. Decoders and the measurer are
 * made once per process, as a worker makes them once per thread, so state
 * leaking from one input into the next is exercised too.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "decode/decode.h"
#include "fuzz.h"
#include "imgaudit.h"
#include "loader/loader.h"
#include "measure/measure.h"

#define FUZZ_MAX_PIXELS (1u << 22)

static ia_decoder_set *decoders;
static ia_measure *measure;

void ia_fuzz_cleanup(void)
{
    ia_decoder_set_free(decoders);
    ia_measure_free(measure);
    decoders = NULL;
    measure = NULL;
}

static void setup(void)
{
    if (decoders)
        return;
    FUZZ_CHECK(ia_decoder_set_new(&decoders) == IA_OK);
    FUZZ_CHECK(ia_measure_new(&measure) == IA_OK);
}

static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* What the store and the reports rely on. */
static void check_result(const ia_file_result *r)
{
    FUZZ_CHECK(r->status >= 0 && r->status < IA_ST_COUNT);
    FUZZ_CHECK(terminated(r->message, sizeof r->message));
    FUZZ_CHECK(r->nfindings >= 0 && r->nfindings <= IA_MAX_FILE_FINDINGS);
    for (int i = 0; i < r->nfindings; i++) {
        const ia_finding_rec *f = &r->findings[i];
        FUZZ_CHECK(f->code && *f->code);
        FUZZ_CHECK(f->severity >= IA_SEV_INFO && f->severity <= IA_SEV_ERROR);
        FUZZ_CHECK(terminated(f->detail, sizeof f->detail));
    }
    FUZZ_CHECK(r->rows_decoded <= r->rows_total || r->rows_total < 0);
    if (r->status == IA_ST_OK) {
        FUZZ_CHECK(r->have_measures);
        FUZZ_CHECK(r->width > 0 && r->height > 0);
        FUZZ_CHECK((uint64_t)r->width * (uint64_t)r->height <=
                   FUZZ_MAX_PIXELS);
        FUZZ_CHECK(r->rows_decoded == r->height);
        FUZZ_CHECK(r->stats.pixels ==
                   (uint64_t)r->width * (uint64_t)r->height);
        for (int c = 0; c < 3; c++)
            FUZZ_CHECK(r->stats.min[c] <= r->stats.max[c]);
    } else {
        FUZZ_CHECK(!r->have_measures);
        FUZZ_CHECK(r->message[0] != '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ia_file_result res; /* 4 KB: kept off the stack */
    ia_limits lim = {.max_pixels = FUZZ_MAX_PIXELS};
    ia_rowsink sink;
    int rc;
    setup();
    ia_result_reset(&res);
    res.format = ia_sniff(data, size);
    FUZZ_CHECK(res.format >= IA_FMT_UNKNOWN && res.format < IA_FMT_COUNT);
    if (!ia_decoder_find(res.format)) {
        res.status = IA_ST_NOT_IMAGE;
        ia_loader_facts(data, size, &res);
        FUZZ_CHECK(terminated(res.loader_facts, sizeof res.loader_facts));
        return 0;
    }
    ia_measure_sink(measure, &sink);
    rc = ia_decoder_set_decode(decoders, res.format, data, size, &lim, &sink,
                               &res);
    /* Out of memory is the one tool failure; with the lowered pixel limit
     * it cannot come from the input, so it is a bug here too. */
    FUZZ_CHECK(rc == IA_OK);
    if (res.status == IA_ST_OK)
        ia_measure_finish(measure, &res);
    res.size = (int64_t)size;
    ia_loader_facts(data, size, &res);
    FUZZ_CHECK(terminated(res.loader_facts, sizeof res.loader_facts));
    check_result(&res);
    return 0;
}
