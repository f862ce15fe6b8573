/*
 * The policy module's interface: the finding codes of `imgaudit compare`,
 * their default severities and the thresholds that raise them, and the
 * policy file that overrides them and the severity of any code a scan
 * stores (JSON, parsed with jansson; format and the reason for every
 * default in docs/compare.md, "Policy file"). Read by compare, and by
 * scan and report for --policy.
 */
#ifndef IA_POLICY_POLICY_H
#define IA_POLICY_POLICY_H

#include <stddef.h>

/* Compare's finding codes, in the order the text report ranks them within
 * one severity. Names in ia_cc_name(); never rename one. */
typedef enum ia_cc {
    IA_CC_SCAN_INCOMPLETE,
    IA_CC_HEALTH_REGRESSION,
    IA_CC_SPLIT_REMOVED,
    IA_CC_LABEL_REMOVED,
    IA_CC_CLASS_RENUMBERED,
    IA_CC_PIXEL_DRIFT,
    IA_CC_LABEL_DRIFT,
    IA_CC_SPLIT_ADDED,
    IA_CC_LABEL_ADDED,
    IA_CC_FORMAT_DRIFT,
    IA_CC_QUALITY_DRIFT,
    IA_CC_BRIGHTNESS_DRIFT,
    IA_CC_CONTRAST_DRIFT,
    IA_CC_SHARPNESS_DRIFT,
    IA_CC_INFORMATION_DRIFT,
    IA_CC_WIDTH_DRIFT,
    IA_CC_HEIGHT_DRIFT,
    IA_CC_ASPECT_DRIFT,
    IA_CC_SIZE_DRIFT,
    IA_CC_MOVED,
    IA_CC_RELABELED,
    IA_CC_REMOVED,
    IA_CC_ADDED,
    IA_CC_MODIFIED,
    IA_CC_RENAMED,
    IA_CC_CATEGORY_REMOVED,
    IA_CC_CATEGORY_ADDED,
    IA_CC_CATEGORY_DRIFT,
    IA_CC_BOX_COUNT_DRIFT,
    IA_CC_BOX_SIZE_DRIFT,
    IA_CC_COUNT
} ia_cc;

/* Severity values of a policy besides IA_SEV_INFO..IA_SEV_ERROR. */
enum {
    IA_POLICY_OFF = -1,   /* the code is not reported */
    IA_POLICY_AUTO = -2,  /* decided per finding (pixel_drift by its two
                             thresholds, health_regression by the code) */
};

typedef struct ia_policy_health {
    char *code;          /* a scan finding or status code */
    int severity;        /* IA_POLICY_OFF or a severity */
} ia_policy_health;

/* The severity a policy gives a code a scan stores (severity.CODE with
 * CODE in core/codes.c): every finding with that code is read at that
 * severity, or hidden (IA_POLICY_OFF). */
typedef ia_policy_health ia_policy_code;

typedef struct ia_policy {
    double ks_statistic;        /* KS drift: D at least this ... */
    double ks_p_value;          /* ... and p below this */
    unsigned ks_min_images;     /* both samples at least this large */
    double label_share;         /* label_drift: share moved by this ... */
    double label_p_value;       /* ... and the split's chi-square p below */
    double pixel_mean_warning;  /* |change of a channel mean|, 0-255 */
    double pixel_mean_error;
    double pixel_std_warning;   /* |change of a channel std|, 0-255 */
    double pixel_std_error;
    unsigned pixel_min_images;  /* cells with fewer images are not judged */
    double format_tvd;          /* format or colour-mode mix TVD */
    double health_rate;         /* a rate must rise by more than this */
    int severity[IA_CC_COUNT];  /* IA_POLICY_OFF, _AUTO or a severity */
    ia_policy_health *health;   /* per-code health_regression severities */
    size_t nhealth;
    ia_policy_code *codes;      /* scan finding codes' severities */
    size_t ncodes;
} ia_policy;

/* "health_regression", ... */
const char *ia_cc_name(int cc);
/* -1 when unknown. */
int ia_cc_parse(const char *name);

/* The documented defaults. */
void ia_policy_defaults(ia_policy *p);
/* Reads a policy file over the defaults in *p. On failure returns
 * IA_ERR_ARG (malformed or invalid: the message names the key) or
 * IA_ERR_NOMEM, with a message in err, and leaves *p usable. */
int ia_policy_load(ia_policy *p, const char *path, char *err, size_t cap);
void ia_policy_free(ia_policy *p);

/* Adds (or replaces) the severity of a scan finding code; IA_ERR_ARG
 * when no scan stores that code, IA_ERR_NOMEM. */
int ia_policy_set_code(ia_policy *p, const char *code, int severity);

/* The severity of a health_regression about code: the policy's health
 * entry for it, else its severity entry for health_regression, else
 * automatic (the larger of warning and auto_sev). May be IA_POLICY_OFF. */
int ia_policy_health_severity(const ia_policy *p, const char *code,
                              int auto_sev);

#endif
