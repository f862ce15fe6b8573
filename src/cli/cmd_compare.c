/*
 * imgaudit compare: what changed between a known-good scan and a new one,
 * as a CI gate (exit 3 when a finding reaches --fail-on, default error).
 * Both databases are opened read-only (docs/compare.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "Usage: imgaudit compare BASE NEW [OPTIONS]\n"
    "\n"
    "Compares the scan NEW with the known-good scan BASE: files added,\n"
    "removed, modified, moved, relabeled and renamed; health regressions;\n"
    "label, pixel, size, quality and format drift. Ranks what changed,\n"
    "most severe first, and ends with a verdict.\n"
    "\n"
    "BASE and NEW are each a database file (its latest complete scan),\n"
    "FILE:NAME (scan NAME or id in FILE), or a scan name or id in --db.\n"
    "Databases are only read: the baseline is never modified.\n"
    "\n"
    "Options:\n"
    "  --db FILE            database of bare scan names (default ./"
    CLI_DEFAULT_DB ")\n"
    "  -f, --format FORMAT  text (default), md, json or html\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "  --fail-on LEVEL      exit 3 when a finding is at or above LEVEL:\n"
    "                       error (default), warning or never\n"
    "  --policy FILE        thresholds and severities (JSON, see\n"
    "                       docs/compare.md)\n"
    "  --loader LIST        read both scans through these loader profiles\n"
    "                       (comma-separated; default: the new scan's)\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit codes: 0 pass, 1 runtime failure, 2 usage error (or no such\n"
    "scan, or a bad policy), 3 fail.\n";

typedef struct compare_args {
    const char *output;
    ia_format format;
    ia_compare_options opt;
    const char *refs[2];
} compare_args;

enum { OPT_DB = 256, OPT_FAIL_ON, OPT_POLICY, OPT_LOADER };

static int parse_format(const char *s, ia_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = IA_FORMAT_TEXT;
    else if (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0)
        *out = IA_FORMAT_MD;
    else if (strcmp(s, "json") == 0)
        *out = IA_FORMAT_JSON;
    else if (strcmp(s, "html") == 0)
        *out = IA_FORMAT_HTML;
    else
        return -1;
    return 0;
}

static int parse_fail_on(const char *s, int *out)
{
    switch (cli_parse_fail_on(s)) {
    case 2: *out = IA_FAIL_ON_ERROR; return 0;
    case 1: *out = IA_FAIL_ON_WARNING; return 0;
    case -1: *out = IA_FAIL_ON_NEVER; return 0;
    default: return -1;
    }
}

/* 0: go on; -1: --help was shown; otherwise an exit code. */
static int parse_args(int argc, char **argv, compare_args *a)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"loader", required_argument, NULL, OPT_LOADER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: a->opt.db = optarg; break;
        case OPT_POLICY: a->opt.policy = optarg; break;
        case OPT_LOADER: a->opt.loaders = optarg; break;
        case 'o': a->output = optarg; break;
        case 'h': fputs(usage_text, stdout); return -1;
        case 'f':
            if (parse_format(optarg, &a->format) != 0)
                return cli_usage_error("compare", "unknown format '%s' "
                                       "(text, md, json or html)", optarg);
            break;
        case OPT_FAIL_ON:
            if (parse_fail_on(optarg, &a->opt.fail_on) != 0)
                return cli_usage_error("compare", "--fail-on must be error, "
                                                  "warning or never");
            break;
        default:
            return cli_bad_option("compare", c, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("compare", "expected two scans, BASE and NEW "
                                          "(got %d)", argc - optind);
    a->refs[0] = argv[optind];
    a->refs[1] = argv[optind + 1];
    return 0;
}

/* The comparison's own message names its subject; the error's name
 * only when there is none. */
static void report_error(const ia_compare *cmp, int rc)
{
    const char *msg = ia_compare_errmsg(cmp);
    cli_error("compare", "%s", msg && *msg ? msg : ia_strerror(rc));
}

int cmd_compare(int argc, char **argv)
{
    compare_args a;
    ia_compare *cmp = NULL;
    ia_compare_summary sum;
    cli_output *o = NULL;
    FILE *fp = NULL;
    memset(&a, 0, sizeof a);
    a.opt.db = CLI_DEFAULT_DB;
    int code = parse_args(argc, argv, &a);
    if (code != 0)
        return code < 0 ? CLI_EXIT_OK : code;
    /* Everything is computed before the output file exists, so a bad
     * reference or policy leaves no half-written file behind. */
    int rc = ia_compare_open(a.refs[0], a.refs[1], &a.opt, &cmp);
    if (rc != IA_OK) {
        report_error(cmp, rc);
        code = cli_exit_code(rc);
        goto out;
    }
    code = cli_output_open("compare", a.output, &o, &fp);
    if (code != CLI_EXIT_OK)
        goto out;
    rc = ia_compare_write(cmp, a.format, fp);
    if (rc != IA_OK) {
        report_error(cmp, rc);
        code = cli_exit_code(rc);
    }
    if (cli_output_close(o, rc == IA_OK) != CLI_EXIT_OK &&
        code == CLI_EXIT_OK)
        code = CLI_EXIT_FAILURE;
    ia_compare_get_summary(cmp, &sum);
    if (code == CLI_EXIT_OK && sum.fail)
        code = CLI_EXIT_FINDINGS;
out:
    ia_compare_close(cmp);
    return code;
}
