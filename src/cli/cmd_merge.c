/*
 * imgaudit merge: shard DBs (scan --shard K/N) into one scan of OUT.db.
 * The checks and the merge are the library's (ia_merge); this file maps
 * them to messages and exit codes: a refused merge (shard missing, failed
 * or not matching) is a runtime failure, exit 1.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char usage_text[] =
    "Usage: imgaudit merge OUT.db SHARD.db... [OPTIONS]\n"
    "\n"
    "Merges the scans of shard databases, made with 'imgaudit scan --shard\n"
    "K/N', into one new scan in OUT.db (created if missing), then runs the\n"
    "dataset-wide analysis (duplicates, leaks, label conflicts, mode mix)\n"
    "over all files: the result equals one scan of the whole tree. The\n"
    "shards must share root, options, N and imgaudit version, and every K\n"
    "from 0 to N-1 must be there once. Shard DBs are opened read-only.\n"
    "\n"
    "Options:\n"
    "  --name NAME          merged scan's name (default: the shards' name)\n"
    "  --allow-partial      merge even when shards are missing or did not\n"
    "                       finish: the scan is marked incomplete and gets\n"
    "                       a shard_missing finding per gap\n"
    "  -j, --jobs N         threads for the analysis (default: online CPUs)\n"
    "  --fail-on LEVEL      exit 3 when a finding is at or above LEVEL:\n"
    "                       error, warning or never (default never)\n"
    "  --wait SECONDS       while another scan or merge writes OUT.db, wait\n"
    "                       at most this long for it (default: until it\n"
    "                       ends; 0: exit 1 at once, nothing written)\n"
    "  -q, --quiet          no summary line\n"
    "  -h, --help           show this help\n";

typedef struct merge_args {
    const char *out;
    const char *const *shards;
    size_t nshards;
    int quiet;
    int fail_on;
    long wait;
    ia_merge_options opt;
} merge_args;

enum { OPT_NAME = 256, OPT_PARTIAL, OPT_FAIL_ON, OPT_WAIT };

static int parse_args(int argc, char **argv, merge_args *a)
{
    static const struct option longopts[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"allow-partial", no_argument, NULL, OPT_PARTIAL},
        {"jobs", required_argument, NULL, 'j'},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"wait", required_argument, NULL, OPT_WAIT},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long long v;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":j:qh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_NAME: a->opt.name = optarg; break;
        case OPT_PARTIAL: a->opt.allow_partial = 1; break;
        case 'q': a->quiet = 1; break;
        case 'h': fputs(usage_text, stdout); return -1;
        case 'j':
            if (cli_parse_u64(optarg, &v) || v < 1 || v > 1024)
                return cli_usage_error("merge", "-j needs a number from 1 "
                                                "to 1024, not '%s'", optarg);
            a->opt.jobs = (unsigned)v;
            break;
        case OPT_WAIT:
            if (cli_parse_wait("merge", optarg, &a->wait))
                return CLI_EXIT_USAGE;
            break;
        case OPT_FAIL_ON:
            a->fail_on = cli_parse_fail_on(optarg);
            if (a->fail_on == -2)
                return cli_usage_error("merge", "--fail-on must be error, "
                                                "warning or never");
            break;
        default:
            return cli_bad_option("merge", c, argv);
        }
    }
    if (argc - optind < 2)
        return cli_usage_error("merge", optind >= argc
                                            ? "missing the output database"
                                            : "missing the shard databases");
    a->out = argv[optind];
    a->shards = (const char *const *)(argv + optind + 1);
    a->nshards = (size_t)(argc - optind - 1);
    return 0;
}

static void on_note(void *user, const char *msg)
{
    (void)user;
    cli_error("merge", "warning: %s", msg);
}

static void print_summary(const ia_merge_summary *m)
{
    const ia_scan_summary *s = &m->scan;
    char counts[160];
    cli_counts(counts, sizeof counts, s);
    fprintf(stderr,
            "imgaudit merge: %s%u of %u shards, %llu files, %llu decoded; "
            "%s (%.2f s)\n",
            m->complete ? "" : "INCOMPLETE: ", m->merged, m->shard_n,
            (unsigned long long)s->files, (unsigned long long)s->decoded,
            counts, s->seconds);
}

int cmd_merge(int argc, char **argv)
{
    merge_args a = {.fail_on = -1, .wait = -1};
    ia_merge_summary sum;
    ia_db *db = NULL;
    int code = parse_args(argc, argv, &a);
    if (code != 0)
        return code < 0 ? CLI_EXIT_OK : code;
    a.opt.note = on_note;
    code = cli_open_writer("merge", a.out, a.wait, NULL, &db);
    if (code != CLI_EXIT_OK)
        return code;
    int rc = ia_merge(db, a.shards, a.nshards, &a.opt, &sum);
    if (rc == IA_OK) {
        if (!a.quiet)
            print_summary(&sum);
        if (a.fail_on >= 0 &&
            ((a.fail_on <= 2 && sum.scan.errors > 0) ||
             (a.fail_on <= 1 && sum.scan.warnings > 0)))
            code = CLI_EXIT_FINDINGS;
    } else {
        code = cli_fail("merge", db, rc, NULL);
    }
    ia_db_close(db);
    return code;
}
