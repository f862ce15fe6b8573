/*
 * A user's program, built against the installed library through
 * pkg-config (test_install.py): scans a folder into a new DB, prints the
 * summary and the JSON report's size. Only the public header.
 */
#define _POSIX_C_SOURCE 200809L  /* open_memstream */

#include <stdio.h>
#include <stdlib.h>

#include <imgaudit.h>

int main(int argc, char **argv)
{
    ia_db *db = NULL;
    ia_scan_summary sum;
    char *buf = NULL;
    size_t len = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: tiny DIR DB\n");
        return 2;
    }
    int rc = ia_db_open(argv[2], IA_DB_CREATE, &db);
    if (rc == IA_OK) {
        ia_scan_options opt = {0};
        opt.root = argv[1];
        opt.jobs = 1;
        rc = ia_scan(db, &opt, &sum);
    }
    FILE *mem = rc == IA_OK ? open_memstream(&buf, &len) : NULL;
    if (rc == IA_OK && mem) {
        rc = ia_report(db, NULL, IA_FORMAT_JSON, mem);
        fclose(mem);
    }
    if (rc != IA_OK) {
        fprintf(stderr, "tiny: %s: %s\n", ia_strerror(rc),
                db ? ia_db_errmsg(db) : "");
        ia_db_close(db);
        free(buf);
        return 1;
    }
    printf("files %llu decoded %llu errors %llu report %zu\n",
           (unsigned long long)sum.files, (unsigned long long)sum.decoded,
           (unsigned long long)sum.errors, len);
    ia_db_close(db);
    free(buf);
    return 0;
}
