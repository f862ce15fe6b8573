/*
 * Names of the enumerations that reach the DB and the reports: formats,
 * statuses, severities. The strings are part of the product contract
 * (DESIGN.md) and of the DB; never rename one.
 */
#ifndef IA_CODES_H
#define IA_CODES_H

typedef enum ia_fmt {
    IA_FMT_UNKNOWN = 0, /* not a recognised image format */
    IA_FMT_JPEG,
    IA_FMT_PNG,
    IA_FMT_GIF,
    IA_FMT_WEBP,
    IA_FMT_BMP,
    IA_FMT_TIFF,
    IA_FMT_HEIF,
    IA_FMT_AVIF,
    IA_FMT_JXL,
    IA_FMT_JP2,
    IA_FMT_COUNT
} ia_fmt;

typedef enum ia_status {
    IA_ST_OK = 0,
    IA_ST_TRUNCATED,
    IA_ST_CORRUPT,
    IA_ST_UNSUPPORTED,
    IA_ST_NOT_IMAGE,
    IA_ST_EMPTY,
    IA_ST_UNREADABLE,
    IA_ST_TOO_LARGE,
    IA_ST_COUNT
} ia_status;

typedef enum ia_severity {
    IA_SEV_INFO = 0,
    IA_SEV_WARNING = 1,
    IA_SEV_ERROR = 2,
} ia_severity;

/* "jpeg", "png", ...; "unknown" for IA_FMT_UNKNOWN. */
const char *ia_fmt_name(int fmt);
/* "ok", "truncated", ... */
const char *ia_status_name(int status);
/* -1 when unknown */
int ia_status_parse(const char *name);
/* "info", "warning", "error" */
const char *ia_severity_name(int sev);
int ia_severity_parse(const char *name);
/* The severity of the finding that a status gets (ok: -1, no finding). */
int ia_status_severity(int status);

#endif
