/*
 * imgaudit scans: lists the scans a DB holds (id, name, complete, files,
 * decoded, start time, root), so a user can pick one for report, export
 * or compare. The DB is opened read-only.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char usage_text[] =
    "Usage: imgaudit scans [OPTIONS]\n"
    "\n"
    "Lists the scans in the database: id, name, whether the scan completed,\n"
    "files, decoded images, start time (UTC) and root folder.\n"
    "\n"
    "Options:\n"
    "  --db FILE            database (default ./" CLI_DEFAULT_DB ")\n"
    "  -h, --help           show this help\n";

enum { OPT_DB = 256 };

int cmd_scans(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = CLI_DEFAULT_DB;
    ia_db *db = NULL;
    int c;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: path = optarg; break;
        case 'h': fputs(usage_text, stdout); return CLI_EXIT_OK;
        default:
            return cli_bad_option("scans", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("scans", "unexpected argument '%s'",
                               argv[optind]);
    int code = cli_open_db("scans", path, IA_DB_READONLY, &db);
    if (code != CLI_EXIT_OK)
        return code;
    int rc = ia_list_scans(db, stdout);
    if (rc != IA_OK)
        code = cli_fail("scans", db, rc, path);
    else if (fflush(stdout) != 0)
        code = CLI_EXIT_FAILURE;
    ia_db_close(db);
    return code;
}
