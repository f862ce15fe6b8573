/*
 * The shard partition and the walk order (shard.h).
 *
 * Why XXH3_64bits modulo N: the hash is already a dependency (the pixel
 * hash), its output is frozen since xxHash 0.8.0 on every platform and
 * endianness, and it is available to users in every language (Python:
 * xxhash.xxh3_64_intdigest(path) % n), so a scheduler or a user can
 * predict which shard holds a file. The modulo of a 64-bit hash is
 * uniform to within N / 2^64.
 *
 * Why 0-based K: Kubernetes' JOB_COMPLETION_INDEX is 0-based, Slurm
 * arrays take any range (--array=0-3), xargs and GNU parallel take
 * whatever `seq 0 N-1` prints; and K in 0..N-1 is the value of the hash
 * modulo itself.
 */
#include <string.h>

#include <xxhash.h>

#include "imgaudit.h"
#include "shard/shard.h"

uint64_t ia_shard_hash(const char *relpath)
{
    const char *p = relpath ? relpath : "";
    return XXH3_64bits(p, strlen(p));
}

unsigned ia_shard_of(const char *relpath, unsigned n)
{
    if (n <= 1)
        return 0;
    return (unsigned)(ia_shard_hash(relpath) % n);
}

/* Digits only, at most IA_SHARD_MAX; *end past the last digit. */
static int parse_num(const char *s, const char **end, unsigned *out)
{
    unsigned v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > IA_SHARD_MAX)
            return -1;
        p++;
    }
    if (p == s)
        return -1;
    *end = p;
    *out = v;
    return 0;
}

int ia_shard_parse(const char *s, unsigned *k, unsigned *n)
{
    unsigned kk = 0, nn = 0;
    const char *p = s;
    if (!s || parse_num(p, &p, &kk) != 0 || *p != '/' ||
        parse_num(p + 1, &p, &nn) != 0 || *p != '\0' || nn == 0 || kk >= nn)
        return IA_ERR_ARG;
    if (k)
        *k = kk;
    if (n)
        *n = nn;
    return IA_OK;
}

/* End of string ranks 0, '/' 1, any other byte its value + 2. */
static int rank(unsigned char c)
{
    return c == '\0' ? 0 : c == '/' ? 1 : c + 2;
}

int ia_walk_path_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    while (*x && *x == *y) {
        x++;
        y++;
    }
    int rx = rank(*x), ry = rank(*y);
    return (rx > ry) - (rx < ry);
}
