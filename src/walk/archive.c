/*
 * The archive producer of the walk: the members of a tar (plain, gzip or
 * zstd) or zip archive read in place through libarchive, streaming, as
 * entries whose bytes travel with them (ia_member, core/core.h), so a
 * member is scanned exactly as a file is, and nothing is ever extracted
 * (docs/archives.md).
 *
 * - One pass over the stream, in the archive's order: a stream cannot be
 *   sorted without holding it. Members are ARCHIVE/MEMBER, the member's
 *   name with "." and empty components folded; a name that is absolute or
 *   has a ".." component is refused (member_path) and its name used for
 *   nothing but the finding's detail.
 * - WebDataset samples: members are grouped by key (the name up to the
 *   first dot of its base name) while consecutive; a sample is held until
 *   its key changes, since its label file (.cls, .label, .txt, or the
 *   --label-field of its .json) may follow its image in the tar. Those
 *   four are the sample's fields, never file rows; every other member is.
 *   A key seen again after other samples is sample_key_repeated (the
 *   analysis checks keys across archives: analyze/samples.c).
 * - Memory: the sample held (at most SAMPLE_MEMBERS members or
 *   SAMPLE_BYTES bytes, then it is handed on as it is) and one member
 *   being read; a member that is not an image (the keep function on its
 *   first bytes) is hashed here through the reader's window and only its
 *   head is held (read/read.h). Two sets of 64-bit hashes (names, keys)
 *   grow with the members, which max_members bounds.
 * - Limits, each refusal a finding: a member claiming or growing past
 *   max_member_bytes is too_large; past max_members entries, or once the
 *   archive has inflated past INFLATE_RATIO times the bytes it was read
 *   from (and INFLATE_FLOOR), reading stops (archive_limit). Archives in
 *   archives are not opened (nested_archive): no depth to bound.
 * - A read error stops the archive where it happened (archive_truncated
 *   or archive_corrupt, naming the member and the bytes read); every
 *   member before is kept, and the bytes of the one in flight are scanned
 *   as they are. libarchive's warnings about one member (a bad CRC) cost
 *   that member only.
 * - Names are read in a C.UTF-8 locale for the walking thread only
 *   (uselocale), so zip names flagged UTF-8 come through as their bytes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <jansson.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "imgaudit.h"
#include "core/core.h"
#include "read/read.h"
#include "walk/source.h"

/* libarchive's functions, opened at the first archive when the build
 * knows its soname (core.h: with libxml2 and ICU, about 4 ms at every
 * start when linked), else linked; each open archive holds its table. */
#define ARCHIVE_FUNCS(X)                                                     \
    X(archive_entry_filetype) X(archive_entry_hardlink)                      \
    X(archive_entry_is_encrypted) X(archive_entry_mtime)                     \
    X(archive_entry_mtime_is_set) X(archive_entry_mtime_nsec)                \
    X(archive_entry_pathname) X(archive_entry_pathname_utf8)                 \
    X(archive_entry_size) X(archive_entry_size_is_set)                       \
    X(archive_entry_symlink) X(archive_error_string)                         \
    X(archive_filter_bytes) X(archive_filter_count) X(archive_read_data)     \
    X(archive_read_free) X(archive_read_new) X(archive_read_next_header)     \
    X(archive_read_open_fd) X(archive_read_support_filter_gzip)              \
    X(archive_read_support_filter_zstd) X(archive_read_support_format_tar)   \
    X(archive_read_support_format_zip)

typedef struct archive_api {
    IA_LIB_FIELDS(ARCHIVE_FUNCS)
} archive_api;

/* A label file larger than this does not parse. */
#define LABEL_FILE_MAX ((size_t)64 * 1024)
/* A sample is handed on when it holds this many members or bytes. */
#define SAMPLE_MEMBERS 256
#define SAMPLE_BYTES ((uint64_t)256 << 20)
/* Reading stops once the archive inflated past this many times the bytes
 * read from its file (or stream), and past INFLATE_FLOOR. */
#define INFLATE_RATIO 1000u
#define INFLATE_FLOOR ((uint64_t)1 << 30)
/* A member name longer than this is refused. */
#define NAME_MAX_BYTES 4096u
#define READ_BLOCK 65536
#define PULL_BYTES 16384

enum { F_CLS, F_LABEL, F_JSON, F_TXT, NFIELDS };
static const char *const field_ext[NFIELDS] = {"cls", "label", "json", "txt"};

/* The notes of this file: what they are about, code, severity. */
enum { N_TRUNCATED, N_CORRUPT, N_LIMIT, N_PATH, N_REPEATED, N_NESTED,
       N_NO_IMAGE, N_IMAGES, N_LABEL, N_KEY, N_LINK, N_UNREADABLE };
static const struct note_def {
    const char *about, *code;
    int severity;
} notes[] = {
    [N_TRUNCATED] = {"archive", "archive_truncated", IA_SEV_ERROR},
    [N_CORRUPT] = {"archive", "archive_corrupt", IA_SEV_ERROR},
    [N_LIMIT] = {"archive", "archive_limit", IA_SEV_ERROR},
    [N_PATH] = {"member", "member_path", IA_SEV_ERROR},
    [N_REPEATED] = {"member", "member_repeated", IA_SEV_WARNING},
    [N_NESTED] = {"member", "nested_archive", IA_SEV_INFO},
    [N_NO_IMAGE] = {"sample", "sample_no_image", IA_SEV_WARNING},
    [N_IMAGES] = {"sample", "sample_multiple_images", IA_SEV_WARNING},
    [N_LABEL] = {"sample", "sample_label", IA_SEV_ERROR},
    [N_KEY] = {"sample", "sample_key_repeated", IA_SEV_WARNING},
    [N_LINK] = {"member", "symlink", IA_SEV_INFO},
    [N_UNREADABLE] = {"archive", "unreadable", IA_SEV_ERROR},
};

/* An open-addressing set of 64-bit hashes (0 stands for empty). */
typedef struct hashset {
    uint64_t *v;
    size_t cap, n;
} hashset;

typedef struct field {
    char *name;         /* the member's name, for details */
    char *text;         /* its bytes, NUL-terminated */
    size_t len;
    int too_long;
} field;

typedef struct sample {
    char *key;          /* NULL: none open */
    ia_entry **ents;    /* file rows and notes, in archive order */
    size_t n, cap;
    field fields[NFIELDS];
    unsigned images;
    char *image_names[2];
    uint64_t bytes;
    int repeated;
    char label_problem[IA_DETAIL_MAX];  /* "": its label file parsed */
} sample;

typedef struct queue {
    ia_entry **v;
    size_t head, n, cap;
} queue;

typedef struct ia_archive {
    ia_dynlib lib;
    archive_api api;
    struct archive *a;
    int fd;
    locale_t loc;
    const ia_archive_config *cfg;
    char *rel;          /* the archive's relpath */
    const char *root;   /* borrowed root prefix */
    char *split, *label;    /* from the archive's place */
    uint64_t entries, delivered;
    char *last_member;  /* the last member read whole, for messages */
    int stopped, finished;
    hashset names, keys;
    char *flushed_key;  /* a sample handed on early: its key goes on */
    sample cur;
    queue out;
    ia_file_result res; /* scratch of ia_read_pull */
    /* a read error of the member in flight */
    int data_rc;
    char data_msg[160];
    int limit_hit;
    int compressed;     /* a filter inflates the stream */
    int in_entry;       /* a header was read; its data may be left */
} ia_archive;

/* libarchive's functions through the archive's table */
#define LA(f) (A->api.f)

/* Whether libarchive is ready, opening it at the first archive. */
#ifdef IA_ARCHIVE_SONAME
IA_LIB_READY_FN(archive_ready, ia_archive, ARCHIVE_FUNCS, IA_ARCHIVE_SONAME)
#else
IA_LIB_LINKED_FN(archive_ready, ia_archive, ARCHIVE_FUNCS)
#endif

/* ---- small helpers ------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
    uint64_t h = XXH3_64bits(s, strlen(s));
    return h ? h : 1;
}

/* Adds h; *had when it was there. 0 or IA_ERR_NOMEM. */
static int set_add(hashset *s, uint64_t h, int *had)
{
    *had = 0;
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *v = calloc(cap, sizeof *v);
        if (!v)
            return IA_ERR_NOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->v[i])
                continue;
            size_t j = (size_t)(s->v[i] & (cap - 1));
            while (v[j])
                j = (j + 1) & (cap - 1);
            v[j] = s->v[i];
        }
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    size_t j = (size_t)(h & (s->cap - 1));
    while (s->v[j] && s->v[j] != h)
        j = (j + 1) & (s->cap - 1);
    if (s->v[j]) {
        *had = 1;
        return IA_OK;
    }
    s->v[j] = h;
    s->n++;
    return IA_OK;
}

static char *join(const char *a, const char *b)
{
    return ia_walk_fullpath(a, b);
}

/* A new entry of kind at rel (copied) inside the archive. */
static ia_entry *new_entry(const ia_archive *A, int kind, const char *rel)
{
    ia_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = kind;
    e->relpath = ia_strdup(rel);
    e->fullpath = join(A->root, rel);
    e->archive = ia_strdup(A->rel);
    e->split = ia_strdup(A->split);
    e->split_canonical = ia_split_canonical(A->split);
    e->label = ia_strdup(A->label);
    e->outside_class = A->label == NULL;
    if (!e->relpath || !e->fullpath || !e->archive ||
        (A->split && !e->split) || (A->label && !e->label)) {
        ia_entry_free(e);
        return NULL;
    }
    return e;
}

static ia_entry *new_note(const ia_archive *A, int which, const char *rel,
                          const char *detail)
{
    ia_entry *e = new_entry(A, IA_ENT_NOTE, rel);
    if (!e)
        return NULL;
    e->note_code = notes[which].code;
    e->note_severity = notes[which].severity;
    ia_strlcpy(e->detail, detail, sizeof e->detail);
    return e;
}

static int push(queue *q, ia_entry *e)
{
    if (!e)
        return IA_ERR_NOMEM;
    if (q->head == q->n)
        q->head = q->n = 0;
    if (ia_walk_grow((void **)&q->v, &q->cap, q->n + 1, sizeof *q->v)) {
        ia_entry_free(e);
        return IA_ERR_NOMEM;
    }
    q->v[q->n++] = e;
    return IA_OK;
}

static int note(ia_archive *A, int which, const char *rel, const char *detail)
{
    return push(&A->out, new_note(A, which, rel ? rel : A->rel, detail));
}

/* ---- samples ------------------------------------------------------------ */

static void sample_clear(sample *s)
{
    for (size_t i = 0; i < s->n; i++)
        ia_entry_free(s->ents[i]);
    for (int f = 0; f < NFIELDS; f++) {
        free(s->fields[f].name);
        free(s->fields[f].text);
    }
    free(s->image_names[0]);
    free(s->image_names[1]);
    free(s->key);
    ia_entry **ents = s->ents;
    size_t cap = s->cap;
    memset(s, 0, sizeof *s);
    s->ents = ents;
    s->cap = cap;
}

static int sample_add(sample *s, ia_entry *e)
{
    if (!e)
        return IA_ERR_NOMEM;
    if (ia_walk_grow((void **)&s->ents, &s->cap, s->n + 1, sizeof *s->ents)) {
        ia_entry_free(e);
        return IA_ERR_NOMEM;
    }
    s->ents[s->n++] = e;
    if (e->member)
        s->bytes += e->member->len;
    return IA_OK;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* text without leading and trailing white space, in place. */
static char *trim(char *text, size_t *len)
{
    while (*len && is_space(text[*len - 1]))
        text[--*len] = '\0';
    while (*len && is_space(*text)) {
        text++;
        --*len;
    }
    return text;
}

static int valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t k = p[i] < 0x80 ? (p[i] != 0) : ia_utf8_len(p + i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* .cls: a class number, as WebDataset's int() reads it. */
static int parse_cls(char *text, size_t len, char **label, char *why,
                     size_t cap)
{
    char *t = trim(text, &len), *end = NULL;
    errno = 0;
    long long v = len ? strtoll(t, &end, 10) : 0;
    if (!len || errno || end != t + len) {
        ia_bprintf(why, cap, "is not a class number: '%.40s'", t);
        return 0;
    }
    char buf[24];
    ia_bprintf(buf, sizeof buf, "%lld", v);
    *label = ia_strdup(buf);
    return 1;
}

/* .label, .txt: any text but empty, NUL bytes or invalid UTF-8. */
static int parse_text(char *text, size_t len, char **label, char *why,
                      size_t cap)
{
    char *t = trim(text, &len);
    if (!len) {
        ia_bprintf(why, cap, "is empty");
        return 0;
    }
    if (memchr(t, '\0', len) || !valid_utf8(t, len)) {
        ia_bprintf(why, cap, "is not UTF-8 text");
        return 0;
    }
    *label = ia_strdup(t);
    return 1;
}

/* .json: an object whose field is a non-empty string or an integer. */
static int parse_json(const char *text, size_t len, const char *fname,
                      char **label, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *o = json_loadb(text, len, 0, &jerr);
    json_t *v = json_is_object(o) ? json_object_get(o, fname) : NULL;
    int ok = 0;
    if (!o)
        ia_bprintf(why, cap, "is not JSON: %s (line %d)", jerr.text,
                   jerr.line);
    else if (!v)
        ia_bprintf(why, cap, "has no field '%.60s'", fname);
    else if (json_is_string(v) && json_string_length(v) > 0 &&
             !memchr(json_string_value(v), '\0', json_string_length(v)))
        ok = 1, *label = ia_strdup(json_string_value(v));
    else if (json_is_integer(v)) {
        char buf[24];
        ia_bprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        ok = 1, *label = ia_strdup(buf);
    } else
        ia_bprintf(why, cap, "field '%.60s' is not a string or an integer",
                   fname);
    json_decref(o);
    return ok;
}

/* The sample's label file: .cls, else .label, else the --label-field of
 * its .json when one is given, else its .txt. */
static field *label_field(const ia_archive *A, sample *s, int *kind)
{
    static const int order[2][3] = {{F_CLS, F_LABEL, F_TXT},
                                     {F_CLS, F_LABEL, F_JSON}};
    const int *o = order[A->cfg->label_field != NULL];
    for (int i = 0; i < 3; i++)
        if (s->fields[o[i]].name) {
            *kind = o[i];
            return &s->fields[o[i]];
        }
    return NULL;
}

/* The label the sample's label file gives (malloc'd), or NULL: none, or
 * it does not parse (s->label_problem says why). */
static int sample_label(const ia_archive *A, sample *s, char **label)
{
    char why[160] = "";
    int kind = 0, ok = 0;
    field *f = label_field(A, s, &kind);
    *label = NULL;
    if (!f)
        return IA_OK;
    if (f->too_long)
        ia_bprintf(why, sizeof why, "is over %zu bytes", LABEL_FILE_MAX);
    else if (kind == F_CLS)
        ok = parse_cls(f->text, f->len, label, why, sizeof why);
    else if (kind == F_JSON)
        ok = parse_json(f->text, f->len, A->cfg->label_field, label, why,
                        sizeof why);
    else
        ok = parse_text(f->text, f->len, label, why, sizeof why);
    if (ok)
        return *label ? IA_OK : IA_ERR_NOMEM;
    ia_bprintf(s->label_problem, sizeof s->label_problem, "label file '%s' "
               "%s: the sample's files have no label from it", f->name, why);
    return IA_OK;
}

/* The notes about the sample as a whole, after its members, on the path
 * ARCHIVE/KEY. */
static int sample_notes(ia_archive *A, const sample *s)
{
    char detail[IA_DETAIL_MAX];
    int rc = IA_OK, fields = 0;
    char *rel = join(A->rel, s->key);
    if (!rel)
        return IA_ERR_NOMEM;
    for (int f = 0; f < NFIELDS; f++)
        fields += s->fields[f].name != NULL;
    if (s->label_problem[0])
        rc = note(A, N_LABEL, rel, s->label_problem);
    if (rc == IA_OK && s->images == 0 && fields) {
        ia_bprintf(detail, sizeof detail, "sample '%s' has %d label or "
                   "metadata file%s but no image", s->key, fields,
                   fields > 1 ? "s" : "");
        rc = note(A, N_NO_IMAGE, rel, detail);
    }
    if (rc == IA_OK && s->images > 1) {
        ia_bprintf(detail, sizeof detail, "sample '%s' has %u images ('%s', "
                   "'%s'%s): a loader that takes one per sample drops the "
                   "others", s->key, s->images, s->image_names[0],
                   s->image_names[1], s->images > 2 ? ", ..." : "");
        rc = note(A, N_IMAGES, rel, detail);
    }
    if (rc == IA_OK && s->repeated) {
        ia_bprintf(detail, sizeof detail, "sample key '%s' appears again "
                   "after other samples: loaders that group members by key "
                   "see two samples of that key", s->key);
        rc = note(A, N_KEY, rel, detail);
    }
    free(rel);
    return rc;
}

/* Hands the sample on: its file rows get its label, then they (in
 * archive order) and the notes about the sample are queued. */
static int flush(ia_archive *A)
{
    sample *s = &A->cur;
    char *label = NULL;
    int rc = IA_OK;
    if (!s->key)
        return IA_OK;
    rc = sample_label(A, s, &label);
    for (size_t i = 0; i < s->n && rc == IA_OK; i++) {
        ia_entry *e = s->ents[i];
        if (label && e->kind != IA_ENT_NOTE) {
            char *copy = ia_strdup(label);
            if (!copy) {
                rc = IA_ERR_NOMEM;
                break;
            }
            free(e->label);
            e->label = copy;
            e->outside_class = 0;
        }
    }
    for (size_t i = 0; i < s->n && rc == IA_OK; i++) {
        rc = push(&A->out, s->ents[i]);
        s->ents[i] = NULL;
    }
    if (rc == IA_OK)
        rc = sample_notes(A, s);
    free(label);
    free(A->flushed_key);
    A->flushed_key = NULL;
    sample_clear(s);
    return rc;
}

/* ---- member names ------------------------------------------------------- */

/* The member's name with "" and "." components folded into out (at least
 * strlen(raw) + 1 bytes). 0, or a reason the name is refused. */
static const char *fold_name(const char *raw, char *out)
{
    size_t n = 0;
    if (raw[0] == '/')
        return "is absolute";
    for (const char *s = raw; *s;) {
        const char *c = s;
        while (*s && *s != '/')
            s++;
        size_t cl = (size_t)(s - c);
        while (*s == '/')
            s++;
        if (cl == 0 || (cl == 1 && c[0] == '.'))
            continue;
        if (cl == 2 && c[0] == '.' && c[1] == '.')
            return "has a '..' component";
        if (n)
            out[n++] = '/';
        memcpy(out + n, c, cl);
        n += cl;
    }
    out[n] = '\0';
    return n ? NULL : "is empty";
}

static const char *base_of(const char *name)
{
    const char *slash = strrchr(name, '/');
    return slash ? slash + 1 : name;
}

/* The key of a member: its name up to the first dot of its base name (a
 * base name starting with a dot is its own key). */
static char *key_of(const char *name)
{
    const char *base = base_of(name);
    const char *dot = base[0] != '.' ? strchr(base, '.') : NULL;
    size_t n = dot ? (size_t)(dot - name) : strlen(name);
    char *k = malloc(n + 1);
    if (k) {
        memcpy(k, name, n);
        k[n] = '\0';
    }
    return k;
}

static int field_of(const char *name)
{
    const char *base = base_of(name);
    const char *dot = base[0] != '.' ? strchr(base, '.') : NULL;
    for (int f = 0; dot && f < NFIELDS; f++)
        if (ia_strcaseeq(dot + 1, field_ext[f]))
            return f;
    return -1;
}

/* Split and label from the member's own folders when its archive's place
 * gives none: SPLIT/LABEL/... or LABEL/..., as a folder walk of the
 * extracted tree would take them. */
static int place_entry(const ia_archive *A, const char *name, ia_entry *e)
{
    const char *slash = strchr(name, '/');
    char first[256], second[256];
    if (!slash || (size_t)(slash - name) >= sizeof first)
        return IA_OK;
    memcpy(first, name, (size_t)(slash - name));
    first[slash - name] = '\0';
    const char *s2 = strchr(slash + 1, '/');
    second[0] = '\0';
    if (s2 && (size_t)(s2 - slash - 1) < sizeof second) {
        memcpy(second, slash + 1, (size_t)(s2 - slash - 1));
        second[s2 - slash - 1] = '\0';
    }
    const char *label = first;
    if (!A->split && ia_split_canonical(first)) {
        free(e->split);
        if (!(e->split = ia_strdup(first)))
            return IA_ERR_NOMEM;
        e->split_canonical = ia_split_canonical(first);
        label = second[0] ? second : NULL;
    }
    if (!A->label && label) {
        free(e->label);
        if (!(e->label = ia_strdup(label)))
            return IA_ERR_NOMEM;
        e->outside_class = 0;
    }
    return IA_OK;
}

/* ---- reading ------------------------------------------------------------ */

static int truncation(const char *msg)
{
    return msg && (strstr(msg, "runcated") || strstr(msg, "nexpected end"));
}

/* The bytes the archive has given, against those read for them. */
static int inflated_too_much(ia_archive *A)
{
    uint64_t raw = (uint64_t)LA(archive_filter_bytes)(A->a, -1);
    uint64_t out = (uint64_t)LA(archive_filter_bytes)(A->a, 0);
    uint64_t cap = raw > INFLATE_FLOOR / INFLATE_RATIO ? raw * INFLATE_RATIO
                                                       : INFLATE_FLOOR;
    if (A->delivered > out)
        out = A->delivered;
    return out > cap;
}

/* Stops the archive where it is, with the note that says why. */
static int stop(ia_archive *A, int which, const char *why)
{
    char detail[IA_DETAIL_MAX];
    A->stopped = 1;
    if (A->last_member)
        ia_bprintf(detail, sizeof detail, "%s; reading stopped after "
                   "member '%s' (%llu entries read, %lld bytes in)", why,
                   A->last_member, (unsigned long long)A->entries,
                   (long long)LA(archive_filter_bytes)(A->a, -1));
    else
        ia_bprintf(detail, sizeof detail, "%s; reading stopped before its "
                   "first member", why);
    int rc = flush(A);
    return rc == IA_OK ? note(A, which, NULL, detail) : rc;
}

static int read_error(ia_archive *A, const char *what)
{
    const char *msg = LA(archive_error_string)(A->a);
    char why[200];
    ia_bprintf(why, sizeof why, "%s: %s", what, msg ? msg : "read error");
    return stop(A, truncation(msg) ? N_TRUNCATED : N_CORRUPT, why);
}

static ssize_t pull(void *arg, uint8_t *dst, size_t n, ia_file_result *res)
{
    ia_archive *A = arg;
    (void)res;
    if (A->data_rc || A->limit_hit)
        return 0;
    /* archive_read_data drops what it copied in a call that fails: small
     * calls keep the bytes before a break */
    la_ssize_t k = LA(archive_read_data)(A->a, dst, n < PULL_BYTES ? n
                                                               : PULL_BYTES);
    if (k < 0) {
        const char *msg = LA(archive_error_string)(A->a);
        A->data_rc = (int)k;
        ia_strlcpy(A->data_msg, msg ? msg : "read error", sizeof A->data_msg);
        return 0;
    }
    A->delivered += (uint64_t)k;
    if (inflated_too_much(A))
        A->limit_hit = 1;
    return (ssize_t)k;
}

/* A label file's bytes, at most LABEL_FILE_MAX. */
static int read_field(ia_archive *A, const char *name, int f)
{
    field *fd = &A->cur.fields[f];
    char *buf = malloc(LABEL_FILE_MAX + 1);
    size_t n = 0;
    if (!buf || !(fd->name = ia_strdup(name))) {
        free(buf);
        return IA_ERR_NOMEM;
    }
    while (n <= LABEL_FILE_MAX) {
        ssize_t k = pull(A, (uint8_t *)buf + n, LABEL_FILE_MAX + 1 - n, NULL);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    fd->too_long = n > LABEL_FILE_MAX;
    buf[n > LABEL_FILE_MAX ? LABEL_FILE_MAX : n] = '\0';
    fd->text = buf;
    fd->len = n > LABEL_FILE_MAX ? LABEL_FILE_MAX : n;
    return IA_OK;
}

/* The member's bytes into m: whole, or its head and SHA-256. */
static int read_member(ia_archive *A, int64_t claim, ia_member *m)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    uint64_t max = A->cfg->max_member_bytes;
    if (claim > 0 && (uint64_t)claim > max) {
        m->status = IA_ST_TOO_LARGE;
        m->size = claim;
        ia_bprintf(m->message, sizeof m->message, "file of %lld bytes over "
                   "the %llu-byte limit", (long long)claim,
                   (unsigned long long)max);
        return IA_OK;
    }
    ia_result_reset(&A->res);
    int rc = ia_read_pull(A->cfg->reader, pull, A, claim > 0 ? (uint64_t)claim
                                                             : 0,
                          max, &A->res, &data, &len);
    if (rc < 0)
        return -rc;
    m->size = A->res.size;
    if (rc > 0) {
        m->status = A->res.status;
        ia_strlcpy(m->message, A->res.message, sizeof m->message);
        return IA_OK;
    }
    if (A->res.have_sha256) {
        memcpy(m->sha256, A->res.sha256, sizeof m->sha256);
        m->have_sha256 = 1;
    }
    m->data = malloc(len ? len : 1);
    if (!m->data)
        return IA_ERR_NOMEM;
    memcpy(m->data, data, len);
    m->len = len;
    return IA_OK;
}

/* What a read error inside the member leaves: its bytes are kept (an
 * image cut short is then truncated), none is unreadable; the archive
 * notes it, and a fatal error stops the archive. */
static int data_error(ia_archive *A, const char *name, ia_member *m)
{
    char why[200];
    int fatal = A->data_rc <= ARCHIVE_FATAL;
    if (m && m->size == 0 && m->status == IA_ST_OK) {
        m->status = IA_ST_UNREADABLE;
        ia_bprintf(m->message, sizeof m->message, "cannot be read from the "
                   "archive: %s", A->data_msg);
    }
    ia_bprintf(why, sizeof why, "member '%s': %s after %lld bytes", name,
               A->data_msg, m ? (long long)m->size : 0LL);
    int which = truncation(A->data_msg) ? N_TRUNCATED : N_CORRUPT;
    A->data_rc = 0;
    if (fatal)
        return stop(A, which, why);
    return note(A, which, NULL, why);
}

static void set_stat(const ia_archive *A, ia_entry *e,
                     struct archive_entry *ae, int64_t size)
{
    e->have_stat = 1;
    e->size = size;
    e->mtime_ns = LA(archive_entry_mtime_is_set)(ae)
                      ? (int64_t)LA(archive_entry_mtime)(ae) * 1000000000 +
                            LA(archive_entry_mtime_nsec)(ae)
                      : -1;
}

/* A regular member: a label file of the sample, or a file row. */
static int regular(ia_archive *A, struct archive_entry *ae, const char *name,
                   const char *rel)
{
    int f = field_of(name);
    if (f >= 0 && !A->cur.fields[f].name) {
        int rc = read_field(A, name, f);
        return rc == IA_OK && A->data_rc ? data_error(A, name, NULL) : rc;
    }
    ia_entry *e = new_entry(A, IA_ENT_FILE, rel);
    ia_member *m = e ? calloc(1, sizeof *m) : NULL;
    int rc = m ? place_entry(A, name, e) : IA_ERR_NOMEM;
    if (rc != IA_OK) {
        ia_entry_free(e);
        free(m);
        return rc;
    }
    e->member = m;
    m->status = IA_ST_OK;
    if (LA(archive_entry_is_encrypted)(ae)) {
        m->status = IA_ST_UNREADABLE;
        ia_bprintf(m->message, sizeof m->message, "encrypted archive member: "
                   "not decrypted");
    } else {
        rc = read_member(A, LA(archive_entry_size_is_set)(ae)
                                ? LA(archive_entry_size)(ae) : -1, m);
    }
    set_stat(A, e, ae, m->size);
    m->mtime_ns = e->mtime_ns;
    if (A->cfg->is_image && A->cfg->is_image(name)) {
        if (A->cur.images < 2 &&
            !(A->cur.image_names[A->cur.images] = ia_strdup(base_of(name))))
            rc = IA_ERR_NOMEM;
        A->cur.images++;
    }
    if (rc == IA_OK)
        rc = sample_add(&A->cur, e);
    else
        ia_entry_free(e);
    if (rc == IA_OK && ia_archive_name(name))
        rc = sample_add(&A->cur, new_note(A, N_NESTED, rel, "an archive "
                        "inside an archive: scanned as a file, its members "
                        "are not opened"));
    if (rc == IA_OK && A->data_rc)
        rc = data_error(A, name, m);
    return rc;
}

/* Anything but a regular file: symlinks and hard links are notes, other
 * special files rows that are never read, folders nothing. */
static int irregular(ia_archive *A, struct archive_entry *ae,
                     const char *rel, mode_t type)
{
    const char *hard = LA(archive_entry_hardlink)(ae);
    const char *sym = LA(archive_entry_symlink)(ae);
    char detail[160];
    ia_entry *e;
    if (hard || type == AE_IFLNK) {
        ia_bprintf(detail, sizeof detail, "%s -> %s (an archive member: not "
                   "followed)", hard ? "hard link" : "symlink",
                   hard ? hard : sym ? sym : "?");
        return sample_add(&A->cur, new_note(A, N_LINK, rel, detail));
    }
    e = new_entry(A, IA_ENT_SPECIAL, rel);
    if (!e)
        return IA_ERR_NOMEM;
    ia_bprintf(e->detail, sizeof e->detail, "%s in the archive: never read",
               type == AE_IFIFO ? "FIFO (named pipe)"
               : type == AE_IFSOCK ? "UNIX socket"
               : type == AE_IFCHR ? "character device"
               : type == AE_IFBLK ? "block device" : "file of unknown type");
    return sample_add(&A->cur, e);
}

/* The member's sample: the open one while its key goes on, else a new
 * one (the open one handed on first). */
static int join_sample(ia_archive *A, const char *name)
{
    char *key = key_of(name);
    int had = 0, rc = IA_OK;
    if (!key)
        return IA_ERR_NOMEM;
    if (A->cur.key && strcmp(A->cur.key, key) == 0 &&
        A->cur.n < SAMPLE_MEMBERS && A->cur.bytes < SAMPLE_BYTES) {
        free(key);
        return IA_OK;
    }
    int goes_on = A->cur.key && strcmp(A->cur.key, key) == 0;
    char *keep = goes_on ? ia_strdup(key) : NULL;
    rc = flush(A);
    if (rc == IA_OK && !goes_on && !(A->flushed_key &&
                                     strcmp(A->flushed_key, key) == 0))
        rc = set_add(&A->keys, hash_str(key), &had);
    A->cur.key = key;
    A->cur.repeated = had;
    if (goes_on) {
        free(A->flushed_key);
        A->flushed_key = keep;
    }
    return rc == IA_OK && goes_on && !keep ? IA_ERR_NOMEM : rc;
}

/* The member's name, folded (malloc'd), or NULL with *why set (a reason
 * it is refused, or "" when it is a folder of no consequence). */
static char *member_name(const ia_archive *A, struct archive_entry *ae,
                         const char **why)
{
    const char *raw = LA(archive_entry_pathname)(ae);
    if (!raw)
        raw = LA(archive_entry_pathname_utf8)(ae);
    *why = "cannot be read";
    if (!raw)
        return NULL;
    size_t rl = strlen(raw);
    *why = "is too long";
    if (rl > NAME_MAX_BYTES)
        return NULL;
    char *name = malloc(rl + 1);
    *why = NULL;
    if (!name)
        return NULL;
    *why = fold_name(raw, name);
    if (!*why)
        return name;
    free(name);
    /* "./", "/": the archive's own top folder */
    if (LA(archive_entry_filetype)(ae) == AE_IFDIR && !strstr(*why, ".."))
        *why = "";
    return NULL;
}

static int refused_name(ia_archive *A, struct archive_entry *ae,
                        const char *why)
{
    char detail[IA_DETAIL_MAX];
    const char *raw = LA(archive_entry_pathname)(ae);
    if (!raw)
        raw = LA(archive_entry_pathname_utf8)(ae);
    ia_bprintf(detail, sizeof detail, "member name '%.120s%s' %s: not "
               "scanned, never extracted", raw ? raw : "?",
               raw && strlen(raw) > 120 ? "..." : "", why);
    return note(A, N_PATH, NULL, detail);
}

/* One entry of the archive (a folder adds nothing). */
static int member(ia_archive *A, struct archive_entry *ae)
{
    mode_t type = LA(archive_entry_filetype)(ae);
    const char *why = NULL;
    char detail[IA_DETAIL_MAX];
    int had = 0, rc;
    char *name = member_name(A, ae, &why);
    if (!name)
        return !why ? IA_ERR_NOMEM : why[0] ? refused_name(A, ae, why)
                                            : IA_OK;
    int dir = type == AE_IFDIR && !LA(archive_entry_hardlink)(ae);
    char *rel = dir ? NULL : join(A->rel, name);
    rc = dir ? IA_OK : rel ? set_add(&A->names, hash_str(name), &had)
                           : IA_ERR_NOMEM;
    if (rc == IA_OK && !dir && had) {
        ia_bprintf(detail, sizeof detail, "a second member named '%s': not "
                   "scanned (extracting would overwrite the first)", name);
        rc = note(A, N_REPEATED, rel, detail);
    } else if (rc == IA_OK && !dir) {
        rc = join_sample(A, name);
        if (rc == IA_OK && type == AE_IFREG && !LA(archive_entry_hardlink)(ae))
            rc = regular(A, ae, name, rel);
        else if (rc == IA_OK)
            rc = irregular(A, ae, rel, type);
        if (rc == IA_OK && !A->stopped) {
            free(A->last_member);
            A->last_member = name;
            name = NULL;
        }
    }
    free(rel);
    free(name);
    return rc;
}

static int limit(ia_archive *A)
{
    char why[160];
    ia_bprintf(why, sizeof why, "inflated past %u times the %lld bytes "
               "read (a compression bomb?)", INFLATE_RATIO,
               (long long)LA(archive_filter_bytes)(A->a, -1));
    return stop(A, N_LIMIT, why);
}

/* The data of the last entry not read: libarchive would skip it by
 * inflating it whole, so through a compression filter it is read here,
 * under the inflation limit (a plain tar or a zip skips without
 * inflating). */
static int drain(ia_archive *A)
{
    uint8_t buf[16384];
    A->in_entry = 0;
    while (!A->data_rc && !A->limit_hit && pull(A, buf, sizeof buf, NULL) > 0)
        ;
    if (A->limit_hit)
        return limit(A);
    return A->data_rc ? data_error(A, A->last_member ? A->last_member : "?",
                                   NULL)
                      : IA_OK;
}

/* Reads one header and its member; at the end or a stop, hands on what
 * is held. */
static int step(ia_archive *A)
{
    struct archive_entry *ae = NULL;
    char why[160];
    int rc = A->in_entry && A->compressed && !A->stopped ? drain(A) : IA_OK;
    if (rc != IA_OK || A->stopped) {
        A->finished = A->stopped;
        return rc == IA_OK ? flush(A) : rc;
    }
    int r = LA(archive_read_next_header)(A->a, &ae);
    if (r == ARCHIVE_EOF) {
        A->stopped = 1;
        return IA_OK;
    }
    if (r < ARCHIVE_WARN)
        return read_error(A, A->entries ? "reading the next member's header"
                                        : "not a tar or zip archive");
    A->in_entry = 1;
    if (++A->entries > A->cfg->max_members) {
        ia_bprintf(why, sizeof why, "more than %llu entries (the "
                   "--max-members limit)",
                   (unsigned long long)A->cfg->max_members);
        return stop(A, N_LIMIT, why);
    }
    rc = member(A, ae);
    if (rc == IA_OK && !A->stopped && (A->limit_hit || inflated_too_much(A)))
        rc = limit(A);
    return rc;
}

/* ---- the source ----------------------------------------------------------- */

static int archive_next(void *self, ia_entry **out)
{
    ia_archive *A = self;
    locale_t old = A->loc ? uselocale(A->loc) : (locale_t)0;
    int rc = IA_OK;
    while (rc == IA_OK && A->out.head == A->out.n && !A->finished)
        rc = step(A);
    if (A->loc)
        uselocale(old);
    if (rc != IA_OK)
        return -rc;
    if (A->out.head == A->out.n)
        return 0;
    *out = A->out.v[A->out.head++];
    return 1;
}

static const char *archive_layout(const void *self)
{
    (void)self;
    return "archive";
}

static void archive_close(void *self)
{
    ia_archive *A = self;
    if (!A)
        return;
    if (A->a)
        LA(archive_read_free)(A->a);
    ia_dynlib_close(&A->lib);
    if (A->fd >= 0)
        close(A->fd);
    if (A->loc)
        freelocale(A->loc);
    sample_clear(&A->cur);
    free(A->cur.ents);
    for (size_t i = A->out.head; i < A->out.n; i++)
        ia_entry_free(A->out.v[i]);
    free(A->out.v);
    free(A->names.v);
    free(A->keys.v);
    free(A->rel);
    free(A->split);
    free(A->label);
    free(A->last_member);
    free(A->flushed_key);
    free(A);
}

static const ia_source_ops archive_ops = {
    archive_next, archive_layout, archive_close,
};

static int open_reader(ia_archive *A)
{
    /* without libarchive the archive is one finding, its members unread */
    if (!archive_ready(A))
        return stop(A, N_UNREADABLE, A->lib.why);
    A->a = LA(archive_read_new)();
    if (!A->a)
        return IA_ERR_NOMEM;
    /* tar and zip only, gzip and zstd only: the formats of the issue and
     * no more code facing hostile bytes than they need */
    if (LA(archive_read_support_format_tar)(A->a) != ARCHIVE_OK ||
        LA(archive_read_support_format_zip)(A->a) != ARCHIVE_OK ||
        LA(archive_read_support_filter_gzip)(A->a) < ARCHIVE_WARN ||
        LA(archive_read_support_filter_zstd)(A->a) < ARCHIVE_WARN)
        return IA_ERR_NOMEM;
    if (LA(archive_read_open_fd)(A->a, A->fd, READ_BLOCK) != ARCHIVE_OK)
        return read_error(A, "not a tar or zip archive");
    A->compressed = LA(archive_filter_count)(A->a) > 1;
    return IA_OK;
}

int ia_archive_open(int fd, const char *root_prefix, const ia_entry *at,
                    const ia_archive_config *cfg, ia_source *out)
{
    ia_archive *A = calloc(1, sizeof *A);
    int rc = IA_ERR_NOMEM;
    if (!A) {
        close(fd);
        return rc;
    }
    A->fd = fd;
    A->cfg = cfg;
    A->root = root_prefix;
    A->rel = ia_strdup(at->relpath);
    A->split = ia_strdup(at->split);
    A->label = ia_strdup(at->label);
    /* the walk's locale may be "C": zip's UTF-8 names need a UTF-8 one */
    A->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!A->rel || (at->split && !A->split) || (at->label && !A->label))
        goto out;
    locale_t old = A->loc ? uselocale(A->loc) : (locale_t)0;
    rc = open_reader(A);
    if (A->loc)
        uselocale(old);
    if (rc != IA_OK)
        goto out;
    out->ops = &archive_ops;
    out->self = A;
    A = NULL;
out:
    archive_close(A);
    return rc;
}
