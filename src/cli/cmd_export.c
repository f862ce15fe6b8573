/*
 * imgaudit export: one row per file with every measured column, as CSV or
 * JSON Lines, for pandas, spreadsheets and jq. The DB is opened read-only.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "Usage: imgaudit export [SCAN] [OPTIONS]\n"
    "\n"
    "Writes one row per file of a scan, in path order, with every stored\n"
    "column (docs/json.md). SCAN is a scan name or id; default: the latest\n"
    "complete scan.\n"
    "\n"
    "Options:\n"
    "  --db FILE            database (default ./" CLI_DEFAULT_DB ")\n"
    "  -f, --format FORMAT  csv (default) or jsonl\n"
    "  --problems           only files that are not ok or have a finding\n"
    "                       of severity warning or error\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "  -h, --help           show this help\n";

typedef struct export_args {
    const char *db;
    const char *scan;
    const char *output;
    ia_format format;
    int problems;
} export_args;

enum { OPT_DB = 256, OPT_PROBLEMS };

/* 0: go on; -1: --help was shown; otherwise an exit code. */
static int parse_args(int argc, char **argv, export_args *a)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"format", required_argument, NULL, 'f'},
        {"problems", no_argument, NULL, OPT_PROBLEMS},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: a->db = optarg; break;
        case OPT_PROBLEMS: a->problems = 1; break;
        case 'o': a->output = optarg; break;
        case 'h': fputs(usage_text, stdout); return -1;
        case 'f':
            a->format = (ia_format)ia_format_parse(optarg);
            if (a->format != IA_FORMAT_CSV && a->format != IA_FORMAT_JSONL)
                return cli_usage_error("export", "unknown format '%s' "
                                       "(csv or jsonl)", optarg);
            break;
        default:
            return cli_bad_option("export", c, argv);
        }
    }
    return cli_optional_scan("export", argc, argv, &a->scan);
}

int cmd_export(int argc, char **argv)
{
    export_args a = {.db = CLI_DEFAULT_DB, .format = IA_FORMAT_CSV};
    ia_db *db = NULL;
    cli_output *o = NULL;
    FILE *fp = NULL;
    uint64_t errors, warnings;
    int code = parse_args(argc, argv, &a);
    if (code != 0)
        return code < 0 ? CLI_EXIT_OK : code;
    code = cli_open_db("export", a.db, IA_DB_READONLY, &db);
    if (code != CLI_EXIT_OK)
        return code;
    /* Resolve the scan before an output file is created. */
    int rc = ia_scan_severity_counts(db, a.scan, &errors, &warnings);
    if (rc != IA_OK) {
        code = cli_fail("export", db, rc, a.db);
        goto out;
    }
    code = cli_output_open("export", a.output, &o, &fp);
    if (code != CLI_EXIT_OK)
        goto out;
    rc = ia_export(db, a.scan, a.format, a.problems, fp);
    code = rc == IA_OK ? CLI_EXIT_OK : cli_fail("export", db, rc, NULL);
    if (cli_output_close(o, rc == IA_OK) != CLI_EXIT_OK &&
        code == CLI_EXIT_OK)
        code = CLI_EXIT_FAILURE;
out:
    ia_db_close(db);
    return code;
}
