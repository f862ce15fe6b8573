/*
 * imgaudit's entry point: dispatches subcommands from a table (as git.c
 * does). Each cmd_*.c owns its options and usage text; this file owns the
 * top-level help and --version.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"scan", cmd_scan, "decode and check every image under a folder"},
    {"report", cmd_report, "write the audit report of a scan"},
    {"export", cmd_export, "one row per file, as CSV or JSON lines"},
    {"scans", cmd_scans, "list the scans in a database"},
    {"merge", cmd_merge, "merge shard scans into one scan"},
    {"compare", cmd_compare, "what changed between two scans (a CI gate)"},
};

static void usage(FILE *out)
{
    fputs("Usage: imgaudit COMMAND [OPTIONS]\n"
          "\n"
          "Audits image datasets for machine learning: decodes every image,\n"
          "finds broken files, duplicates, leaks and drift, and keeps the\n"
          "results in a SQLite database (default ./" CLI_DEFAULT_DB ").\n"
          "\n"
          "Commands:\n", out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Options:\n"
          "  -h, --help     show this help\n"
          "  -V, --version  show the version\n"
          "\n"
          "Run 'imgaudit COMMAND --help' for a command's options.\n"
          "Exit codes: 0 success, 1 runtime failure, 2 usage error,\n"
          "3 findings at or above --fail-on, 130 interrupted.\n", out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 ||
        strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
        printf("imgaudit %s\n", IMGAUDIT_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    cli_error(NULL, "'%s' is not a command.", name);
    fputs("Try 'imgaudit --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}
