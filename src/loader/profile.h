/*
 * Private to the loader module: a profile as data (profiles.c), the rules
 * of each decoder behind it (judge.c) and the facts taken from the bytes
 * (facts.c). docs/loaders.md cites the source of every rule.
 */
#ifndef IA_LOADER_PROFILE_H
#define IA_LOADER_PROFILE_H

#include "loader/loader.h"

/* The library a profile opens files with. */
typedef enum ld_decoder {
    DEC_PILLOW,   /* Image.open(path).convert("RGB"), Pillow 9.4 */
    DEC_TF,       /* tf.io.decode_image(channels=3, expand_animations=False) */
    DEC_OPENCV,   /* cv2.imread(path), IMREAD_COLOR, OpenCV 4.6 */
} ld_decoder;

typedef struct ld_profile {
    const char *name;
    const char *loader;         /* how the details name the loader */
    int decoder;                /* ld_decoder */
    /* The extensions it lists, lower case with the dot, NULL-terminated;
     * NULL: every file of a class folder (a list the user made). */
    const char *const *exts;
    const char *exts_text;      /* the same, for details */
    int hidden_classes;         /* a folder named .x is a class too */
    int empty_raises;           /* a class without a listed file makes the
                                   whole dataset raise (torchvision) */
    int applies_exif;           /* EXIF orientation applied (OpenCV) */
} ld_profile;

/* The profile of an ia_loader_id (in range). */
const ld_profile *ld_profile_of(int id);

/* Whether name lists among the profile's extensions (case-insensitive,
 * as Python's name.lower().endswith(exts)). */
int ld_lists_name(const ld_profile *p, const char *path);

/* Whether the ';'-joined facts hold fact. */
int ld_has_fact(const char *facts, const char *fact);

/* The names of the facts (facts.c sets them, judge.c reads them). */
#define LD_FACT_CRC "crc"           /* a chunk before IDAT: wrong CRC */
#define LD_FACT_TEXT1 "text_1mib"   /* zTXt/iTXt/iCCP over 1 MiB inflated */
#define LD_FACT_TEXT64 "text_64mib" /* text over 64 MiB in all */
#define LD_FACT_INTACT "intact"     /* libpng refused it; Pillow's reading
                                       gets every row */
#define LD_FACT_PNM "pnm"           /* no image signature imgaudit knows: */
#define LD_FACT_ICO "ico"           /* a format Pillow (or OpenCV) opens */
#define LD_FACT_TGA "tga"
/* A BMP as TensorFlow's reader takes it: "bmp" when its header was read,
 * with at most one refusal (bpp, dims, size) and what it misreads. */
#define LD_FACT_BMP "bmp"
#define LD_FACT_BMP_BPP "bmp_bpp"         /* bpp / 8 not 1, 3 or 4 */
#define LD_FACT_BMP_DIMS "bmp_dims"       /* a size field it refuses */
#define LD_FACT_BMP_SIZE "bmp_size"       /* not exactly header + rows */
#define LD_FACT_BMP_CODED "bmp_coded"     /* compressed or odd masks */
#define LD_FACT_BMP_PALETTE "bmp_palette" /* 8-bit, not the grey ramp */

/* Pillow's Image.MAX_IMAGE_PIXELS (Image.py 94); open raises
 * DecompressionBombError above twice it. */
#define LD_PILLOW_MAX_PIXELS 89478485ULL

#endif
