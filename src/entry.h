/*
 * A file (or a thing that looked like one) found by the walk or listed in
 * a manifest, with the split and label its place gives it.
 */
#ifndef IA_ENTRY_H
#define IA_ENTRY_H

#include <stdint.h>

typedef enum ia_entry_kind {
    IA_ENT_FILE = 0,         /* regular file (or followed symlink to one) */
    IA_ENT_SPECIAL,          /* FIFO, socket, device: never opened */
    IA_ENT_SYMLINK_SKIPPED,  /* symlink not followed (no --follow-symlinks) */
    IA_ENT_SYMLINK_LOOP,     /* followed symlink leads back into its own path */
    IA_ENT_SYMLINK_BROKEN,   /* dangling symlink */
    IA_ENT_DIR_UNREADABLE,   /* a folder that could not be listed */
    IA_ENT_JUNK_DIR,         /* .ipynb_checkpoints, __MACOSX: walked, noted */
    IA_ENT_MISSING,          /* manifest row whose file does not exist */
    IA_ENT_OUTSIDE_ROOT,     /* manifest row pointing outside the root */
    IA_ENT_MANIFEST_ROW,     /* manifest row that could not be used */
} ia_entry_kind;

typedef struct ia_entry {
    int kind;                  /* ia_entry_kind */
    char *relpath;             /* '/'-separated, relative to the root */
    char *fullpath;            /* what to open() */
    char *split;               /* split folder name as found; NULL none */
    const char *split_canonical; /* "train","val","test"; NULL */
    char *label;               /* NULL: no label (file at root or split) */
    int outside_class;         /* not inside a class folder: loaders skip it */
    char detail[160];          /* why, for non-FILE kinds */
    /* FILE from the walk: its lstat (stat through a followed symlink),
     * for --trust-mtime; have_stat 0 when the walk did not stat it */
    int have_stat;
    int64_t size, mtime_ns;
} ia_entry;

void ia_entry_free(ia_entry *e);

/* "train", "val", "test" for a split folder name (case-insensitive:
 * train/training, val/valid/validation/dev, test/testing); NULL otherwise. */
const char *ia_split_canonical(const char *folder);

#endif
