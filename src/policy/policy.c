/*
 * Compare's codes, defaults and the policy file (docs/compare.md), whose
 * severities also set those of the codes a scan stores (--policy on scan
 * and report).
 *
 * The policy is JSON because jansson is already a dependency and every CI
 * system can write it. Parsing is strict on purpose: an unknown key, a
 * duplicate key, a value of the wrong type or out of range is an error
 * that names the key, because a typo in a gate's policy must not silently
 * fall back to a default.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/core.h"
#include "imgaudit.h"
#include "policy/policy.h"

static const struct {
    const char *name;
    int severity;
} cc_table[IA_CC_COUNT] = {
    [IA_CC_SCAN_INCOMPLETE] = {"scan_incomplete", IA_SEV_ERROR},
    [IA_CC_HEALTH_REGRESSION] = {"health_regression", IA_POLICY_AUTO},
    [IA_CC_SPLIT_REMOVED] = {"split_removed", IA_SEV_ERROR},
    [IA_CC_LABEL_REMOVED] = {"label_removed", IA_SEV_ERROR},
    [IA_CC_CLASS_RENUMBERED] = {"class_renumbered", IA_SEV_ERROR},
    [IA_CC_PIXEL_DRIFT] = {"pixel_drift", IA_POLICY_AUTO},
    [IA_CC_LABEL_DRIFT] = {"label_drift", IA_SEV_WARNING},
    [IA_CC_SPLIT_ADDED] = {"split_added", IA_SEV_WARNING},
    [IA_CC_LABEL_ADDED] = {"label_added", IA_SEV_WARNING},
    [IA_CC_FORMAT_DRIFT] = {"format_drift", IA_SEV_WARNING},
    [IA_CC_QUALITY_DRIFT] = {"quality_drift", IA_SEV_WARNING},
    [IA_CC_BRIGHTNESS_DRIFT] = {"brightness_drift", IA_SEV_WARNING},
    [IA_CC_CONTRAST_DRIFT] = {"contrast_drift", IA_SEV_WARNING},
    [IA_CC_SHARPNESS_DRIFT] = {"sharpness_drift", IA_SEV_WARNING},
    [IA_CC_INFORMATION_DRIFT] = {"information_drift", IA_SEV_WARNING},
    [IA_CC_WIDTH_DRIFT] = {"width_drift", IA_SEV_WARNING},
    [IA_CC_HEIGHT_DRIFT] = {"height_drift", IA_SEV_WARNING},
    [IA_CC_ASPECT_DRIFT] = {"aspect_drift", IA_SEV_WARNING},
    [IA_CC_SIZE_DRIFT] = {"size_drift", IA_SEV_WARNING},
    [IA_CC_MOVED] = {"moved", IA_SEV_WARNING},
    [IA_CC_RELABELED] = {"relabeled", IA_SEV_WARNING},
    [IA_CC_REMOVED] = {"removed", IA_SEV_INFO},
    [IA_CC_ADDED] = {"added", IA_SEV_INFO},
    [IA_CC_MODIFIED] = {"modified", IA_SEV_INFO},
    [IA_CC_RENAMED] = {"renamed", IA_SEV_INFO},
    [IA_CC_CATEGORY_REMOVED] = {"category_removed", IA_SEV_ERROR},
    [IA_CC_CATEGORY_ADDED] = {"category_added", IA_SEV_WARNING},
    [IA_CC_CATEGORY_DRIFT] = {"category_drift", IA_SEV_WARNING},
    [IA_CC_BOX_COUNT_DRIFT] = {"box_count_drift", IA_SEV_WARNING},
    [IA_CC_BOX_SIZE_DRIFT] = {"box_size_drift", IA_SEV_WARNING},
};

const char *ia_cc_name(int cc)
{
    return cc >= 0 && cc < IA_CC_COUNT ? cc_table[cc].name : "unknown";
}

int ia_cc_parse(const char *name)
{
    for (int i = 0; i < IA_CC_COUNT; i++)
        if (strcmp(name, cc_table[i].name) == 0)
            return i;
    return -1;
}

void ia_policy_defaults(ia_policy *p)
{
    memset(p, 0, sizeof *p);
    p->ks_statistic = 0.05;
    p->ks_p_value = 0.001;
    p->ks_min_images = 20;
    p->label_share = 0.03;
    p->label_p_value = 0.001;
    p->pixel_mean_warning = 10.0;
    p->pixel_mean_error = 25.0;
    p->pixel_std_warning = 10.0;
    p->pixel_std_error = 25.0;
    p->pixel_min_images = 5;
    p->format_tvd = 0.05;
    p->health_rate = 0.0;
    for (int i = 0; i < IA_CC_COUNT; i++)
        p->severity[i] = cc_table[i].severity;
}

static void free_list(ia_policy_health **v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*v)[i].code);
    free(*v);
    *v = NULL;
    *n = 0;
}

void ia_policy_free(ia_policy *p)
{
    if (!p)
        return;
    free_list(&p->health, &p->nhealth);
    free_list(&p->codes, &p->ncodes);
}

int ia_policy_set_code(ia_policy *p, const char *code, int severity)
{
    if (!ia_code_find(code))
        return IA_ERR_ARG;
    for (size_t i = 0; i < p->ncodes; i++)
        if (strcmp(p->codes[i].code, code) == 0) {
            p->codes[i].severity = severity;
            return IA_OK;
        }
    ia_policy_code *v = realloc(p->codes, (p->ncodes + 1) * sizeof *v);
    if (!v)
        return IA_ERR_NOMEM;
    p->codes = v;
    if (!(v[p->ncodes].code = ia_strdup(code)))
        return IA_ERR_NOMEM;
    v[p->ncodes++].severity = severity;
    return IA_OK;
}

int ia_policy_health_severity(const ia_policy *p, const char *code,
                              int auto_sev)
{
    for (size_t i = 0; i < p->nhealth; i++)
        if (strcmp(p->health[i].code, code) == 0)
            return p->health[i].severity;
    int s = p->severity[IA_CC_HEALTH_REGRESSION];
    if (s != IA_POLICY_AUTO)
        return s;
    return auto_sev > IA_SEV_WARNING ? auto_sev : IA_SEV_WARNING;
}

/* ---- the policy file ------------------------------------------------- */

static int bad(char *err, size_t cap, const char *path, const char *key,
               const char *what)
{
    ia_bprintf(err, cap, "policy '%s': %s: %s", path, key, what);
    return IA_ERR_ARG;
}

/* A severity name or "off"; -3 when neither. */
static int parse_severity(const char *s)
{
    if (strcmp(s, "off") == 0)
        return IA_POLICY_OFF;
    for (int sev = IA_SEV_INFO; sev <= IA_SEV_ERROR; sev++)
        if (strcmp(s, ia_severity_name(sev)) == 0)
            return sev;
    return -3;
}

typedef struct threshold {
    const char *key;
    size_t offset;
    int kind;   /* 0: number >= 0; 1: p-value in (0, 1]; 2: count >= 1;
                   3: share in [0, 1] */
} threshold;

#define TH(name, kind) {#name, offsetof(ia_policy, name), kind}
static const threshold thresholds[] = {
    TH(ks_statistic, 3),      TH(ks_p_value, 1),
    TH(ks_min_images, 2),     TH(label_share, 3),
    TH(label_p_value, 1),     TH(pixel_mean_warning, 0),
    TH(pixel_mean_error, 0),  TH(pixel_std_warning, 0),
    TH(pixel_std_error, 0),   TH(pixel_min_images, 2),
    TH(format_tvd, 3),        TH(health_rate, 3),
};
#undef TH

static int set_threshold(ia_policy *p, const threshold *t, json_t *v,
                         const char *path, char *err, size_t cap)
{
    if (!json_is_number(v))
        return bad(err, cap, path, t->key, "must be a number");
    double d = json_number_value(v);
    char *base = (char *)p + t->offset;
    if (!isfinite(d) || d < 0.0)
        return bad(err, cap, path, t->key, "must be a finite number >= 0");
    if (t->kind == 1 && !(d > 0.0 && d <= 1.0))
        return bad(err, cap, path, t->key, "must be in (0, 1]");
    if (t->kind == 3 && d > 1.0)
        return bad(err, cap, path, t->key, "must be in [0, 1]");
    if (t->kind == 2) {
        if (!json_is_integer(v) || d < 1.0 || d > 1e9)
            return bad(err, cap, path, t->key,
                       "must be a whole number >= 1");
        unsigned u = (unsigned)json_integer_value(v);
        memcpy(base, &u, sizeof u);
    } else {
        memcpy(base, &d, sizeof d);
    }
    return IA_OK;
}

static int load_thresholds(ia_policy *p, json_t *obj, const char *path,
                           char *err, size_t cap)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return bad(err, cap, path, "thresholds", "must be an object");
    json_object_foreach(obj, key, v) {
        size_t i = 0;
        while (i < IA_ARRAY_LEN(thresholds) &&
               strcmp(thresholds[i].key, key) != 0)
            i++;
        if (i == IA_ARRAY_LEN(thresholds))
            return bad(err, cap, path, key, "unknown threshold");
        int ret = set_threshold(p, &thresholds[i], v, path, err, cap);
        if (ret != IA_OK)
            return ret;
    }
    if (p->pixel_mean_warning > p->pixel_mean_error ||
        p->pixel_std_warning > p->pixel_std_error)
        return bad(err, cap, path, "thresholds",
                   "a pixel warning threshold exceeds its error threshold");
    return IA_OK;
}

static int severity_value(json_t *v, const char *path, const char *key,
                          int *out, char *err, size_t cap)
{
    int s = json_is_string(v) ? parse_severity(json_string_value(v)) : -3;
    if (s < IA_POLICY_OFF)
        return bad(err, cap, path, key,
                   "severity must be \"error\", \"warning\", \"info\" or "
                   "\"off\"");
    *out = s;
    return IA_OK;
}

static int load_severities(ia_policy *p, json_t *obj, const char *path,
                           char *err, size_t cap)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return bad(err, cap, path, "severity", "must be an object");
    json_object_foreach(obj, key, v) {
        int cc = ia_cc_parse(key), s;
        if (cc < 0 && !ia_code_find(key))
            return bad(err, cap, path, key, "unknown finding code (neither "
                       "compare's nor one a scan stores)");
        int ret = severity_value(v, path, key, &s, err, cap);
        if (ret != IA_OK)
            return ret;
        if (cc >= 0)
            p->severity[cc] = s;
        if (ia_code_find(key) &&
            ia_policy_set_code(p, key, s) != IA_OK) {
            ia_bprintf(err, cap, "out of memory reading the policy");
            return IA_ERR_NOMEM;
        }
    }
    return IA_OK;
}

static int load_health(ia_policy *p, json_t *obj, const char *path,
                       char *err, size_t cap)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return bad(err, cap, path, "health", "must be an object");
    size_t n = json_object_size(obj);
    ia_policy_health *h = calloc(n ? n : 1, sizeof *h);
    if (!h) {
        ia_bprintf(err, cap, "out of memory reading the policy");
        return IA_ERR_NOMEM;
    }
    free_list(&p->health, &p->nhealth);
    p->health = h;
    json_object_foreach(obj, key, v) {
        int s, ret = severity_value(v, path, key, &s, err, cap);
        if (ret != IA_OK)
            return ret;
        if (!(h[p->nhealth].code = ia_strdup(key))) {
            ia_bprintf(err, cap, "out of memory reading the policy");
            return IA_ERR_NOMEM;
        }
        h[p->nhealth++].severity = s;
    }
    return IA_OK;
}

static int load_root(ia_policy *p, json_t *root, const char *path, char *err,
                     size_t cap)
{
    const char *key;
    json_t *v;
    int ret = IA_OK;
    if (!json_is_object(root))
        return bad(err, cap, path, "(top level)", "must be a JSON object");
    json_object_foreach(root, key, v) {
        if (strcmp(key, "version") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) != 1)
                ret = bad(err, cap, path, key, "must be 1");
        } else if (strcmp(key, "thresholds") == 0) {
            ret = load_thresholds(p, v, path, err, cap);
        } else if (strcmp(key, "severity") == 0) {
            ret = load_severities(p, v, path, err, cap);
        } else if (strcmp(key, "health") == 0) {
            ret = load_health(p, v, path, err, cap);
        } else {
            ret = bad(err, cap, path, key, "unknown key (expected version, "
                      "thresholds, severity or health)");
        }
        if (ret != IA_OK)
            return ret;
    }
    return IA_OK;
}

int ia_policy_load(ia_policy *p, const char *path, char *err, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line < 1)
            ia_bprintf(err, cap, "policy '%s': %s", path, jerr.text);
        else
            ia_bprintf(err, cap, "policy '%s': line %d, column %d: %s",
                       path, jerr.line, jerr.column, jerr.text);
        return IA_ERR_ARG;
    }
    int ret = load_root(p, root, path, err, cap);
    json_decref(root);
    return ret;
}
