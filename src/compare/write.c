/*
 * ia_compare_write: the one place that names the writers (text and
 * Markdown, JSON, HTML); each reads the comparison through model.h only.
 */
#include <stdio.h>

#include "compare/model.h"
#include "compare/writers.h"

int ia_compare_write(ia_compare *c, ia_format fmt, FILE *out)
{
    if (!c || !out)
        return IA_ERR_ARG;
    switch (fmt) {
    case IA_FORMAT_JSON: return ia_cmp_write_json(c, out);
    case IA_FORMAT_TEXT: return ia_cmp_write_text(c, out, 0);
    case IA_FORMAT_MD: return ia_cmp_write_text(c, out, 1);
    case IA_FORMAT_HTML: return ia_html_compare(c, out, NULL);
    default:
        return ia_cmp_fail(c, IA_ERR_ARG,
                           "compare writes text, md, json or html");
    }
}

