/*
 * The walk's front (walk.h): opens the root once, hands it to the
 * producer the options choose (a folder walk, a CSV manifest, or one
 * archive), and drives that producer through its table without naming
 * its layout. The root is opened here, following a symlink (the root is
 * the user's choice), and every producer addresses files beneath it.
 *
 * An archive the producer finds (a file named .tar, .zip, ...) is opened
 * here, beneath the root by the rules of any file, and its members, from
 * the archive producer (archive.c), take its place in the walk; the
 * archive itself is no entry. A manifest row naming a member of an
 * archive it also names is refused: that member is scanned with the rest
 * of its archive, and a path is stored once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgaudit.h"
#include "core/core.h"
#include "read/read.h"
#include "walk/source.h"
#include "walk/walk.h"

struct ia_walker {
    char *root;         /* as given, trailing slashes removed ("/" -> "") */
    int rootfd;
    int follow;
    ia_source src;      /* the producer; ops NULL: a stream */
    ia_source arch;     /* the archive being read; ops NULL: none */
    ia_archive_config acfg;
    int (*skip_archive)(void *user, const char *relpath);
    void *user;
    char **expanded;    /* archives opened, sorted (manifests name them) */
    size_t nexpanded, expanded_cap;
    const char *const *exclude;   /* --exclude globs, borrowed */
    size_t nexclude;
};


int ia_walk_is_archive(const char *name)
{
    return name && ia_archive_name(name);
}

/* ---- one archive in the root --------------------------------------------- */

typedef struct one_src {
    const char *root;
    int rootfd, follow, done;
    const char *name;
} one_src;

static int one_next(void *self, ia_entry **out)
{
    one_src *o = self;
    struct stat st;
    int is_dir, via_link;
    if (o->done)
        return 0;
    o->done = 1;
    ia_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->relpath = ia_strdup(o->name)) ||
        !(e->fullpath = ia_walk_fullpath(o->root, o->name))) {
        ia_entry_free(e);
        return -IA_ERR_NOMEM;
    }
    e->outside_class = 1;
    if (ia_walk_classify(o->rootfd, o->name, 1, e, &st, &is_dir, &via_link))
        e->kind = IA_ENT_FILE;  /* gone since: its open says so */
    *out = e;
    return 1;
}

static const char *one_layout(const void *self)
{
    (void)self;
    return "archive";
}

static const ia_source_ops one_ops = {one_next, one_layout, free};

/* ---- archives -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The archive whose member path is, if one was opened: its relpath is a
 * prefix of path ending at a '/'. */
static const char *expanded_prefix(const ia_walker *w, const char *path)
{
    char buf[PATH_MAX];
    const char *key = buf;
    for (const char *p = strchr(path, '/'); p && w->nexpanded;
         p = strchr(p + 1, '/')) {
        size_t n = (size_t)(p - path);
        if (n >= sizeof buf)
            break;
        memcpy(buf, path, n);
        buf[n] = '\0';
        char *const *hit = bsearch(&key, w->expanded, w->nexpanded,
                                   sizeof *w->expanded, cmp_str);
        if (hit)
            return *hit;
    }
    return NULL;
}

static int remember(ia_walker *w, const char *relpath)
{
    char *copy = ia_strdup(relpath);
    if (!copy || ia_walk_grow((void **)&w->expanded, &w->expanded_cap,
                              w->nexpanded + 1, sizeof *w->expanded)) {
        free(copy);
        return IA_ERR_NOMEM;
    }
    size_t at = 0;
    while (at < w->nexpanded && strcmp(w->expanded[at], copy) < 0)
        at++;
    memmove(w->expanded + at + 1, w->expanded + at,
            (w->nexpanded - at) * sizeof *w->expanded);
    w->expanded[at] = copy;
    w->nexpanded++;
    return IA_OK;
}

/* The split of an archive's members when its place gives none: the name
 * of the folder it is in, when that is a split's (train/shard-0.tar). */
static int folder_split(const ia_walker *w, ia_entry *e)
{
    const char *slash = strrchr(e->relpath, '/');
    const char *folder = NULL;
    char buf[256];
    if (e->split)
        return IA_OK;
    if (slash) {
        const char *start = slash;
        while (start > e->relpath && start[-1] != '/')
            start--;
        if ((size_t)(slash - start) < sizeof buf) {
            memcpy(buf, start, (size_t)(slash - start));
            buf[slash - start] = '\0';
            folder = buf;
        }
    } else {
        const char *base = strrchr(w->root, '/');
        folder = base ? base + 1 : w->root;
    }
    if (!ia_split_canonical(folder))
        return IA_OK;
    e->split = ia_strdup(folder);
    e->split_canonical = ia_split_canonical(folder);
    return e->split ? IA_OK : IA_ERR_NOMEM;
}

/* The archive at e could not be opened: a note in its place. */
static int unopened(ia_entry *e, int err, ia_entry **out)
{
    char why[96];
    if (err == ELOOP)
        ia_strlcpy(why, "is a symlink (not followed)", sizeof why);
    else if (err == EXDEV)
        ia_strlcpy(why, "path goes through a symlink (not followed)",
                   sizeof why);
    else if (err == 0)
        ia_strlcpy(why, "not a regular file when opened", sizeof why);
    else
        ia_walk_errstr(err, why, sizeof why);
    e->kind = IA_ENT_NOTE;
    e->note_code = "unreadable";
    e->note_severity = IA_SEV_ERROR;
    ia_bprintf(e->detail, sizeof e->detail, "cannot open the archive: %s",
               why);
    e->archive = ia_strdup(e->relpath);
    if (!e->archive) {
        ia_entry_free(e);
        return -IA_ERR_NOMEM;
    }
    *out = e;
    return 1;
}

/* Opens the archive at e (taken) and reads its members next. Returns 0,
 * 1 with *out (a note: it cannot be opened), or -IA_ERR_NOMEM. */
static int enter(ia_walker *w, ia_entry *e, ia_entry **out)
{
    struct stat st;
    if (w->skip_archive && w->skip_archive(w->user, e->relpath)) {
        ia_entry_free(e);
        return 0;
    }
    int fd = ia_open_beneath(w->rootfd, e->relpath, O_RDONLY | O_CLOEXEC |
                             O_NOCTTY | O_NONBLOCK, w->follow);
    if (fd < 0)
        return unopened(e, errno, out);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return unopened(e, 0, out);
    }
    /* a regular file never blocks; libarchive reads it plainly */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int rc = folder_split(w, e);
    if (rc == IA_OK)
        rc = remember(w, e->relpath);
    if (rc == IA_OK)
        rc = ia_archive_open(fd, w->root, e, &w->acfg, &w->arch);
    else
        close(fd);
    ia_entry_free(e);
    return -rc;
}

/* A manifest row for a member of an archive the walk opened. */
static void refuse_member(ia_entry *e, const char *archive)
{
    e->kind = IA_ENT_MANIFEST_ROW;
    ia_bprintf(e->detail, sizeof e->detail, "names a member of the archive "
               "'%s', which is scanned whole", archive);
}

static char *root_prefix(const char *root)
{
    char *p = ia_strdup(root);
    size_t n = p ? strlen(p) : 0;
    while (n > 0 && p[n - 1] == '/')
        p[--n] = '\0';
    return p;
}

static int open_root(ia_walker *w, const char *root, char *err,
                     size_t errcap)
{
    char why[96];
    struct stat st;
    w->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->rootfd >= 0 && fstat(w->rootfd, &st) == 0)
        return 0;
    int e = errno;
    ia_walk_errstr(e, why, sizeof why);
    if (e == ENOTDIR)
        ia_bprintf(err, errcap, "root '%s' is not a folder", root);
    else
        ia_bprintf(err, errcap, "root '%s': %s", root, why);
    return IA_ERR_IO;
}

/* The stream: one archive, no root. */
static int open_stream(ia_walker *w, const ia_walk_options *opt, char *err,
                       size_t errcap)
{
    ia_entry at = {.kind = IA_ENT_FILE};
    int fd = fcntl(opt->stream_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        char why[96];
        ia_walk_errstr(errno, why, sizeof why);
        ia_bprintf(err, errcap, "cannot read the stream: %s", why);
        return IA_ERR_IO;
    }
    at.relpath = ia_strdup(opt->stream_name);
    int rc = at.relpath ? folder_split(w, &at) : IA_ERR_NOMEM;
    if (rc == IA_OK)
        rc = ia_archive_open(fd, w->root, &at, &w->acfg, &w->arch);
    else
        close(fd);
    free(at.relpath);
    free(at.split);
    return rc;
}

static int open_one(ia_walker *w, const char *name)
{
    one_src *o = calloc(1, sizeof *o);
    if (!o)
        return IA_ERR_NOMEM;
    o->root = w->root;
    o->rootfd = w->rootfd;
    o->follow = w->follow;
    o->name = name;
    w->src.ops = &one_ops;
    w->src.self = o;
    return IA_OK;
}

static int open_source(ia_walker *w, const ia_walk_options *opt, char *err,
                       size_t errcap)
{
    if (opt->archive)
        return open_one(w, opt->archive);
    if (opt->manifest)
        return ia_manifest_open(opt->manifest, w->root, w->rootfd,
                                opt->follow_symlinks != 0, opt->allow_outside,
                                &w->src, err, errcap);
    return ia_folder_open(w->root, w->rootfd, opt->follow_symlinks != 0,
                          opt->exclude, opt->nexclude, opt->stat_ahead != 0,
                          &w->src, err, errcap);
}

int ia_walk_open(const ia_walk_options *opt, ia_walker **out,
                 char *err, size_t errcap)
{
    char dummy[1];
    ia_walker *w = NULL;
    int rc = IA_ERR_IO;
    if (!err) {
        err = dummy;
        errcap = sizeof dummy;
    }
    if (errcap)
        err[0] = '\0';
    if (!opt || (opt->stream ? !opt->stream_name || !opt->stream_name[0]
                             : !opt->root || !opt->root[0])) {
        ia_bprintf(err, errcap, opt && opt->stream ? "no name for the stream"
                                                   : "no root folder given");
        goto out;
    }
    rc = IA_ERR_NOMEM;
    w = calloc(1, sizeof *w);
    if (!w)
        goto out;
    w->rootfd = -1;
    w->follow = opt->follow_symlinks != 0;
    w->skip_archive = opt->skip_archive;
    w->user = opt->user;
    w->exclude = opt->exclude;
    w->nexclude = opt->nexclude;
    w->acfg = (ia_archive_config){
        .label_field = opt->label_field,
        .max_members = opt->max_members ? opt->max_members
                                        : IA_DEFAULT_MAX_MEMBERS,
        .max_member_bytes = opt->max_member_bytes ? opt->max_member_bytes
                                                  : IA_DEFAULT_MAX_FILE_BYTES,
        .is_image = opt->is_image,
    };
    w->root = root_prefix(opt->stream ? "-" : opt->root);
    if (!w->root || ia_reader_new(&w->acfg.reader) != IA_OK)
        goto out;
    ia_reader_set_keep(w->acfg.reader, opt->keep);
    rc = opt->stream ? open_stream(w, opt, err, errcap)
                     : open_root(w, opt->root, err, errcap);
    if (rc == 0 && !opt->stream)
        rc = open_source(w, opt, err, errcap);
    if (rc != 0)
        goto out;
    *out = w;
    w = NULL;
out:
    if (rc == IA_ERR_NOMEM && errcap && !err[0])
        ia_bprintf(err, errcap, "out of memory");
    ia_walk_close(w);
    return rc;
}

/* An entry an --exclude glob matches is freed, never returned: a
 * manifest's row or an archive's member as much as a file on disk (the
 * folder walk prunes its folders before this). */
static int left_out(const ia_walker *w, ia_entry *e)
{
    if (!w->nexclude || !ia_walk_excluded(w->exclude, w->nexclude,
                                          e->relpath))
        return 0;
    ia_entry_free(e);
    return 1;
}

int ia_walk_next(ia_walker *w, ia_entry **out)
{
    for (;;) {
        ia_entry *e = NULL;
        int rc;
        if (w->arch.ops) {
            rc = w->arch.ops->next(w->arch.self, out);
            if (rc > 0 && left_out(w, *out))
                continue;
            if (rc != 0)
                return rc;
            w->arch.ops->close(w->arch.self);
            w->arch.ops = NULL;
            continue;
        }
        if (!w->src.ops)
            return 0;
        rc = w->src.ops->next(w->src.self, &e);
        if (rc <= 0)
            return rc;
        if (left_out(w, e))
            continue;
        const char *in = expanded_prefix(w, e->relpath);
        if (in) {
            refuse_member(e, in);
        } else if (e->kind == IA_ENT_FILE && ia_archive_name(e->relpath)) {
            rc = enter(w, e, out);
            if (rc != 0)
                return rc;
            continue;
        }
        *out = e;
        return 1;
    }
}

int ia_walk_rootfd(const ia_walker *w)
{
    return w->rootfd;
}

const char *ia_walk_layout(const ia_walker *w)
{
    return w->src.ops ? w->src.ops->layout(w->src.self) : "archive";
}

void ia_walk_close(ia_walker *w)
{
    if (!w)
        return;
    if (w->arch.ops)
        w->arch.ops->close(w->arch.self);
    if (w->src.ops)
        w->src.ops->close(w->src.self);
    for (size_t i = 0; i < w->nexpanded; i++)
        free(w->expanded[i]);
    free(w->expanded);
    ia_reader_free(w->acfg.reader);
    free(w->root);
    if (w->rootfd >= 0)
        close(w->rootfd);
    free(w);
}
