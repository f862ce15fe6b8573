/*
 * mkhostile: the helper of test_limits.py. It writes the hostile JPEGs
 * that Python's standard library cannot make, with libjpeg's compressor so
 * that every file is valid except for what it is meant to abuse, and it
 * measures a command's peak memory.
 *
 *   mkhostile scans N WIDTH HEIGHT OUT.jpg
 *   mkhostile rusage OUT.txt COMMAND [ARGS...]
 *
 * A progressive 3-component (4:4:4) JPEG with exactly N scans (1 to 2080):
 * one DC scan, then single-coefficient AC scans sent by successive
 * approximation (first at Al = 10, then ten refinements) component by
 * component, band by band, cut after N scans. The spec does not require
 * every bit of every coefficient to be sent, so any N is a valid file
 * (libjpeg's own validate_script agrees). The picture is a smooth
 * gradient, so the scans are tiny and a 2048x2048 file with 2000 scans is
 * a few hundred KB: what a decoder spends on it is the scans, not the
 * data.
 *
 * rusage runs COMMAND and writes its peak RSS (KB, from wait4) to OUT.txt;
 * it exits as COMMAND did (128 + N when killed by signal N). Python cannot
 * measure this itself: a child's ru_maxrss starts from the RSS of the
 * process that forked it, and the test process holds the hostile files it
 * builds. This helper is small, so what it forks starts near zero.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jpeglib.h>

#define MAX_SCANS (1 + 3 * 63 * 11)

static int build_script(jpeg_scan_info *s, int n)
{
    int k = 0;
    s[k].comps_in_scan = 3;
    for (int c = 0; c < 3; c++)
        s[k].component_index[c] = c;
    s[k].Ss = s[k].Se = 0;
    s[k].Ah = s[k].Al = 0;
    k++;
    for (int c = 0; c < 3 && k < n; c++) {
        for (int band = 1; band < 64 && k < n; band++) {
            for (int al = 10; al >= 0 && k < n; al--, k++) {
                s[k].comps_in_scan = 1;
                s[k].component_index[0] = c;
                s[k].Ss = s[k].Se = band;
                s[k].Ah = al == 10 ? 0 : al + 1;
                s[k].Al = al;
            }
        }
    }
    return k;
}

static int write_scans(int n, JDIMENSION w, JDIMENSION h, const char *out)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    jpeg_scan_info *script = calloc(MAX_SCANS, sizeof *script);
    unsigned char *row = malloc((size_t)w * 3);
    FILE *fp = fopen(out, "wb");
    if (!script || !row || !fp) {
        fprintf(stderr, "mkhostile: cannot write %s\n", out);
        free(script);
        free(row);
        if (fp)
            fclose(fp);
        return 1;
    }
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, fp);
    ci.image_width = w;
    ci.image_height = h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 90, TRUE);
    for (int c = 0; c < 3; c++)
        ci.comp_info[c].h_samp_factor = ci.comp_info[c].v_samp_factor = 1;
    ci.scan_info = script;
    ci.num_scans = build_script(script, n);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < h) {
        for (JDIMENSION x = 0; x < w; x++) {
            row[3 * x] = (unsigned char)(x * 255 / w);
            row[3 * x + 1] = (unsigned char)(ci.next_scanline * 255 / h);
            row[3 * x + 2] = 128;
        }
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&ci, rows, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(script);
    free(row);
    return fclose(fp) == 0 ? 0 : 1;
}

static int rusage_of(const char *out, char **cmd)
{
    struct rusage ru;
    int status = 0;
    pid_t pid = fork();
    if (pid < 0)
        return 125;
    if (pid == 0) {
        execvp(cmd[0], cmd);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) != pid)
        return 125;
    FILE *fp = fopen(out, "w");
    if (!fp || fprintf(fp, "%ld\n", ru.ru_maxrss) < 0 || fclose(fp) != 0)
        return 125;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "rusage") == 0)
        return rusage_of(argv[2], argv + 3);
    if (argc == 6 && strcmp(argv[1], "scans") == 0) {
        int n = (int)strtol(argv[2], NULL, 10);
        long w = strtol(argv[3], NULL, 10), h = strtol(argv[4], NULL, 10);
        if (n >= 1 && n <= MAX_SCANS && w > 0 && h > 0 && w <= 65500 &&
            h <= 65500)
            return write_scans(n, (JDIMENSION)w, (JDIMENSION)h, argv[5]);
    }
    fprintf(stderr, "usage: mkhostile scans N(1-%d) WIDTH HEIGHT OUT.jpg\n"
                    "       mkhostile rusage OUT.txt COMMAND [ARGS...]\n",
            MAX_SCANS);
    return 2;
}
