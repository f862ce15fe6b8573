/*
 * What the per-file work produces: one ia_file_result per file, filled by
 * read, sniff, the decoders and measure, consumed by store. Fixed-size, so
 * a worker reuses one without allocating per file. Unknown optional values
 * are -1 (stored as NULL).
 */
#ifndef IA_RESULT_H
#define IA_RESULT_H

#include <stdint.h>

#include "codes.h"

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
     * (store_reuse.h). Set by scanfile, consumed by the writer. */
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

#endif
