/*
 * imgaudit scan: scan a folder, an archive or a stream into the DB. It
 * installs a
 * signal handler: SIGINT/SIGTERM set a flag the library polls, so an
 * interrupted scan stores what it has and is marked incomplete.
 */
#include <getopt.h>
#include <limits.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static const char usage_text[] =
    "Usage: imgaudit scan PATH [OPTIONS]\n"
    "\n"
    "Decodes every file under PATH, classifies it (ok, truncated, corrupt,\n"
    "unsupported, not_image, empty, unreadable, too_large), measures it and\n"
    "stores the results as a new scan in the database.\n"
    "\n"
    "PATH is a folder, one archive (.tar, .tar.gz, .tgz, .tar.zst, .zip), or\n"
    "- to read one archive from standard input. Archives in a folder are\n"
    "read in place, their members scanned as files (docs/archives.md).\n"
    "\n"
    "Options:\n"
    "  --db FILE            database (default ./" CLI_DEFAULT_DB ")\n"
    "  --name NAME          scan name (default: PATH's base name); for -,\n"
    "                       also the archive's name: members are NAME/MEMBER\n"
    "                       (default stdin)\n"
    "  --manifest CSV       take files, labels and splits from a CSV with\n"
    "                       columns path,label[,split] instead of folders\n"
    "  --coco [SPLIT=]FILE  audit the COCO annotations in FILE (a JSON file;\n"
    "                       repeat per split; SPLIT: train, val, test ...,\n"
    "                       else the split of the images it names)\n"
    "  --yolo [DATA.yaml]   audit the YOLO layout under DIR (images/ and\n"
    "                       labels/ side by side); class names from\n"
    "                       DATA.yaml (default DIR/data.yaml if present)\n"
    "  --allow-outside      scan manifest rows outside DIR instead of\n"
    "                       refusing them (outside_root finding)\n"
    "  -j, --jobs N         worker threads (default: online CPUs)\n"
    "  --max-pixels N       images with more pixels are too_large, refused\n"
    "                       before decoding (default 178956970; k/M/G ok)\n"
    "  --max-memory BYTES   decoder buffers all workers may hold together;\n"
    "                       a file needing more alone is too_large\n"
    "                       (default 1 GiB, at least 9 bytes per\n"
    "                       --max-pixels; k/M/G ok)\n"
    "  --follow-symlinks    follow symlinked files and folders (loops are\n"
    "                       detected and reported)\n"
    "  --exclude GLOB       leave out files and folders whose path under\n"
    "                       PATH or whose name matches GLOB (repeatable;\n"
    "                       quote it: --exclude '*.txt', --exclude\n"
    "                       'train/junk')\n"
    "  --shard K/N          scan only shard K (0 to N-1) of N: the files whose\n"
    "                       path (in an archive, its archive's) hashes there;\n"
    "                       join shards with 'imgaudit merge'\n"
    "                       (docs/scale-out.md)\n"
    "  --label-field FIELD  WebDataset: a sample's label is this field of its\n"
    "                       .json (when it has no .cls or .label)\n"
    "  --max-members N      entries read from one archive at most; further\n"
    "                       ones are refused (default 1000000; k/M/G ok)\n"
    "  --reuse DB           take over the results of DB's latest complete\n"
    "                       scan (DB may be --db itself) for files whose\n"
    "                       bytes are unchanged: read and hashed, not\n"
    "                       decoded again (docs/performance.md)\n"
    "  --trust-mtime        with --reuse: a file whose path, size and mtime\n"
    "                       match is taken over without reading it\n"
    "  --resume             finish the interrupted scan of this name in --db\n"
    "                       (same DIR and options): files it stored are kept\n"
    "  --loader LIST        the training loader profiles whose findings\n"
    "                       the summary and reports show: comma-separated\n"
    "                       pillow, torchvision, keras, tf-data, opencv\n"
    "                       (default pillow; docs/loaders.md)\n"
    "  --policy FILE        severities per finding code (JSON, as compare's;\n"
    "                       docs/compare.md), kept for the scan's reports\n"
    "  --fail-on LEVEL      exit 3 when a finding is at or above LEVEL:\n"
    "                       error, warning or never (default never)\n"
    "  --wait SECONDS       while another scan or merge writes --db, wait\n"
    "                       at most this long for it (default: until it\n"
    "                       ends; 0: exit 1 at once, nothing written)\n"
    "  -q, --quiet          no progress line and no summary\n"
    "  -h, --help           show this help\n";

#define MAX_COCO 64

typedef struct scan_args {
    const char *db;
    const char *coco[MAX_COCO];
    int quiet;
    int fail_on;
    long wait;
    const char **exclude;   /* argc slots: --exclude can't be given more */
    ia_scan_options opt;
} scan_args;

enum { OPT_DB = 256, OPT_NAME, OPT_MANIFEST, OPT_MAX_PIXELS, OPT_FOLLOW,
       OPT_FAIL_ON, OPT_ALLOW_OUTSIDE, OPT_SHARD, OPT_REUSE,
       OPT_TRUST_MTIME, OPT_RESUME, OPT_MAX_MEMORY, OPT_WAIT,
       OPT_LABEL_FIELD, OPT_MAX_MEMBERS, OPT_EXCLUDE, OPT_LOADER, OPT_POLICY,
       OPT_COCO, OPT_YOLO };

static int is_yaml(const char *s)
{
    size_t n = strlen(s);
    return (n > 5 && strcmp(s + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(s + n - 4, ".yml") == 0);
}

/* --yolo takes its data.yaml as --yolo=FILE or as the next argument
 * when that names a .yaml/.yml file: `--yolo data.yaml` reads as meant. */
static void yolo_arg(int argc, char **argv, scan_args *a)
{
    a->opt.yolo = 1;
    if (optarg)
        a->opt.yolo_yaml = optarg;
    else if (optind < argc && argv[optind][0] != '-' &&
             is_yaml(argv[optind]))
        a->opt.yolo_yaml = argv[optind++];
}

static int parse_args(int argc, char **argv, scan_args *a)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"name", required_argument, NULL, OPT_NAME},
        {"manifest", required_argument, NULL, OPT_MANIFEST},
        {"allow-outside", no_argument, NULL, OPT_ALLOW_OUTSIDE},
        {"coco", required_argument, NULL, OPT_COCO},
        {"yolo", optional_argument, NULL, OPT_YOLO},
        {"jobs", required_argument, NULL, 'j'},
        {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
        {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
        {"follow-symlinks", no_argument, NULL, OPT_FOLLOW},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"reuse", required_argument, NULL, OPT_REUSE},
        {"trust-mtime", no_argument, NULL, OPT_TRUST_MTIME},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"wait", required_argument, NULL, OPT_WAIT},
        {"label-field", required_argument, NULL, OPT_LABEL_FIELD},
        {"max-members", required_argument, NULL, OPT_MAX_MEMBERS},
        {"exclude", required_argument, NULL, OPT_EXCLUDE},
        {"loader", required_argument, NULL, OPT_LOADER},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long long v;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":j:qh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: a->db = optarg; break;
        case OPT_NAME: a->opt.name = optarg; break;
        case OPT_MANIFEST: a->opt.manifest = optarg; break;
        case OPT_FOLLOW: a->opt.follow_symlinks = 1; break;
        case OPT_ALLOW_OUTSIDE: a->opt.allow_outside = 1; break;
        case OPT_REUSE: a->opt.reuse_db = optarg; break;
        case OPT_TRUST_MTIME: a->opt.trust_mtime = 1; break;
        case OPT_RESUME: a->opt.resume = 1; break;
        case OPT_YOLO: yolo_arg(argc, argv, a); break;
        case OPT_COCO:
            if (a->opt.ncoco == MAX_COCO)
                return cli_usage_error("scan", "at most %d --coco files",
                                       MAX_COCO);
            a->coco[a->opt.ncoco++] = optarg;
            a->opt.coco = a->coco;
            break;
        case OPT_LABEL_FIELD: a->opt.label_field = optarg; break;
        case OPT_EXCLUDE:
            if (!*optarg)
                return cli_usage_error("scan", "--exclude needs a glob");
            a->exclude[a->opt.nexclude++] = optarg;
            break;
        case OPT_MAX_MEMBERS:
            if (cli_parse_u64(optarg, &v) || v < 1)
                return cli_usage_error("scan", "--max-members needs a "
                                               "positive number, not '%s'",
                                       optarg);
            a->opt.max_members = v;
            break;
        case OPT_LOADER: a->opt.loaders = optarg; break;
        case OPT_POLICY: a->opt.policy = optarg; break;
        case 'q': a->quiet = 1; break;
        case 'h': fputs(usage_text, stdout); return -1;
        case 'j':
            if (cli_parse_u64(optarg, &v) || v < 1 || v > 1024)
                return cli_usage_error("scan", "-j needs a number from 1 to "
                                               "1024, not '%s'", optarg);
            a->opt.jobs = (unsigned)v;
            break;
        case OPT_MAX_PIXELS:
            if (cli_parse_u64(optarg, &v) || v < 1)
                return cli_usage_error("scan", "--max-pixels needs a "
                                               "positive number, not '%s'",
                                       optarg);
            a->opt.max_pixels = v;
            break;
        case OPT_MAX_MEMORY:
            if (cli_parse_u64(optarg, &v) || v < 1)
                return cli_usage_error("scan", "--max-memory needs a "
                                               "positive number of bytes, "
                                               "not '%s'", optarg);
            a->opt.max_memory = v;
            break;
        case OPT_FAIL_ON:
            a->fail_on = cli_parse_fail_on(optarg);
            if (a->fail_on == -2)
                return cli_usage_error("scan", "--fail-on must be error, "
                                               "warning or never");
            break;
        case OPT_WAIT:
            if (cli_parse_wait("scan", optarg, &a->wait))
                return CLI_EXIT_USAGE;
            break;
        case OPT_SHARD:
            if (ia_shard_parse(optarg, &a->opt.shard_k, &a->opt.shard_n))
                return cli_usage_error("scan", "--shard needs K/N with K "
                                               "from 0 to N-1, N up to 1000 "
                                               "(e.g. 0/4), "
                                               "not '%s'", optarg);
            break;
        default:
            return cli_bad_option("scan", c, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("scan", optind >= argc
                                           ? "missing the folder, archive or "
                                             "- to scan"
                                           : "expected one PATH, got more");
    if (a->opt.trust_mtime && !a->opt.reuse_db)
        return cli_usage_error("scan", "--trust-mtime needs --reuse DB");
    /* an archive is no typing: a terminal there is a forgotten pipe */
    if (strcmp(argv[optind], "-") == 0 && isatty(STDIN_FILENO))
        return cli_usage_error("scan", "- reads an archive from standard "
                                       "input, which is a terminal");
    a->opt.root = argv[optind];
    return 0;
}

typedef struct progress_state {
    double last;
} progress_state;

/* "1:05" or "1:02:05". */
static void fmt_duration(double s, char *out, size_t cap)
{
    unsigned long t = s < 0 ? 0 : s > 359999 ? 359999 : (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, cap, "%lu:%02lu", t / 60, t % 60);
}

/* One line, redrawn at most ten times a second: done of total, percent,
 * rate, elapsed and time left once the count ahead has the total (as
 * tqdm and pv show it), and the findings so far. */
static void show_progress(void *user, const ia_progress *p)
{
    progress_state *ps = user;
    char took[24], left[24], of[64] = "";
    if (p->seconds - ps->last < 0.1)
        return;
    ps->last = p->seconds;
    double rate = p->seconds > 0 ? (double)p->files_done / p->seconds : 0.0;
    fmt_duration(p->seconds, took, sizeof took);
    if (p->files_total >= p->files_done && p->files_total > 0) {
        double left_s = rate > 0 ? (double)(p->files_total - p->files_done) /
                                       rate : 0.0;
        fmt_duration(left_s, left, sizeof left);
        snprintf(of, sizeof of, "/%llu files (%.0f%%)",
                 (unsigned long long)p->files_total,
                 100.0 * (double)p->files_done / (double)p->files_total);
        fprintf(stderr, "\rimgaudit scan: %llu%s, %.0f files/s, %s "
                "elapsed, %s left; %llu errors, %llu warnings\033[K",
                (unsigned long long)p->files_done, of, rate, took,
                rate > 0 ? left : "?", (unsigned long long)p->errors,
                (unsigned long long)p->warnings);
        return;
    }
    fprintf(stderr, "\rimgaudit scan: %llu files (counting), %.0f files/s, "
            "%s elapsed; %llu errors, %llu warnings\033[K",
            (unsigned long long)p->files_done, rate, took,
            (unsigned long long)p->errors, (unsigned long long)p->warnings);
}

static void print_summary(const ia_scan_summary *s, int interrupted_)
{
    char unchanged[96] = "", counts[160];
    cli_counts(counts, sizeof counts, s);
    if (s->unchanged && s->same_as > 0)
        snprintf(unchanged, sizeof unchanged, "; unchanged since scan %lld "
                 "(its rows are shared)", (long long)s->same_as);
    else if (s->unchanged)
        snprintf(unchanged, sizeof unchanged, "; unchanged since the reused "
                 "scan (its rows were copied)");
    fprintf(stderr,
            "imgaudit scan: %s%llu files, %llu decoded; %s; %.1f MP in "
            "%.2f s (%.0f images/s)%s\n",
            interrupted_ ? "INTERRUPTED, incomplete: " : "",
            (unsigned long long)s->files, (unsigned long long)s->decoded,
            counts, s->megapixels, s->seconds,
            s->seconds > 0 ? (double)s->files / s->seconds : 0.0, unchanged);
}

/* What the command line names must be there before the DB is created
 * or touched: a scan that cannot start leaves nothing behind. */
static int check_inputs(const scan_args *a)
{
    struct stat st;
    char err[PATH_MAX + 128];
    if (ia_scan_check(&a->opt, err, sizeof err) != IA_OK) {
        cli_error("scan", "%s", err);
        return CLI_EXIT_USAGE;
    }
    if (a->opt.manifest && access(a->opt.manifest, R_OK) != 0) {
        cli_error("scan", "--manifest %s: %s", a->opt.manifest,
                  errno == ENOENT ? "no such file" : strerror(errno));
        return CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < a->opt.ncoco; i++) {
        const char *eq = strchr(a->opt.coco[i], '=');
        const char *f = eq && access(a->opt.coco[i], R_OK) != 0
                            ? eq + 1 : a->opt.coco[i];
        if (access(f, R_OK) != 0) {
            cli_error("scan", "--coco %s: %s", f, strerror(errno));
            return CLI_EXIT_USAGE;
        }
    }
    if (a->opt.yolo_yaml && access(a->opt.yolo_yaml, R_OK) != 0) {
        cli_error("scan", "--yolo %s: %s", a->opt.yolo_yaml,
                  strerror(errno));
        return CLI_EXIT_USAGE;
    }
    /* --reuse of the DB being written may name one not made yet (a
     * first run); any other must exist. */
    if (a->opt.reuse_db && strcmp(a->opt.reuse_db, a->db) != 0 &&
        stat(a->opt.reuse_db, &st) != 0) {
        cli_error("scan", "--reuse %s: no such database", a->opt.reuse_db);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* One argument as a POSIX shell reads it back: bare when only safe
 * characters, else in single quotes (a quote inside as '\''). */
static void put_shell_word(const char *arg)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%";
    if (arg[0] && strspn(arg, safe) == strlen(arg)) {
        fprintf(stderr, " %s", arg);
        return;
    }
    fputs(" '", stderr);
    for (const char *c = arg; *c; c++) {
        if (*c == '\'')
            fputs("'\\''", stderr);
        else
            fputc(*c, stderr);
    }
    fputc('\'', stderr);
}

/* The command that finishes an interrupted scan: this one's arguments
 * (argv[0] is "scan") with --resume, once. */
static void print_resume(int argc, char **argv)
{
    int has = 0;
    fputs("imgaudit scan: to finish it, run:\n  imgaudit", stderr);
    for (int i = 0; i < argc; i++) {
        has |= strcmp(argv[i], "--resume") == 0;
        put_shell_word(argv[i]);
    }
    fputs(has ? "\n" : " --resume\n", stderr);
}

static int run(int argc, char **argv, scan_args *a);

int cmd_scan(int argc, char **argv)
{
    scan_args a = {.db = CLI_DEFAULT_DB, .fail_on = -1, .wait = -1};
    a.exclude = calloc((size_t)argc + 1, sizeof *a.exclude);
    if (!a.exclude) {
        cli_error("scan", "out of memory");
        return CLI_EXIT_FAILURE;
    }
    a.opt.exclude = a.exclude;
    int code = run(argc, argv, &a);
    free(a.exclude);
    return code;
}

static int run(int argc, char **argv, scan_args *ap)
{
    scan_args a = *ap;
    progress_state ps = {0};
    ia_scan_summary sum = {0};
    ia_db *db = NULL;
    int code = parse_args(argc, argv, &a);
    if (code != 0)
        return code < 0 ? CLI_EXIT_OK : code;
    code = check_inputs(&a);
    if (code != CLI_EXIT_OK)
        return code;
    /* Before the open: Ctrl-C also ends a wait for another writer. */
    install_handlers();
    code = cli_open_writer("scan", a.db, a.wait, &interrupted, &db);
    if (code != CLI_EXIT_OK)
        return code;
    a.opt.cancel = &interrupted;
    int show = !a.quiet && isatty(STDERR_FILENO);
    if (show) {
        a.opt.progress = show_progress;
        a.opt.user = &ps;
    }
    int rc = ia_scan(db, &a.opt, &sum);
    if (show)
        fputs("\r\033[K", stderr);
    if (rc == IA_OK || rc == IA_ERR_INTERRUPTED) {
        if (!a.quiet || rc == IA_ERR_INTERRUPTED)
            print_summary(&sum, rc == IA_ERR_INTERRUPTED);
        if (rc == IA_ERR_INTERRUPTED)
            print_resume(argc, argv);
        code = rc == IA_OK ? CLI_EXIT_OK : CLI_EXIT_INTERRUPTED;
        if (rc == IA_OK && a.fail_on >= 0 &&
            ((a.fail_on <= 2 && sum.errors > 0) ||
             (a.fail_on <= 1 && sum.warnings > 0)))
            code = CLI_EXIT_FINDINGS;
    } else {
        code = cli_fail("scan", db, rc, a.opt.root);
    }
    ia_db_close(db);
    return code;
}
