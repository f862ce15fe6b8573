/*
 * Entries of the walk and the canonical split names of DESIGN.md.
 */
#include <stdlib.h>

#include "core/core.h"

void ia_entry_free(ia_entry *e)
{
    if (!e)
        return;
    free(e->relpath);
    free(e->fullpath);
    free(e->split);
    free(e->label);
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
