/*
 * Which findings a report of one scan reads, at which severity (the lens,
 * store.h): the loader profiles and the policy the caller names, else
 * those the scan was made with (loader/loader.h). Every report, export
 * and count of a scan goes through here first, so they all agree.
 */
#include <string.h>

#include "imgaudit.h"
#include "loader/loader.h"
#include "policy/policy.h"
#include "report/report.h"

typedef struct opts_ctx {
    char *options;
} opts_ctx;

static int options_cb(void *user, const ia_q_scan *s)
{
    opts_ctx *c = user;
    c->options = ia_strdup(s->options);
    return c->options ? IA_OK : IA_ERR_NOMEM;
}

int ia_report_lens(ia_db *db, int64_t scan_id, const char *loaders,
                   const char *policy_path)
{
    char err[512] = "";
    opts_ctx c = {NULL};
    ia_policy p;
    ia_policy_defaults(&p);
    int rc = ia_q_scan_get(db, scan_id, options_cb, &c);
    if (rc == IA_OK && policy_path)
        rc = ia_policy_load(&p, policy_path, err, sizeof err);
    if (rc == IA_OK)
        rc = ia_loader_lens_for(db, c.options, loaders,
                                policy_path ? &p : NULL, err, sizeof err);
    if (rc != IA_OK && err[0])
        ia_store_fail(db, rc, "%s", err);
    else if (rc == IA_ERR_NOMEM)
        ia_store_fail(db, rc, "out of memory");
    ia_policy_free(&p);
    free(c.options);
    return rc;
}

int ia_scan_severity_counts(ia_db *db, const char *scan_ref,
                            uint64_t *errors, uint64_t *warnings)
{
    ia_report_summary sum;
    int ret = ia_report_summarize(db, scan_ref, NULL, &sum);
    if (ret != IA_OK)
        return ret;
    if (errors)
        *errors = sum.errors;
    if (warnings)
        *warnings = sum.warnings;
    return IA_OK;
}

int ia_report_summarize(ia_db *db, const char *scan_ref,
                        const ia_report_options *opt,
                        ia_report_summary *out)
{
    int64_t id = 0;
    uint64_t sev[3];
    if (!db || !out)
        return IA_ERR_ARG;
    int ret = ia_store_resolve_scan(db, scan_ref, &id);
    if (ret == IA_OK)
        ret = ia_report_lens(db, id, opt ? opt->loaders : NULL,
                             opt ? opt->policy : NULL);
    if (ret == IA_OK)
        ret = ia_q_severity_counts(db, id, sev);
    if (ret == IA_OK)
        ret = ia_report_complete(db, id, &out->complete);
    if (ret != IA_OK)
        return ret;
    out->errors = sev[IA_SEV_ERROR];
    out->warnings = sev[IA_SEV_WARNING];
    out->infos = sev[IA_SEV_INFO];
    out->fail = ia_report_fails(sev, out->complete,
                                opt ? opt->fail_on : IA_FAIL_ON_ERROR);
    return IA_OK;
}

typedef struct complete_ctx {
    int complete;
} complete_ctx;

static int complete_cb(void *user, const ia_q_scan *s)
{
    ((complete_ctx *)user)->complete = s->complete;
    return IA_OK;
}

int ia_report_complete(ia_db *db, int64_t scan_id, int *complete)
{
    complete_ctx c = {0};
    int ret = ia_q_scan_get(db, scan_id, complete_cb, &c);
    *complete = c.complete;
    return ret;
}

int ia_report_fails(const uint64_t sev[3], int complete, int fail_on)
{
    if (fail_on == IA_FAIL_ON_NEVER)
        return 0;
    if (!complete || sev[IA_SEV_ERROR])
        return 1;
    return fail_on == IA_FAIL_ON_WARNING && sev[IA_SEV_WARNING];
}

const char *ia_report_verdict(const uint64_t sev[3], int complete,
                              int fail_on)
{
    if (ia_report_fails(sev, complete, fail_on))
        return "fail";
    return sev[IA_SEV_WARNING] ? "pass with warnings" : "pass";
}
