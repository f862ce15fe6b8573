/*
 * JPEG decoding through libjpeg-turbo's libjpeg API, from memory.
 *
 * Integrity means a full decode: every scanline is produced and pushed to
 * the row sink, with the defaults of Pillow (JDCT_ISLOW, fancy upsampling,
 * 8-bit RGB or L output) so the pixels equal what a training pipeline
 * sees. CMYK/YCCK files are converted to RGB as Pillow does (see
 * cmyk_row_to_rgb).
 *
 * Errors: libjpeg reports fatal errors through error_exit, which must not
 * return; ours longjmps back into guarded(), the only function that calls
 * setjmp. Everything that changes between setjmp and longjmp lives in the
 * decoder struct, never in automatic variables, so nothing needs volatile.
 * Warnings arrive through emit_message with their JWRN_* code and are
 * sorted into: premature end of data (truncated), corrupt data, and benign
 * notes (an info finding). The progress monitor caps progressive scans as
 * libjpeg-turbo's turbojpeg.c does, and the warning count is capped too:
 * both longjmp out, so a hostile file cannot keep a worker busy.
 *
 * Cost: a multi-scan (progressive) file is decoded into a whole-image
 * coefficient buffer, which libjpeg allocates and touches however few
 * bytes the file holds. Before jpeg_start_decompress we compute its size
 * as libjpeg will (jdcoefct.c), refuse it when the file's bytes cannot
 * justify it (decode.h) and reserve it from the scan's memory budget;
 * the progress monitor also adds up the coefficient bytes each scan
 * passes over and stops the file past IA_SCAN_PASSES times the buffer.
 *
 * Truncation: jpeg_mem_src answers the end of the buffer with a warning
 * (JWRN_JPEG_EOF) and a fake EOI marker, again on every further read.
 * What libjpeg reports after that point happens on those fake bytes, so
 * it is attributed to the truncation, not counted as corruption; the one
 * exception is a marker search that discarded real bytes first (garbage).
 *
 * Metadata: APP1 (EXIF) and APP2 (ICC) go through our own marker
 * processors instead of jpeg_save_markers, which would allocate every
 * marker in libjpeg's pool (up to 64 KB each, any number of them). We keep
 * the first EXIF APP1 in a fixed per-worker buffer and only note whether
 * an ICC profile is present.
 *
 * Per-worker state: the error manager, one row buffer grown geometrically
 * and the EXIF buffer. The jpeg_decompress_struct itself is made and
 * destroyed per file (a few small allocations): libjpeg keeps quantization
 * and Huffman tables across images in one object, for abbreviated
 * streams, so a reused object would let a file without tables decode with
 * the previous file's, and a verdict would depend on which file the worker
 * saw before. Nothing is allocated per row.
 */
#include <assert.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "decode/codec.h"
#include "decode/decode.h"
#include "imgaudit.h"
#include "core/core.h"

/* Names of libjpeg's message codes, from the JMESSAGE list in jerror.h
 * (the same trick jerror.c uses to build its message table). */
#define JMESSAGE(code, string) #code,
static const char *const jmsg_names[] = {
#include <jerror.h>
};
_Static_assert(sizeof jmsg_names / sizeof jmsg_names[0] == JMSG_LASTMSGCODE,
               "message name table out of step with jerror.h");

/* An APP1 payload is at most 65533 bytes. */
#define EXIF_MAX 65533
/* Skipping a marker segment past the end of the data reads the fake EOI
 * two bytes at a time, one JWRN_JPEG_EOF each: up to ~32768 for one
 * segment. More than this many means something loops. */
#define EOF_REPEAT_MAX 100000u

enum abort_reason {
    ABORT_NONE = 0,
    ABORT_FATAL,      /* libjpeg error_exit */
    ABORT_WARNINGS,   /* more than lim->max_warnings */
    ABORT_SCANS,      /* more than lim->max_scans progressive scans */
    ABORT_WORK,       /* the scans pass over the buffer too often */
};

enum stop_reason {
    STOP_NONE = 0,
    STOP_TOO_LARGE,   /* over max_pixels: refused before any allocation */
    STOP_LAYOUT,      /* component count Pillow cannot load either */
    STOP_MEASURE,     /* the sink's begin refused */
    STOP_NOMEM,       /* our own allocation failed */
    STOP_UNJUSTIFIED, /* coefficient buffer over what the bytes justify */
    STOP_BUDGET,      /* coefficient buffer over the scan's whole budget */
};

typedef struct jpeg_problem {
    int code;                  /* J_MESSAGE_CODE; 0 when none */
    char text[JMSG_LENGTH_MAX];
} jpeg_problem;

/* Everything about the file being decoded; zeroed by begin_file(). */
typedef struct file_state {
    const uint8_t *buf;
    size_t len;
    ia_limits limits;          /* the caller's, zero fields defaulted */
    const ia_limits *lim;      /* &limits */
    const ia_rowsink *sink;
    ia_file_result *res;
    int created;               /* jpeg_create_decompress returned */
    size_t exif_len;
    int icc;
    int cmyk;                  /* rows arrive as CMYK and are converted */
    int out_channels;
    uint32_t rows_out;         /* rows pushed to the sink */
    unsigned warnings;         /* counted against lim->max_warnings */
    unsigned corrupt_warnings;
    unsigned eof_repeats;
    int eof_seen;
    uint32_t eof_row;
    int starved;               /* a data warning after the end */
    int arith;                 /* arithmetic-coded (see real_rows) */
    int abort;                 /* enum abort_reason */
    int stop;                  /* enum stop_reason */
    jpeg_problem fatal;        /* the fatal error, if any */
    int fatal_after_eof;
    jpeg_problem corrupt;      /* the first corrupt-data warning */
    jpeg_problem first_warning;
    unsigned char benign_seen[JMSG_LASTMSGCODE];
    uint64_t coef_bytes;       /* whole-image buffer; 0 for one scan */
    uint64_t comp_bytes[MAX_COMPONENTS];
    uint64_t reserved;         /* from lim->gate, released after the file */
    uint64_t work;             /* coefficient bytes the scans pass over */
    uint64_t work_max;
    int scan_seen;             /* the last scan counted in work */
} file_state;

struct ia_jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    uint8_t *row;              /* one output row (4 bytes/pixel for CMYK) */
    size_t row_cap;
    void *row_mem;             /* the allocation row points into */
    uint8_t exif[EXIF_MAX];    /* the first EXIF APP1 payload */
    file_state f;
};

static const char *jmsg_name(int code)
{
    if (code < 0 || code >= JMSG_LASTMSGCODE)
        return "JMSG_UNKNOWN";
    return jmsg_names[code];
}

static void keep_problem(j_common_ptr ci, jpeg_problem *p)
{
    p->code = ci->err->msg_code;
    ci->err->format_message(ci, p->text);
}

/* ---- Error manager ------------------------------------------------------ */

static _Noreturn void bail(ia_jpeg_decoder *d, int reason)
{
    d->f.abort = reason;
    longjmp(d->jump, 1);
}

static void on_error_exit(j_common_ptr ci)
{
    ia_jpeg_decoder *d = ci->client_data;
    keep_problem(ci, &d->f.fatal);
    d->f.fatal_after_eof = d->f.eof_seen;
    bail(d, ABORT_FATAL);
}

static void on_output_message(j_common_ptr ci)
{
    (void)ci; /* library code never prints */
}

static int is_corrupt_code(int code)
{
    switch (code) {
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
#if JPEG_LIB_VERSION >= 70 || defined(C_ARITH_CODING_SUPPORTED) || \
    defined(D_ARITH_CODING_SUPPORTED)
    case JWRN_ARITH_BAD_CODE:
#endif
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
        return 1;
    default:
        return 0;
    }
}

/* After the data ran out, libjpeg decodes fake EOI markers: hitting one
 * inside entropy data, or where a restart marker belongs, is the
 * truncation itself. A marker search that discarded more than the one
 * byte the fake data can account for went through real garbage. */
static int caused_by_eof(const ia_jpeg_decoder *d, j_common_ptr ci)
{
    int code = ci->err->msg_code;
    if (!d->f.eof_seen)
        return 0;
    if (code == JWRN_EXTRANEOUS_DATA)
        return ci->err->msg_parm.i[0] <= 1;
    return 1;
}

static void note_benign(ia_jpeg_decoder *d, j_common_ptr ci)
{
    int code = ci->err->msg_code;
    if (code < 0 || code >= JMSG_LASTMSGCODE || d->f.benign_seen[code])
        return;
    d->f.benign_seen[code] = 1;
    char text[JMSG_LENGTH_MAX];
    ci->err->format_message(ci, text);
    ia_result_add(d->f.res, "decoder_warning", IA_SEV_INFO, "%s (%s, code %d)",
                  text, jmsg_name(code), code);
}

static void on_emit_message(j_common_ptr ci, int msg_level)
{
    ia_jpeg_decoder *d = ci->client_data;
    if (msg_level >= 0)
        return; /* trace messages */
    ci->err->num_warnings++;
    if (ci->err->msg_code == JWRN_JPEG_EOF) {
        if (d->f.eof_seen) {
            if (++d->f.eof_repeats > EOF_REPEAT_MAX)
                bail(d, ABORT_WARNINGS);
            return;
        }
        d->f.eof_seen = 1;
        d->f.eof_row = d->f.rows_out;
    } else if (caused_by_eof(d, ci)) {
        d->f.starved = 1;
        return;
    }
    if (d->f.warnings == 0)
        keep_problem(ci, &d->f.first_warning);
    if (++d->f.warnings > d->f.lim->max_warnings)
        bail(d, ABORT_WARNINGS);
    if (is_corrupt_code(ci->err->msg_code)) {
        if (d->f.corrupt_warnings++ == 0)
            keep_problem(ci, &d->f.corrupt);
    } else if (ci->err->msg_code != JWRN_JPEG_EOF) {
        note_benign(d, ci);
    }
}

/* Like turbojpeg.c: a progressive file may hold any number of tiny scans,
 * each costing a pass over the coefficient arrays of its components. The
 * monitor runs before each iMCU row is consumed, so it sees a new scan
 * before any of its work is done. */
static void on_progress(j_common_ptr ci)
{
    ia_jpeg_decoder *d = ci->client_data;
    if (!ci->is_decompressor)
        return;
    j_decompress_ptr di = (j_decompress_ptr)ci;
    int scan = di->input_scan_number;
    if (scan <= 0 || scan == d->f.scan_seen)
        return;
    d->f.scan_seen = scan;
    if ((unsigned)scan > d->f.lim->max_scans)
        bail(d, ABORT_SCANS);
    for (int i = 0; i < di->comps_in_scan; i++) {
        int c = di->cur_comp_info[i]->component_index;
        if (c >= 0 && c < MAX_COMPONENTS)
            d->f.work += d->f.comp_bytes[c];
    }
    if (d->f.work > d->f.work_max)
        bail(d, ABORT_WORK);
}

/* The one place that calls setjmp. fn keeps its state in d. */
static int guarded(ia_jpeg_decoder *d, void (*fn)(ia_jpeg_decoder *))
{
    if (setjmp(d->jump))
        return -1;
    fn(d);
    return 0;
}

/* ---- Marker processors -------------------------------------------------- */

/* Copies n bytes of the marker segment to dst (NULL: discards them). Once
 * the data has run out the rest is fake, so we stop reading: libjpeg then
 * finds the fake EOI where it looks for the next marker. */
static void read_segment(j_decompress_ptr ci, uint8_t *dst, size_t n)
{
    ia_jpeg_decoder *d = ci->client_data;
    struct jpeg_source_mgr *src = ci->src;
    while (n > 0) {
        if (src->bytes_in_buffer == 0) {
            if (!src->fill_input_buffer(ci))
                ERREXIT(ci, JERR_CANT_SUSPEND);
            if (d->f.eof_seen) {
                if (dst)
                    memset(dst, 0, n);
                return;
            }
        }
        size_t k = n < src->bytes_in_buffer ? n : src->bytes_in_buffer;
        if (dst) {
            memcpy(dst, src->next_input_byte, k);
            dst += k;
        }
        src->next_input_byte += k;
        src->bytes_in_buffer -= k;
        n -= k;
    }
}

static size_t read_segment_length(j_decompress_ptr ci)
{
    uint8_t b[2];
    read_segment(ci, b, 2);
    size_t len = (size_t)b[0] << 8 | b[1];
    if (len < 2)
        ERREXIT(ci, JERR_BAD_LENGTH);
    return len - 2;
}

static boolean on_app1(j_decompress_ptr ci)
{
    static const uint8_t exif_id[6] = {'E', 'x', 'i', 'f', 0, 0};
    ia_jpeg_decoder *d = ci->client_data;
    size_t n = read_segment_length(ci);
    if (d->f.exif_len > 0 || n < sizeof exif_id) {
        read_segment(ci, NULL, n);
        return TRUE;
    }
    read_segment(ci, d->exif, n);
    if (memcmp(d->exif, exif_id, sizeof exif_id) == 0)
        d->f.exif_len = n;
    return TRUE;
}

static boolean on_app2(j_decompress_ptr ci)
{
    static const uint8_t icc_id[12] = "ICC_PROFILE";
    ia_jpeg_decoder *d = ci->client_data;
    uint8_t head[sizeof icc_id];
    size_t n = read_segment_length(ci);
    size_t k = n < sizeof head ? n : sizeof head;
    read_segment(ci, head, k);
    if (k == sizeof head && memcmp(head, icc_id, sizeof icc_id) == 0)
        d->f.icc = 1;
    read_segment(ci, NULL, n - k);
    return TRUE;
}

/* ---- Create and free ---------------------------------------------------- */

int ia_jpeg_decoder_new(ia_jpeg_decoder **out)
{
    ia_jpeg_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return IA_ERR_NOMEM;
    jpeg_std_error(&d->jerr);
    d->jerr.error_exit = on_error_exit;
    d->jerr.emit_message = on_emit_message;
    d->jerr.output_message = on_output_message;
    d->progress.progress_monitor = on_progress;
    *out = d;
    return IA_OK;
}

void ia_jpeg_decoder_free(ia_jpeg_decoder *d)
{
    if (!d)
        return;
    free(d->row_mem);
    free(d);
}

/* ---- Header facts ------------------------------------------------------- */

static const char *color_space_name(J_COLOR_SPACE cs)
{
    switch (cs) {
    case JCS_GRAYSCALE: return "gray";
    case JCS_YCbCr: return "ycbcr";
    case JCS_RGB: return "rgb";
    case JCS_CMYK: return "cmyk";
    case JCS_YCCK: return "ycck";
    default: return NULL;
    }
}

/* Luma sampling over chroma sampling; both chroma components must agree.
 * Names follow the usual J:a:b convention (4:4:0 is vertical-only). */
static const char *subsampling_name(const struct jpeg_decompress_struct *ci)
{
    static const struct {
        int h, v;
        const char *name;
    } ratios[] = {
        {1, 1, "4:4:4"}, {2, 1, "4:2:2"}, {2, 2, "4:2:0"},
        {1, 2, "4:4:0"}, {4, 1, "4:1:1"},
    };
    if (ci->num_components < 3)
        return NULL;
    const jpeg_component_info *y = &ci->comp_info[0];
    const jpeg_component_info *cb = &ci->comp_info[1];
    const jpeg_component_info *cr = &ci->comp_info[2];
    if (cb->h_samp_factor != cr->h_samp_factor ||
        cb->v_samp_factor != cr->v_samp_factor ||
        y->h_samp_factor % cb->h_samp_factor != 0 ||
        y->v_samp_factor % cb->v_samp_factor != 0)
        return "other";
    int h = y->h_samp_factor / cb->h_samp_factor;
    int v = y->v_samp_factor / cb->v_samp_factor;
    for (size_t i = 0; i < IA_ARRAY_LEN(ratios); i++)
        if (ratios[i].h == h && ratios[i].v == v)
            return ratios[i].name;
    return "other";
}

static void record_header(ia_jpeg_decoder *d)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    ia_file_result *res = d->f.res;
    res->width = (int32_t)ci->image_width;
    res->height = (int32_t)ci->image_height;
    res->channels = ci->num_components;
    res->bit_depth = ci->data_precision;
    res->color_space = color_space_name(ci->jpeg_color_space);
    res->progressive = res->interlaced = ci->progressive_mode ? 1 : 0;
    res->subsampling = subsampling_name(ci);
    res->rows_total = (int32_t)ci->image_height;
    res->rows_decoded = 0;
    res->icc = d->f.icc;
    d->f.arith = ci->arith_code ? 1 : 0;
    res->has_alpha = 0;
    res->animated = 0;
    if (ci->quant_tbl_ptrs[0]) {
        uint16_t q[DCTSIZE2];
        for (int i = 0; i < DCTSIZE2; i++)
            q[i] = ci->quant_tbl_ptrs[0]->quantval[i];
        res->jpeg_quality = ia_jpeg_quality_estimate(q);
    }
    if (d->f.exif_len > 0)
        res->exif_orientation = ia_exif_orientation(d->exif, d->f.exif_len);
}

static void add_header_findings(ia_jpeg_decoder *d)
{
    ia_file_result *res = d->f.res;
    J_COLOR_SPACE cs = d->cinfo.jpeg_color_space;
    if (cs == JCS_CMYK || cs == JCS_YCCK)
        ia_result_add(res, "cmyk", IA_SEV_INFO,
                      "%s JPEG, converted to RGB as Pillow does",
                      cs == JCS_CMYK ? "CMYK" : "YCCK");
    if (d->cinfo.num_components == 1)
        ia_result_add(res, "grayscale", IA_SEV_INFO,
                      "single-channel (grayscale) JPEG");
    if (res->exif_orientation > 1)
        ia_result_add(res, "exif_rotated", IA_SEV_INFO,
                      "EXIF orientation %d: display needs the stored pixels "
                      "%s; loaders that ignore EXIF see them as stored",
                      res->exif_orientation,
                      ia_orientation_text(res->exif_orientation));
}

/* ---- Decoding ----------------------------------------------------------- */

/* Pillow 9.4, Image.open(f).convert("RGB") on a 4-component JPEG:
 *  - JpegImagePlugin.SOF gives mode "CMYK"; at SOS the raw mode is set to
 *    "CMYK;I" for every CMYK JPEG ("assume adobe conventions"), whether
 *    or not an APP14 Adobe marker is present: PIL tested for the marker
 *    until 2009 ("always use Adobe polarity", JpegImagePlugin 0.6).
 *  - JpegDecode.c maps raw mode "CMYK;I" to out_color_space = JCS_CMYK and
 *    leaves jpeg_color_space as libjpeg detected it (CMYK, or YCCK with
 *    Adobe transform 2, which libjpeg turns into CMYK).
 *  - Unpack.c's "CMYK;I" unpacker (copy4I) stores 255 - v for all four
 *    samples: C = 255 - c, ..., K = 255 - k (c..k as libjpeg returns).
 *  - Convert.c cmyk2rgb: nk = 255 - K; R = CLIP8(nk - MULDIV255(C, nk)),
 *    likewise G from M and B from Y, with MULDIV255(a, b) =
 *    (t = a * b + 128, ((t >> 8) + t) >> 8).
 * Substituting: nk = k and R = k - MULDIV255(255 - c, k), which is never
 * below 0 or above 255 since MULDIV255(x, k) <= k, so CLIP8 is a no-op. */
static uint8_t muldiv255(unsigned a, unsigned b)
{
    unsigned t = a * b + 128u;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

/* In place: pixel x's RGB (bytes 3x..3x+2) never reaches past its own
 * CMYK (4x..4x+3), which is read before being overwritten. */
static void cmyk_row_to_rgb(uint8_t *row, uint32_t width)
{
    for (uint32_t x = 0; x < width; x++) {
        const uint8_t *in = row + 4 * (size_t)x;
        unsigned c = in[0], m = in[1], y = in[2], k = in[3];
        uint8_t *out = row + 3 * (size_t)x;
        out[0] = (uint8_t)(k - muldiv255(255u - c, k));
        out[1] = (uint8_t)(k - muldiv255(255u - m, k));
        out[2] = (uint8_t)(k - muldiv255(255u - y, k));
    }
}

/* Decides the output layout; 0 when Pillow's choice is known. */
static int choose_output(ia_jpeg_decoder *d)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    switch (ci->num_components) {
    case 1:
        ci->out_color_space = JCS_GRAYSCALE;
        d->f.out_channels = 1;
        return 0;
    case 3:
        ci->out_color_space = JCS_RGB;
        d->f.out_channels = 3;
        return 0;
    case 4:
        ci->out_color_space = JCS_CMYK;
        d->f.out_channels = 3;
        d->f.cmyk = 1;
        return 0;
    default:
        return -1; /* Pillow refuses these ("cannot handle N-layer images") */
    }
}

/* The output row is deliberately not 16-byte aligned: libjpeg-turbo's
 * SIMD color conversion writes an aligned output row with non-temporal
 * stores, which bypass the cache, so the measurements that read the row
 * right after would wait on memory (measured: the whole scan 1.5 times
 * slower; docs/performance.md). ROW_SKEW bytes into a 64-byte aligned
 * block, the stores are ordinary and the row stays in L1. */
#define ROW_SKEW 8

static int ensure_row(ia_jpeg_decoder *d, size_t need)
{
    void *p = NULL;
    if (need <= d->row_cap)
        return 0;
    size_t cap = d->row_cap ? d->row_cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > SIZE_MAX - 64 || posix_memalign(&p, 64, cap + 64) != 0)
        return -1;
    free(d->row_mem);
    d->row_mem = p;
    d->row = (uint8_t *)p + ROW_SKEW;
    d->row_cap = cap;
    return 0;
}

static uint64_t round_up(uint64_t v, int to)
{
    return to > 1 ? (v + (uint64_t)to - 1) / (uint64_t)to * (uint64_t)to : v;
}

/* The whole-image coefficient buffer libjpeg allocates for a file of
 * several scans (jdcoefct.c: per component, its blocks rounded up to its
 * sampling factors, 128 bytes each); 0 when the file streams. */
static uint64_t coefficient_bytes(ia_jpeg_decoder *d)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    uint64_t total = 0;
    if (!jpeg_has_multiple_scans(ci))
        return 0;
    for (int c = 0; c < ci->num_components && c < MAX_COMPONENTS; c++) {
        const jpeg_component_info *k = &ci->comp_info[c];
        d->f.comp_bytes[c] = round_up(k->width_in_blocks, k->h_samp_factor) *
                             round_up(k->height_in_blocks, k->v_samp_factor) *
                             sizeof(JBLOCK);
        total += d->f.comp_bytes[c];
    }
    return total;
}

/* The coefficient buffer: justified by the file's size, reserved from
 * the scan's budget, and the scans' work bounded by its size. */
static int budget_buffer(ia_jpeg_decoder *d)
{
    const ia_memgate *gate = d->f.lim->gate;
    uint64_t need = coefficient_bytes(d);
    d->f.coef_bytes = need;
    if (need == 0)
        return 0;
    if (ia_buffer_unjustified(need, d->f.len, IA_JPEG_COEF_RATIO)) {
        d->f.stop = STOP_UNJUSTIFIED;
        return -1;
    }
    if (gate && gate->reserve(gate->ctx, need) != 0) {
        d->f.stop = STOP_BUDGET;
        return -1;
    }
    d->f.reserved = gate ? need : 0;
    d->f.work_max = need * IA_SCAN_PASSES > IA_SCAN_WORK_FLOOR
                        ? need * IA_SCAN_PASSES
                        : IA_SCAN_WORK_FLOOR;
    return 0;
}

/* Everything up to the first pixel allocation; 0 to go on decoding. */
static int prepare(ia_jpeg_decoder *d)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    size_t pixels, row_bytes;
    if (ia_mul_size(ci->image_width, ci->image_height, &pixels) != 0 ||
        pixels > d->f.lim->max_pixels) {
        d->f.stop = STOP_TOO_LARGE;
        return -1;
    }
    if (choose_output(d) != 0) {
        d->f.stop = STOP_LAYOUT;
        return -1;
    }
    if (budget_buffer(d) != 0)
        return -1;
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    size_t bytes_per_pixel = d->f.cmyk ? 4 : (size_t)d->f.out_channels;
    if (ia_mul_size(ci->image_width, bytes_per_pixel, &row_bytes) != 0 ||
        ensure_row(d, row_bytes) != 0) {
        d->f.stop = STOP_NOMEM;
        return -1;
    }
    if (d->f.sink && d->f.sink->begin &&
        d->f.sink->begin(d->f.sink->ctx, ci->image_width, ci->image_height,
                         d->f.out_channels, ci->data_precision) != 0) {
        d->f.stop = STOP_MEASURE;
        return -1;
    }
    return 0;
}

static void push_rows(ia_jpeg_decoder *d)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW rows[1] = {d->row};
        /* jpeg_mem_src never suspends, so 0 rows means a libjpeg bug. */
        if (jpeg_read_scanlines(ci, rows, 1) != 1)
            ERREXIT(ci, JERR_CANT_SUSPEND);
        if (d->f.cmyk)
            cmyk_row_to_rgb(d->row, ci->output_width);
        if (d->f.sink && d->f.sink->row)
            d->f.sink->row(d->f.sink->ctx, d->row);
        d->f.rows_out++;
    }
}

static void decode_body(ia_jpeg_decoder *d)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    ci->err = &d->jerr;
    ci->client_data = d; /* both kept by jpeg_create_decompress */
    jpeg_create_decompress(ci);
    d->f.created = 1;
    ci->progress = &d->progress;
    jpeg_set_marker_processor(ci, JPEG_APP0 + 1, on_app1);
    jpeg_set_marker_processor(ci, JPEG_APP0 + 2, on_app2);
    jpeg_mem_src(ci, d->f.buf, (unsigned long)d->f.len);
    jpeg_read_header(ci, TRUE);
    record_header(d);
    add_header_findings(d);
    if (ci->image_width == 0 || ci->image_height == 0)
        ERREXIT(ci, JERR_EMPTY_IMAGE); /* libjpeg checks too; be sure */
    if (prepare(d) != 0)
        return;
    jpeg_start_decompress(ci);
    /* No scaling was asked for, so begin() saw the output size. */
    assert(ci->output_width == ci->image_width &&
           ci->output_height == ci->image_height &&
           ci->output_components == (d->f.cmyk ? 4 : d->f.out_channels));
    push_rows(d);
    jpeg_finish_decompress(ci);
}

/* ---- Verdict ------------------------------------------------------------ */

/* Rows made from real data. libjpeg reads ahead, so the end can be met
 * while the last rows are still coming from real bytes: when the Huffman
 * decoder never ran dry afterwards (it warns when it does) and every row
 * came out, all of them are real, and only the end marker is missing. The
 * arithmetic decoder pads silently, so there we keep the cautious count. */
static uint32_t real_rows(const ia_jpeg_decoder *d, const ia_file_result *r)
{
    if (!d->f.eof_seen)
        return d->f.rows_out;
    if (!d->f.starved && !d->f.arith && d->f.abort == ABORT_NONE &&
        r->rows_total >= 0 && d->f.rows_out == (uint32_t)r->rows_total)
        return d->f.rows_out;
    return d->f.eof_row;
}

static void set_truncated(ia_file_result *res)
{
    if (res->rows_total < 0)
        ia_result_status(res, IA_ST_TRUNCATED,
                         "premature end of JPEG data in the headers");
    else if (res->rows_decoded == res->rows_total)
        ia_result_status(res, IA_ST_TRUNCATED,
                         "premature end of JPEG data after all %d rows "
                         "(end of image marker missing)",
                         res->rows_total);
    else
        ia_result_status(res, IA_ST_TRUNCATED,
                         "premature end of JPEG data after %d of %d rows",
                         res->rows_decoded, res->rows_total);
}

static void set_corrupt(ia_file_result *res, const char *what,
                        const jpeg_problem *p)
{
    ia_result_status(res, IA_ST_CORRUPT, "%s: %s (%s, code %d)", what,
                     p->text, jmsg_name(p->code), p->code);
}

static void refuse_buffer(const ia_jpeg_decoder *d, ia_file_result *res)
{
    const char *kind = res->progressive ? "progressive" : "multi-scan";
    unsigned long long mb = d->f.coef_bytes >> 20;
    if (d->f.stop == STOP_UNJUSTIFIED)
        ia_result_status(res, IA_ST_TOO_LARGE,
                         "%s JPEG of %d x %d: its %llu MB coefficient buffer "
                         "is more than %u times the file's %zu bytes",
                         kind, res->width, res->height, mb,
                         IA_JPEG_COEF_RATIO, d->f.len);
    else
        ia_result_status(res, IA_ST_TOO_LARGE,
                         "%s JPEG of %d x %d: its %llu MB coefficient buffer "
                         "is over the scan's memory budget of %llu MB",
                         kind, res->width, res->height, mb,
                         (unsigned long long)(d->f.lim->gate->total >> 20));
}

/* The most severe problem names the status: limits, then fatal errors,
 * then corrupt data, then truncation (which also explains a fatal error
 * met in the fake data after the end). */
static void classify(ia_jpeg_decoder *d, ia_file_result *res)
{
    if (res->rows_total >= 0) {
        res->rows_decoded = (int32_t)real_rows(d, res);
        res->icc = d->f.icc; /* an APP2 may follow the first SOS */
    }
    if (d->f.stop == STOP_TOO_LARGE) {
        ia_result_status(res, IA_ST_TOO_LARGE,
                         "%d x %d pixels exceeds the limit of %llu pixels",
                         res->width, res->height,
                         (unsigned long long)d->f.lim->max_pixels);
    } else if (d->f.abort == ABORT_WARNINGS) {
        ia_result_status(res, IA_ST_CORRUPT,
                         "too many warnings: more than %u (first: %s, %s)",
                         d->f.lim->max_warnings, d->f.first_warning.text,
                         jmsg_name(d->f.first_warning.code));
    } else if (d->f.stop == STOP_UNJUSTIFIED || d->f.stop == STOP_BUDGET) {
        refuse_buffer(d, res);
    } else if (d->f.abort == ABORT_SCANS) {
        ia_result_status(res, IA_ST_CORRUPT,
                         "too many progressive scans: more than %u",
                         d->f.lim->max_scans);
    } else if (d->f.abort == ABORT_WORK) {
        ia_result_status(res, IA_ST_CORRUPT,
                         "too many progressive scans for the image size: "
                         "scan %d would pass over the %llu MB coefficient "
                         "buffer more than %u times in all",
                         d->f.scan_seen,
                         (unsigned long long)(d->f.coef_bytes >> 20),
                         IA_SCAN_PASSES);
    } else if (d->f.abort == ABORT_FATAL && !d->f.fatal_after_eof &&
               d->f.fatal.code == JERR_BAD_PRECISION) {
        /* A valid 12- or 16-bit JPEG: no common loader opens it, but it
         * is not damaged (libjpeg-turbo's 8-bit build refuses it). The
         * SOF fields survive jpeg_destroy_decompress. */
        res->bit_depth = d->cinfo.data_precision;
        res->width = (int32_t)d->cinfo.image_width;
        res->height = (int32_t)d->cinfo.image_height;
        ia_result_status(res, IA_ST_UNSUPPORTED,
                         "%d-bit JPEG (data precision %d): 8-bit decoders, "
                         "Pillow's included, cannot read it",
                         d->cinfo.data_precision, d->cinfo.data_precision);
    } else if (d->f.abort == ABORT_FATAL && !d->f.fatal_after_eof) {
        set_corrupt(res, "fatal error", &d->f.fatal);
    } else if (d->f.corrupt_warnings > 0) {
        set_corrupt(res, "decoder warning", &d->f.corrupt);
    } else if (d->f.stop == STOP_MEASURE) {
        ia_result_status(res, IA_ST_CORRUPT, "measure failed");
    } else if (d->f.stop == STOP_LAYOUT) {
        ia_result_status(res, IA_ST_CORRUPT,
                         "cannot decode a JPEG with %d color components",
                         res->channels);
    } else if (d->f.eof_seen) {
        set_truncated(res);
    } else {
        res->status = IA_ST_OK;
    }
}

static void begin_file(ia_jpeg_decoder *d, const uint8_t *buf, size_t len,
                       const ia_limits *lim, const ia_rowsink *sink,
                       ia_file_result *res)
{
    memset(&d->f, 0, sizeof d->f);
    d->f.buf = buf;
    d->f.len = len;
    if (lim)
        d->f.limits = *lim;
    ia_limits_defaults(&d->f.limits, d->f.limits.max_pixels);
    d->f.lim = &d->f.limits;
    d->f.sink = sink;
    d->f.res = res;
}

int ia_decode_jpeg(ia_jpeg_decoder *d, const uint8_t *buf, size_t len,
                   const ia_limits *lim, const ia_rowsink *sink,
                   ia_file_result *res)
{
    begin_file(d, buf, len, lim, sink, res);
    (void)guarded(d, decode_body);
    /* Safe from any point, including after error_exit and a failed
     * create (it frees nothing when the memory manager never came up). */
    jpeg_destroy_decompress(&d->cinfo);
    if (d->f.reserved)
        d->f.lim->gate->release(d->f.lim->gate->ctx, d->f.reserved);
    /* jpeg_create_decompress fails only when memory runs out. */
    int nomem = d->f.stop == STOP_NOMEM || !d->f.created;
    if (!nomem)
        classify(d, res);
    return nomem ? IA_ERR_NOMEM : IA_OK;
}

/* ---- Table row ---------------------------------------------------------- */

static int op_create(void **state)
{
    ia_jpeg_decoder *d = NULL;
    int rc = ia_jpeg_decoder_new(&d);
    *state = d;
    return rc;
}

static int op_decode(void *state, const uint8_t *buf, size_t len,
                     const ia_limits *lim, const ia_rowsink *sink,
                     ia_file_result *res)
{
    return ia_decode_jpeg(state, buf, len, lim, sink, res);
}

static void op_destroy(void *state)
{
    ia_jpeg_decoder_free(state);
}

const ia_decoder_ops ia_jpeg_ops = {
    IA_FMT_JPEG, "libjpeg-turbo", op_create, op_decode, op_destroy,
};
