/*
 * Sharding (docs/scale-out.md): which shard a path belongs to, the "K/N"
 * syntax, and the order in which the walk emits paths, which merge needs
 * to interleave shards back into one walk.
 *
 * The partition is a contract between processes that may run on
 * different machines: shard = XXH3_64bits(relpath bytes, seed 0) mod N,
 * K counted from 0. relpath is the path as stored in the DB (file.path:
 * relative to the scan root, '/'-separated, bytes as the file system
 * gave them, no trailing NUL). A file's shard depends on its own path
 * only, so adding or removing files never moves another file to another
 * shard. Changing this function is a breaking change of the DB format.
 */
#ifndef IA_SHARD_H
#define IA_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* The largest N accepted: merge keeps every shard open at once (one
 * SQLite connection, one descriptor each), and 1000 stays inside the
 * common limit of 1024 open files; it is also the largest job array
 * Slurm's default MaxArraySize (1001) allows. */
#define IA_SHARD_MAX 1000u

/* XXH3_64bits of the path bytes (NULL: the empty string). */
uint64_t ia_shard_hash(const char *relpath);
/* The shard (0 .. n-1) of relpath among n (n >= 1). */
unsigned ia_shard_of(const char *relpath, unsigned n);

/* ia_shard_parse (imgaudit.h) accepts 0 <= K < N <= IA_SHARD_MAX. */

/* The order of the folder walk: paths compared component by component,
 * names bytewise (strcmp), a folder before everything inside it. Equal
 * to comparing the bytes with '/' ranked below every other byte. */
int ia_walk_path_cmp(const char *a, const char *b);

#endif
