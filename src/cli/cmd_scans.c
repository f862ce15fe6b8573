/*
 * imgaudit scans: lists the scans a DB holds (id, name, complete, files,
 * decoded, where its rows are, its share of the DB, start time, root),
 * so a user can pick one for report, export or compare, or delete one
 * (--delete) to reclaim its space. Listing opens the DB read-only;
 * deleting takes the writer's lock like scan and merge.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char usage_text[] =
    "Usage: imgaudit scans [OPTIONS]\n"
    "\n"
    "Lists the scans in the database: id, name, whether the scan completed,\n"
    "files, decoded images, where its rows are (its own, or '= scan N' for\n"
    "an unchanged rescan sharing scan N's), its estimated share of the DB\n"
    "file, start time (UTC) and root folder.\n"
    "\n"
    "Options:\n"
    "  --db FILE            database (default ./" CLI_DEFAULT_DB ")\n"
    "  --delete SCAN        delete this scan (an id, or a name: its latest)\n"
    "                       and all its rows, then give the space back to\n"
    "                       the file system (VACUUM); then list the rest\n"
    "  --wait SECONDS       with --delete: while a scan or merge writes\n"
    "                       --db, wait at most this long (default: until\n"
    "                       it ends)\n"
    "  -h, --help           show this help\n";

enum { OPT_DB = 256, OPT_DELETE, OPT_WAIT };

/* --delete: the scan and its rows gone, the file shrunk, said on stderr. */
static int delete_scan(const char *path, const char *ref, long wait)
{
    ia_db *db = NULL;
    uint64_t before = 0, after = 0;
    int code = cli_check_db_path("scans", path, 0);
    if (code == CLI_EXIT_OK)
        code = cli_open_writer("scans", path, wait, NULL, &db);
    if (code != CLI_EXIT_OK)
        return code;
    int rc = ia_scan_delete(db, ref, &before, &after);
    if (rc != IA_OK)
        code = cli_fail("scans", db, rc, path);
    else
        fprintf(stderr, "imgaudit scans: deleted scan %s; %s went from "
                "%.1f MB to %.1f MB\n", ref, path, (double)before / 1e6,
                (double)after / 1e6);
    ia_db_close(db);
    return code;
}

int cmd_scans(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"delete", required_argument, NULL, OPT_DELETE},
        {"wait", required_argument, NULL, OPT_WAIT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = CLI_DEFAULT_DB, *victim = NULL;
    long wait = -1;
    ia_db *db = NULL;
    int c;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: path = optarg; break;
        case OPT_DELETE: victim = optarg; break;
        case OPT_WAIT:
            if (cli_parse_wait("scans", optarg, &wait))
                return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(usage_text, stdout); return CLI_EXIT_OK;
        default:
            return cli_bad_option("scans", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("scans", "unexpected argument '%s'",
                               argv[optind]);
    int code = victim ? delete_scan(path, victim, wait) : CLI_EXIT_OK;
    if (code == CLI_EXIT_OK)
        code = cli_open_db("scans", path, IA_DB_READONLY, &db);
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
