/*
 * imgaudit report: renders the report of one scan from the DB (opened
 * read-only: a report never changes the scan it reads). The exit code can
 * gate CI with --fail-on, as scan's does.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* An HTML report makes thumbnails, which can take a while: SIGINT/SIGTERM
 * stop it cleanly, so the temporary -o file is removed. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static const char usage_text[] =
    "Usage: imgaudit report [SCAN] [OPTIONS]\n"
    "\n"
    "Writes the audit report of a scan: status counts, problems first\n"
    "(errors, then warnings, grouped by finding code), labels per split.\n"
    "SCAN is a scan name or id; default: the latest complete scan.\n"
    "\n"
    "Options:\n"
    "  --db FILE            database (default ./" CLI_DEFAULT_DB ")\n"
    "  -f, --format FORMAT  text (default), md, json or html (one\n"
    "                       self-contained page with thumbnails)\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "  --loader LIST        the loader profiles whose findings are shown\n"
    "                       (comma-separated; default: the scan's)\n"
    "  --policy FILE        severities per finding code (JSON, as compare's;\n"
    "                       default: the policy the scan was made with)\n"
    "  --fail-on LEVEL      exit 3 when a finding is at or above LEVEL:\n"
    "                       error, warning or never (default never)\n"
    "  -h, --help           show this help\n";

typedef struct report_args {
    const char *db;
    const char *scan;
    const char *output;
    ia_format format;
    int fail_on;
    const char *loaders;
    const char *policy;
} report_args;

enum { OPT_DB = 256, OPT_FAIL_ON, OPT_LOADER, OPT_POLICY };

/* The formats a scan report comes in (csv/jsonl are export's). */
static int parse_format(const char *s, ia_format *out)
{
    int f = ia_format_parse(s);
    if (f < 0 || f == IA_FORMAT_CSV || f == IA_FORMAT_JSONL)
        return -1;
    *out = (ia_format)f;
    return 0;
}

/* 0: go on; -1: --help was shown; otherwise an exit code. */
static int parse_args(int argc, char **argv, report_args *a)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"loader", required_argument, NULL, OPT_LOADER},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: a->db = optarg; break;
        case OPT_LOADER: a->loaders = optarg; break;
        case OPT_POLICY: a->policy = optarg; break;
        case 'o': a->output = optarg; break;
        case 'h': fputs(usage_text, stdout); return -1;
        case 'f':
            if (parse_format(optarg, &a->format) != 0)
                return cli_usage_error("report", "unknown format '%s' "
                                       "(text, md, json or html)", optarg);
            break;
        case OPT_FAIL_ON:
            a->fail_on = cli_parse_fail_on(optarg);
            if (a->fail_on == -2)
                return cli_usage_error("report", "--fail-on must be error, "
                                                 "warning or never");
            break;
        default:
            return cli_bad_option("report", c, argv);
        }
    }
    return cli_optional_scan("report", argc, argv, &a->scan);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "thumbnails 120/1034", at most ten times a second, and at the end. */
static void show_progress(void *user, uint64_t done, uint64_t total)
{
    double *last = user, t = now_seconds();
    if (done < total && t - *last < 0.1)
        return;
    *last = t;
    fprintf(stderr, "\rthumbnails %llu/%llu ", (unsigned long long)done,
            (unsigned long long)total);
}

/* Options for ia_report_ex: cancellation, and progress on a terminal. */
static void setup_html(ia_report_options *opt, double *last)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    opt->cancel = &interrupted;
    if (isatty(STDERR_FILENO)) {
        opt->progress = show_progress;
        opt->user = last;
    }
}

int cmd_report(int argc, char **argv)
{
    report_args a = {.db = CLI_DEFAULT_DB, .format = IA_FORMAT_TEXT,
                     .fail_on = -1};
    ia_db *db = NULL;
    cli_output *o = NULL;
    FILE *fp = NULL;
    ia_report_summary sum;
    ia_report_options opt = {0};
    double last = 0;
    int code = parse_args(argc, argv, &a);
    if (code != 0)
        return code < 0 ? CLI_EXIT_OK : code;
    code = cli_open_db("report", a.db, IA_DB_READONLY, &db);
    if (code != CLI_EXIT_OK)
        return code;
    opt.loaders = a.loaders;
    opt.policy = a.policy;
    /* Counts first: an unknown scan, profile or a bad policy fails before
     * any output file exists. */
    int rc = ia_report_summarize(db, a.scan, &opt, &sum);
    if (rc != IA_OK) {
        code = cli_fail("report", db, rc, a.db);
        goto out;
    }
    code = cli_output_open("report", a.output, &o, &fp);
    if (code != CLI_EXIT_OK)
        goto out;
    if (a.format == IA_FORMAT_HTML)
        setup_html(&opt, &last);
    rc = ia_report_ex(db, a.scan, a.format, fp, &opt);
    if (opt.progress)
        fputs("\r\033[K", stderr);
    code = rc == IA_OK ? CLI_EXIT_OK : cli_fail("report", db, rc, NULL);
    if (cli_output_close(o, rc == IA_OK) != CLI_EXIT_OK &&
        code == CLI_EXIT_OK)
        code = CLI_EXIT_FAILURE;
    if (code == CLI_EXIT_OK && a.fail_on >= 0 &&
        (sum.errors > 0 || (a.fail_on <= 1 && sum.warnings > 0)))
        code = CLI_EXIT_FINDINGS;
out:
    ia_db_close(db);
    return code;
}
