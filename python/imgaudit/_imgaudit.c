/*
 * _imgaudit: the CPython extension under the imgaudit package
 * (docs/python.md). It calls the public C API (include/imgaudit.h) only,
 * and stays thin: a scan, a read-only DB handle whose tables come back as
 * lists of tuples, and a comparison. DataFrames, numpy arrays, progress
 * bars and the friendly API are Python, in __init__.py.
 *
 * Threads: a scan releases the GIL for its whole run. The C API calls the
 * progress callback on the calling thread, so the callback takes the GIL
 * back (at most every `interval` seconds), runs Python's signal handlers
 * and the progress function, and sets the scan's cancel flag when either
 * raised: Ctrl-C (KeyboardInterrupt) stops the scan the way SIGINT stops
 * the CLI, leaving an incomplete, resumable scan, and the exception is
 * raised once ia_scan has returned. A Db or Compare handle is used with
 * the GIL held, so one thread at a time; reports that make thumbnails
 * release it and mark the handle busy meanwhile.
 *
 * Errors: an ia_error becomes an exception of the class for its code
 * (ArgumentError is a ValueError, NotFoundError a LookupError, ...) with
 * the handle's message; bad Python arguments raise TypeError or
 * ValueError before any C call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imgaudit.h"

/* ---- module state: the exception classes ----------------------------- */

typedef struct modstate {
    PyObject *error;        /* imgaudit.Error, base of the others */
    PyObject *by_code[IA_ERR_BUSY + 1];
} modstate;

static modstate *state_of(PyObject *module)
{
    return PyModule_GetState(module);
}

/* Sets the exception for err with message msg; returns NULL. */
static PyObject *raise_ia(PyObject *module, int err, const char *msg)
{
    modstate *st = state_of(module);
    PyObject *cls = st->error;
    if (err == IA_ERR_NOMEM)
        return PyErr_NoMemory();
    if (err > 0 && err <= IA_ERR_BUSY && st->by_code[err])
        cls = st->by_code[err];
    const char *text = msg && *msg ? msg : ia_strerror(err);
    PyObject *m = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text),
                                       "replace");
    if (!m)
        return NULL;
    PyObject *exc = PyObject_CallOneArg(cls, m);
    Py_DECREF(m);
    if (!exc)
        return NULL;
    PyObject *code = PyLong_FromLong(err);
    if (!code || PyObject_SetAttrString(exc, "code", code) < 0) {
        Py_XDECREF(code);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(code);
    PyErr_SetObject(cls, exc);
    Py_DECREF(exc);
    return NULL;
}

/* ---- argument helpers ------------------------------------------------ */

/* A path argument (str, bytes or os.PathLike) as bytes in *out (a new
 * reference), or None when allowed and given. 0, or -1 with an
 * exception set. */
static int path_arg(PyObject *obj, const char *what, int none_ok,
                    PyObject **out)
{
    *out = NULL;
    if (obj == Py_None && none_ok)
        return 0;
    if (!PyUnicode_Check(obj) && !PyBytes_Check(obj) &&
        !PyObject_HasAttrString(obj, "__fspath__")) {
        PyErr_Format(PyExc_TypeError, "%s must be a path (str, bytes or "
                     "os.PathLike), not %.80s", what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (!PyUnicode_FSConverter(obj, out))
        return -1;
    if (PyBytes_GET_SIZE(*out) == 0) {
        PyErr_Format(PyExc_ValueError, "%s must not be empty", what);
        Py_CLEAR(*out);
        return -1;
    }
    return 0;
}

static const char *bytes_or_null(PyObject *b)
{
    return b ? PyBytes_AS_STRING(b) : NULL;
}

/* A str argument or None as UTF-8 (borrowed from obj). */
static int str_arg(PyObject *obj, const char *what, const char **out)
{
    *out = NULL;
    if (obj == Py_None)
        return 0;
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str or None, not %.80s",
                     what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_ssize_t len;
    *out = PyUnicode_AsUTF8AndSize(obj, &len);
    if (!*out)
        return -1;
    if (strlen(*out) != (size_t)len) {
        PyErr_Format(PyExc_ValueError, "%s contains a NUL character", what);
        return -1;
    }
    return 0;
}

static int format_arg(PyObject *obj, int *fmt)
{
    const char *s;
    if (str_arg(obj, "format", &s) < 0)
        return -1;
    *fmt = s ? ia_format_parse(s) : -1;
    if (*fmt < 0) {
        PyErr_Format(PyExc_ValueError, "unknown format %R", obj);
        return -1;
    }
    return 0;
}

/* ---- values to Python ------------------------------------------------ */

/* Text from a DB: UTF-8, with the bytes of a file name that is not kept
 * as surrogates (as os.fsdecode does), so the path can be opened. */
static PyObject *text_obj(const char *s)
{
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
}

static PyObject *list_obj(const ia_value *v)
{
    if (v->n > PY_SSIZE_T_MAX)
        return PyErr_NoMemory();
    PyObject *l = PyList_New((Py_ssize_t)v->n);
    for (size_t k = 0; l && k < v->n; k++) {
        PyObject *o = v->type == IA_VALUE_INTS
                          ? PyLong_FromLongLong(v->ints[k])
                      : v->type == IA_VALUE_REALS
                          ? PyFloat_FromDouble(v->reals[k])
                          : text_obj(v->texts[k]);
        if (!o) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)k, o);
    }
    return l;
}

static PyObject *counts_obj(const ia_value *v)
{
    PyObject *d = PyDict_New();
    for (size_t k = 0; d && k < v->n; k++) {
        PyObject *key = text_obj(v->texts[k]);
        PyObject *val = PyLong_FromLongLong(v->ints[k]);
        if (!key || !val || PyDict_SetItem(d, key, val) < 0)
            Py_CLEAR(d);
        Py_XDECREF(key);
        Py_XDECREF(val);
    }
    return d;
}

static PyObject *value_obj(const ia_value *v)
{
    switch (v->type) {
    case IA_VALUE_INT:
        return PyLong_FromLongLong(v->i);
    case IA_VALUE_REAL:
        return PyFloat_FromDouble(v->d);
    case IA_VALUE_TEXT:
    case IA_VALUE_JSON:
        return v->s ? text_obj(v->s) : Py_NewRef(Py_None);
    case IA_VALUE_INTS:
    case IA_VALUE_REALS:
    case IA_VALUE_TEXTS:
        return list_obj(v);
    case IA_VALUE_COUNTS:
        return counts_obj(v);
    default:
        return Py_NewRef(Py_None);
    }
}

/* Rows collected into a list of tuples; a failure inside the callback
 * (out of memory) stops the C iteration with IA_ERR_NOMEM and leaves the
 * Python exception set. */
typedef struct rows_ctx {
    PyObject *list;
    size_t ncols;
    int failed;
} rows_ctx;

static int row_cb(void *user, const ia_value *row)
{
    rows_ctx *r = user;
    PyObject *t = PyTuple_New((Py_ssize_t)r->ncols);
    for (size_t k = 0; t && k < r->ncols; k++) {
        PyObject *o = value_obj(&row[k]);
        if (!o) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)k, o);
    }
    if (!t || PyList_Append(r->list, t) < 0) {
        Py_XDECREF(t);
        r->failed = 1;
        return IA_ERR_NOMEM;
    }
    Py_DECREF(t);
    return IA_OK;
}

static PyObject *columns_obj(const ia_column *cols, size_t n)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    for (size_t k = 0; l && k < n; k++) {
        PyObject *t = Py_BuildValue("(si)", cols[k].name, cols[k].type);
        if (!t) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)k, t);
    }
    return l;
}

/* ---- writing into memory --------------------------------------------- */

/* A memory stream for the C API's writers; its text becomes bytes. */
typedef struct membuf {
    char *data;
    size_t len;
    FILE *f;
} membuf;

static int membuf_open(membuf *m)
{
    m->data = NULL;
    m->len = 0;
    m->f = open_memstream(&m->data, &m->len);
    if (!m->f) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* Closes the stream; the bytes written, or NULL (exception set). */
static PyObject *membuf_bytes(membuf *m)
{
    PyObject *b = NULL;
    if (fclose(m->f) != 0)
        PyErr_NoMemory();
    else
        b = PyBytes_FromStringAndSize(m->data ? m->data : "",
                                      (Py_ssize_t)m->len);
    free(m->data);
    return b;
}

/* ---- the scan -------------------------------------------------------- */

typedef struct scan_ctx {
    PyThreadState *ts;      /* saved while the GIL is released */
    PyObject *progress;     /* callable or None */
    double interval, last;
    volatile sig_atomic_t cancel;
    PyObject *exc_type, *exc_value, *exc_tb;   /* what stopped the scan */
} scan_ctx;

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static PyObject *progress_dict(const ia_progress *p)
{
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:d}",
                         "files_done", (unsigned long long)p->files_done,
                         "files_seen", (unsigned long long)p->files_seen,
                         "files_total", (unsigned long long)p->files_total,
                         "errors", (unsigned long long)p->errors,
                         "warnings", (unsigned long long)p->warnings,
                         "seconds", p->seconds);
}

/* Runs with the GIL held: signals first, then the progress function. */
static void progress_locked(scan_ctx *c, const ia_progress *p)
{
    int failed = PyErr_CheckSignals() < 0;
    if (!failed && c->progress != Py_None) {
        PyObject *d = progress_dict(p);
        PyObject *r = d ? PyObject_CallOneArg(c->progress, d) : NULL;
        Py_XDECREF(d);
        failed = r == NULL;
        Py_XDECREF(r);
    }
    if (failed) {
        PyErr_Fetch(&c->exc_type, &c->exc_value, &c->exc_tb);
        c->cancel = 1;
    }
}

static void on_progress(void *user, const ia_progress *p)
{
    scan_ctx *c = user;
    double now = mono_now();
    if (c->cancel || now - c->last < c->interval)
        return;
    c->last = now;
    PyEval_RestoreThread(c->ts);
    progress_locked(c, p);
    c->ts = PyEval_SaveThread();
}

static PyObject *summary_obj(const ia_scan_summary *s)
{
    return Py_BuildValue(
        "{s:L,s:K,s:K,s:K,s:K,s:K,s:K,s:d,s:d,s:O,s:L,s:K,s:K,s:K,s:K,s:K,"
        "s:K}",
        "scan_id", (long long)s->scan_id,
        "files", (unsigned long long)s->files,
        "decoded", (unsigned long long)s->decoded,
        "bytes", (unsigned long long)s->bytes,
        "errors", (unsigned long long)s->errors,
        "warnings", (unsigned long long)s->warnings,
        "infos", (unsigned long long)s->infos,
        "megapixels", s->megapixels, "seconds", s->seconds,
        "unchanged", s->unchanged ? Py_True : Py_False,
        "same_as", (long long)s->same_as,
        "files_with_errors", (unsigned long long)s->files_with_errors,
        "files_with_warnings", (unsigned long long)s->files_with_warnings,
        "files_with_infos", (unsigned long long)s->files_with_infos,
        "dataset_level_errors", (unsigned long long)s->dataset_errors,
        "dataset_level_warnings", (unsigned long long)s->dataset_warnings,
        "dataset_level_infos", (unsigned long long)s->dataset_infos);
}

typedef struct scan_args {
    PyObject *db, *root, *manifest, *reuse;   /* bytes (new references) */
    const char *name;
    const char *loaders;    /* comma-separated profiles (borrowed) */
    PyObject *exclude_t;    /* a tuple of str, kept while the array */
    const char **exclude;   /* borrows their UTF-8 */
    size_t nexclude;
    unsigned jobs;
    int trust_mtime, resume, follow_symlinks;
} scan_args;

static void scan_args_free(scan_args *a)
{
    Py_XDECREF(a->db);
    Py_XDECREF(a->root);
    Py_XDECREF(a->manifest);
    Py_XDECREF(a->reuse);
    Py_XDECREF(a->exclude_t);
    PyMem_Free(a->exclude);
}

/* exclude: None, or a tuple of str (the wrapper makes one): the globs of
 * --exclude, as UTF-8 borrowed from the tuple's strings. */
static int exclude_arg(PyObject *obj, scan_args *a)
{
    if (obj == Py_None)
        return 0;
    if (!PyTuple_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "exclude must be a tuple of str");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(obj);
    a->exclude = PyMem_Calloc((size_t)n + 1, sizeof *a->exclude);
    if (!a->exclude) {
        PyErr_NoMemory();
        return -1;
    }
    Py_INCREF(obj);
    a->exclude_t = obj;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *g = PyTuple_GET_ITEM(obj, i);
        const char *s = PyUnicode_Check(g) ? PyUnicode_AsUTF8(g) : NULL;
        if (!s || !*s) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "each exclude glob must "
                                "be a non-empty str");
            return -1;
        }
        a->exclude[i] = s;
    }
    a->nexclude = (size_t)n;
    return 0;
}

static int jobs_arg(PyObject *obj, unsigned *jobs)
{
    *jobs = 0;
    if (obj == Py_None)
        return 0;
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "jobs must be an int or None, not "
                     "%.80s", Py_TYPE(obj)->tp_name);
        return -1;
    }
    long v = PyLong_AsLong(obj);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 1 || v > 1024) {
        PyErr_Format(PyExc_ValueError, "jobs must be 1 to 1024, not %ld", v);
        return -1;
    }
    *jobs = (unsigned)v;
    return 0;
}

/* Runs the scan with the GIL released; returns the ia_error. */
static int run_scan(scan_ctx *c, const scan_args *a, ia_db **db,
                    ia_scan_summary *sum)
{
    ia_scan_options opt;
    memset(&opt, 0, sizeof opt);
    opt.root = bytes_or_null(a->root);
    opt.name = a->name;
    opt.manifest = bytes_or_null(a->manifest);
    opt.jobs = a->jobs;
    opt.follow_symlinks = a->follow_symlinks;
    opt.reuse_db = bytes_or_null(a->reuse);
    opt.trust_mtime = a->trust_mtime;
    opt.resume = a->resume;
    opt.loaders = a->loaders;
    opt.exclude = a->exclude;
    opt.nexclude = a->nexclude;
    opt.progress = on_progress;
    opt.user = c;
    opt.cancel = &c->cancel;
    c->ts = PyEval_SaveThread();
    int rc = ia_db_open(bytes_or_null(a->db), IA_DB_CREATE, db);
    if (rc == IA_OK)
        rc = ia_scan(*db, &opt, sum);
    PyEval_RestoreThread(c->ts);
    return rc;
}

static PyObject *py_scan(PyObject *module, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"db", "root", "name", "manifest", "jobs",
                             "reuse", "trust_mtime", "resume",
                             "follow_symlinks", "progress", "interval",
                             "loader", "exclude", NULL};
    PyObject *db_o, *root_o, *name_o = Py_None, *manifest_o = Py_None;
    PyObject *loader_o = Py_None, *exclude_o = Py_None;
    PyObject *jobs_o = Py_None, *reuse_o = Py_None, *progress = Py_None;
    int trust = 0, resume = 0, follow = 0;
    double interval = 0.1;
    scan_args a;
    memset(&a, 0, sizeof a);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|$OOOOpppOdOO", kwlist,
                                     &db_o, &root_o, &name_o, &manifest_o,
                                     &jobs_o, &reuse_o, &trust, &resume,
                                     &follow, &progress, &interval,
                                     &loader_o, &exclude_o))
        return NULL;
    if (progress != Py_None && !PyCallable_Check(progress))
        return PyErr_Format(PyExc_TypeError, "progress must be callable");
    if (!(interval >= 0.0 && interval <= 3600.0))
        return PyErr_Format(PyExc_ValueError, "interval out of range");
    if (path_arg(db_o, "db", 0, &a.db) < 0 ||
        path_arg(root_o, "path", 0, &a.root) < 0 ||
        path_arg(manifest_o, "manifest", 1, &a.manifest) < 0 ||
        path_arg(reuse_o, "reuse", 1, &a.reuse) < 0 ||
        str_arg(name_o, "name", &a.name) < 0 ||
        str_arg(loader_o, "loader", &a.loaders) < 0 ||
        exclude_arg(exclude_o, &a) < 0 ||
        jobs_arg(jobs_o, &a.jobs) < 0) {
        scan_args_free(&a);
        return NULL;
    }
    a.trust_mtime = trust;
    a.resume = resume;
    a.follow_symlinks = follow;
    scan_ctx c = {.progress = progress, .interval = interval,
                  .last = mono_now()};
    ia_db *db = NULL;
    ia_scan_summary sum;
    int rc = run_scan(&c, &a, &db, &sum);
    PyObject *result = NULL;
    if (c.exc_type) {
        /* Ctrl-C or the progress function: raised as it was. */
        PyErr_Restore(c.exc_type, c.exc_value, c.exc_tb);
    } else if (rc != IA_OK) {
        raise_ia(module, rc, db ? ia_db_errmsg(db) : NULL);
    } else {
        result = summary_obj(&sum);
    }
    Py_BEGIN_ALLOW_THREADS
    ia_db_close(db);
    Py_END_ALLOW_THREADS
    scan_args_free(&a);
    return result;
}

/* ---- Db: a read-only handle ------------------------------------------ */

/* The module of a Db or Compare (heap types made from the module). */
static PyObject *module_of(PyObject *self)
{
    return PyType_GetModule(Py_TYPE(self));
}

typedef struct DbObject {
    PyObject_HEAD
    ia_db *db;
    int busy;               /* a call released the GIL */
} DbObject;

static int db_ready(DbObject *self)
{
    if (!self->db) {
        PyErr_SetString(PyExc_ValueError, "the database is closed");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the database handle is in use "
                        "by another thread");
        return -1;
    }
    return 0;
}

static PyObject *db_fail(DbObject *self, int rc)
{
    return raise_ia(module_of((PyObject *)self), rc,
                    ia_db_errmsg(self->db));
}

static int Db_init(DbObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", NULL};
    PyObject *path_o, *path;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O", kwlist, &path_o))
        return -1;
    if (self->db) {
        PyErr_SetString(PyExc_RuntimeError, "Db already open");
        return -1;
    }
    if (path_arg(path_o, "db", 0, &path) < 0)
        return -1;
    ia_db *db = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = ia_db_open(PyBytes_AS_STRING(path), IA_DB_READONLY, &db);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (rc != IA_OK) {
        raise_ia(module_of((PyObject *)self), rc,
                 db ? ia_db_errmsg(db) : NULL);
        ia_db_close(db);
        return -1;
    }
    self->db = db;
    return 0;
}

static void Db_dealloc(DbObject *self)
{
    ia_db_close(self->db);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *Db_close(DbObject *self, PyObject *unused)
{
    (void)unused;
    if (self->busy)
        return PyErr_Format(PyExc_RuntimeError, "the database handle is in "
                            "use by another thread");
    ia_db_close(self->db);
    self->db = NULL;
    Py_RETURN_NONE;
}

static PyObject *Db_rows(DbObject *self, PyObject *args)
{
    int table;
    PyObject *scan_o;
    const char *scan;
    const ia_column *cols;
    size_t n;
    if (!PyArg_ParseTuple(args, "iO", &table, &scan_o) ||
        str_arg(scan_o, "scan", &scan) < 0 || db_ready(self) < 0)
        return NULL;
    if (ia_scan_columns(table, &cols, &n) != IA_OK)
        return PyErr_Format(PyExc_ValueError, "no such table: %d", table);
    rows_ctx r = {PyList_New(0), n, 0};
    if (!r.list)
        return NULL;
    int rc = ia_scan_rows(self->db, scan, table, row_cb, &r);
    if (rc != IA_OK) {
        Py_DECREF(r.list);
        return r.failed ? NULL : db_fail(self, rc);
    }
    return r.list;
}

/* report(scan, format) -> bytes. HTML makes thumbnails: the GIL is
 * released meanwhile, Ctrl-C is not seen until it ends. */
static PyObject *Db_report(DbObject *self, PyObject *args)
{
    PyObject *scan_o, *fmt_o;
    const char *scan;
    int fmt, rc;
    membuf m;
    if (!PyArg_ParseTuple(args, "OO", &scan_o, &fmt_o) ||
        str_arg(scan_o, "scan", &scan) < 0 || format_arg(fmt_o, &fmt) < 0 ||
        db_ready(self) < 0 || membuf_open(&m) < 0)
        return NULL;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    if (fmt == IA_FORMAT_CSV || fmt == IA_FORMAT_JSONL)
        rc = ia_export(self->db, scan, fmt, 0, m.f);
    else
        rc = ia_report(self->db, scan, fmt, m.f);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    PyObject *b = membuf_bytes(&m);
    if (rc != IA_OK) {
        Py_XDECREF(b);
        return db_fail(self, rc);
    }
    return b;
}

static PyObject *Db_scans(DbObject *self, PyObject *unused)
{
    membuf m;
    (void)unused;
    if (db_ready(self) < 0 || membuf_open(&m) < 0)
        return NULL;
    int rc = ia_list_scans(self->db, m.f);
    PyObject *b = membuf_bytes(&m);
    if (rc != IA_OK) {
        Py_XDECREF(b);
        return db_fail(self, rc);
    }
    return b;
}

static PyObject *Db_resolve(DbObject *self, PyObject *args)
{
    PyObject *scan_o;
    const char *scan;
    int64_t id = 0;
    if (!PyArg_ParseTuple(args, "O", &scan_o) ||
        str_arg(scan_o, "scan", &scan) < 0 || db_ready(self) < 0)
        return NULL;
    int rc = ia_scan_resolve(self->db, scan, &id);
    return rc == IA_OK ? PyLong_FromLongLong(id) : db_fail(self, rc);
}

static PyMethodDef Db_methods[] = {
    {"resolve", (PyCFunction)Db_resolve, METH_VARARGS,
     "resolve(scan) -> the id of the scan a name, id or None names"},
    {"rows", (PyCFunction)Db_rows, METH_VARARGS,
     "rows(table, scan) -> list of tuples in column order"},
    {"report", (PyCFunction)Db_report, METH_VARARGS,
     "report(scan, format) -> bytes (text, md, json, html; csv, jsonl: "
     "the export)"},
    {"scans", (PyCFunction)Db_scans, METH_NOARGS,
     "scans() -> bytes: the table of `imgaudit scans`"},
    {"close", (PyCFunction)Db_close, METH_NOARGS, "close()"},
    {NULL, NULL, 0, NULL},
};

/* CPython's slot tables hold functions as void *, which ISO C does not
 * promise to convert: every platform CPython runs on does, and it is the
 * documented way to make a heap type, so -Wpedantic is quiet here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
static PyType_Slot Db_slots[] = {
    {Py_tp_doc, "Db(path): a read-only imgaudit database"},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Db_init},
    {Py_tp_dealloc, Db_dealloc},
    {Py_tp_methods, Db_methods},
    {0, NULL},
};

#pragma GCC diagnostic pop

static PyType_Spec Db_spec = {
    "imgaudit._imgaudit.Db", sizeof(DbObject), 0, Py_TPFLAGS_DEFAULT,
    Db_slots,
};

/* ---- Compare --------------------------------------------------------- */

typedef struct CompareObject {
    PyObject_HEAD
    ia_compare *c;
} CompareObject;

static int fail_on_arg(PyObject *obj, int *fail_on)
{
    const char *s;
    if (str_arg(obj, "fail_on", &s) < 0)
        return -1;
    if (!s || strcmp(s, "error") == 0)
        *fail_on = IA_FAIL_ON_ERROR;
    else if (strcmp(s, "warning") == 0)
        *fail_on = IA_FAIL_ON_WARNING;
    else if (strcmp(s, "never") == 0)
        *fail_on = IA_FAIL_ON_NEVER;
    else {
        PyErr_Format(PyExc_ValueError, "fail_on must be 'error', 'warning' "
                     "or 'never', not %R", obj);
        return -1;
    }
    return 0;
}

static int Compare_init(CompareObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"base", "new", "db", "policy", "fail_on",
                             NULL};
    PyObject *base_o, *new_o, *db_o = Py_None, *policy_o = Py_None;
    PyObject *fail_o = Py_None, *base = NULL, *new_ = NULL, *db = NULL;
    PyObject *policy = NULL;
    ia_compare_options opt;
    memset(&opt, 0, sizeof opt);
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|$OOO", kwlist, &base_o,
                                     &new_o, &db_o, &policy_o, &fail_o))
        return -1;
    if (self->c) {
        PyErr_SetString(PyExc_RuntimeError, "Compare already open");
        return -1;
    }
    int ret = -1, rc = IA_OK;
    if (path_arg(base_o, "base", 0, &base) < 0 ||
        path_arg(new_o, "new", 0, &new_) < 0 ||
        path_arg(db_o, "db", 1, &db) < 0 ||
        path_arg(policy_o, "policy", 1, &policy) < 0 ||
        fail_on_arg(fail_o, &opt.fail_on) < 0)
        goto out;
    opt.db = bytes_or_null(db);
    opt.policy = bytes_or_null(policy);
    ia_compare *c = NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = ia_compare_open(PyBytes_AS_STRING(base), PyBytes_AS_STRING(new_),
                         &opt, &c);
    Py_END_ALLOW_THREADS
    if (rc != IA_OK) {
        raise_ia(module_of((PyObject *)self), rc,
                 c ? ia_compare_errmsg(c) : NULL);
        ia_compare_close(c);
        goto out;
    }
    self->c = c;
    ret = 0;
out:
    Py_XDECREF(base);
    Py_XDECREF(new_);
    Py_XDECREF(db);
    Py_XDECREF(policy);
    return ret;
}

static void Compare_dealloc(CompareObject *self)
{
    ia_compare_close(self->c);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int compare_ready(CompareObject *self)
{
    if (self->c)
        return 0;
    PyErr_SetString(PyExc_ValueError, "the comparison is not open");
    return -1;
}

static PyObject *Compare_rows(CompareObject *self, PyObject *args)
{
    int table;
    const ia_column *cols;
    size_t n;
    if (!PyArg_ParseTuple(args, "i", &table) || compare_ready(self) < 0)
        return NULL;
    if (ia_compare_columns(table, &cols, &n) != IA_OK)
        return PyErr_Format(PyExc_ValueError, "no such table: %d", table);
    rows_ctx r = {PyList_New(0), n, 0};
    if (!r.list)
        return NULL;
    int rc = ia_compare_rows(self->c, table, row_cb, &r);
    if (rc != IA_OK) {
        Py_DECREF(r.list);
        return r.failed ? NULL
                        : raise_ia(module_of((PyObject *)self), rc,
                                   ia_compare_errmsg(self->c));
    }
    return r.list;
}

static PyObject *Compare_write(CompareObject *self, PyObject *args)
{
    PyObject *fmt_o;
    int fmt;
    membuf m;
    if (!PyArg_ParseTuple(args, "O", &fmt_o) || format_arg(fmt_o, &fmt) < 0 ||
        compare_ready(self) < 0 || membuf_open(&m) < 0)
        return NULL;
    int rc = ia_compare_write(self->c, fmt, m.f);
    PyObject *b = membuf_bytes(&m);
    if (rc != IA_OK) {
        Py_XDECREF(b);
        return raise_ia(module_of((PyObject *)self), rc,
                        ia_compare_errmsg(self->c));
    }
    return b;
}

static PyObject *Compare_summary(CompareObject *self, PyObject *unused)
{
    ia_compare_summary s;
    (void)unused;
    if (compare_ready(self) < 0)
        return NULL;
    ia_compare_get_summary(self->c, &s);
    return Py_BuildValue("{s:K,s:K,s:K,s:O}",
                         "errors", (unsigned long long)s.errors,
                         "warnings", (unsigned long long)s.warnings,
                         "infos", (unsigned long long)s.infos,
                         "fail", s.fail ? Py_True : Py_False);
}

static PyMethodDef Compare_methods[] = {
    {"rows", (PyCFunction)Compare_rows, METH_VARARGS,
     "rows(table) -> list of tuples in column order"},
    {"write", (PyCFunction)Compare_write, METH_VARARGS,
     "write(format) -> bytes (text, md, json, html)"},
    {"summary", (PyCFunction)Compare_summary, METH_NOARGS,
     "summary() -> {errors, warnings, infos, fail}"},
    {NULL, NULL, 0, NULL},
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
static PyType_Slot Compare_slots[] = {
    {Py_tp_doc, "Compare(base, new, *, db=None, policy=None, "
                "fail_on='error')"},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Compare_init},
    {Py_tp_dealloc, Compare_dealloc},
    {Py_tp_methods, Compare_methods},
    {0, NULL},
};

#pragma GCC diagnostic pop

static PyType_Spec Compare_spec = {
    "imgaudit._imgaudit.Compare", sizeof(CompareObject), 0,
    Py_TPFLAGS_DEFAULT, Compare_slots,
};

/* ---- module ---------------------------------------------------------- */

static PyObject *py_columns(PyObject *module, PyObject *args)
{
    const char *which;
    int table;
    const ia_column *cols;
    size_t n;
    (void)module;
    if (!PyArg_ParseTuple(args, "si", &which, &table))
        return NULL;
    int rc = strcmp(which, "compare") == 0
                 ? ia_compare_columns(table, &cols, &n)
                 : strcmp(which, "scan") == 0
                       ? ia_scan_columns(table, &cols, &n) : IA_ERR_ARG;
    if (rc != IA_OK)
        return PyErr_Format(PyExc_ValueError, "no such table: %s %d", which,
                            table);
    return columns_obj(cols, n);
}

static PyMethodDef module_methods[] = {
    {"scan", (PyCFunction)(void (*)(void))py_scan,
     METH_VARARGS | METH_KEYWORDS,
     "scan(db, root, *, name, manifest, jobs, reuse, trust_mtime, resume, "
     "follow_symlinks, progress, interval, loader, exclude) -> summary "
     "dict"},
    {"columns", py_columns, METH_VARARGS,
     "columns('scan'|'compare', table) -> [(name, value type)]"},
    {NULL, NULL, 0, NULL},
};

static int add_type(PyObject *module, PyType_Spec *spec)
{
    PyObject *t = PyType_FromModuleAndSpec(module, spec, NULL);
    if (!t)
        return -1;
    const char *dot = strrchr(spec->name, '.');
    int rc = PyModule_AddObjectRef(module, dot + 1, t);
    Py_DECREF(t);
    return rc;
}

static int add_error(PyObject *module, const char *name, PyObject *extra,
                     int code)
{
    modstate *st = state_of(module);
    char qual[64];
    snprintf(qual, sizeof qual, "imgaudit.%s", name);
    PyObject *bases = extra ? PyTuple_Pack(2, st->error, extra)
                            : PyTuple_Pack(1, st->error);
    if (!bases)
        return -1;
    PyObject *cls = PyErr_NewException(qual, bases, NULL);
    Py_DECREF(bases);
    if (!cls)
        return -1;
    st->by_code[code] = cls;
    return PyModule_AddObjectRef(module, name, cls);
}

static int module_exec(PyObject *module)
{
    modstate *st = state_of(module);
    static const struct {
        const char *name;
        int code;
    } consts[] = {
        {"ROWS_FILES", IA_ROWS_FILES}, {"ROWS_PROBLEMS", IA_ROWS_PROBLEMS},
        {"ROWS_FINDINGS", IA_ROWS_FINDINGS},
        {"ROWS_DUPLICATES", IA_ROWS_DUPLICATES},
        {"ROWS_LEAKS", IA_ROWS_LEAKS}, {"ROWS_SPLITS", IA_ROWS_SPLITS},
        {"CMP_FINDINGS", IA_CMP_ROWS_FINDINGS},
        {"CMP_CHANGES", IA_CMP_ROWS_CHANGES},
        {"CMP_DRIFT", IA_CMP_ROWS_DRIFT},
        {"VALUE_INT", IA_VALUE_INT}, {"VALUE_REAL", IA_VALUE_REAL},
        {"VALUE_TEXT", IA_VALUE_TEXT}, {"VALUE_INTS", IA_VALUE_INTS},
        {"VALUE_REALS", IA_VALUE_REALS}, {"VALUE_TEXTS", IA_VALUE_TEXTS},
        {"VALUE_COUNTS", IA_VALUE_COUNTS}, {"VALUE_JSON", IA_VALUE_JSON},
    };
    st->error = PyErr_NewException("imgaudit.Error", NULL, NULL);
    if (!st->error || PyModule_AddObjectRef(module, "Error", st->error) < 0)
        return -1;
    if (add_error(module, "ArgumentError", PyExc_ValueError, IA_ERR_ARG) ||
        add_error(module, "NotFoundError", PyExc_LookupError,
                  IA_ERR_NOT_FOUND) ||
        add_error(module, "ImgauditIOError", PyExc_OSError, IA_ERR_IO) ||
        add_error(module, "DatabaseError", NULL, IA_ERR_DB) ||
        add_error(module, "NotADatabaseError", NULL, IA_ERR_NOT_DB) ||
        add_error(module, "BusyError", NULL, IA_ERR_BUSY) ||
        add_error(module, "ManifestError", PyExc_ValueError,
                  IA_ERR_MANIFEST))
        return -1;
    st->by_code[IA_ERR_DB_VERSION] = st->by_code[IA_ERR_DB];
    for (size_t k = 0; k < sizeof consts / sizeof *consts; k++)
        if (PyModule_AddIntConstant(module, consts[k].name, consts[k].code))
            return -1;
    if (PyModule_AddStringConstant(module, "C_VERSION", IMGAUDIT_VERSION))
        return -1;
    return add_type(module, &Db_spec) || add_type(module, &Compare_spec);
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    modstate *st = state_of(module);
    Py_VISIT(st->error);
    for (int k = 0; k <= IA_ERR_BUSY; k++)
        Py_VISIT(st->by_code[k]);
    return 0;
}

static int module_clear(PyObject *module)
{
    modstate *st = state_of(module);
    Py_CLEAR(st->error);
    for (int k = 0; k <= IA_ERR_BUSY; k++)
        if (k != IA_ERR_DB_VERSION)
            Py_CLEAR(st->by_code[k]);
    st->by_code[IA_ERR_DB_VERSION] = NULL;
    return 0;
}

static void module_free(void *module)
{
    module_clear(module);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};
#pragma GCC diagnostic pop

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "imgaudit._imgaudit",
    "The C core of the imgaudit package (docs/python.md).",
    sizeof(modstate), module_methods, module_slots, module_traverse,
    module_clear, module_free,
};

PyMODINIT_FUNC PyInit__imgaudit(void);
PyMODINIT_FUNC PyInit__imgaudit(void)
{
    return PyModuleDef_Init(&module_def);
}
