/*
 * The per-file result: reset between files and filled by each stage.
 * Findings past the cap are counted, not stored, so a hostile file cannot
 * grow a worker's memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

void ia_result_reset(ia_file_result *r)
{
    /* The findings array (3 KB) is read only up to nfindings: clearing
     * it for every file was a tenth of an unchanged rescan's time. */
    memset(r, 0, offsetof(ia_file_result, findings));
    r->reuse_id = 0;
    r->size = -1;
    r->mtime_ns = -1;
    r->format = IA_FMT_UNKNOWN;
    r->ext_format = IA_FMT_UNKNOWN;
    r->status = IA_ST_OK;
    r->width = r->height = r->channels = r->bit_depth = -1;
    r->rows_decoded = r->rows_total = -1;
    r->progressive = r->jpeg_quality = r->exif_orientation = -1;
    r->icc = r->interlaced = r->palette = -1;
    r->has_alpha = r->animated = r->frames = -1;
}

void ia_result_add(ia_file_result *r, const char *code, int severity,
                   const char *fmt, ...)
{
    if (r->nfindings >= IA_MAX_FILE_FINDINGS) {
        r->findings_dropped++;
        return;
    }
    ia_finding_rec *f = &r->findings[r->nfindings++];
    f->code = code;
    f->severity = severity;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(f->detail, sizeof f->detail, fmt, ap);
    va_end(ap);
    if (n < 0)
        f->detail[0] = '\0';
}

void ia_result_status(ia_file_result *r, int status, const char *fmt, ...)
{
    r->status = status;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    if (n < 0)
        r->message[0] = '\0';
}
