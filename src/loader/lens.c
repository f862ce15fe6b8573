/*
 * Which findings a report shows, at which severity: the lens (store.h)
 * of one scan, from what the reader asks for or else from what the scan
 * was made with (its options: "loaders", the profiles named by scan
 * --loader, and "policy", the severities of its --policy file).
 *
 * The options come from a DB that may be hostile (docs/security.md): a
 * name or severity this tool does not know is left out, never an error,
 * and what the reader names explicitly is checked strictly instead.
 */
#include <string.h>

#include <jansson.h>

#include "imgaudit.h"
#include "loader/loader.h"

static unsigned stored_loaders(json_t *opts)
{
    json_t *a = json_object_get(opts, "loaders"), *v;
    unsigned set = 0;
    size_t i;
    if (!json_is_array(a))
        return 1u << IA_LOADER_PILLOW;
    json_array_foreach(a, i, v) {
        int id = ia_loader_parse(json_string_value(v));
        if (id >= 0)
            set |= 1u << id;
    }
    return set;
}

static int stored_policy(json_t *opts, ia_policy *p)
{
    json_t *o = json_object_get(opts, "policy"), *v;
    const char *code;
    json_object_foreach(o, code, v) {
        const char *name = json_string_value(v);
        int off = name && !strcmp(name, "off");
        int sev = off ? IA_POLICY_OFF : ia_severity_parse(name);
        if ((off || sev >= 0) &&
            ia_policy_set_code(p, code, sev) == IA_ERR_NOMEM)
            return IA_ERR_NOMEM;
    }
    return IA_OK;
}

int ia_loader_lens_for(ia_db *db, const char *options_json,
                       const char *loaders, const ia_policy *policy,
                       char *err, size_t cap)
{
    ia_policy stored;
    unsigned set = 0;
    int rc = IA_OK;
    json_t *opts = options_json ? json_loads(options_json, 0, NULL) : NULL;
    ia_policy_defaults(&stored);
    if (loaders)
        rc = ia_loader_parse_list(loaders, &set, err, cap);
    else
        set = stored_loaders(opts);
    if (rc == IA_OK && !policy)
        rc = stored_policy(opts, &stored);
    if (rc == IA_ERR_NOMEM)
        ia_bprintf(err, cap, "out of memory");
    if (rc == IA_OK)
        rc = ia_loader_set_lens(db, set, policy ? policy : &stored);
    json_decref(opts);
    ia_policy_free(&stored);
    return rc;
}
