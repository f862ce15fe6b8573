/*
 * YOLO: the class list of data.yaml (libyaml's document API; only the
 * top-level names and nc are read, aliases are never followed) and the
 * label files, one box or polygon per line. The line parser is the one
 * hand-written parser of the module, pure and fuzzed
 * (tests/fuzz/fuzz_yolo.c): strict numbers, bounded lines, no
 * allocation. A label file is read whole under IA_ANNOT_MAX_LABEL_BYTES.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "annot/model.h"
#include "core/core.h"

/* Malformed lines reported per label file, at most. */
#define BAD_LINES_MAX 20
/* Polygon points on one line, at most (a line is 64 KiB anyway). */
#define POINTS_MAX 8192
/* Coordinates beyond this are nonsense in 0..1 or in pixels, and would
 * overflow the polygon's arithmetic. */
#define COORD_MAX 1e9

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* One token: [*p, end) after spaces; strict decimal number with strtod
 * on a bounded copy (the input has no NUL). */
static int next_number(const char **p, const char *end, double *out)
{
    char buf[64];
    const char *s = *p;
    while (s < end && is_space(*s))
        s++;
    const char *t = s;
    while (t < end && !is_space(*t))
        t++;
    size_t n = (size_t)(t - s);
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* digits, sign, point and exponent only: no "nan", "inf", hex */
    if (strspn(buf, "0123456789+-.eE") != n)
        return 0;
    char *e;
    errno = 0;
    double v = strtod(buf, &e);
    if (*e != '\0' || errno == ERANGE || !isfinite(v))
        return 0;
    *out = v;
    *p = t;
    return 1;
}

/* A polygon streamed point by point: its bounds and shoelace sum, so a
 * line of thousands of points needs no array. */
typedef struct poly {
    double first[2], prev[2], lo[2], hi[2], twice_area;
    int points;
} poly;

/* The shoelace sum is taken relative to the first point: a polygon far
 * from the origin would otherwise lose its area to cancellation. */
static void poly_add(poly *g, double x, double y)
{
    if (g->points == 0) {
        g->first[0] = g->lo[0] = g->hi[0] = x;
        g->first[1] = g->lo[1] = g->hi[1] = y;
    } else {
        double px = g->prev[0] - g->first[0], py = g->prev[1] - g->first[1];
        g->twice_area += px * (y - g->first[1]) - (x - g->first[0]) * py;
    }
    g->lo[0] = fmin(g->lo[0], x), g->hi[0] = fmax(g->hi[0], x);
    g->lo[1] = fmin(g->lo[1], y), g->hi[1] = fmax(g->hi[1], y);
    g->prev[0] = x, g->prev[1] = y;
    g->points++;
}

static void poly_close(const poly *g, ia_yolo_line *out)
{
    out->cx = (g->lo[0] + g->hi[0]) / 2, out->cy = (g->lo[1] + g->hi[1]) / 2;
    out->w = g->hi[0] - g->lo[0], out->h = g->hi[1] - g->lo[1];
    /* rounding may not push a polygon past its own bounding box */
    out->poly_area = fmin(fabs(g->twice_area) / 2, out->w * out->h);
    out->points = g->points;
}

static int bad(char *why, size_t cap, const char *m)
{
    if (why && cap)
        ia_strlcpy(why, m, cap);
    return IA_YOLO_BAD;
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p;
}

int ia_yolo_parse_line(const char *s, size_t len, ia_yolo_line *out,
                       char *why, size_t whycap)
{
    const char *p = skip_space(s, s + len), *end = s + len;
    double v[4], cls, x = 0.0;
    poly g = {0};
    int n = 0;
    memset(out, 0, sizeof *out);
    if (p == end)
        return IA_YOLO_BLANK;
    if (len > IA_ANNOT_MAX_LINE)
        return bad(why, whycap, "line over 64 KiB");
    if (!next_number(&p, end, &cls) || cls != floor(cls) || cls < 0 ||
        cls > 1e15)
        return bad(why, whycap, "the class is not a non-negative integer");
    out->cls = (long long)cls;
    while ((p = skip_space(p, end)) < end) {
        double y;
        if (!next_number(&p, end, &y))
            return bad(why, whycap, "a coordinate is not a finite number");
        if (fabs(y) > COORD_MAX)
            return bad(why, whycap, "a coordinate beyond 1e9");
        if (n < 4)
            v[n] = y;
        if (n % 2 == 1)
            poly_add(&g, x, y);
        x = y;
        if (++n > 2 * POINTS_MAX)
            return bad(why, whycap, "more than 8192 polygon points");
    }
    if (n == 4) {
        out->cx = v[0], out->cy = v[1], out->w = v[2], out->h = v[3];
        return IA_YOLO_OK;
    }
    if (n < 6 || n % 2 != 0)
        return bad(why, whycap, "neither 4 box values nor an even count "
                   "of at least 6 polygon values");
    poly_close(&g, out);
    return IA_YOLO_OK;
}

/* The whole of a label file beneath rootfd into a NUL-terminated buffer;
 * NULL with why[] set when it cannot be or is over the limit. */
static char *read_label(int rootfd, const char *rel, size_t *len, char *why,
                        size_t cap)
{
    int fd = ia_open_beneath(rootfd, rel, O_RDONLY | O_CLOEXEC, 0);
    struct stat st;
    char *buf = NULL;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ia_bprintf(why, cap, "cannot read: %s",
                   fd < 0 ? strerror(errno) : "not a regular file");
        goto out;
    }
    if ((uint64_t)st.st_size > IA_ANNOT_MAX_LABEL_BYTES) {
        ia_bprintf(why, cap, "%lld bytes, over the limit of %u MiB: not read",
                   (long long)st.st_size, IA_ANNOT_MAX_LABEL_BYTES >> 20);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        ia_bprintf(why, cap, "out of memory");
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    buf[got] = '\0';
    *len = got;
out:
    if (fd >= 0)
        close(fd);
    return buf;
}

static int add_line(annot_set *s, size_t img, const ia_yolo_line *l,
                    long line)
{
    annot_box b = {.image = img, .category = l->cls, .line = line,
                   .seg_area = l->points ? l->poly_area : -1.0,
                   .polygons = l->points};
    b.b[0] = l->cx - l->w / 2, b.b[1] = l->cy - l->h / 2;
    b.b[2] = l->w, b.b[3] = l->h;
    return annot_add_box(s, &b);
}

int annot_yolo_read(annot_set *s, int rootfd, size_t img)
{
    const char *rel = s->images[img].label_path;
    char why[160];
    size_t len = 0, nbad = 0;
    char *buf = read_label(rootfd, rel, &len, why, sizeof why);
    if (!buf)
        return annot_issue_add(s, "annot_invalid", IA_SEV_ERROR, rel, 0,
                               "%s", why);
    int rc = IA_OK;
    long line = 0;
    for (char *p = buf; rc == IA_OK && p < buf + len; line++) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
        ia_yolo_line l;
        int r = ia_yolo_parse_line(p, n, &l, why, sizeof why);
        if (r == IA_YOLO_OK)
            rc = add_line(s, img, &l, line + 1);
        else if (r == IA_YOLO_BAD && nbad++ < BAD_LINES_MAX)
            rc = annot_issue_add(s, "yolo_bad_line", IA_SEV_ERROR, rel, 0,
                                 "line %ld: %s", line + 1, why);
        p += n + 1;
    }
    if (rc == IA_OK && nbad > BAD_LINES_MAX)
        rc = annot_issue_add(s, "yolo_bad_line", IA_SEV_ERROR, rel, 0,
                             "%zu malformed lines in all", nbad);
    free(buf);
    return rc;
}

/* ---- data.yaml ------------------------------------------------------- */

static const char *scalar(yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)n->data.scalar.value;
}

static int parse_index(const char *v, long long *out)
{
    char *e;
    if (!v || !*v)
        return 0;
    errno = 0;
    long long x = strtoll(v, &e, 10);
    if (*e || errno || x < 0 || x >= IA_ANNOT_MAX_CLASSES)
        return 0;
    *out = x;
    return 1;
}

/* names: [a, b] or names: {0: a, 1: b}. */
static int yaml_names(annot_set *s, yaml_document_t *d, yaml_node_t *n)
{
    int rc = IA_OK;
    if (n->type == YAML_SEQUENCE_NODE) {
        long long i = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             rc == IA_OK && it < n->data.sequence.items.top; it++, i++) {
            if (i >= IA_ANNOT_MAX_CLASSES)
                return annot_issue_add(s, "annot_invalid", IA_SEV_ERROR,
                                       s->source, 0, "more than %d names",
                                       IA_ANNOT_MAX_CLASSES);
            const char *v = scalar(yaml_document_get_node(d, *it));
            rc = annot_add_category(s, i, v ? v : "");
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
             rc == IA_OK && pr < n->data.mapping.pairs.top; pr++) {
            long long id;
            const char *k = scalar(yaml_document_get_node(d, pr->key));
            const char *v = scalar(yaml_document_get_node(d, pr->value));
            if (!parse_index(k, &id) || !v)
                return annot_issue_add(s, "annot_invalid", IA_SEV_ERROR,
                                       s->source, 0, "names: a key that is "
                                       "not a class index below %d, or a "
                                       "value that is not a name",
                                       IA_ANNOT_MAX_CLASSES);
            rc = annot_add_category(s, id, v);
        }
    } else {
        rc = annot_issue_add(s, "annot_invalid", IA_SEV_ERROR, s->source, 0,
                             "names: neither a list nor a mapping");
    }
    return rc;
}

static int yaml_top(annot_set *s, yaml_document_t *d)
{
    yaml_node_t *root = yaml_document_get_root_node(d);
    if (!root || root->type != YAML_MAPPING_NODE)
        return annot_issue_add(s, "annot_invalid", IA_SEV_ERROR, s->source,
                               0, "not a YOLO data.yaml: no top-level "
                               "mapping");
    int rc = IA_OK;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
         rc == IA_OK && pr < root->data.mapping.pairs.top; pr++) {
        const char *k = scalar(yaml_document_get_node(d, pr->key));
        yaml_node_t *v = yaml_document_get_node(d, pr->value);
        if (k && strcmp(k, "names") == 0 && v)
            rc = yaml_names(s, d, v);
        else if (k && strcmp(k, "nc") == 0 && !parse_index(scalar(v),
                                                           &s->nc))
            rc = annot_issue_add(s, "annot_invalid", IA_SEV_ERROR,
                                 s->source, 0, "nc: not a class count below "
                                 "%d", IA_ANNOT_MAX_CLASSES);
    }
    if (rc == IA_OK && s->nc < 0)
        s->nc = (long long)s->ncats;
    annot_sort_categories(s);
    return rc;
}

int annot_yaml_load(const char *path, annot_set *s)
{
    struct stat st;
    s->nc = -1;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0 ||
        (uint64_t)st.st_size > IA_ANNOT_MAX_YAML_BYTES) {
        int rc = annot_issue_add(s, "annot_invalid", IA_SEV_ERROR,
                                 s->source, 0, "%s",
                                 f ? "over the limit of 1 MiB: not read"
                                   : strerror(errno));
        if (f)
            fclose(f);
        return rc;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = IA_OK;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return IA_ERR_NOMEM;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = annot_issue_add(s, "annot_invalid", IA_SEV_ERROR, s->source, 0,
                             "not valid YAML: %.120s (line %zu)",
                             parser.problem ? parser.problem : "error",
                             parser.problem_mark.line + 1);
    } else {
        rc = yaml_top(s, &doc);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
