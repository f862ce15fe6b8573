/*
 * Run by the build: writes the C source of ia_schema_built (schema.h),
 * the rows of sqlite_master at every schema version as the SQLite the
 * tool is built with writes them, so that opening a DB compares its
 * schema with constants instead of building the expected one in memory
 * (about 3.5 ms at every open; docs/performance.md). The open still
 * builds it when the two differ, so a DB written by another SQLite
 * version is judged exactly as before.
 *
 *     schema_gen OUTPUT.c
 */
#include <stdio.h>
#include <stdlib.h>

#include "store/schema.h"

/* s as a C string literal: printable ASCII as is but for the quote, the
 * backslash and '?' (no trigraphs), everything else in octal. */
static void literal(FILE *f, const char *s)
{
    if (!s) {
        fputs("NULL", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '?')
            fprintf(f, "\\%c", *p);
        else if (*p >= 0x20 && *p < 0x7f)
            fputc(*p, f);
        else
            fprintf(f, "\\%03o", *p);
    }
    fputc('"', f);
}

static int version_rows(FILE *f, int v)
{
    ia_schema_row *rows;
    size_t n;
    char err[256] = "";
    if (ia_schema_rows_now(v, &rows, &n, err, sizeof err) != SQLITE_OK) {
        fprintf(stderr, "schema_gen: version %d: %s\n", v, err);
        return -1;
    }
    fprintf(f, "static const ia_schema_row v%d[] = {\n", v);
    for (size_t i = 0; i < n; i++) {
        const char *col[4] = {rows[i].type, rows[i].name, rows[i].tbl_name,
                              rows[i].sql};
        fputs("    {", f);
        for (int c = 0; c < 4; c++) {
            literal(f, col[c]);
            fputs(c < 3 ? ",\n     " : "},\n", f);
        }
    }
    fprintf(f, "};\n\n");
    free(rows);
    return (int)n;
}

int main(int argc, char **argv)
{
    int n[IA_SCHEMA_LATEST + 1] = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: schema_gen OUTPUT.c\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fprintf(f, "/* Written by schema_gen (SQLite %s) at build time. */\n"
               "#include \"store/schema.h\"\n\n", sqlite3_libversion());
    for (int v = 1; v <= IA_SCHEMA_LATEST; v++)
        if ((n[v] = version_rows(f, v)) < 0) {
            fclose(f);
            remove(argv[1]);
            return 1;
        }
    fprintf(f, "const ia_schema_row *const "
               "ia_schema_built[IA_SCHEMA_LATEST + 1] = {\n    NULL,\n");
    for (int v = 1; v <= IA_SCHEMA_LATEST; v++)
        fprintf(f, "    v%d,\n", v);
    fprintf(f, "};\n\nconst size_t ia_schema_built_n[IA_SCHEMA_LATEST + 1]"
               " = {\n    0,\n");
    for (int v = 1; v <= IA_SCHEMA_LATEST; v++)
        fprintf(f, "    %d,\n", n[v]);
    fprintf(f, "};\n");
    if (fclose(f) != 0) {
        perror(argv[1]);
        remove(argv[1]);
        return 1;
    }
    return 0;
}
