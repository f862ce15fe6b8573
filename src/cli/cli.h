/*
 * The command-line front end: a table of subcommands (main.c), each in a
 * cmd_*.c that owns its usage text and getopt_long table. The CLI includes
 * only the public header and is the only code that prints diagnostics or
 * chooses exit codes.
 */
#ifndef IA_CLI_H
#define IA_CLI_H

#include <signal.h>
#include <stdio.h>

#include "imgaudit.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,   /* runtime failure */
    CLI_EXIT_USAGE = 2,     /* usage error */
    CLI_EXIT_FINDINGS = 3,  /* findings at or above --fail-on */
    CLI_EXIT_INTERRUPTED = 130,
};

#define CLI_DEFAULT_DB "imgaudit.db"

/* Each subcommand: argv[0] is the subcommand name. Returns an exit code. */
int cmd_scan(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_scans(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_compare(int argc, char **argv);

/* Prints "imgaudit CMD: <message>" (cmd NULL: "imgaudit: <message>") and
 * a newline to stderr, the message through ia_fput_clean. */
void cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "imgaudit CMD: <message>" and "Try 'imgaudit CMD --help'." to
 * stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The exit code of a library error, the one rule of docs/cli.md "Exit
 * codes": 2 when what the command line named is wrong or missing
 * (IA_ERR_ARG, IA_ERR_NOT_FOUND, IA_ERR_MANIFEST), 130 interrupted, 1
 * for every other failure. */
int cli_exit_code(int err);
/* Prints "imgaudit CMD: <what>: <db message>" (the message alone when it
 * starts with what; "<what>: <strerror>" when there is none) to stderr
 * and returns cli_exit_code(err). */
int cli_fail(const char *cmd, ia_db *db, int err, const char *what);
/* Before any open: a DB to read must exist; a DB to write must be in an
 * existing folder and not be a folder. Reports and returns 2, else 0. */
int cli_check_db_path(const char *cmd, const char *path, int writer);
/* Opens the DB (flags as ia_db_open); on failure reports and returns the
 * exit code, else 0. */
int cli_open_db(const char *cmd, const char *path, int flags, ia_db **out);
/* cli_open_db for a writer (scan, merge): when another process writes
 * the DB, says so on stderr and waits for it, at most wait seconds
 * (negative: no limit; 0: refuse at once, exit 1), or until *cancel
 * (may be NULL) is set (exit 130). Nothing is written while waiting. */
int cli_open_writer(const char *cmd, const char *path, long wait,
                    const volatile sig_atomic_t *cancel, ia_db **out);
/* Parses --wait SECONDS into *wait; 0, or the usage error's exit code. */
int cli_parse_wait(const char *cmd, const char *s, long *wait);
/* The usage error for what getopt_long returned as ':' (a missing value)
 * or '?' (an unknown option); returns CLI_EXIT_USAGE. */
int cli_bad_option(const char *cmd, int c, char **argv);
/* Takes the optional single SCAN operand left after the options into
 * *scan; 0, or the usage error's exit code when there are two or more. */
int cli_optional_scan(const char *cmd, int argc, char **argv,
                      const char **scan);
/* The findings of a scan or merge summary, files and dataset-level
 * findings apart (docs/reports.md, "Counting"), into buf: "3 files with
 * errors, 2 with warnings; 1 dataset-level finding (1 error)". */
void cli_counts(char *buf, size_t cap, const ia_scan_summary *s);
/* Parses "error|warning|never" into 2/1/-1 (the minimum severity that
 * fails); returns -2 when invalid. */
int cli_parse_fail_on(const char *s);
/* Parses a non-negative integer with an optional k/M/G suffix; 0 on success. */
int cli_parse_u64(const char *s, unsigned long long *out);
/* Opens -o FILE for writing through a temporary name; cli_output_close
 * flushes, fsyncs and renames (or removes on failure). NULL path: stdout. */
typedef struct cli_output cli_output;
int cli_output_open(const char *cmd, const char *path, cli_output **out,
                    FILE **fp);
int cli_output_close(cli_output *o, int ok);

#endif
