/*
 * compare_html BASE NEW OUT.html: writes the HTML page of `imgaudit
 * compare BASE NEW` through ia_html_compare, so the HTML tests can check
 * the compare page whether or not the CLI offers --format html yet.
 * Exit 0 on success, 1 with a message on failure.
 */
#include <stdio.h>

#include "compare/writers.h"
#include "imgaudit.h"

int main(int argc, char **argv)
{
    ia_compare *c = NULL;
    ia_compare_options opt = {0};
    if (argc != 4) {
        fputs("usage: compare_html BASE NEW OUT.html\n", stderr);
        return 2;
    }
    int rc = ia_compare_open(argv[1], argv[2], &opt, &c);
    FILE *f = rc == IA_OK ? fopen(argv[3], "w") : NULL;
    if (rc == IA_OK && !f)
        rc = IA_ERR_IO;
    if (rc == IA_OK)
        rc = ia_html_compare(c, f, NULL);
    if (f && fclose(f) != 0 && rc == IA_OK)
        rc = IA_ERR_IO;
    if (rc != IA_OK)
        fprintf(stderr, "compare_html: %s: %s\n", ia_strerror(rc),
                ia_compare_errmsg(c));
    ia_compare_close(c);
    return rc == IA_OK ? 0 : 1;
}
