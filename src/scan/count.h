/*
 * Private to the scan module: counting ahead. A second walk of the same
 * tree, in its own thread, counts the files the scan will store, so that
 * a progress line can show a total, a percentage and an estimate of the
 * time left (docs/cli.md "Progress"). It lists folders and stats entries
 * as the walk does, but opens no file: on a warm cache it ends long
 * before the scan. An archive's members are known only by reading it, so
 * a walk that meets one gives up (the total stays unknown).
 */
#ifndef IA_SCAN_COUNT_H
#define IA_SCAN_COUNT_H

#include <stdint.h>

#include "walk/walk.h"

typedef struct ia_counter ia_counter;

/* Whether e is one of the files counted (the scan's own rule). */
typedef int (*ia_count_fn)(void *user, const ia_entry *e);

/* Starts counting the walk of wo (copied; its strings borrowed until
 * ia_counter_stop). Returns IA_OK with *out set, or an ia_error (no
 * thread: the scan goes on without a total). */
int ia_counter_start(const ia_walk_options *wo, ia_count_fn counts,
                     void *user, ia_counter **out);

/* The total when the count is over, else 0 (still counting, or unknown
 * because an archive was met or the walk failed). Any thread. */
uint64_t ia_counter_total(const ia_counter *c);

/* Stops the count if still running, joins and frees. NULL allowed. */
void ia_counter_stop(ia_counter *c);

#endif
