/*
 * The folder producer of the walk (DESIGN.md "Layouts"): every entry
 * under a root, depth first, the names of each folder sorted bytewise
 * (strcmp), so the order never depends on the file system or on thread
 * timing.
 *
 * - A stack of frames, one per folder on the current path. A frame holds
 *   the sorted names of its folder, read in full: memory is O(depth x
 *   folder size), plus one folder listed ahead (list-ahead, below). A
 *   frame keeps a descriptor on its folder while on the stack, down to
 *   FRAME_FDS levels (deeper ones go through the root), so
 *   a name is lstat'ed in its folder rather than by a path the kernel
 *   resolves from the root every time (a third of the walk's time).
 * - Everything is addressed by its path relative to the root through a
 *   descriptor on the root (fstatat/openat): the root itself is always
 *   followed, and a path has to fit PATH_MAX relative to the root only.
 *   Paths are malloc'd, never fixed-size buffers; too long a path is
 *   reported by the kernel (ENAMETOOLONG) and becomes a finding.
 * - A frame is opened lazily, when it reaches the top of the stack, so a
 *   folder that cannot be listed is one DIR_UNREADABLE entry in walk order
 *   (after its JUNK_DIR entry when it is one).
 * - Every name is lstat'ed. With follow_symlinks, a symlinked folder is not
 *   entered when its (st_dev, st_ino) is on the ancestor stack (a cycle),
 *   or when it was already entered through another symlink in this walk
 *   (so a fan of links cannot multiply the walk exponentially); both are
 *   SYMLINK_LOOP, the detail saying which. A real folder reached again
 *   through a symlink is walked once more, as os.walk(followlinks=True),
 *   and so the loaders, would. Real folders are checked against the
 *   ancestor stack too (a bind mount of an ancestor).
 * - A name whose lstat fails other than by vanishing (search permission
 *   denied, path too long) is handed on as a FILE: the reader's open then
 *   fails the same way and records the file as unreadable with the reason.
 * - Split and label of an entry come from its place: the frame of its
 *   folder carries them (pointers into ancestor frames' names, which
 *   outlive it); files outside a class folder get outside_class = 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgaudit.h"
#include "walk/ahead.h"
#include "walk/source.h"
#include "core/core.h"

enum { LAYOUT_FOLDERS, LAYOUT_SPLITS };

typedef struct ia_folder ia_folder;

typedef struct frame {
    char *rel;          /* folder path relative to the root; NULL: root */
    size_t rel_len;
    const char *split;  /* context for the entries in this folder */
    const char *label;
    unsigned depth;     /* root: 0 */
    int opened;
    int fd;             /* the folder, while on the stack; -1: none */
    int nofollow;       /* entered as a real folder: open with O_NOFOLLOW */
    int is_class;       /* a class folder: its name is the label */
    dev_t dev;
    ino_t ino;
    char *arena;        /* the names, NUL-terminated, back to back */
    char **names;       /* sorted pointers into arena */
    size_t count, next;
} frame;

typedef struct devino {
    dev_t dev;
    ino_t ino;
} devino;

/* The next name of the folder being walked's parent, for the helper to
 * list ahead ("list-ahead"); captured by the walker, read-only meanwhile. */
typedef struct list_job {
    int fd;             /* the parent */
    const char *name;
    const char *parent_rel;
    size_t parent_rel_len;
    size_t parent, index;       /* the parent's frame, the name's index */
} list_job;

/* A folder listed ahead: written by the helper, read by the walker after
 * joining it. */
typedef struct listed {
    int have;
    size_t parent, index;
    dev_t dev;
    ino_t ino;
    int fd;             /* on it, opened O_NOFOLLOW */
    char *arena;
    char **names;
    size_t count;
} listed;

struct ia_folder {
    int layout;
    int follow;
    int rootfd;         /* borrowed from the walker */
    frame *frames;
    size_t nframes, frames_cap;
    devino *visited;    /* folders entered through a symlink, sorted */
    size_t nvisited, visited_cap;
    const char *const *exclude;   /* --exclude globs, borrowed */
    size_t nexclude;
    /* stat-ahead (ahead.h): NULL when off; frame: the one it is on */
    ia_ahead *ahead;
    int ahead_active;
    size_t ahead_frame;
    /* list-ahead: what the helper lists, and what it listed */
    list_job list_job;
    listed listed;
};

static void ahead_stop(ia_folder *w);

/* ---- frames ----------------------------------------------------------- */

/* Frames deeper than this are reached through the root descriptor: the
 * open descriptors stay far below any RLIMIT_NOFILE. */
#define FRAME_FDS 32

static void frame_release(frame *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->rel);
    free(f->arena);
    free(f->names);
    memset(f, 0, sizeof *f);
}

/* Appends every name of d to f->arena; offs gets each name's offset. */
static int collect_names(DIR *d, frame *f, size_t **offs, size_t *ocap,
                         int *ioerr)
{
    size_t used = 0, acap = 0;
    struct dirent *de;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        size_t nl = strlen(de->d_name) + 1;
        if (ia_walk_grow((void **)&f->arena, &acap, used + nl, 1) ||
            ia_walk_grow((void **)offs, ocap, f->count + 1, sizeof **offs))
            return IA_ERR_NOMEM;
        memcpy(f->arena + used, de->d_name, nl);
        (*offs)[f->count++] = used;
        used += nl;
    }
    *ioerr = errno;
    return 0;
}

/* Lists f's folder into f->names, sorted. Returns 0 (with *ioerr set
 * when the folder could not be listed) or IA_ERR_NOMEM. */
static int read_names(int fd, frame *f, int *ioerr)
{
    size_t *offs = NULL, ocap = 0;
    int rc = IA_ERR_NOMEM;
    DIR *d = fdopendir(fd);
    if (!d) {
        *ioerr = errno;
        close(fd);
        return 0;
    }
    f->count = 0;
    if (collect_names(d, f, &offs, &ocap, ioerr) != 0)
        goto out;
    if (*ioerr == 0 && f->count) {
        f->names = malloc(f->count * sizeof *f->names);
        if (!f->names)
            goto out;
        for (size_t i = 0; i < f->count; i++)
            f->names[i] = f->arena + offs[i];
        ia_sort_strings(f->names, f->count);
    }
    rc = 0;
out:
    free(offs);
    closedir(d);
    if (rc != 0 || *ioerr != 0) {
        free(f->arena);
        f->arena = NULL;
        f->count = 0;
    }
    return rc;
}

/* ---- list-ahead ------------------------------------------------------------
 *
 * Listing and sorting a folder's names is the walking thread's alone, and
 * the stat-ahead helper sat idle meanwhile. So the helper, before it
 * starts on a folder's lstats, lists the folder's next sibling when that
 * is a real folder, as open_frame would (listed after the lstats instead,
 * the walker waited for it at the folder's end); open_frame takes that
 * listing when the walker enters that same folder (same parent frame,
 * name, device and inode) and drops it otherwise. A sibling entered
 * through a symlink, excluded, or whose listing fails is left to the
 * walker; so is one whose parent has a helper of its own (a job on the
 * parent replaces the listing before the walker gets to it).
 */
static void listed_drop(listed *l)
{
    if (!l->have)
        return;
    if (l->fd >= 0)
        close(l->fd);
    free(l->arena);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static void list_ahead(void *ctx)
{
    ia_folder *w = ctx;
    const list_job *j = &w->list_job;
    listed *l = &w->listed;
    struct stat st, fst;
    frame tmp = {0};
    int ioerr = 0, fd, keep;
    listed_drop(l);
    if (j->parent_rel_len + strlen(j->name) + 2 >= PATH_MAX)
        return;
    if (ia_walk_excluded_in(w->exclude, w->nexclude, j->parent_rel,
                            j->parent_rel_len, j->name))
        return;
    if (fstatat(j->fd, j->name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode))
        return;
    fd = openat(j->fd, j->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                    O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &fst) != 0 || fst.st_dev != st.st_dev ||
        fst.st_ino != st.st_ino ||
        (keep = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        close(fd);
        return;
    }
    if (read_names(fd, &tmp, &ioerr) != 0 || ioerr != 0) {
        free(tmp.names);
        close(keep);
        return;
    }
    *l = (listed){.have = 1, .parent = j->parent, .index = j->index,
                  .dev = st.st_dev, .ino = st.st_ino, .fd = keep,
                  .arena = tmp.arena, .names = tmp.names,
                  .count = tmp.count};
}

/* Takes the listing made ahead for f, if it is f's; drops it otherwise. */
static int take_listed(ia_folder *w, frame *f)
{
    listed *l = &w->listed;
    size_t fi = (size_t)(f - w->frames);
    if (!l->have)
        return 0;
    if (fi == 0 || l->parent != fi - 1 ||
        l->index + 1 != w->frames[fi - 1].next || !f->nofollow ||
        l->dev != f->dev || l->ino != f->ino) {
        listed_drop(l);
        return 0;
    }
    f->opened = 1;
    if (f->depth < FRAME_FDS) {
        f->fd = l->fd;
    } else {
        close(l->fd);
    }
    f->arena = l->arena;
    f->names = l->names;
    f->count = l->count;
    memset(l, 0, sizeof *l);
    return 1;
}

static int open_frame(ia_folder *w, frame *f, int *ioerr)
{
    struct stat st;
    int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    int fd;
    *ioerr = 0;
    if (take_listed(w, f))
        return 0;
    if (f->nofollow)
        flags |= O_NOFOLLOW;
    fd = openat(w->rootfd, f->rel ? f->rel : ".", flags);
    if (fd < 0) {
        *ioerr = errno;
        return 0;
    }
    if (fstat(fd, &st) != 0 || st.st_dev != f->dev || st.st_ino != f->ino) {
        *ioerr = EAGAIN; /* replaced between lstat and open */
        close(fd);
        return 0;
    }
    f->opened = 1;
    /* a failed dup only costs speed: the frame goes through the root */
    f->fd = f->depth < FRAME_FDS ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    return read_names(fd, f, ioerr);
}

/* Takes ownership of rel (freed on failure). */
static int push_frame(ia_folder *w, char *rel, const char *name,
                      const struct stat *st, int via_link)
{
    frame *parent, *f;
    ahead_stop(w);
    if (ia_walk_grow((void **)&w->frames, &w->frames_cap, w->nframes + 1,
                     sizeof *w->frames) != 0) {
        free(rel);
        return IA_ERR_NOMEM;
    }
    parent = w->nframes ? &w->frames[w->nframes - 1] : NULL;
    f = &w->frames[w->nframes++];
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->rel = rel;
    f->rel_len = rel ? strlen(rel) : 0;
    f->depth = parent ? parent->depth + 1 : 0;
    f->split = parent ? parent->split : NULL;
    f->label = parent ? parent->label : NULL;
    if (w->layout == LAYOUT_SPLITS && f->depth == 1)
        f->split = name;
    f->is_class = (w->layout == LAYOUT_SPLITS && f->depth == 2) ||
                  (w->layout == LAYOUT_FOLDERS && f->depth == 1);
    if (f->is_class)
        f->label = name;
    f->nofollow = !via_link;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    return 0;
}

static void pop_frame(ia_folder *w)
{
    ahead_stop(w);
    frame_release(&w->frames[--w->nframes]);
}

/* ---- loop detection ---------------------------------------------------- */

static int cmp_devino(const devino *a, dev_t dev, ino_t ino)
{
    if (a->dev != dev)
        return a->dev < dev ? -1 : 1;
    if (a->ino != ino)
        return a->ino < ino ? -1 : 1;
    return 0;
}

/* Index where (dev, ino) is or would be; *found when it is there. */
static size_t visited_find(const ia_folder *w, dev_t dev, ino_t ino,
                           int *found)
{
    size_t lo = 0, hi = w->nvisited;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_devino(&w->visited[mid], dev, ino);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int visited_add(ia_folder *w, dev_t dev, ino_t ino)
{
    int found;
    size_t at = visited_find(w, dev, ino, &found);
    if (found)
        return 0;
    if (ia_walk_grow((void **)&w->visited, &w->visited_cap, w->nvisited + 1,
                     sizeof *w->visited) != 0)
        return IA_ERR_NOMEM;
    memmove(w->visited + at + 1, w->visited + at,
            (w->nvisited - at) * sizeof *w->visited);
    w->visited[at].dev = dev;
    w->visited[at].ino = ino;
    w->nvisited++;
    return 0;
}

static const frame *find_ancestor(const ia_folder *w, const struct stat *st)
{
    for (size_t i = w->nframes; i-- > 0;)
        if (w->frames[i].dev == st->st_dev && w->frames[i].ino == st->st_ino)
            return &w->frames[i];
    return NULL;
}

/* ---- stat-ahead ----------------------------------------------------------
 *
 * On an unchanged rescan (--reuse --trust-mtime) the walk is the scan, and
 * two fifths of it was the lstat of each name, one after another, while
 * the pool's threads sat idle. With stat_ahead, in a folder of AHEAD_MIN
 * names or more, the lstats are shared with a helper thread (ahead.c).
 * A result is only the lstat, taken early; what follows it (a symlink's
 * target, a folder's loop check) is done by the walker as before. Leaving
 * the folder (a child pushed, the folder popped) stops the helper and
 * drops its results: none outlives its folder's visit.
 */
#define AHEAD_MIN 64

static void ahead_stop(ia_folder *w)
{
    if (w->ahead_active)
        ia_ahead_end(w->ahead);
    w->ahead_active = 0;
}

/* The helper's lstat of name i of frame fi (names are asked for in
 * increasing order), or NULL: the walker does it. */
static const ia_pre_stat *ahead_get(ia_folder *w, size_t fi, size_t i)
{
    const frame *f = &w->frames[fi];
    if (!w->ahead || f->fd < 0 || f->count < AHEAD_MIN)
        return NULL;
    if (!w->ahead_active || w->ahead_frame != fi) {
        ahead_stop(w);
        ia_ahead_job job = {.fd = f->fd, .names = f->names, .lo = i,
                            .count = f->count, .rel = f->rel,
                            .rel_len = f->rel_len, .exclude = w->exclude,
                            .nexclude = w->nexclude};
        const frame *p = fi ? &w->frames[fi - 1] : NULL;
        if (p && p->fd >= 0 && p->next < p->count) {
            w->list_job = (list_job){.fd = p->fd, .name = p->names[p->next],
                                     .parent_rel = p->rel,
                                     .parent_rel_len = p->rel_len,
                                     .parent = fi - 1, .index = p->next};
            job.first = list_ahead;
            job.ctx = w;
        }
        ia_ahead_begin(w->ahead, &job);
        w->ahead_active = 1;
        w->ahead_frame = fi;
    }
    return ia_ahead_get(w->ahead, i);
}

/* ---- entries ------------------------------------------------------------ */

/* An entry for rel (borrowed) in the folder whose context is
 * split/label. The entry and its three strings are one allocation
 * (ia_entry.packed): the walk costs a file one malloc and one free, the
 * largest share of an unchanged rescan's allocations. */
static int make_entry_at(const char *rel, int kind, const char *split,
                         const char *label, const char *detail,
                         ia_entry **out)
{
    size_t nr = strlen(rel) + 1, ns = split ? strlen(split) + 1 : 0;
    size_t nl = label ? strlen(label) + 1 : 0;
    ia_entry *e = malloc(sizeof *e + nr + ns + nl);
    if (!e)
        return IA_ERR_NOMEM;
    memset(e, 0, sizeof *e);
    char *p = (char *)(e + 1);
    e->relpath = memcpy(p, rel, nr);
    e->split = split ? memcpy(p + nr, split, ns) : NULL;
    e->label = label ? memcpy(p + nr + ns, label, nl) : NULL;
    e->packed = nr + ns + nl;
    e->kind = kind;
    /* no fullpath: a walked file is opened beneath the root by relpath */
    e->split_canonical = ia_split_canonical(split);
    e->outside_class = label == NULL;
    ia_strlcpy(e->detail, detail, sizeof e->detail);
    *out = e;
    return 0;
}

/* The same for rel owned by the caller, freed here in every case. */
static int make_entry(char *rel, int kind, const char *split,
                      const char *label, const char *detail,
                      ia_entry **out)
{
    int rc = make_entry_at(rel, kind, split, label, detail, out);
    free(rel);
    return rc;
}

static int is_junk(const char *name, const char **why)
{
    if (!strcmp(name, ".ipynb_checkpoints")) {
        *why = "Jupyter checkpoint folder: torchvision's ImageFolder takes "
               "it for a class at class level (Keras skips hidden "
               "folders); its files are copies";
        return 1;
    }
    if (!strcmp(name, "__MACOSX")) {
        *why = "macOS zip metadata folder: taken for a class at class "
               "level; its ._* files are resource forks, not images";
        return 1;
    }
    return 0;
}

/* A folder found at rel (owned) in frame fi: a loop, or pushed (with a
 * JUNK_DIR entry first when it is one). Returns 1 with *out, 0 when only
 * pushed, or -IA_ERR_NOMEM. */
static int visit_dir(ia_folder *w, size_t fi, char *rel, const char *name,
                     const struct stat *st, int via_link, ia_entry **out)
{
    const char *split = w->frames[fi].split, *label = w->frames[fi].label;
    const frame *anc = find_ancestor(w, st);
    const char *why;
    char detail[160], *copy;
    int found = 0;
    if (anc) {
        ia_bprintf(detail, sizeof detail,
                   "%s back to its ancestor folder '%s': not descended",
                   via_link ? "symlink leads" : "folder (bind mount?) leads",
                   anc->rel ? anc->rel : ".");
        return make_entry(rel, IA_ENT_SYMLINK_LOOP, split, label,
                          detail, out) ? -IA_ERR_NOMEM : 1;
    }
    if (via_link)
        visited_find(w, st->st_dev, st->st_ino, &found);
    if (found)
        return make_entry(rel, IA_ENT_SYMLINK_LOOP, split, label,
                          "symlink to a folder already walked through "
                          "another symlink: not walked twice", out)
                   ? -IA_ERR_NOMEM : 1;
    if (via_link && visited_add(w, st->st_dev, st->st_ino) != 0) {
        free(rel);
        return -IA_ERR_NOMEM;
    }
    if (!is_junk(name, &why))
        return push_frame(w, rel, name, st, via_link) ? -IA_ERR_NOMEM : 0;
    copy = ia_strdup(rel);
    if (!copy) {
        free(rel);
        return -IA_ERR_NOMEM;
    }
    if (push_frame(w, rel, name, st, via_link) != 0) {
        free(copy);
        return -IA_ERR_NOMEM;
    }
    return make_entry(copy, IA_ENT_JUNK_DIR, split, label, why, out)
               ? -IA_ERR_NOMEM : 1;
}

/* dir/name (or name at the root) in buf when it fits, else on the heap;
 * NULL when out of memory. Freed by drop_path. */
static char *join_path(char *buf, size_t cap, const char *dir,
                       size_t dir_len, const char *name)
{
    size_t nl = strlen(name);
    if (dir_len + nl + 2 > cap)
        return ia_walk_join(dir, dir_len, name);
    ia_walk_join_to(buf, dir, dir_len, name, nl);
    return buf;
}

static void drop_path(char *rel, const char *buf)
{
    if (rel != buf)
        free(rel);
}

/* The next name of frame fi. Returns 1 with *out, 0 when nothing is to be
 * returned for it (a folder pushed, a name that vanished), or
 * -IA_ERR_NOMEM. */
static int visit(ia_folder *w, size_t fi, size_t i, ia_entry **out)
{
    const frame *f = &w->frames[fi];
    const char *name = f->names[i];
    const ia_pre_stat *pre = NULL;
    ia_entry tmp;
    struct stat st;
    int is_dir, via_link, err, rc;
    /* The path on the stack when it fits (nearly always): a file's entry
     * copies it, only a folder keeps one of its own (its frame's). */
    char buf[512];
    char *rel = join_path(buf, sizeof buf, f->rel, f->rel_len, name);
    if (!rel)
        return -IA_ERR_NOMEM;
    /* Before the lstat: an excluded folder costs nothing below it. */
    if (w->nexclude && ia_walk_excluded(w->exclude, w->nexclude, rel)) {
        drop_path(rel, buf);
        return 0;
    }
    /* In its folder when that gives the same answer: a path the root
     * would refuse as too long is still looked up from the root. */
    int in_dir = f->fd >= 0 && f->rel_len + strlen(name) + 2 < PATH_MAX;
    if (in_dir)
        pre = ahead_get(w, fi, i);
    if (pre && pre->err >= 0) {
        if (pre->err == 0)
            st = pre->st;
        err = ia_walk_classify_from(f->fd, name, w->follow, pre->err, &tmp,
                                    &st, &is_dir, &via_link);
    } else {
        err = ia_walk_classify(in_dir ? f->fd : w->rootfd,
                               in_dir ? name : rel, w->follow, &tmp, &st,
                               &is_dir, &via_link);
    }
    if (err == ENOENT) {
        drop_path(rel, buf);
        return 0;
    }
    if (err != 0) {
        char why[96];
        ia_walk_errstr(err, why, sizeof why);
        ia_bprintf(tmp.detail, sizeof tmp.detail, "lstat failed: %s", why);
    }
    if (err == 0 && is_dir) {
        char *own = rel == buf ? ia_strdup(buf) : rel;
        return own ? visit_dir(w, fi, own, name, &st, via_link, out)
                   : -IA_ERR_NOMEM;
    }
    rc = make_entry_at(rel, tmp.kind, f->split, f->label, tmp.detail, out);
    drop_path(rel, buf);
    if (rc)
        return -IA_ERR_NOMEM;
    if (err == 0 && tmp.kind == IA_ENT_FILE) {
        (*out)->have_stat = 1;
        (*out)->size = (int64_t)st.st_size;
        (*out)->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
                           (int64_t)st.st_mtim.tv_nsec;
    }
    return 1;
}

/* The top frame could not be listed: it becomes a DIR_UNREADABLE entry in
 * its parent's context, and is popped. */
static int unreadable_entry(ia_folder *w, int ioerr, ia_entry **out)
{
    frame *f = &w->frames[w->nframes - 1];
    const frame *parent = &w->frames[w->nframes - 2];
    char why[96], detail[160];
    char *rel = f->rel;
    int rc;
    f->rel = NULL;
    if (ioerr == EAGAIN)
        ia_strlcpy(why, "replaced during the walk", sizeof why);
    else
        ia_walk_errstr(ioerr, why, sizeof why);
    ia_bprintf(detail, sizeof detail, "cannot list folder: %s", why);
    rc = make_entry(rel, IA_ENT_DIR_UNREADABLE, parent->split,
                    parent->label, detail, out);
    pop_frame(w);
    return rc ? -IA_ERR_NOMEM : 1;
}

/* A class folder with nothing in it is invisible in the file rows, yet
 * folder loaders count it (torchvision's ImageFolder then raises). */
static int empty_class_entry(ia_folder *w, const frame *f, ia_entry **out)
{
    char *rel = ia_strdup(f->rel);
    if (!rel)
        return -IA_ERR_NOMEM;
    return make_entry(rel, IA_ENT_EMPTY_CLASS, f->split, f->label,
                      "a class folder with no file: torchvision's "
                      "ImageFolder raises FileNotFoundError, other folder "
                      "loaders keep a class with no sample", out)
               ? -IA_ERR_NOMEM : 1;
}

static int walk_next(ia_folder *w, ia_entry **out)
{
    for (;;) {
        frame *f;
        int rc, ioerr;
        if (w->nframes == 0)
            return 0;
        f = &w->frames[w->nframes - 1];
        if (!f->opened) {
            if (open_frame(w, f, &ioerr) != 0)
                return -IA_ERR_NOMEM;
            if (ioerr)
                return unreadable_entry(w, ioerr, out);
            if (f->is_class && f->count == 0)
                return empty_class_entry(w, f, out);
        }
        if (f->next == f->count) {
            pop_frame(w);
            continue;
        }
        rc = visit(w, w->nframes - 1, f->next++, out);
        if (rc != 0)
            return rc;
    }
}

/* ---- public --------------------------------------------------------------- */

/* "splits" when a first-level folder (or followed symlink to one) has a
 * split name. */
static int detect_layout(const ia_folder *w)
{
    const frame *root = &w->frames[0];
    struct stat st;
    for (size_t i = 0; i < root->count; i++) {
        const char *name = root->names[i];
        if (!ia_split_canonical(name) ||
            fstatat(w->rootfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISLNK(st.st_mode) && w->follow &&
            fstatat(w->rootfd, name, &st, 0) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            return LAYOUT_SPLITS;
    }
    return LAYOUT_FOLDERS;
}

static int folder_next(void *self, ia_entry **out)
{
    return walk_next(self, out);
}

static const char *folder_layout(const void *self)
{
    const ia_folder *w = self;
    return w->layout == LAYOUT_SPLITS ? "splits" : "folders";
}

static void folder_close(void *self)
{
    ia_folder *w = self;
    if (!w)
        return;
    while (w->nframes)
        pop_frame(w);
    ahead_stop(w);
    ia_ahead_free(w->ahead);
    listed_drop(&w->listed);
    free(w->frames);
    free(w->visited);
    free(w);
}

static const ia_source_ops folder_ops = {
    folder_next, folder_layout, folder_close,
};

int ia_folder_open(const char *root_prefix, int rootfd, int follow,
                   const char *const *exclude, size_t nexclude,
                   int stat_ahead, ia_source *out, char *err, size_t errcap)
{
    char why[96];
    struct stat st;
    int ioerr = 0, rc = IA_ERR_NOMEM;
    ia_folder *w = calloc(1, sizeof *w);
    if (!w || fstat(rootfd, &st) != 0)
        goto out;
    w->rootfd = rootfd;
    w->follow = follow != 0;
    w->exclude = exclude;
    w->nexclude = nexclude;
    /* without memory for it, the walker lstats every name itself */
    w->ahead = stat_ahead ? ia_ahead_new() : NULL;
    if (push_frame(w, NULL, NULL, &st, 0) != 0 ||
        open_frame(w, &w->frames[0], &ioerr) != 0)
        goto out;
    rc = IA_ERR_IO;
    if (ioerr) {
        ia_walk_errstr(ioerr, why, sizeof why);
        ia_bprintf(err, errcap, "cannot list root '%s': %s",
                   root_prefix[0] ? root_prefix : "/", why);
        goto out;
    }
    w->layout = detect_layout(w);
    out->ops = &folder_ops;
    out->self = w;
    w = NULL;
    rc = 0;
out:
    folder_close(w);
    return rc;
}
