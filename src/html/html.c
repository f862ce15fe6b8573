/*
 * HTML building blocks (html.h): escaping, the page shell with its one
 * inline style sheet, cards, SVG charts and thumbnail galleries, shared
 * by the scan and compare reports so both look and behave alike.
 *
 * Safety rests on one rule: every string that reaches the page from a
 * dataset goes through ia_html_text, which escapes the five characters
 * that could open a tag, an entity or leave an attribute, whatever the
 * context (text, quoted attribute, SVG text). The Content-Security-Policy
 * in the head is a second wall, not the first: it forbids scripts and
 * every fetch except data: images, so even a missed escape could neither
 * run code nor reach the network. The tests check both walls separately.
 *
 * Charts are drawn by hand as inline SVG with fixed geometry and numbers
 * printed with fixed precision, so the same DB always gives the same
 * bytes (reports are diffable and testable).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "html/html.h"
#include "imgaudit.h"
#include "core/core.h"

/* ---- text ------------------------------------------------------------ */

static const char replacement[] = "\xEF\xBF\xBD";   /* U+FFFD */

/* Writes one character at *p and advances; returns 0 at the end. */
static int put_char(FILE *out, const unsigned char **pp)
{
    const unsigned char *p = *pp;
    if (!*p)
        return 0;
    size_t n = ia_utf8_len(p);
    if (n == 0) {
        fputs(replacement, out);
        *pp = p + 1;
        return 1;
    }
    *pp = p + n;
    if (n > 1) {
        fwrite(p, 1, n, out);
        return 1;
    }
    switch (*p) {
    case '&': fputs("&amp;", out); break;
    case '<': fputs("&lt;", out); break;
    case '>': fputs("&gt;", out); break;
    case '"': fputs("&quot;", out); break;
    case '\'': fputs("&#39;", out); break;
    default:
        if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
            fputs(replacement, out);
        else
            fputc(*p, out);
    }
    return 1;
}

void ia_html_text(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (p)
        while (put_char(out, &p))
            ;
}

void ia_html_text_cut(FILE *out, const char *s, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    if (!p)
        return;
    while (*p && n < max_chars && put_char(out, &p))
        n++;
    if (*p)
        fputs("\xE2\x80\xA6", out);   /* U+2026 */
}

void ia_html_base64(FILE *out, const uint8_t *p, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char quad[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
                     p[i + 2];
        quad[0] = digits[v >> 18];
        quad[1] = digits[(v >> 12) & 63];
        quad[2] = digits[(v >> 6) & 63];
        quad[3] = digits[v & 63];
        fwrite(quad, 1, 4, out);
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        quad[0] = digits[v >> 18];
        quad[1] = digits[(v >> 12) & 63];
        quad[2] = i + 1 < n ? digits[(v >> 6) & 63] : '=';
        quad[3] = '=';
        fwrite(quad, 1, 4, out);
    }
}

void ia_html_count(FILE *out, uint64_t n)
{
    char digits[24];
    ia_bprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    size_t len = strlen(digits);
    for (size_t i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            fputs("\xE2\x80\x89", out);   /* U+2009 thin space */
        fputc(digits[i], out);
    }
}

/* ---- page structure -------------------------------------------------- */

static const char style_sheet[] =
    ":root{--fg:#1d2430;--muted:#5b6577;--line:#dfe3ea;--bg:#f4f5f8;"
    "--pass:#1b7f3b;--warn:#a15c00;--fail:#b42318;--s0:#3f6fb0;"
    "--s1:#e8812a}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 "
    "system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",Arial,"
    "sans-serif}\n"
    "main{max-width:1180px;margin:0 auto;padding:22px 28px 36px}\n"
    ".kicker{color:var(--muted);text-transform:uppercase;"
    "letter-spacing:.08em;font-size:12px}\n"
    "h1{font-size:26px;margin:2px 0 8px;overflow-wrap:anywhere}\n"
    "dl.meta{display:flex;flex-wrap:wrap;gap:4px 20px;margin:0;"
    "color:var(--muted);font-size:13px}\n"
    "dl.meta div{display:flex;gap:6px}dl.meta dt{font-weight:600}"
    "dl.meta dd{margin:0;overflow-wrap:anywhere}\n"
    "nav{margin:14px 0 0;display:flex;flex-wrap:wrap;gap:6px}\n"
    "nav a{color:var(--s0);text-decoration:none;border:1px solid "
    "var(--line);background:#fff;border-radius:14px;padding:2px 10px;"
    "font-size:13px}\n"
    ".verdict{border-radius:10px;padding:14px 20px;margin:16px 0;"
    "color:#fff;display:flex;flex-wrap:wrap;align-items:baseline;"
    "gap:6px 18px}\n"
    ".verdict b{font-size:24px;letter-spacing:.03em}\n"
    ".v-pass{background:var(--pass)}.v-warn{background:var(--warn)}"
    ".v-fail{background:var(--fail)}\n"
    ".notice{border-left:4px solid var(--muted);padding:8px 12px;"
    "background:#fff;margin:12px 0}\n"
    ".n-warn{border-color:var(--warn)}.n-fail{border-color:var(--fail)}\n"
    "section{background:#fff;border:1px solid var(--line);"
    "border-radius:10px;padding:16px 22px;margin:18px 0}\n"
    "h2{font-size:18px;margin:0 0 12px}h3{font-size:15px;margin:18px 0 8px}"
    "\n"
    "p.note{color:var(--muted);margin:4px 0 10px}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 12px}\n"
    ".card{border:1px solid var(--line);border-radius:8px;"
    "padding:8px 14px;min-width:112px}\n"
    ".card .num{font-size:22px;font-weight:650;"
    "font-variant-numeric:tabular-nums}"
    ".card .cap{color:var(--muted);font-size:12px}\n"
    ".l-warn .num{color:var(--warn)}.l-fail .num{color:var(--fail)}\n"
    "table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}\n"
    "th,td{border-bottom:1px solid var(--line);padding:4px 10px;"
    "text-align:left;vertical-align:top}\n"
    "th{font-weight:600;color:var(--muted)}"
    ".n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".sev{display:inline-block;border-radius:4px;padding:0 6px;"
    "font-size:12px;color:#fff}\n"
    ".sev-error{background:var(--fail)}.sev-warning{background:var(--warn)}"
    ".sev-info{background:#7a8699}\n"
    "code,.path{font-family:ui-monospace,\"DejaVu Sans Mono\",Menlo,"
    "Consolas,monospace;font-size:12px;overflow-wrap:anywhere}\n"
    "table.codes code{white-space:nowrap;overflow-wrap:normal}\n"
    "summary{cursor:pointer}ul.ex{margin:4px 0 8px;padding-left:20px}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:18px 34px}\n"
    "figure.chart{margin:0}figure.chart figcaption{font-weight:600;"
    "margin-bottom:4px}\n"
    "svg text{font-size:11px;fill:var(--fg)}svg .m{fill:var(--muted)}"
    "svg .ax{stroke:var(--line)}\n"
    ".s0{fill:var(--s0)}.s1{fill:var(--s1)}"
    ".hist .s0,.hist .s1{fill-opacity:.62}\n"
    ".legend{display:flex;gap:14px;font-size:12px;color:var(--muted);"
    "margin-bottom:4px}\n"
    ".legend i{display:inline-block;width:10px;height:10px;"
    "margin-right:4px;border-radius:2px}\n"
    ".legend .k0{background:var(--s0)}.legend .k1{background:var(--s1)}\n"
    ".gallery{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 8px}\n"
    "figure.th{margin:0;width:140px}\n"
    ".bx{position:relative}.bx svg{position:absolute;left:0;top:0;"
    "width:100%;height:100%;overflow:visible}.bx rect{fill:none;"
    "stroke:#e0245e;stroke-width:2px;vector-effect:non-scaling-stroke}\n"
    "figure.th img,.ph{display:block;max-width:128px;max-height:128px;"
    "border:1px solid var(--line);border-radius:4px;background:#eceef2}\n"
    ".ph{width:128px;height:96px;display:flex;align-items:center;"
    "justify-content:center;color:var(--muted);font-size:12px;"
    "text-align:center;padding:4px}\n"
    "figure.th figcaption{font-size:11px;margin-top:3px;"
    "overflow-wrap:anywhere}figure.th .note{color:var(--muted)}\n"
    ".group{border:1px solid var(--line);border-radius:8px;"
    "padding:8px 10px;margin:8px 0}\n"
    ".group .gh{font-size:12px;color:var(--muted);margin-bottom:6px}"
    ".group .gallery{margin:0}\n"
    "footer{color:var(--muted);font-size:12px;text-align:center;"
    "margin-top:22px}\n";

/* Cards of duplicate groups, leaks and modified pairs (a second string:
 * C17 promises string literals of 4095 bytes only). */
static const char style_cards[] =
    ".cardgrid{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(300px,1fr));gap:10px;margin:6px 0 8px}"
    ".cardgrid .group{margin:0}.pair .gh .path{color:var(--fg)}"
    ".pair .why{color:var(--fail);font-weight:600}"
    ".cardgrid figure.th{width:132px}\n"
    ".more{color:var(--muted);font-style:italic;margin:4px 0 8px}\n";

/* No script may run and nothing may be fetched: images only from data:
 * URIs, styles only from the inline sheet. */
static const char csp[] =
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'";

void ia_html_page_begin(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"", out);
    fputs(csp, out);
    fputs("\">\n<meta name=\"viewport\" content=\"width=device-width, "
          "initial-scale=1\">\n<title>", out);
    ia_html_text(out, title);
    fputs("</title>\n<style>\n", out);
    fputs(style_sheet, out);
    fputs(style_cards, out);
    fputs("</style>\n</head>\n<body>\n<main>\n", out);
}

void ia_html_page_end(FILE *out, const char *footer)
{
    fputs("</main>\n", out);
    if (footer) {
        fputs("<footer>", out);
        ia_html_text(out, footer);
        fputs("</footer>\n", out);
    }
    fputs("</body>\n</html>\n", out);
}

void ia_html_header(FILE *out, const char *kicker, const char *name,
                    const ia_html_meta *meta, size_t n)
{
    fputs("<header>\n<div class=\"kicker\">", out);
    ia_html_text(out, kicker);
    fputs("</div>\n<h1>", out);
    ia_html_text(out, name);
    fputs("</h1>\n", out);
    if (n) {
        fputs("<dl class=\"meta\">\n", out);
        for (size_t i = 0; i < n; i++) {
            fputs("<div>", out);
            if (meta[i].key && *meta[i].key) {
                fputs("<dt>", out);
                ia_html_text(out, meta[i].key);
                fputs("</dt>", out);
            }
            fputs("<dd>", out);
            ia_html_text(out, meta[i].value);
            fputs("</dd></div>\n", out);
        }
        fputs("</dl>\n", out);
    }
    fputs("</header>\n", out);
}

void ia_html_nav(FILE *out, const char *const *ids,
                 const char *const *titles, size_t n)
{
    fputs("<nav>", out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "<a href=\"#%s\">", ids[i]);
        ia_html_text(out, titles[i]);
        fputs("</a>", out);
    }
    fputs("</nav>\n", out);
}

static const char *level_suffix(int level)
{
    return level == IA_HTML_FAIL ? "fail"
           : level == IA_HTML_WARN ? "warn" : "pass";
}

void ia_html_verdict(FILE *out, int level, const char *headline,
                     const char *detail)
{
    fprintf(out, "<div class=\"verdict v-%s\" id=\"verdict\"><b>",
            level_suffix(level));
    ia_html_text(out, headline);
    fputs("</b><span>", out);
    ia_html_text(out, detail);
    fputs("</span></div>\n", out);
}

void ia_html_notice(FILE *out, int level, const char *text)
{
    fprintf(out, "<div class=\"notice n-%s\">", level_suffix(level));
    ia_html_text(out, text);
    fputs("</div>\n", out);
}

void ia_html_section_begin(FILE *out, const char *id, const char *title)
{
    fprintf(out, "<section id=\"%s\">\n<h2>", id);
    ia_html_text(out, title);
    fputs("</h2>\n", out);
}

void ia_html_section_end(FILE *out)
{
    fputs("</section>\n", out);
}

void ia_html_subhead(FILE *out, const char *title)
{
    fputs("<h3>", out);
    ia_html_text(out, title);
    fputs("</h3>\n", out);
}

void ia_html_para(FILE *out, const char *text)
{
    fputs("<p class=\"note\">", out);
    ia_html_text(out, text);
    fputs("</p>\n", out);
}

void ia_html_cards_begin(FILE *out)
{
    fputs("<div class=\"cards\">\n", out);
}

void ia_html_card(FILE *out, const char *caption, uint64_t value,
                  int level)
{
    fprintf(out, "<div class=\"card l-%s\"><div class=\"num\">",
            level_suffix(level));
    ia_html_count(out, value);
    fputs("</div><div class=\"cap\">", out);
    ia_html_text(out, caption);
    fputs("</div></div>\n", out);
}

void ia_html_card_text(FILE *out, const char *caption, const char *value,
                       int level)
{
    fprintf(out, "<div class=\"card l-%s\"><div class=\"num\">",
            level_suffix(level));
    ia_html_text(out, value);
    fputs("</div><div class=\"cap\">", out);
    ia_html_text(out, caption);
    fputs("</div></div>\n", out);
}

void ia_html_cards_end(FILE *out)
{
    fputs("</div>\n", out);
}

void ia_html_severity(FILE *out, int severity)
{
    const char *name = severity >= 2 ? "error"
                       : severity == 1 ? "warning" : "info";
    fprintf(out, "<span class=\"sev sev-%s\">%s</span>", name, name);
}

/* ---- charts ---------------------------------------------------------- */

#define LABEL_CHARS 24

static uint64_t series_total(const ia_html_chart *c, size_t s)
{
    uint64_t t = 0;
    for (size_t i = 0; i < c->n; i++)
        t += c->series[s].values[i];
    return t;
}

/* The plotted value: the count, or its share of the series in percent. */
static double plotted(const ia_html_chart *c, size_t s, size_t i,
                      const uint64_t *totals)
{
    double v = (double)c->series[s].values[i];
    if (c->percent)
        return totals[s] ? 100.0 * v / (double)totals[s] : 0.0;
    return v;
}

static double chart_max(const ia_html_chart *c, const uint64_t *totals)
{
    double m = 0;
    for (size_t s = 0; s < c->nseries; s++)
        for (size_t i = 0; i < c->n; i++) {
            double v = plotted(c, s, i, totals);
            if (v > m)
                m = v;
        }
    return m;
}

static void put_value(FILE *out, const ia_html_chart *c, size_t s, size_t i,
                      const uint64_t *totals)
{
    if (c->percent)
        fprintf(out, "%.1f%%", plotted(c, s, i, totals));
    else
        fprintf(out, "%llu", (unsigned long long)c->series[s].values[i]);
}

/* Tooltip: "name — series: value". */
static void put_tip(FILE *out, const ia_html_chart *c, size_t s, size_t i,
                    const uint64_t *totals)
{
    fputs("<title>", out);
    ia_html_text(out, c->names[i]);
    if (c->nseries > 1) {
        fputs(" \xE2\x80\x94 ", out);
        ia_html_text(out, c->series[s].name);
    }
    fputs(": ", out);
    put_value(out, c, s, i, totals);
    if (c->percent)
        fprintf(out, " (%llu)",
                (unsigned long long)c->series[s].values[i]);
    fputs("</title>", out);
}

static void chart_open(FILE *out, const ia_html_chart *c, const char *cls,
                       double w, double h)
{
    fprintf(out, "<figure class=\"chart %s\"><figcaption>", cls);
    ia_html_text(out, c->title);
    fputs("</figcaption>\n", out);
    if (c->nseries > 1) {
        fputs("<div class=\"legend\">", out);
        for (size_t s = 0; s < c->nseries && s < 2; s++) {
            fprintf(out, "<span><i class=\"k%zu\"></i>", s);
            ia_html_text(out, c->series[s].name);
            fputs("</span>", out);
        }
        fputs("</div>\n", out);
    }
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
            "aria-label=\"", w, h, w, h);
    ia_html_text(out, c->title);
    fputs("\">\n", out);
}

static void chart_close(FILE *out)
{
    fputs("</svg></figure>\n", out);
}

void ia_html_bar_chart(FILE *out, const ia_html_chart *c)
{
    const double label_w = 180, bar_w = 250, value_w = 64, top = 2;
    size_t ns = c->nseries > 2 ? 2 : c->nseries;
    double bar_h = ns == 2 ? 9 : 14, row_h = (double)ns * bar_h + 6;
    uint64_t totals[2] = {0, 0};
    for (size_t s = 0; s < ns; s++)
        totals[s] = series_total(c, s);
    double max = chart_max(c, totals);
    chart_open(out, c, "bars", label_w + bar_w + value_w * (double)ns,
               top * 2 + row_h * (double)c->n);
    for (size_t i = 0; i < c->n; i++) {
        double y = top + row_h * (double)i;
        fprintf(out, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">",
                label_w - 6, y + row_h / 2 + 1);
        ia_html_text_cut(out, c->names[i], LABEL_CHARS);
        fputs("</text>\n", out);
        double end = label_w;
        for (size_t s = 0; s < ns; s++) {
            double v = plotted(c, s, i, totals);
            double w = max > 0 ? v / max * bar_w : 0;
            double by = y + 3 + bar_h * (double)s;
            fprintf(out, "<rect class=\"s%zu\" x=\"%.0f\" y=\"%.1f\" "
                    "width=\"%.1f\" height=\"%.1f\">", s, label_w, by, w,
                    bar_h - 1);
            put_tip(out, c, s, i, totals);
            fputs("</rect>", out);
            if (label_w + w > end)
                end = label_w + w;
        }
        fprintf(out, "<text class=\"m\" x=\"%.1f\" y=\"%.1f\">", end + 4,
                y + row_h / 2 + 1);
        for (size_t s = 0; s < ns; s++) {
            if (s)
                fputs(" / ", out);
            put_value(out, c, s, i, totals);
        }
        fputs("</text>\n", out);
    }
    chart_close(out);
}

static void put_axis_value(FILE *out, const ia_html_chart *c, double v)
{
    if (c->percent)
        fprintf(out, "%.1f%%", v);
    else
        fprintf(out, "%.0f", v);
}

void ia_html_histogram(FILE *out, const ia_html_chart *c)
{
    const double left = 48, plot_w = 440, plot_h = 140, top = 8;
    const double bottom = c->axis ? 36 : 22;
    size_t ns = c->nseries > 2 ? 2 : c->nseries;
    uint64_t totals[2] = {0, 0};
    for (size_t s = 0; s < ns; s++)
        totals[s] = series_total(c, s);
    double max = chart_max(c, totals);
    double bw = c->n ? plot_w / (double)c->n : plot_w;
    chart_open(out, c, "hist", left + plot_w + 12, top + plot_h + bottom);
    fprintf(out, "<line class=\"ax\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" "
            "y2=\"%.0f\"/>\n", left, top + plot_h, left + plot_w,
            top + plot_h);
    fprintf(out, "<text class=\"m\" x=\"%.0f\" y=\"%.0f\" "
            "text-anchor=\"end\">", left - 4, top + 8);
    put_axis_value(out, c, max);
    fprintf(out, "</text><text class=\"m\" x=\"%.0f\" y=\"%.0f\" "
            "text-anchor=\"end\">0</text>\n", left - 4, top + plot_h);
    for (size_t i = 0; i < c->n; i++)
        for (size_t s = 0; s < ns; s++) {
            double v = plotted(c, s, i, totals);
            if (v <= 0)
                continue;
            double h = max > 0 ? v / max * plot_h : 0;
            if (h < 1)
                h = 1;   /* a non-empty bin stays visible */
            fprintf(out, "<rect class=\"s%zu\" x=\"%.1f\" y=\"%.1f\" "
                    "width=\"%.1f\" height=\"%.1f\">", s,
                    left + bw * (double)i, top + plot_h - h,
                    bw > 2 ? bw - 1 : bw, h);
            put_tip(out, c, s, i, totals);
            fputs("</rect>\n", out);
        }
    size_t step = (c->n + 7) / 8;
    for (size_t i = 0; step && i < c->n; i += step) {
        fprintf(out, "<text class=\"m\" x=\"%.1f\" y=\"%.0f\">",
                left + bw * (double)i, top + plot_h + 14);
        ia_html_text_cut(out, c->ticks ? c->ticks[i] : c->names[i], 10);
        fputs("</text>\n", out);
    }
    if (c->axis) {
        fprintf(out, "<text class=\"m\" x=\"%.0f\" y=\"%.0f\" "
                "text-anchor=\"middle\">", left + plot_w / 2,
                top + plot_h + 30);
        ia_html_text(out, c->axis);
        fputs("</text>\n", out);
    }
    chart_close(out);
}

void ia_html_charts_begin(FILE *out)
{
    fputs("<div class=\"charts\">\n", out);
}

void ia_html_charts_end(FILE *out)
{
    fputs("</div>\n", out);
}

/* ---- thumbnails ------------------------------------------------------ */

void ia_html_gallery_begin(FILE *out)
{
    fputs("<div class=\"gallery\">\n", out);
}

void ia_html_gallery_end(FILE *out)
{
    fputs("</div>\n", out);
}

/* Boxes over 0..1 of the image, drawn by an SVG stretched over it. */
static void box_overlay(FILE *out, const double *boxes, size_t n)
{
    fputs("<svg viewBox=\"0 0 1 1\" preserveAspectRatio=\"none\" "
          "aria-hidden=\"true\">", out);
    for (size_t i = 0; i < n; i++) {
        const double *b = boxes + 4 * i;
        int ok = 1;
        for (int k = 0; k < 4; k++)
            ok &= isfinite(b[k]) && fabs(b[k]) < 1e6;
        if (ok)
            fprintf(out, "<rect x=\"%.4f\" y=\"%.4f\" width=\"%.4f\" "
                    "height=\"%.4f\"/>", b[0], b[1], fmax(b[2], 0.0),
                    fmax(b[3], 0.0));
    }
    fputs("</svg>", out);
}

void ia_html_figure_boxes(FILE *out, const ia_thumbset *set, long id,
                          const char *path, const char *note,
                          const double *boxes, size_t nboxes)
{
    const ia_thumb *t = set ? ia_thumbset_get(set, id) : NULL;
    fputs("<figure class=\"th\">", out);
    if (t && t->jpeg) {
        if (nboxes)
            fprintf(out, "<div class=\"bx\" style=\"width:%upx;"
                    "height:%upx\">", t->width, t->height);
        fprintf(out, "<img width=\"%u\" height=\"%u\" alt=\"thumbnail of ",
                t->width, t->height);
        ia_html_text(out, path);
        fputs("\" src=\"data:image/jpeg;base64,", out);
        ia_html_base64(out, t->jpeg, t->len);
        fputs("\">", out);
        if (nboxes) {
            box_overlay(out, boxes, nboxes);
            fputs("</div>", out);
        }
    } else {
        fputs("<div class=\"ph\">", out);
        ia_html_text(out, ia_thumb_status_name(t ? t->status
                                                 : IA_THUMB_SKIPPED));
        fputs("</div>", out);
    }
    fputs("<figcaption>", out);
    if (path)
        ia_html_path(out, path);
    if (t && t->status == IA_THUMB_PARTIAL) {
        fputs(path ? "<br><span class=\"note\">" : "<span class=\"note\">",
              out);
        ia_html_text(out, ia_thumb_status_name(t->status));
        fputs("</span>", out);
    }
    if (note) {
        fputs(path || (t && t->status == IA_THUMB_PARTIAL)
                  ? "<br><span class=\"note\">" : "<span class=\"note\">",
              out);
        ia_html_text(out, note);
        fputs("</span>", out);
    }
    fputs("</figcaption></figure>\n", out);
}

void ia_html_figure(FILE *out, const ia_thumbset *set, long id,
                    const char *path, const char *note)
{
    ia_html_figure_boxes(out, set, id, path, note, NULL, 0);
}

void ia_html_path(FILE *out, const char *path)
{
    const unsigned char *p = (const unsigned char *)path;
    fputs("<span class=\"path\">", out);
    while (p && *p) {
        int slash = *p == '/';
        put_char(out, &p);
        if (slash)
            fputs("<wbr>", out);
    }
    fputs("</span>", out);
}

void ia_html_cardgrid_begin(FILE *out)
{
    fputs("<div class=\"cardgrid\">\n", out);
}

void ia_html_cardgrid_end(FILE *out)
{
    fputs("</div>\n", out);
}

void ia_html_group_begin(FILE *out, const char *heading)
{
    fputs("<div class=\"group\"><div class=\"gh\">", out);
    ia_html_text(out, heading);
    fputs("</div>\n", out);
    ia_html_gallery_begin(out);
}

void ia_html_pair_begin(FILE *out, const char *path, const char *reason)
{
    fputs("<div class=\"group pair\"><div class=\"gh\">", out);
    ia_html_path(out, path);
    fputs("<br><b class=\"why\">", out);
    ia_html_text(out, reason);
    fputs("</b></div>\n", out);
    ia_html_gallery_begin(out);
}

void ia_html_group_end(FILE *out)
{
    ia_html_gallery_end(out);
    fputs("</div>\n", out);
}

void ia_html_more(FILE *out, uint64_t n, const char *what)
{
    if (!n)
        return;
    fputs("<p class=\"more\">and ", out);
    ia_html_count(out, n);
    fputs(" more ", out);
    ia_html_text(out, what);
    fputs("</p>\n", out);
}

/* ---- image lists ----------------------------------------------------- */

static ia_html_shot *shot_new(ia_html_shots *s, const char *path,
                              const char *note, const char *text)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        ia_html_shot *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    ia_html_shot *t = &s->v[s->n];
    t->path = ia_strdup(path);
    t->note = ia_strdup(note);
    t->text = ia_strdup(text);
    t->id = -1;
    if (!t->path || (note && !t->note) || (text && !t->text)) {
        free(t->path);
        free(t->note);
        free(t->text);
        return NULL;
    }
    s->n++;
    return t;
}

int ia_html_shots_add(ia_html_shots *s, ia_thumbset *set,
                      const ia_thumb_src *src, const char *note)
{
    ia_html_shot *t = shot_new(s, src->path, note, NULL);
    if (!t)
        return IA_ERR_NOMEM;
    return ia_thumbset_add(set, src, &t->id);
}

int ia_html_shots_add_text(ia_html_shots *s, const char *path,
                           const char *note, const char *text)
{
    return shot_new(s, path, note, text) ? IA_OK : IA_ERR_NOMEM;
}

void ia_html_shots_render(FILE *out, const ia_thumbset *set,
                          const ia_html_shots *s, size_t from, size_t to)
{
    if (to > s->n)
        to = s->n;
    for (size_t i = from; i < to; i++) {
        const ia_html_shot *t = &s->v[i];
        if (t->text) {
            fputs("<figure class=\"th\"><div class=\"ph\">", out);
            ia_html_text(out, t->text);
            fputs("</div><figcaption>", out);
            if (t->path)
                ia_html_path(out, t->path);
            if (t->note) {
                fputs(t->path ? "<br><span class=\"note\">"
                              : "<span class=\"note\">", out);
                ia_html_text(out, t->note);
                fputs("</span>", out);
            }
            fputs("</figcaption></figure>\n", out);
        } else {
            ia_html_figure(out, set, t->id, t->path, t->note);
        }
    }
}

void ia_html_shots_free(ia_html_shots *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].path);
        free(s->v[i].note);
        free(s->v[i].text);
    }
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}
