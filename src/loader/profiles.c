/*
 * The profiles, one row each: what docs/loaders.md established for each
 * loader, as data. A new loader is a new row (and, for a new library, a
 * new set of rules in judge.c).
 */
#include <string.h>

#include "imgaudit.h"
#include "loader/profile.h"

/* torchvision/datasets/folder.py 241 (0.14.1) */
static const char *const torchvision_exts[] = {
    ".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff",
    ".webp", NULL,
};

/* keras/src/utils/image_dataset_utils.py ALLOWLIST_FORMATS (Keras 2
 * and 3) */
static const char *const keras_exts[] = {
    ".bmp", ".gif", ".jpeg", ".jpg", ".png", NULL,
};

static const ld_profile profiles[IA_LOADER_COUNT] = {
    [IA_LOADER_PILLOW] = {
        "pillow", "a Pillow-based folder loader", DEC_PILLOW, NULL,
        "every file", 1, 0, 0},
    [IA_LOADER_TORCHVISION] = {
        "torchvision", "torchvision's ImageFolder", DEC_PILLOW,
        torchvision_exts,
        ".jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp", 1, 1, 0},
    [IA_LOADER_KERAS] = {
        "keras", "Keras' image_dataset_from_directory", DEC_TF, keras_exts,
        ".bmp .gif .jpeg .jpg .png", 0, 0, 0},
    [IA_LOADER_TF_DATA] = {
        "tf-data", "a tf.data pipeline with tf.io.decode_image", DEC_TF,
        NULL, "every file", 1, 0, 0},
    [IA_LOADER_OPENCV] = {
        "opencv", "cv2.imread", DEC_OPENCV, NULL, "every file", 1, 0, 1},
};

const ld_profile *ld_profile_of(int id)
{
    return &profiles[id];
}

const char *ia_loader_name(int id)
{
    return id >= 0 && id < IA_LOADER_COUNT ? profiles[id].name : NULL;
}

int ia_loader_parse(const char *name)
{
    for (int i = 0; name && i < IA_LOADER_COUNT; i++)
        if (strcmp(name, profiles[i].name) == 0)
            return i;
    return -1;
}

/* One name of a list, spaces trimmed, into buf; its length in the list
 * (up to the comma) in *used. */
static void next_name(const char *s, char *buf, size_t cap, size_t *used)
{
    size_t n = strcspn(s, ",");
    *used = n;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

int ia_loader_parse_list(const char *list, unsigned *set, char *err,
                         size_t cap)
{
    char name[64];
    unsigned out = 0;
    const char *s = list ? list : "";
    for (;;) {
        size_t used;
        next_name(s, name, sizeof name, &used);
        int id = ia_loader_parse(name);
        if (id < 0) {
            ia_bprintf(err, cap, "unknown loader '%.40s' (loaders: pillow, "
                       "torchvision, keras, tf-data, opencv)", name);
            return IA_ERR_ARG;
        }
        out |= 1u << id;
        if (s[used] == '\0')
            break;
        s += used + 1;
    }
    *set = out;
    return IA_OK;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int ends_with_ci(const char *name, size_t n, const char *ext)
{
    size_t k = strlen(ext);
    if (k > n)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (lower(name[n - k + i]) != ext[i])
            return 0;
    return 1;
}

int ld_lists_name(const ld_profile *p, const char *path)
{
    if (!p->exts)
        return 1;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t n = strlen(name);
    for (size_t i = 0; p->exts[i]; i++)
        if (ends_with_ci(name, n, p->exts[i]))
            return 1;
    return 0;
}

int ld_has_fact(const char *facts, const char *fact)
{
    size_t k = strlen(fact);
    for (const char *s = facts; s && *s;) {
        size_t n = strcspn(s, ";");
        if (n == k && memcmp(s, fact, k) == 0)
            return 1;
        s += n + (s[n] == ';');
    }
    return 0;
}

int ia_loader_set_lens(ia_db *db, unsigned set, const ia_policy *p)
{
    const char *names[IA_LOADER_COUNT];
    ia_lens_sev sev[64];
    size_t n = 0, nsev = 0;
    for (int i = 0; i < IA_LOADER_COUNT; i++)
        if (set & (1u << i))
            names[n++] = profiles[i].name;
    /* a set that names none would read as "every profile" */
    if (n == 0)
        names[n++] = "";
    for (size_t i = 0; p && i < p->ncodes && nsev < IA_ARRAY_LEN(sev); i++)
        sev[nsev++] = (ia_lens_sev){p->codes[i].code, p->codes[i].severity};
    return ia_store_set_lens(db, names, n, sev, nsev);
}

int ia_loader_is_class(int id, const char *label)
{
    return label && *label &&
           (profiles[id].hidden_classes || label[0] != '.');
}
