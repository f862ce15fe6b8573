/*
 * The walk's front (walk.h): opens the root once, hands it to the
 * producer the options choose (a folder walk, or a CSV manifest), and
 * drives that producer through its table without naming its layout.
 * The root is opened here, following a symlink (the root is the user's
 * choice), and every producer addresses files beneath it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgaudit.h"
#include "core/core.h"
#include "walk/source.h"
#include "walk/walk.h"

struct ia_walker {
    char *root;         /* as given, trailing slashes removed ("/" -> "") */
    int rootfd;
    ia_source src;
};

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

static int open_source(ia_walker *w, const ia_walk_options *opt, char *err,
                       size_t errcap)
{
    if (opt->manifest)
        return ia_manifest_open(opt->manifest, w->root, w->rootfd,
                                opt->follow_symlinks != 0, opt->allow_outside,
                                &w->src, err, errcap);
    return ia_folder_open(w->root, w->rootfd, opt->follow_symlinks != 0,
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
    if (!opt || !opt->root || !opt->root[0]) {
        ia_bprintf(err, errcap, "no root folder given");
        goto out;
    }
    rc = IA_ERR_NOMEM;
    w = calloc(1, sizeof *w);
    if (!w)
        goto out;
    w->rootfd = -1;
    w->root = root_prefix(opt->root);
    if (!w->root)
        goto out;
    rc = open_root(w, opt->root, err, errcap);
    if (rc == 0)
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

int ia_walk_next(ia_walker *w, ia_entry **out)
{
    return w->src.ops->next(w->src.self, out);
}

int ia_walk_rootfd(const ia_walker *w)
{
    return w->rootfd;
}

const char *ia_walk_layout(const ia_walker *w)
{
    return w->src.ops->layout(w->src.self);
}

void ia_walk_close(ia_walker *w)
{
    if (!w)
        return;
    if (w->src.ops)
        w->src.ops->close(w->src.self);
    free(w->root);
    if (w->rootfd >= 0)
        close(w->rootfd);
    free(w);
}
