/*
 * Thumbnails for the HTML reports: a small JPEG of an image file.
 *
 * A thumbnail is made straight from the file on disk, never from the DB
 * (which holds no pixels), with memory O(image width): JPEG through
 * libjpeg-turbo's DCT scaling (the decoder itself outputs 1/8, 1/4, ...
 * of the size), PNG through libpng row by row; both then box-downscaled
 * to at most max_side pixels on the longer side and re-encoded as a JPEG.
 *
 * A thumbnail set (ia_thumbset) collects the files a report will show,
 * each once however often it is shown, makes them in one pass with a
 * progress callback, and keeps the JPEG bytes for the renderer. It is
 * bounded: past max_items files, ia_thumbset_add answers "no room" and the
 * report shows text instead. Files that are missing, unreadable or not
 * decodable get a status instead of bytes, never an error: a report of a
 * dataset whose files moved still renders.
 *
 * A file is opened as the scan opened it and shown only while it still
 * holds the bytes scanned (ia_thumb_src; docs/security.md, "Thumbnails in
 * HTML reports"): a report meant to be shared never shows what a symlink
 * put in a scanned file's place, nor a file rewritten since.
 */
#ifndef IA_THUMB_H
#define IA_THUMB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ia_thumb_opts {
    unsigned max_side;         /* 0: IA_THUMB_DEFAULT_SIDE */
    int quality;               /* JPEG quality; 0: IA_THUMB_DEFAULT_QUALITY */
    uint64_t max_pixels;       /* larger images are refused; 0: default */
    uint64_t max_file_bytes;   /* larger files are refused; 0: default */
    size_t max_set_bytes;      /* a set's JPEG budget; 0: default */
} ia_thumb_opts;

#define IA_THUMB_DEFAULT_SIDE 128
#define IA_THUMB_DEFAULT_QUALITY 70
/* Progressive JPEG scans and libjpeg warnings past which a file is
 * refused, so a hostile file cannot keep the report busy. */
#define IA_THUMB_MAX_SCANS 256
#define IA_THUMB_MAX_WARNINGS 1000

typedef enum ia_thumb_status {
    IA_THUMB_OK = 0,
    IA_THUMB_PARTIAL,      /* decoding stopped early; the rest is gray */
    IA_THUMB_MISSING,      /* no such file */
    IA_THUMB_UNREADABLE,   /* cannot be opened or read */
    IA_THUMB_FORMAT,       /* neither JPEG nor PNG */
    IA_THUMB_TOO_LARGE,    /* over max_pixels or max_file_bytes */
    IA_THUMB_UNDECODABLE,  /* the decoder gave no pixels */
    IA_THUMB_SKIPPED,      /* not made (cancelled, or the set was full) */
    IA_THUMB_CHANGED,      /* size or SHA-256 not those scanned */
    IA_THUMB_SYMLINK,      /* the file is a symlink the scan did not follow */
    IA_THUMB_VIA_SYMLINK,  /* a folder on its path is such a symlink */
    IA_THUMB_OUTSIDE,      /* an absolute path the scan did not allow, ".." */
    IA_THUMB_UNVERIFIED,   /* the scan stored no SHA-256: it read nothing */
    IA_THUMB_STATUS_COUNT
} ia_thumb_status;

/* "ok", "missing", ... (short English words for placeholders). */
const char *ia_thumb_status_name(int status);

typedef struct ia_thumb {
    int status;            /* ia_thumb_status */
    unsigned width, height;
    uint8_t *jpeg;         /* OK and PARTIAL only; else NULL */
    size_t len;
} ia_thumb;

/* A file as a scan saw it. */
typedef struct ia_thumb_src {
    const char *root;          /* the scan's root folder */
    const char *path;          /* relative to root, as stored; absolute for
                                  a manifest row outside the root */
    int follow;                /* the scan followed symlinks */
    int allow_outside;         /* the scan allowed paths outside the root */
    int64_t size;              /* bytes scanned */
    int have_sha256;           /* 0: not shown (IA_THUMB_UNVERIFIED) */
    uint8_t sha256[32];        /* of the bytes scanned */
} ia_thumb_src;

/* ---- one thumbnail --------------------------------------------------- */

typedef struct ia_thumber ia_thumber;

/* IA_OK or IA_ERR_NOMEM. opt may be NULL (defaults). */
int ia_thumber_new(const ia_thumb_opts *opt, ia_thumber **out);
void ia_thumber_free(ia_thumber *t);

/* Makes the thumbnail of the file src names into *out (whose jpeg, when
 * set, is malloc'd and owned by the caller): opened beneath src->root by
 * the scan's symlink rule (openat_beneath.h), its size and the SHA-256 of
 * every byte read (the decoder's and the rest of the file's) checked
 * against src's. Returns IA_OK whatever the file is (the verdict is
 * out->status), or IA_ERR_NOMEM. */
int ia_thumb_make(ia_thumber *t, const ia_thumb_src *src, ia_thumb *out);

/* ---- a set of thumbnails --------------------------------------------- */

typedef struct ia_thumbset ia_thumbset;

typedef void (*ia_thumb_progress_fn)(void *user, uint64_t done,
                                     uint64_t total);

/* max_items 0: IA_THUMBSET_DEFAULT_MAX. */
int ia_thumbset_new(const ia_thumb_opts *opt, size_t max_items,
                    ia_thumbset **out);
void ia_thumbset_free(ia_thumbset *s);

#define IA_THUMBSET_DEFAULT_MAX 1500
/* JPEG bytes a set makes at most (default of max_set_bytes): once a
 * thumbnail would pass this, it and the rest are IA_THUMB_SKIPPED. 6 MiB
 * is 8 MiB of base64 in a page; a 128-pixel thumbnail of a photo is 2-6
 * KB, of pure noise 9 KB (docs/reports.md, "Size"). */
#define IA_THUMBSET_MAX_BYTES (6u << 20)

/* Adds the file src names (copied; once: the same file, root, path and
 * bytes, gives the same id). *id is its id, or -1 when the set is full.
 * IA_OK or IA_ERR_NOMEM. */
int ia_thumbset_add(ia_thumbset *s, const ia_thumb_src *src, long *id);
size_t ia_thumbset_count(const ia_thumbset *s);

/* Makes every thumbnail not made yet, in the order added, calling
 * progress (may be NULL) after each one. Stops early, leaving the rest
 * IA_THUMB_SKIPPED, when *cancel becomes non-zero or the set's JPEG bytes
 * would pass IA_THUMBSET_MAX_BYTES. IA_OK or IA_ERR_NOMEM. */
int ia_thumbset_make(ia_thumbset *s, ia_thumb_progress_fn progress,
                     void *user, volatile sig_atomic_t *cancel);

/* The thumbnail of id (NULL for an id not in the set). Before
 * ia_thumbset_make its status is IA_THUMB_SKIPPED. */
const ia_thumb *ia_thumbset_get(const ia_thumbset *s, long id);

#endif
