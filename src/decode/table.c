/*
 * The decoder table: one row per format this build decodes, keyed by the
 * sniffed format (decode.h). The formats of optional libraries (meson
 * features: libavif, libheif, libjxl) get a row only when the build found
 * the library; otherwise ia_decoder_missing says so, and such files stay
 * `unsupported` with that reason.
 *
 * A decoder set holds one state per format for one worker, made the
 * first time the worker meets the format: a worker that never sees a TIFF
 * never allocates libtiff's buffers.
 */
#include <stdlib.h>

#include "decode/codec.h"
#include "decode/decode.h"
#include "imgaudit.h"

static const ia_decoder_ops *const table[] = {
    &ia_jpeg_ops,
    &ia_png_ops,
    &ia_gif_ops,
    &ia_webp_ops,
    &ia_tiff_ops,
    &ia_bmp_ops,
    &ia_pnm_ops,
    &ia_tga_ops,
#ifdef IA_HAVE_HEIF
    &ia_heif_ops,
#endif
#ifdef IA_HAVE_AVIF
    &ia_avif_ops,
#endif
#ifdef IA_HAVE_JXL
    &ia_jxl_ops,
#endif
};

const ia_decoder_ops *const *ia_decoders(size_t *n)
{
    *n = IA_ARRAY_LEN(table);
    return table;
}

const ia_decoder_ops *ia_decoder_find(int format)
{
    for (size_t i = 0; i < IA_ARRAY_LEN(table); i++)
        if (table[i]->format == format)
            return table[i];
    return NULL;
}

/* Formats that have a decoder file but whose library this build lacks. */
static const struct {
    int format;
    const char *why;
} optional[] = {
    {IA_FMT_AVIF, "this imgaudit was built without libavif"},
    {IA_FMT_HEIF, "this imgaudit was built without libheif"},
    {IA_FMT_JXL, "this imgaudit was built without libjxl"},
};

const char *ia_decoder_missing(int format)
{
    if (ia_decoder_find(format))
        return "";
    for (size_t i = 0; i < IA_ARRAY_LEN(optional); i++)
        if (optional[i].format == format)
            return optional[i].why;
    return "no decoder for this format";
}

struct ia_decoder_set {
    void *state[IA_FMT_COUNT];
};

int ia_decoder_set_new(ia_decoder_set **out)
{
    ia_decoder_set *s = calloc(1, sizeof *s);
    if (!s)
        return IA_ERR_NOMEM;
    *out = s;
    return IA_OK;
}

void ia_decoder_set_free(ia_decoder_set *s)
{
    if (!s)
        return;
    for (int f = 0; f < IA_FMT_COUNT; f++) {
        const ia_decoder_ops *ops = ia_decoder_find(f);
        if (ops && s->state[f])
            ops->destroy(s->state[f]);
    }
    free(s);
}

int ia_decoder_set_decode(ia_decoder_set *s, int format, const uint8_t *buf,
                          size_t len, const ia_limits *lim,
                          const ia_rowsink *sink, ia_file_result *res)
{
    const ia_decoder_ops *ops = ia_decoder_find(format);
    if (!ops || format <= IA_FMT_UNKNOWN || format >= IA_FMT_COUNT)
        return IA_ERR_ARG;
    if (!s->state[format] && ops->create(&s->state[format]) != IA_OK)
        return IA_ERR_NOMEM;
    return ops->decode(s->state[format], buf, len, lim, sink, res);
}
