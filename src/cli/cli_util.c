/*
 * What every subcommand shares: one-line usage errors, mapping library
 * errors to exit codes in one place, and writing -o files atomically
 * (temporary name, flush, fsync, rename) so a reader never sees half a
 * report. Every message goes through ia_fput_clean: it may quote a path,
 * an argument or a string from a DB, and none may drive the terminal.
 */
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct cli_output {
    FILE *fp;
    char *path;
    char *tmp;
    const char *cmd;
};

/* Writes the formatted message through ia_fput_clean. */
__attribute__((format(printf, 1, 0)))
static void put_message(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (msg)
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
    ia_fput_clean(stderr, msg ? msg : "out of memory");
    free(msg);
}

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "imgaudit%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    put_message(fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "imgaudit %s: ", cmd);
    va_start(ap, fmt);
    put_message(fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'imgaudit %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

/* The library's message often names its subject already ("x.db: no
 * such table"); then the subject is not said twice: "x.db: database
 * error: no such table". */
static int starts_with_subject(const char *detail, const char *what)
{
    size_t n = what ? strlen(what) : 0;
    return n && strncmp(detail, what, n) == 0 && detail[n] == ':';
}

int cli_exit_code(int err)
{
    switch (err) {
    case IA_OK:
        return CLI_EXIT_OK;
    case IA_ERR_INTERRUPTED:
        return CLI_EXIT_INTERRUPTED;
    case IA_ERR_ARG:
    case IA_ERR_NOT_FOUND:
    case IA_ERR_MANIFEST:
        return CLI_EXIT_USAGE;
    default:
        return CLI_EXIT_FAILURE;
    }
}

int cli_fail(const char *cmd, ia_db *db, int err, const char *what)
{
    const char *detail = db ? ia_db_errmsg(db) : "";
    if (!*detail)
        cli_error(cmd, "%s%s%s", what ? what : "", what ? ": " : "",
                  ia_strerror(err));
    else if (!what)
        cli_error(cmd, "%s: %s", ia_strerror(err), detail);
    else if (starts_with_subject(detail, what))
        cli_error(cmd, "%s: %s:%s", what, ia_strerror(err),
                  detail + strlen(what) + 1);
    else
        cli_error(cmd, "%s: %s: %s", what, ia_strerror(err), detail);
    return cli_exit_code(err);
}

/* The end of an open: *out = db on success, else the failure reported.
 * A DB that exists but cannot be opened is a runtime failure (1); one
 * that is not there was named wrong (2, checked before the open). */
static int opened(const char *cmd, const char *path, int rc, ia_db *db,
                  ia_db **out)
{
    if (rc != IA_OK) {
        int code = cli_fail(cmd, db, rc, path);
        ia_db_close(db);
        return code == CLI_EXIT_USAGE ? CLI_EXIT_FAILURE : code;
    }
    *out = db;
    return CLI_EXIT_OK;
}

int cli_check_db_path(const char *cmd, const char *path, int writer)
{
    struct stat st;
    if (!writer) {
        if (stat(path, &st) == 0)
            return CLI_EXIT_OK;
        cli_error(cmd, "%s: no such database", path);
        return CLI_EXIT_USAGE;
    }
    char *dir = strdup(path);
    if (!dir)
        return CLI_EXIT_FAILURE;
    char *slash = strrchr(dir, '/');
    const char *folder = slash ? (slash == dir ? "/" : dir) : ".";
    if (slash && slash != dir)
        *slash = '\0';
    int ok = stat(folder, &st) == 0 && S_ISDIR(st.st_mode);
    if (!ok)
        cli_error(cmd, "%s: its folder does not exist", path);
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        cli_error(cmd, "%s: is a folder, not a database file", path);
    else
        ok = 2;
    free(dir);
    return ok == 2 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

int cli_open_db(const char *cmd, const char *path, int flags, ia_db **out)
{
    ia_db *db = NULL;
    int code = cli_check_db_path(cmd, path, flags != IA_DB_READONLY);
    if (code != CLI_EXIT_OK)
        return code;
    int rc = ia_db_open(path, flags, &db);
    return opened(cmd, path, rc, db, out);
}

/* Seconds on a clock that never jumps. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Another writer holds the DB (IA_ERR_BUSY): says so once, then tries
 * again every 100 ms. Polling, not a blocking flock, so that the limit
 * and Ctrl-C (cancel) are checked; a try costs one open and one flock. */
static int wait_writer(const char *cmd, const char *path, long limit,
                       const volatile sig_atomic_t *cancel, ia_db **db)
{
    const struct timespec tick = {0, 100 * 1000 * 1000};
    double t0 = now_s();
    int rc = IA_ERR_BUSY;
    fprintf(stderr, "imgaudit %s: waiting for %s: %s\n", cmd, path,
            ia_db_errmsg(*db));
    while (rc == IA_ERR_BUSY && (limit < 0 || now_s() - t0 < (double)limit)) {
        nanosleep(&tick, NULL);
        /* checked before the next try: a writer stopped while waiting
         * must not begin a scan it would stop at once */
        if (cancel && *cancel)
            return IA_ERR_INTERRUPTED;
        ia_db_close(*db);
        *db = NULL;
        rc = ia_db_open(path, IA_DB_CREATE, db);
    }
    return rc;
}

int cli_open_writer(const char *cmd, const char *path, long wait,
                    const volatile sig_atomic_t *cancel, ia_db **out)
{
    ia_db *db = NULL;
    int code = cli_check_db_path(cmd, path, 1);
    if (code != CLI_EXIT_OK)
        return code;
    int rc = ia_db_open(path, IA_DB_CREATE, &db);
    if (rc == IA_ERR_BUSY && wait != 0)
        rc = wait_writer(cmd, path, wait, cancel, &db);
    if (rc == IA_ERR_INTERRUPTED) {
        fprintf(stderr, "imgaudit %s: %s: interrupted while waiting for "
                "the other writer\n", cmd, path);
        ia_db_close(db);
        return CLI_EXIT_INTERRUPTED;
    }
    return opened(cmd, path, rc, db, out);
}

int cli_parse_wait(const char *cmd, const char *s, long *wait)
{
    unsigned long long v;
    if (cli_parse_u64(s, &v) || v > 31536000ULL)
        return cli_usage_error(cmd, "--wait needs a number of seconds "
                                    "from 0 to 31536000, not '%s'", s);
    *wait = (long)v;
    return 0;
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value",
                               argv[optind - 1]);
    return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}

int cli_optional_scan(const char *cmd, int argc, char **argv,
                      const char **scan)
{
    if (argc - optind > 1)
        return cli_usage_error(cmd, "expected at most one scan, got '%s' "
                                    "and '%s'", argv[optind],
                               argv[optind + 1]);
    if (optind < argc)
        *scan = argv[optind];
    return 0;
}

/* Appends ", N what" (the first without the comma) when n is not 0. */
static size_t put_part(char *buf, size_t cap, size_t len, uint64_t n,
                       const char *what)
{
    if (n == 0 || len >= cap)
        return len;
    int w = snprintf(buf + len, cap - len, "%s%llu %s%s", len ? ", " : "",
                     (unsigned long long)n, what, n == 1 ? "" : "s");
    return w < 0 ? len : len + (size_t)w;
}

void cli_counts(char *buf, size_t cap, const ia_scan_summary *s)
{
    char sev[96] = "";
    size_t len = put_part(sev, sizeof sev, 0, s->dataset_errors, "error");
    len = put_part(sev, sizeof sev, len, s->dataset_warnings, "warning");
    /* "info" has no plural: written by hand */
    if (s->dataset_infos && len < sizeof sev)
        snprintf(sev + len, sizeof sev - len, "%s%llu info",
                 len ? ", " : "", (unsigned long long)s->dataset_infos);
    uint64_t dataset = s->dataset_errors + s->dataset_warnings +
                       s->dataset_infos;
    snprintf(buf, cap, "%llu file%s with errors, %llu with warnings; "
             "%llu dataset-level finding%s%s%s%s",
             (unsigned long long)s->files_with_errors,
             s->files_with_errors == 1 ? "" : "s",
             (unsigned long long)s->files_with_warnings,
             (unsigned long long)dataset, dataset == 1 ? "" : "s",
             *sev ? " (" : "", sev, *sev ? ")" : "");
}

int cli_parse_fail_on(const char *s)
{
    if (strcmp(s, "error") == 0)
        return 2;
    if (strcmp(s, "warning") == 0)
        return 1;
    if (strcmp(s, "never") == 0)
        return -1;
    return -2;
}

int cli_parse_u64(const char *s, unsigned long long *out)
{
    char *end = NULL;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1000ULL, end++;
    else if (*end == 'M')
        mul = 1000000ULL, end++;
    else if (*end == 'G')
        mul = 1000000000ULL, end++;
    if (*end || (v && mul > ~0ULL / v))
        return -1;
    *out = v * mul;
    return 0;
}

int cli_output_open(const char *cmd, const char *path, cli_output **out,
                    FILE **fp)
{
    cli_output *o = calloc(1, sizeof *o);
    if (!o)
        return CLI_EXIT_FAILURE;
    o->cmd = cmd;
    if (!path || strcmp(path, "-") == 0) {
        o->fp = stdout;
        *out = o;
        *fp = stdout;
        return CLI_EXIT_OK;
    }
    /* A folder (or a name ending in '/', which can only be one) is no
     * file to write: said at once, before any work or temporary file. */
    struct stat st;
    size_t len = strlen(path);
    if ((len > 0 && path[len - 1] == '/') ||
        (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        fprintf(stderr, "imgaudit %s: %s: is a folder, not a file\n", cmd,
                path);
        free(o);
        return CLI_EXIT_FAILURE;
    }
    size_t n = len + 16;
    o->path = strdup(path);
    o->tmp = malloc(n);
    int fd = -1;
    if (o->path && o->tmp) {
        snprintf(o->tmp, n, "%s.tmpXXXXXX", path);
        fd = mkstemp(o->tmp);
        /* mkstemp makes the file 0600; a report is to be shared, so give
         * it the mode a plain fopen would (0666 less the umask). */
        mode_t mask = umask(0);
        umask(mask);
        if (fd >= 0)
            fchmod(fd, 0666 & ~mask);
    }
    if (fd < 0 || !(o->fp = fdopen(fd, "w"))) {
        cli_error(cmd, "%s: cannot write: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        free(o->path);
        free(o->tmp);
        free(o);
        return CLI_EXIT_FAILURE;
    }
    *out = o;
    *fp = o->fp;
    return CLI_EXIT_OK;
}

int cli_output_close(cli_output *o, int ok)
{
    int code = CLI_EXIT_OK;
    if (!o)
        return code;
    if (o->fp == stdout) {
        if (fflush(stdout) != 0)
            code = CLI_EXIT_FAILURE;
        free(o);
        return code;
    }
    /* ok 0: the caller failed and said why; the file is only dropped. */
    int caller_ok = ok;
    if (fflush(o->fp) != 0 || fsync(fileno(o->fp)) != 0)
        ok = 0;
    if (fclose(o->fp) != 0)
        ok = 0;
    if (ok && rename(o->tmp, o->path) != 0)
        ok = 0;
    if (!ok) {
        if (caller_ok)
            cli_error(o->cmd, "%s: write failed: %s", o->path,
                      strerror(errno));
        unlink(o->tmp);
        code = CLI_EXIT_FAILURE;
    }
    free(o->path);
    free(o->tmp);
    free(o);
    return code;
}
