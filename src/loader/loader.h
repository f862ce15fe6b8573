/*
 * The loader module's interface: what a training loader will do with the
 * dataset (docs/loaders.md). A profile is data, one row of a table
 * (profiles.c): which class folders and files the loader lists, how it
 * numbers the classes, which decoder it opens files with, whether it
 * applies EXIF orientation. Judging a file is a pure function of the
 * profile and of the facts the scan stored about the file (judge.c);
 * the few facts the decoders do not record, because imgaudit's decoders
 * read those bytes the way libpng does and Pillow does not, are taken
 * from the bytes at scan time (facts.c). After the walk, every profile
 * judges every file and builds its class index per split (analyze.c):
 * findings loader_skips, loader_fails, loader_damaged,
 * loader_orientation and class_renumbered, each with the profile it is
 * about (finding.loader), and the table loader_class.
 */
#ifndef IA_LOADER_H
#define IA_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "policy/policy.h"
#include "store/store.h"

/* The profiles, in the order of docs/loaders.md. */
typedef enum ia_loader_id {
    IA_LOADER_PILLOW,       /* the default */
    IA_LOADER_TORCHVISION,
    IA_LOADER_KERAS,
    IA_LOADER_TF_DATA,
    IA_LOADER_OPENCV,
    IA_LOADER_COUNT
} ia_loader_id;

#define IA_LOADER_DEFAULT "pillow"

/* "pillow", "torchvision", "keras", "tf-data", "opencv"; NULL out of
 * range. */
const char *ia_loader_name(int id);
/* -1 when unknown. */
int ia_loader_parse(const char *name);
/* A comma-separated list of names (spaces around names allowed, repeats
 * collapse) into *set, a bit per ia_loader_id. IA_OK, or IA_ERR_ARG with
 * a message naming the bad name and the known ones in err. */
int ia_loader_parse_list(const char *list, unsigned *set, char *err,
                         size_t cap);

/* Sets the lens db's readers see findings through (store.h): the loader
 * findings of the profiles in set (a bit per ia_loader_id; 0: none), and
 * every code a scan stores at policy's severity (p NULL: as stored). */
int ia_loader_set_lens(ia_db *db, unsigned set, const ia_policy *p);

/* The lens of a scan made with options_json (the scan row's options):
 * the profiles named in loaders (comma-separated; NULL: those the scan
 * was made with, "pillow" for a scan that named none) and policy's
 * severities (NULL: those the scan was made with). IA_ERR_ARG with a
 * message in err for a name loaders does not know; the ia_error of
 * setting it (the message on db) otherwise. */
int ia_loader_lens_for(ia_db *db, const char *options_json,
                       const char *loaders, const ia_policy *policy,
                       char *err, size_t cap);

/* ---- at scan time ------------------------------------------------------ */

/* What a loader reads differently from imgaudit's decoders, from the
 * bytes (buf, len) of a file whose status and format are known: for a
 * PNG, what Pillow's own PNG reader does with it; for a file without an
 * image signature, whether it is a format Pillow or OpenCV opens (PNM,
 * ICO, TGA). Sets res->loader_facts. */
void ia_loader_facts(const uint8_t *buf, size_t len, ia_file_result *res);

/* ---- after the walk ---------------------------------------------------- */

/* Every profile's findings and class tables for the scan, replacing what
 * an earlier run stored. */
int ia_loader_analyze(ia_db *db, int64_t scan_id);

/* The same in two steps, so that the first, which reads every file row
 * and judges it (most of the time), can run on another connection and
 * thread while other steps write (analyze/analyze.c): the tally reads
 * and judges the scan's files and writes nothing; the rest, on the
 * writing handle, stores the findings and tables. A tally read through
 * one handle may be finished through another; _finish frees it, and
 * with t NULL reads it itself (ia_loader_analyze). */
typedef struct ia_loader_tally ia_loader_tally;
int ia_loader_tally_read(ia_db *db, int64_t scan_id, ia_loader_tally **out);
int ia_loader_finish(ia_db *db, int64_t scan_id, ia_loader_tally *t);
void ia_loader_tally_free(ia_loader_tally *t);

/* ---- one file, for the analysis and the unit tests --------------------- */

typedef enum ia_loader_outcome {
    IA_LD_DECODES,  /* listed and decoded as imgaudit decoded it */
    IA_LD_UNKNOWN,  /* listed, in a format imgaudit does not decode: the
                       loader opens the format; what it does with this
                       file is not known */
    IA_LD_SKIPS,    /* in a class folder, never listed */
    IA_LD_FAILS,    /* listed; loading it raises (or returns None) */
    IA_LD_DAMAGED,  /* listed; loads without an error, pixels wrong */
    IA_LD_OUTSIDE,  /* not in a class folder: no folder loader sees it */
} ia_loader_outcome;

typedef struct ia_loader_verdict {
    int outcome;            /* ia_loader_outcome */
    int sideways;           /* decoded, EXIF orientation not applied */
    char why[200];          /* what the loader does, for the detail */
} ia_loader_verdict;

/* What profile id does with the file row r (r->file_id > 0). */
void ia_loader_judge(int id, const ia_loader_row *r, ia_loader_verdict *v);

/* Whether profile id takes the folder named label for a class. */
int ia_loader_is_class(int id, const char *label);

#endif
