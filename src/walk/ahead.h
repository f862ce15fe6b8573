/*
 * Stat-ahead for the folder walk (folder.c): the lstat of a folder's
 * names shared between the walking thread and a helper thread, in chunks
 * of consecutive names, so the walker mostly finds a name's lstat already
 * taken. Internal to the walk module.
 */
#ifndef IA_WALK_AHEAD_H
#define IA_WALK_AHEAD_H

#include <stddef.h>
#include <sys/stat.h>

/* A name's lstat: err 0 (st holds it), its errno, or -1: not taken (the
 * walker looks the name up itself, e.g. an excluded or too long one). */
typedef struct ia_pre_stat {
    int err;
    struct stat st;
} ia_pre_stat;

/* The folder whose names lo..count-1 are to be lstat'ed; every pointer is
 * borrowed and must outlive ia_ahead_end. */
typedef struct ia_ahead_job {
    int fd;                     /* the folder */
    char *const *names;
    size_t lo, count;
    const char *rel;            /* the folder's path, for --exclude */
    size_t rel_len;
    const char *const *exclude;
    size_t nexclude;
    /* run by the helper before its first chunk; NULL: nothing */
    void (*first)(void *ctx);
    void *ctx;
} ia_ahead_job;

typedef struct ia_ahead ia_ahead;

/* NULL when out of memory (the walker then lstats every name itself). */
ia_ahead *ia_ahead_new(void);
void ia_ahead_free(ia_ahead *a);

/* Starts on a folder (a helper thread; without one, the walker takes
 * every chunk itself); ends any folder before. */
void ia_ahead_begin(ia_ahead *a, const ia_ahead_job *job);
/* The lstat of name i (lo <= i < count; i never decreases between begin
 * and end), or NULL outside that range or begin..end. Valid until the next
 * call. */
const ia_pre_stat *ia_ahead_get(ia_ahead *a, size_t i);
/* Stops and joins the helper; forgets every result. */
void ia_ahead_end(ia_ahead *a);

#endif
