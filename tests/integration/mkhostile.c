/*
 * mkhostile: the helper of test_limits.py. It writes the hostile JPEGs
 * that Python's standard library cannot make, with libjpeg's compressor so
 * that every file is valid except for what it is meant to abuse, and it
 * measures a command's peak memory.
 *
 *   mkhostile scans N WIDTH HEIGHT OUT.jpg
 *   mkhostile flat N WIDTH HEIGHT OUT.jpg
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
 * flat writes the same progression, but by hand and in time proportional
 * to its bytes (libjpeg's compressor makes a pass per scan: minutes at
 * 12000 x 12000): every coefficient is zero (a flat gray picture), so the
 * DC scan costs one bit per block (a one-code Huffman table) and each AC
 * scan a few end-of-band runs of 32767 blocks. That is the least data a
 * Huffman-coded progressive JPEG can cover its blocks with: the most
 * coefficient memory, and the most work per scan, its bytes can buy.
 *
 * rusage runs COMMAND and writes its peak RSS (KB, from wait4) and its
 * CPU time (user + system seconds, which a loaded machine stretches far
 * less than wall time) to OUT.txt, one a line; it exits as COMMAND did
 * (128 + N when killed by signal N). Python cannot measure this itself:
 * a child's ru_maxrss starts from the RSS of the process that forked it,
 * and the test process holds the hostile files it builds. This helper
 * is small, so what it forks starts near zero.
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

/* ---- flat: a progressive JPEG written by hand -------------------------- */

typedef struct bitw {
    FILE *fp;
    unsigned acc;   /* bits not yet written, right-aligned */
    int nacc;
} bitw;

static void put_byte(bitw *b, unsigned v)
{
    fputc((int)v, b->fp);
    if (v == 0xFF)
        fputc(0, b->fp); /* byte stuffing in entropy-coded data */
}

static void put_bits(bitw *b, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        b->acc = b->acc << 1 | ((v >> i) & 1u);
        if (++b->nacc == 8) {
            put_byte(b, b->acc);
            b->acc = 0;
            b->nacc = 0;
        }
    }
}

/* Pads the last byte with ones, as the spec asks. */
static void flush_bits(bitw *b)
{
    if (b->nacc > 0)
        put_bits(b, 0xFFu, 8 - b->nacc);
}

static void put16(FILE *fp, unsigned v)
{
    fputc((int)(v >> 8), fp);
    fputc((int)(v & 0xFF), fp);
}

/* An end-of-band run of n (1..32767) blocks: symbol r << 4 with r =
 * floor(log2 n), then the r low bits. The AC table gives symbol 16k the
 * 4-bit code k (k = 0..14). */
static void put_eobrun(bitw *b, unsigned long n)
{
    int r = 0;
    while ((n >> (r + 1)) != 0)
        r++;
    put_bits(b, (unsigned)r, 4);
    put_bits(b, (unsigned)(n - (1ul << r)), r);
}

static void write_headers(FILE *fp, unsigned w, unsigned h)
{
    static const unsigned char soi_dqt[] = {0xFF, 0xD8, 0xFF, 0xDB, 0, 67, 0};
    fwrite(soi_dqt, 1, sizeof soi_dqt, fp);
    for (int i = 0; i < 64; i++)
        fputc(1, fp);
    fputc(0xFF, fp);
    fputc(0xC2, fp);                      /* SOF2: progressive, Huffman */
    put16(fp, 8 + 3 * 3);
    fputc(8, fp);
    put16(fp, h);
    put16(fp, w);
    fputc(3, fp);
    for (int c = 1; c <= 3; c++) {
        fputc(c, fp);
        fputc(0x11, fp);                  /* 4:4:4 */
        fputc(0, fp);
    }
    /* DHT: DC table 0 with the one code "0" for category 0; AC table 0
     * with 4-bit codes for the end-of-band symbols 0x00..0xE0. */
    fputc(0xFF, fp);
    fputc(0xC4, fp);
    put16(fp, 2 + 17 + 1 + 17 + 15);
    fputc(0x00, fp);
    for (int i = 1; i <= 16; i++)
        fputc(i == 1 ? 1 : 0, fp);
    fputc(0x00, fp);
    fputc(0x10, fp);
    for (int i = 1; i <= 16; i++)
        fputc(i == 4 ? 15 : 0, fp);
    for (int k = 0; k < 15; k++)
        fputc(k << 4, fp);
}

static void write_sos(FILE *fp, const jpeg_scan_info *s)
{
    fputc(0xFF, fp);
    fputc(0xDA, fp);
    put16(fp, (unsigned)(6 + 2 * s->comps_in_scan));
    fputc(s->comps_in_scan, fp);
    for (int i = 0; i < s->comps_in_scan; i++) {
        fputc(s->component_index[i] + 1, fp);
        fputc(0x00, fp);
    }
    fputc(s->Ss, fp);
    fputc(s->Se, fp);
    fputc(s->Ah << 4 | s->Al, fp);
}

static int write_flat(int n, unsigned w, unsigned h, const char *out)
{
    jpeg_scan_info *script = calloc(MAX_SCANS, sizeof *script);
    FILE *fp = fopen(out, "wb");
    if (!script || !fp) {
        fprintf(stderr, "mkhostile: cannot write %s\n", out);
        free(script);
        if (fp)
            fclose(fp);
        return 1;
    }
    unsigned long blocks = (unsigned long)((w + 7) / 8) * ((h + 7) / 8);
    int scans = build_script(script, n);
    write_headers(fp, w, h);
    for (int k = 0; k < scans; k++) {
        bitw b = {fp, 0, 0};
        write_sos(fp, &script[k]);
        if (script[k].Ss == 0) {
            for (unsigned long i = 0; i < blocks * 3; i++)
                put_bits(&b, 0, 1);
        } else {
            for (unsigned long left = blocks; left > 0;) {
                unsigned long run = left < 32767 ? left : 32767;
                put_eobrun(&b, run);
                left -= run;
            }
        }
        flush_bits(&b);
    }
    fputc(0xFF, fp);
    fputc(0xD9, fp);
    free(script);
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
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                 ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) /
                     1e6;
    if (!fp || fprintf(fp, "%ld\n%.3f\n", ru.ru_maxrss, cpu) < 0 ||
        fclose(fp) != 0)
        return 125;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "rusage") == 0)
        return rusage_of(argv[2], argv + 3);
    int flat = argc == 6 && strcmp(argv[1], "flat") == 0;
    if (argc == 6 && (flat || strcmp(argv[1], "scans") == 0)) {
        int n = (int)strtol(argv[2], NULL, 10);
        long w = strtol(argv[3], NULL, 10), h = strtol(argv[4], NULL, 10);
        if (n >= 1 && n <= MAX_SCANS && w > 0 && h > 0 && w <= 65500 &&
            h <= 65500)
            return flat ? write_flat(n, (unsigned)w, (unsigned)h, argv[5])
                        : write_scans(n, (JDIMENSION)w, (JDIMENSION)h,
                                      argv[5]);
    }
    fprintf(stderr, "usage: mkhostile scans|flat N(1-%d) WIDTH HEIGHT "
                    "OUT.jpg\n"
                    "       mkhostile rusage OUT.txt COMMAND [ARGS...]\n",
            MAX_SCANS);
    return 2;
}
