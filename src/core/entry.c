/*
 * Entries of the walk and the canonical split names of DESIGN.md.
 */
#include <stdlib.h>

#include "core/core.h"

/* Whether p is one of the strings packed after e (ia_entry.packed). */
static int packed_in(const ia_entry *e, const char *p)
{
    uintptr_t at = (uintptr_t)(e + 1), x = (uintptr_t)p;
    return x >= at && x - at < e->packed;
}

static void free_unpacked(const ia_entry *e, char *p)
{
    if (!packed_in(e, p))
        free(p);
}

void ia_entry_free(ia_entry *e)
{
    if (!e)
        return;
    free_unpacked(e, e->relpath);
    free_unpacked(e, e->split);
    free_unpacked(e, e->label);
    free(e->fullpath);
    free(e->archive);
    if (e->member)
        free(e->member->data);
    free(e->member);
    free(e);
}

const char *ia_split_canonical(const char *folder)
{
    static const struct {
        const char *name, *canonical;
    } names[] = {
        {"train", "train"}, {"training", "train"},
        {"val", "val"}, {"valid", "val"}, {"validation", "val"},
        {"dev", "val"},
        {"test", "test"}, {"testing", "test"},
    };
    if (!folder)
        return NULL;
    for (size_t i = 0; i < IA_ARRAY_LEN(names); i++)
        if (ia_strcaseeq(folder, names[i].name))
            return names[i].canonical;
    return NULL;
}
