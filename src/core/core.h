/*
 * The core module's interface: what every module shares. Finding codes,
 * statuses and formats (codes.c); small utilities (util.c); the per-file
 * result and the row sink between decoders and measure (result.c); the
 * entries the walk produces (entry.c); the beneath-the-root open
 * (beneath.c); libraries opened at first use (dynlib.c). Nothing here
 * knows files beyond opening them, SQLite, images or threads.
 */
#ifndef IA_CORE_H
#define IA_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/*
 * Names of the enumerations that reach the DB and the reports: formats,
 * statuses, severities. The strings are part of the product contract
 * (DESIGN.md) and of the DB; never rename one.
 */

typedef enum ia_fmt {
    IA_FMT_UNKNOWN = 0, /* not a recognised image format */
    IA_FMT_JPEG,
    IA_FMT_PNG,
    IA_FMT_GIF,
    IA_FMT_WEBP,
    IA_FMT_BMP,
    IA_FMT_TIFF,
    IA_FMT_HEIF,
    IA_FMT_AVIF,
    IA_FMT_JXL,
    IA_FMT_JP2,
    IA_FMT_PNM,         /* PBM, PGM, PPM (appended: DBs store names) */
    IA_FMT_TGA,
    IA_FMT_COUNT
} ia_fmt;

typedef enum ia_status {
    IA_ST_OK = 0,
    IA_ST_TRUNCATED,
    IA_ST_CORRUPT,
    IA_ST_UNSUPPORTED,
    IA_ST_NOT_IMAGE,
    IA_ST_EMPTY,
    IA_ST_UNREADABLE,
    IA_ST_TOO_LARGE,
    IA_ST_COUNT
} ia_status;

typedef enum ia_severity {
    IA_SEV_INFO = 0,
    IA_SEV_WARNING = 1,
    IA_SEV_ERROR = 2,
} ia_severity;

/* "jpeg", "png", ...; "unknown" for IA_FMT_UNKNOWN. */
const char *ia_fmt_name(int fmt);
/* "ok", "truncated", ... */
const char *ia_status_name(int status);
/* -1 when unknown */
int ia_status_parse(const char *name);
/* "info", "warning", "error" */
const char *ia_severity_name(int sev);
int ia_severity_parse(const char *name);
/* The severity of the finding that a status gets (ok: -1, no finding). */
int ia_status_severity(int status);

/*
 * Every finding code a scan stores, with its default severity: the list a
 * policy file's keys are checked against (docs/findings.md gives each
 * one's reason). IA_SEV_VARIES: decided per finding (a minority mode, a
 * leak by the kind of copy, a skip by what it does to its class).
 */
enum { IA_SEV_VARIES = -2 };

typedef struct ia_code_info {
    const char *code;
    int severity;           /* ia_severity or IA_SEV_VARIES */
} ia_code_info;

/* The entry for code, NULL when no scan stores it. */
const ia_code_info *ia_code_find(const char *code);
/* The whole table, in docs/findings.md order; *n entries. */
const ia_code_info *ia_code_table(size_t *n);

/*
 * Small helpers shared by every module: overflow-checked size products,
 * bounded string formatting, monotonic time.
 */

#define IA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* *out = a * b; returns 0 on success, -1 on overflow (*out untouched). */
int ia_mul_size(size_t a, size_t b, size_t *out);
/* *out = a * b * c, same convention. */
int ia_mul3_size(size_t a, size_t b, size_t c, size_t *out);

/* snprintf into a fixed buffer, always terminated, truncation allowed. */
void ia_bprintf(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies src (may be NULL: empty) into dst, always terminated. */
void ia_strlcpy(char *dst, const char *src, size_t cap);
/* strdup that returns NULL for NULL. */
char *ia_strdup(const char *s);

/* Seconds from a monotonic clock. */
double ia_now(void);
/* Current UTC time as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" (thread-safe). */
void ia_utc_now(char out[32]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void ia_hex(const uint8_t *bytes, size_t n, char *out);
/* 16 hex digits, most significant first, as imagehash's str() prints. */
void ia_hex64(uint64_t v, char out[17]);

/* Length of the valid UTF-8 sequence at p (NUL-terminated), 0 when it is
 * invalid: overlongs, surrogates and code points past U+10FFFF are
 * invalid, as in jansson. */
size_t ia_utf8_len(const unsigned char *p);

/* Writes s (NULL: nothing) as Markdown text, safe in a table cell, a
 * link text or a list item: what ia_fput_clean replaces is replaced, the
 * characters that start markup or end a cell (\ ` * _ [ ] < > | # ! ~)
 * are backslash-escaped, and so is what would make s, at the start of a
 * line, a list item or a heading underline (a leading - + =, the . or )
 * after leading digits). The one Markdown escaper of the report and
 * compare writers (docs/security.md). */
void ia_fput_md(FILE *out, const char *s);
/* s as a Markdown code span (paths): fenced by one backtick more than
 * its longest run, control characters and invalid UTF-8 as '?' as above,
 * '|' escaped so a table cell holds it (GitHub's tables need that even
 * inside code). Nothing in it is a link or markup. */
void ia_fput_md_code(FILE *out, const char *s);

/* Case-insensitive ASCII compare. */
int ia_strcaseeq(const char *a, const char *b);

/* Whether a file name is one the walk opens as an archive: .tar,
 * .tar.gz, .tgz, .tar.zst, .tar.zstd, .tzst, .zip (any case), after at
 * least one other character of its last component. */
int ia_archive_name(const char *name);
/* The same of the first n bytes of name. */
int ia_archive_name_n(const char *name, size_t n);
/* Whether a folder on path's way has an archive's name (a member of an
 * archive the walk found has its archive's relpath as such a folder). */
int ia_archive_folder(const char *path);

/* qsort that accepts an empty, possibly NULL array: C requires a valid
 * base even for n == 0 and UBSan enforces it, while empty sets are
 * everyday input here (a scan without leaks, a split without labels). */
static inline void ia_qsort(void *base, size_t n, size_t size,
                            int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

static inline void ia_qsort_r(void *base, size_t n, size_t size,
                              int (*cmp)(const void *, const void *, void *),
                              void *arg)
{
    if (n > 1)
        qsort_r(base, n, size, cmp, arg);
}

/* Sorts n strings in strcmp's (bytewise, unsigned) order. A multikey
 * quicksort (Bentley and Sedgewick): one byte compared at a time, past
 * the prefix a group shares, where qsort compares whole names through a
 * function pointer (a folder of 18,544 names sorted in 1.4 ms instead of
 * 3.4). Partitions at the same depth are bounded (2 log2 n + 8 deep),
 * past which the group goes to qsort: O(n log n) on any input. */
void ia_sort_strings(char **v, size_t n);

/* Sorts n doubles (finite or infinite, no NaN) ascending, stably: what a
 * stable sort comparing (x > y) - (x < y) gives, -0.0 and 0.0 included
 * in their input order. A radix sort, linear in n: quantiles of every
 * metric at every level were the dataset analysis' largest cost. */
void ia_sort_doubles(double *v, size_t n);

/* Returns buf grown to hold at least `need` elements of `elem` bytes
 * (capacity doubling from min_cap, *cap updated), or NULL when out of
 * memory or on overflow, leaving buf and *cap as they were. */
void *ia_grow(void *buf, size_t *cap, size_t need, size_t elem,
              size_t min_cap);

/* Number of online CPUs, at least 1. */
unsigned ia_cpu_count(void);

/* Hamming distance of two 64-bit hashes. */
static inline int ia_hamming64(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

/*
 * What the per-file work produces: one ia_file_result per file, filled by
 * read, sniff, the decoders and measure, consumed by store. Fixed-size, so
 * a worker reuses one without allocating per file. Unknown optional values
 * are -1 (stored as NULL).
 */

#define IA_MAX_FILE_FINDINGS 12
#define IA_DETAIL_MAX 240
#define IA_MESSAGE_MAX 240

typedef struct ia_finding_rec {
    const char *code;   /* static string, e.g. "extension_mismatch" */
    int severity;       /* ia_severity */
    char detail[IA_DETAIL_MAX];
} ia_finding_rec;

/* Per-image pixel statistics (issue: statistics). Channels are RGB; a gray
 * image counts its value in all three, as convert("RGB") would. */
typedef struct ia_pixel_stats {
    uint64_t pixels;
    uint64_t sum[3];
    uint64_t sumsq[3];
    uint8_t min[3];
    uint8_t max[3];
    double brightness;   /* mean of Pillow's L */
    double contrast;     /* population std of L */
    double entropy;      /* Shannon entropy (bits) of the 256-bin L histogram */
    double sharpness;    /* variance of the 3x3 Laplacian of L */
    double frac_black;   /* fraction of pixels with L == 0 */
    double frac_white;   /* fraction of pixels with L == 255 */
    int constant;        /* every pixel equal in every channel */
    int alpha_used;      /* some alpha < 255 (-1: no alpha channel) */
} ia_pixel_stats;

/* Content hashes (issue: duplicates). */
typedef struct ia_hashes {
    uint8_t pixel_hash[16]; /* XXH3-128, big-endian canonical form */
    uint64_t phash;
    uint64_t dhash;
    int uniform;            /* too uniform to hash meaningfully */
} ia_hashes;

typedef struct ia_file_result {
    /* read */
    int64_t size;
    int64_t mtime_ns;
    int have_sha256;
    uint8_t sha256[32];
    /* sniff */
    int format;             /* ia_fmt from the magic bytes */
    int ext_format;         /* ia_fmt the extension promises (UNKNOWN: none) */
    /* verdict */
    int status;             /* ia_status */
    char message[IA_MESSAGE_MAX];
    /* decode: header facts */
    int32_t width, height;  /* -1 unknown */
    int32_t channels;       /* components in the file (JPEG 1/3/4; PNG 1-4) */
    int32_t bit_depth;
    const char *color_space; /* static: "gray","rgb","ycbcr","cmyk","ycck",
                                "palette","gray_alpha","rgba"; NULL unknown */
    int32_t rows_decoded;   /* rows delivered before the data ran out */
    int32_t rows_total;
    int32_t progressive;    /* JPEG: progressive; -1 n/a */
    const char *subsampling; /* JPEG: "4:4:4","4:2:2","4:2:0","4:4:0",
                                "4:1:1","other"; NULL n/a */
    int32_t jpeg_quality;   /* estimated from the luminance table; -1 n/a */
    int32_t exif_orientation; /* 1-8; -1 none */
    int32_t icc;            /* ICC profile present: 0/1 */
    int32_t interlaced;     /* PNG Adam7 (or JPEG progressive): 0/1, -1 n/a */
    int32_t palette;        /* PNG palette: 0/1, -1 n/a */
    int32_t has_alpha;      /* alpha channel or tRNS: 0/1 */
    int32_t animated;       /* APNG acTL: 0/1 */
    int32_t frames;         /* APNG frames; -1 n/a */
    /* what a training loader reads differently from imgaudit's decoders,
     * ';'-joined names ("" none): set by the loader module from the bytes
     * (loader/loader.h), stored as file.loader_facts */
    char loader_facts[64];
    /* measure (valid when have_measures) */
    int have_measures;
    ia_pixel_stats stats;
    ia_hashes hashes;
    /* findings about this file */
    int nfindings;
    int findings_dropped;
    ia_finding_rec findings[IA_MAX_FILE_FINDINGS];
    /* > 0: the file was not decoded; its decode results and per-file
     * findings are those of this file row of the reused scan
     * (store/store.h). Set by scanfile, consumed by the writer. */
    int64_t reuse_id;
} ia_file_result;

/* Resets every field to "unknown". */
void ia_result_reset(ia_file_result *r);
/* Adds a finding (printf-style detail); past the cap counts it dropped. */
void ia_result_add(ia_file_result *r, const char *code, int severity,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sets status and message (printf-style). */
void ia_result_status(ia_file_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where decoders push pixels (decode.h) and what measure provides
 * (measure.h): rows of interleaved 8-bit samples, channels 1 (L), 2 (LA),
 * 3 (RGB) or 4 (RGBA). */
typedef struct ia_rowsink {
    void *ctx;
    /* Called once, before the first row, with the size, the channels of
     * the rows and the bit depth of the file's samples; non-zero return aborts decoding
     * (the decoder then sets status corrupt with "measure failed"). */
    int (*begin)(void *ctx, uint32_t width, uint32_t height, int channels,
                 int bit_depth);
    /* Called for each row, top to bottom, exactly height times when the
     * decode completes. The row is valid only during the call: it may be
     * the decoder's buffer, reused for the next row, or the file's own
     * bytes (PNM), at any alignment. */
    void (*row)(void *ctx, const uint8_t *row);
} ia_rowsink;

/*
 * A file (or a thing that looked like one) found by the walk or listed in
 * a manifest, with the split and label its place gives it.
 */

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
    IA_ENT_EMPTY_CLASS,      /* a class folder holding nothing at all */
    IA_ENT_NOTE,             /* a note whose code and severity it carries
                                (archives: walk/walk.h) */
} ia_entry_kind;

/* The bytes of an archive member, read by the walk from the archive's
 * stream (a stream is read by one thread, in order) and handed with its
 * entry to a worker, which hashes and decodes them as it would a file's
 * (read/read.h). */
typedef struct ia_member {
    uint8_t *data;      /* malloc'd: the whole member, or when the walk
                           hashed it itself (not an image: only its head
                           is needed) its first len bytes */
    size_t len;
    int64_t size;       /* all its bytes */
    int64_t mtime_ns;   /* from the archive's header; -1 unknown */
    int have_sha256;    /* hashed by the walk (len < size) */
    uint8_t sha256[32];
    int status;         /* IA_ST_OK: scan data; else its final status */
    char message[IA_MESSAGE_MAX];
} ia_member;

typedef struct ia_entry {
    int kind;                  /* ia_entry_kind */
    char *relpath;             /* '/'-separated, relative to the root */
    char *fullpath;            /* root + relpath: a manifest row's or a
                                * member's; NULL from the folder walk
                                * (files are opened beneath the root by
                                * relpath, ia_open_beneath) */
    char *split;               /* split folder name as found; NULL none */
    const char *split_canonical; /* "train","val","test"; NULL */
    char *label;               /* NULL: no label (file at root or split) */
    int outside_class;         /* not inside a class folder: loaders skip it */
    char detail[160];          /* why, for non-FILE kinds */
    /* FILE from the walk: its lstat (stat through a followed symlink),
     * for --trust-mtime; have_stat 0 when the walk did not stat it */
    int have_stat;
    int64_t size, mtime_ns;
    /* Inside an archive: the archive's relpath (relpath is
     * ARCHIVE/MEMBER), which decides its shard and its place in the walk
     * order; NULL for a file on disk. */
    char *archive;
    /* A FILE inside an archive: its bytes (never opened by path). */
    ia_member *member;
    /* IA_ENT_NOTE: the finding (a static string) and its severity. */
    const char *note_code;
    int note_severity;
    /* The folder walk's entries hold relpath, split and label in the
     * packed bytes right after the entry, one allocation (one malloc a
     * file instead of four); 0 elsewhere. A string set later, outside
     * those bytes (the split folder_split gives an archive), is its own
     * allocation: ia_entry_free frees exactly what is not packed. */
    size_t packed;
} ia_entry;

void ia_entry_free(ia_entry *e);

/* "train", "val", "test" for a split folder name (case-insensitive:
 * train/training, val/valid/validation/dev, test/testing); NULL otherwise. */
const char *ia_split_canonical(const char *folder);

/*
 * Opening a dataset file beneath the scan's root without going through a
 * symlink: the one way the scan's reader, its --resume and --trust-mtime
 * stats and the HTML reports' thumbnails reach a file (docs/security.md,
 * "Symlinks and the root").
 */

/* Opens relpath relative to the folder rootfd with the open(2) flags, as
 * openat(2) would, except that unless follow is set no symlink is
 * followed, neither the file nor any folder on the way, and ".." is
 * refused. Returns the descriptor, or -1 with errno:
 *   ELOOP   the file itself is a symlink (with O_PATH in flags the link
 *           itself is opened instead, as O_PATH | O_NOFOLLOW does);
 *   EXDEV   a folder on the way is a symlink, or a ".." component;
 *   others  as openat(2): ENOENT, ENOTDIR, EACCES, ENAMETOOLONG (a path
 *           of PATH_MAX bytes or more) ...
 * With follow (--follow-symlinks) it is openat(2) itself. An absolute
 * relpath is beneath nothing: it is opened as given, its last component
 * not followed unless follow; only a manifest row the user allowed
 * outside the root (--allow-outside) is one. */
int ia_open_beneath(int rootfd, const char *relpath, int flags, int follow);

/* Whether relpath has a ".." component (which ia_open_beneath refuses
 * with EXDEV unless follow). */
int ia_path_climbs(const char *relpath);

/* lstat(2) of relpath beneath rootfd (stat(2) with follow) by the same
 * rules: the fstat of ia_open_beneath(O_PATH). 0, or -1 with errno. */
int ia_stat_beneath(int rootfd, const char *relpath, int follow,
                    struct stat *st);

/* ---- libraries opened at first use (dynlib.c) ----
 *
 * Some libraries cost more at every start of the process than the work
 * of most runs asks of them: AVIF, HEIF and JPEG XL, with what they pull
 * in (x265, libde265, libaom, dav1d, highway, brotli, ...), about 16 ms;
 * libtiff (libLerc and the C++ runtime, jbig, libdeflate) about 3 ms; and
 * libarchive (libxml2 and ICU, nettle, acl, lz4, bz2) about 4 ms, where
 * the whole start of the tool is about 8 ms without them (`imgaudit
 * --version`: 15.3 ms with libtiff and libarchive linked, 8.2 ms without,
 * perf stat -r 40). Linked, they
 * are mapped and relocated at every command, and an unchanged rescan of
 * 100,000 files takes about 0.2 s. They are opened (dlopen, by the
 * soname meson found when it built against their headers) when a file
 * first needs one, and their functions looked up then. Each user (a
 * decoder state, an open archive) holds its own handle and table:
 * nothing is shared between threads (dlopen counts the opens;
 * RTLD_NODELETE keeps a library mapped after the last close, as C++
 * libraries with static destructors want). When the library cannot be
 * opened, or lacks a function, the user says why (lib->why). A build
 * that could not find a soname (a cross build) links the library and
 * fills the same table with the linked functions (IA_LIB_LINKED_FN). */
typedef struct ia_dynlib {
    void *handle;
    int state;              /* 0 not tried, 1 open, -1 failed: why */
    char why[192];
} ia_dynlib;

/* Opens soname, once: 0 when open (now or before), -1 with lib->why. */
int ia_dynlib_open(ia_dynlib *lib, const char *soname);
/* Looks name up in the open library into the function pointer at dst
 * (size bytes); 0, or -1 with lib->why (the library is then failed). */
int ia_dynlib_sym(ia_dynlib *lib, const char *name, void *dst, size_t size);
void ia_dynlib_close(ia_dynlib *lib);

/* A library's function table from an X-macro of its functions' names:
 * struct { IA_LIB_FIELDS(LIST) } has one pointer of each function's own
 * type (GNU __typeof__, as gcc and clang have); IA_LIB_LOOKUPS(LIST,
 * lib, api, rc) fills it, rc 0 while every lookup succeeds. */
#define IA_LIB_FIELD_(f) __typeof__(&f) f;
#define IA_LIB_FIELDS(LIST) LIST(IA_LIB_FIELD_)
#define IA_LIB_LOOKUP_(f)                                                   \
    if (rc_ == 0)                                                            \
        rc_ = ia_dynlib_sym(lib_, #f, &api_->f, sizeof api_->f);
#define IA_LIB_LOOKUPS(LIST, lib, api, rc)                                   \
    do {                                                                     \
        ia_dynlib *lib_ = (lib);                                             \
        __typeof__(api) api_ = (api);                                        \
        int rc_ = 0;                                                         \
        LIST(IA_LIB_LOOKUP_)                                                 \
        (rc) = rc_;                                                          \
    } while (0)
/* Defines static int fn(user_t *d): whether d's library is open, opening
 * it and filling d->api from LIST at the first call (d has fields lib
 * and api). */
#define IA_LIB_READY_FN(fn, user_t, LIST, soname)                           \
    static int fn(user_t *d)                                                 \
    {                                                                        \
        if (d->lib.state == 0) {                                             \
            int rc = ia_dynlib_open(&d->lib, (soname));                      \
            if (rc == 0)                                                     \
                IA_LIB_LOOKUPS(LIST, &d->lib, &d->api, rc);                  \
        }                                                                    \
        return d->lib.state > 0;                                             \
    }
/* The same for a library linked in: the table holds the linked
 * functions, and the library is always ready. */
#define IA_LIB_LINK_(f) d->api.f = &f;
#define IA_LIB_LINKED_FN(fn, user_t, LIST)                                  \
    static int fn(user_t *d)                                                 \
    {                                                                        \
        if (d->lib.state == 0) {                                             \
            LIST(IA_LIB_LINK_)                                               \
            d->lib.state = 1;                                                \
        }                                                                    \
        return 1;                                                            \
    }

#endif
