/*
 * The strings behind the enumerations. They are stored in DBs and printed
 * in reports, so a name once shipped is never changed.
 */
#include <string.h>

#include "core/core.h"
#include "imgaudit.h"

static const char *const fmt_names[IA_FMT_COUNT] = {
    "unknown", "jpeg", "png", "gif", "webp", "bmp",
    "tiff", "heif", "avif", "jxl", "jp2", "pnm", "tga",
};

static const char *const status_names[IA_ST_COUNT] = {
    "ok", "truncated", "corrupt", "unsupported",
    "not_image", "empty", "unreadable", "too_large",
};

static const char *const severity_names[] = {"info", "warning", "error"};

const char *ia_fmt_name(int fmt)
{
    if (fmt < 0 || fmt >= IA_FMT_COUNT)
        return "unknown";
    return fmt_names[fmt];
}

const char *ia_status_name(int status)
{
    if (status < 0 || status >= IA_ST_COUNT)
        return "unknown";
    return status_names[status];
}

int ia_status_parse(const char *name)
{
    for (int i = 0; i < IA_ST_COUNT; i++)
        if (name && strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

const char *ia_severity_name(int sev)
{
    if (sev < 0 || sev >= (int)IA_ARRAY_LEN(severity_names))
        return "info";
    return severity_names[sev];
}

int ia_severity_parse(const char *name)
{
    for (int i = 0; i < (int)IA_ARRAY_LEN(severity_names); i++)
        if (name && strcmp(name, severity_names[i]) == 0)
            return i;
    return -1;
}

int ia_status_severity(int status)
{
    switch (status) {
    case IA_ST_OK:
        return -1;
    case IA_ST_UNSUPPORTED:
        return IA_SEV_WARNING;
    default:
        return IA_SEV_ERROR;
    }
}

const char *ia_strerror(int err)
{
    switch (err) {
    case IA_OK: return "success";
    case IA_ERR_NOMEM: return "out of memory";
    case IA_ERR_IO: return "input/output error";
    case IA_ERR_DB: return "database error";
    case IA_ERR_DB_VERSION: return "database written by a newer imgaudit";
    case IA_ERR_ARG: return "invalid argument";
    case IA_ERR_NOT_FOUND: return "scan not found";
    case IA_ERR_MANIFEST: return "invalid manifest";
    case IA_ERR_THREAD: return "cannot start worker thread";
    case IA_ERR_INTERRUPTED: return "interrupted";
    case IA_ERR_NOT_DB: return "not an imgaudit database";
    case IA_ERR_SHARDS: return "shards missing, failed or mismatched";
    case IA_ERR_BUSY: return "database in use by another writer";
    default: return "unknown error";
    }
}

int ia_format_parse(const char *s)
{
    static const struct {
        const char *name;
        ia_format fmt;
    } formats[] = {
        {"text", IA_FORMAT_TEXT}, {"json", IA_FORMAT_JSON},
        {"md", IA_FORMAT_MD}, {"markdown", IA_FORMAT_MD},
        {"html", IA_FORMAT_HTML}, {"csv", IA_FORMAT_CSV},
        {"jsonl", IA_FORMAT_JSONL},
    };
    for (size_t i = 0; s && i < IA_ARRAY_LEN(formats); i++)
        if (strcmp(s, formats[i].name) == 0)
            return (int)formats[i].fmt;
    return -1;
}
