#!/usr/bin/env python3
"""Integration test: duplicate groups, split leaks and label conflicts.

    test_duplicates.py IMGAUDIT MKDUPS

1. mkdups writes a tiny ImageFolder dataset (train|val|test x cat|dog)
   with every kind of copy planted (docs/duplicates.md, "Test fixtures").
   It is scanned, and the JSON report and the DB must hold exactly the
   planted groups (no false group), leaks, label conflicts and finding
   counts; mirrored, unrelated and blank frames must be in no group; the
   text report must list the leaks first. A -j 1 scan must give the same
   groups and leaks as -j 2.
2. When the real dataset is present (IA_SOURCE_ROOT/../shared/datasets/
   clothing-small), its scan must give exactly the groups and leaks
   verified by eye (docs/duplicates.md): one near group, the same photo
   labelled shorts and skirt, and no leak.

Standard library only. One line per check, then "N passed, N failed";
the exit status is non-zero when any check failed.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iatest import Checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
CLOTHING = os.path.join(os.path.dirname(SOURCE_ROOT), "shared", "datasets",
                        "clothing-small")

PHASH_RADIUS = 4    # src/analyze/analyze.h, the documented defaults

# The planted groups: kind -> set of member path sets.
GROUPS = {
    "exact": [
        {"train/dog/exact_base.jpg", "train/dog/exact_base_copy.jpg"},
        {"train/cat/leak_exact.jpg", "test/cat/leak_exact.jpg"},
        {"train/cat/conflict_exact.jpg", "train/dog/conflict_exact.jpg"},
        {"train/dog/blank_black_50x50.png",
         "train/dog/blank_black_50x50_copy.png"},
    ],
    "pixel": [
        {"train/cat/png_base.jpg", "train/cat/png_base.png"},
        {"train/cat/exif_base.jpg", "train/cat/exif_base_exif.jpg"},
        {"train/dog/leak_pixel.jpg", "test/dog/leak_pixel.png"},
    ],
    "near": [
        {"train/cat/q_base.jpg", "train/cat/q_base_q50.jpg"},
        {"train/cat/half_base.jpg", "train/cat/half_base_half.jpg"},
        {"train/dog/crop_base.jpg", "train/dog/crop_base_crop2.jpg"},
        {"train/dog/leak_near.jpg", "val/dog/leak_near_q60.jpg"},
        {"train/cat/conflict_near.jpg", "train/dog/conflict_near_q75.jpg"},
        {"train/cat/leak_crop.jpg", "val/cat/leak_crop.jpg"},
    ],
}
# (kind, a = the training anchor, b = the leaking file, a_split, b_split)
LEAKS = {
    ("exact", "train/cat/leak_exact.jpg", "test/cat/leak_exact.jpg",
     "train", "test"),
    ("pixel", "train/dog/leak_pixel.jpg", "test/dog/leak_pixel.png",
     "train", "test"),
    ("near", "train/dog/leak_near.jpg", "val/dog/leak_near_q60.jpg",
     "train", "val"),
    ("near", "train/cat/leak_crop.jpg", "val/cat/leak_crop.jpg",
     "train", "val"),
}
# Findings of the duplicate analysis: (code, severity, path) -> count;
# path None is a dataset-level finding. A leak and a conflict are named on
# both sides; a near copy within the same-photo radius (phash 2: the q60
# and q75 re-encodes) is an error like an exact one, the 3% crop (phash 4)
# a warning.
FINDINGS = {
    ("exact_duplicate", "warning", "train/dog/exact_base_copy.jpg"): 1,
    ("exact_duplicate", "warning", "train/dog/conflict_exact.jpg"): 1,
    ("exact_duplicate", "warning",
     "train/dog/blank_black_50x50_copy.png"): 1,
    ("pixel_duplicate", "warning", "train/cat/png_base.png"): 1,
    ("pixel_duplicate", "warning", "train/cat/exif_base_exif.jpg"): 1,
    ("near_duplicate", "warning", "train/cat/q_base_q50.jpg"): 1,
    ("near_duplicate", "warning", "train/cat/half_base_half.jpg"): 1,
    ("near_duplicate", "warning", "train/dog/crop_base_crop2.jpg"): 1,
    ("near_duplicate", "warning", "train/dog/conflict_near_q75.jpg"): 1,
    ("split_leak", "error", "test/cat/leak_exact.jpg"): 1,
    ("split_leak", "error", "train/cat/leak_exact.jpg"): 1,
    ("split_leak", "error", "test/dog/leak_pixel.png"): 1,
    ("split_leak", "error", "train/dog/leak_pixel.jpg"): 1,
    ("split_leak", "error", "val/dog/leak_near_q60.jpg"): 1,
    ("split_leak", "error", "train/dog/leak_near.jpg"): 1,
    ("split_leak", "warning", "val/cat/leak_crop.jpg"): 1,
    ("split_leak", "warning", "train/cat/leak_crop.jpg"): 1,
    ("split_leak", "error", None): 2,
    ("label_conflict", "error", "train/dog/conflict_exact.jpg"): 1,
    ("label_conflict", "error", "train/cat/conflict_exact.jpg"): 1,
    ("label_conflict", "error", "train/dog/conflict_near_q75.jpg"): 1,
    ("label_conflict", "error", "train/cat/conflict_near.jpg"): 1,
}
LEAK_SUMMARIES = [
    "2 of 10 test images also appear in train (exact 1, pixel 1, "
    "same photo 0, near 0)",
    "2 of 10 val images also appear in train (exact 0, pixel 0, "
    "same photo 1, near 1)",
]
DUP_CODES = {"exact_duplicate", "pixel_duplicate", "near_duplicate",
             "split_leak", "label_conflict"}
# Files that must be in no group: a mirror, unrelated scenes (other_*),
# blank frames of equal phash but other pixels.
NO_GROUP_PREFIXES = ("train/dog/mirror_base", "other_", "blank_gray",
                     "blank_white", "blank_red", "blank_black_60x40")

# clothing-small, verified by eye (docs/duplicates.md).
CLOTHING_GROUPS = {("near", frozenset({
    "train/shorts/6075b4a5-5b1a-4ce0-aea0-9dbfbca7c35c.jpg",
    "train/skirt/637a56e4-7fa6-4f75-8859-0f8902461554.jpg"}))}
CLOTHING_FINDINGS = {
    ("near_duplicate", "warning",
     "train/skirt/637a56e4-7fa6-4f75-8859-0f8902461554.jpg"): 1,
    ("label_conflict", "error",
     "train/skirt/637a56e4-7fa6-4f75-8859-0f8902461554.jpg"): 1,
    ("label_conflict", "error",
     "train/shorts/6075b4a5-5b1a-4ce0-aea0-9dbfbca7c35c.jpg"): 1,
}


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def scan(c, imgaudit, tree, db, jobs, what):
    p = run([imgaudit, "scan", tree, "--db", db, "-q", "-j", str(jobs)])
    if not c.check(p.returncode == 0, "%s: scan -j %d exits 0" % (what, jobs),
                   p.stderr.decode("utf-8", "replace")[-300:]):
        return None
    p = run([imgaudit, "report", "--db", db, "--format", "json"])
    if not c.check(p.returncode == 0, "%s: report --format json" % what,
                   p.stderr.decode("utf-8", "replace")[-300:]):
        return None
    return json.loads(p.stdout.decode("utf-8"))


def group_set(doc):
    return {(g["kind"], frozenset(g["paths"]))
            for g in doc.get("duplicate_groups", [])}


def dup_findings(doc):
    counts = {}
    for f in doc.get("findings", []):
        if f["code"] in DUP_CODES:
            k = (f["code"], f["severity"], f["path"])
            counts[k] = counts.get(k, 0) + 1
    return counts


def db_rows(db, sql):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def hamming(a, b):
    return bin((a ^ b) & 0xFFFFFFFFFFFFFFFF).count("1")


def check_groups(c, doc, db):
    want = {(k, frozenset(m)) for k, ms in GROUPS.items() for m in ms}
    got = group_set(doc)
    c.check(got == want, "fixtures: exactly the planted groups (%d)"
            % len(want), "missing %s; extra %s"
            % (sorted(map(str, want - got)), sorted(map(str, got - want))))
    for kind, members in GROUPS.items():
        n = sum(1 for g in doc.get("duplicate_groups", [])
                if g["kind"] == kind)
        c.eq(n, len(members), "fixtures: json %s groups" % kind)
        rows = db_rows(db, "SELECT count(*) FROM dup_group WHERE kind = '%s'"
                       % kind)
        c.eq(rows[0][0], len(members), "fixtures: db dup_group %s rows" % kind)
    members = db_rows(db, "SELECT count(*) FROM dup_member")[0][0]
    c.eq(members, sum(len(m) for ms in GROUPS.values() for m in ms),
         "fixtures: db dup_member rows")
    for g in doc.get("duplicate_groups", []):
        anchor = g["paths"][0]
        if any(p.startswith("train/") for p in g["paths"]):
            c.check(anchor.startswith("train/"), "fixtures: group anchored "
                    "on its training copy (%s)" % anchor)
    grouped = {p for g in doc.get("duplicate_groups", []) for p in g["paths"]}
    stray = sorted(p for p in grouped
                   if any(x in p for x in NO_GROUP_PREFIXES))
    c.check(not stray, "fixtures: mirrored, unrelated and blank frames are "
            "in no group", ", ".join(stray))


def check_leaks(c, doc, db):
    got = {(l["kind"], l["a"], l["b"], l["a_split"], l["b_split"])
           for l in doc.get("leaks", [])}
    c.check(got == LEAKS and len(doc.get("leaks", [])) == len(LEAKS),
            "fixtures: exactly the planted leaks (%d)" % len(LEAKS),
            "got %s" % sorted(got))
    c.eq(db_rows(db, "SELECT count(*) FROM leak")[0][0], len(LEAKS),
         "fixtures: db leak rows")
    hashes = {p: (ph, dh) for p, ph, dh in db_rows(
        db, "SELECT path, phash, dhash FROM file WHERE phash IS NOT NULL")}
    for l in doc.get("leaks", []):
        if l["kind"] != "near":
            c.eq(l["distance"], 0, "fixtures: %s leak distance" % l["kind"])
            continue
        d = hamming(hashes[l["a"]][0], hashes[l["b"]][0])
        c.check(l["distance"] == d and d <= PHASH_RADIUS,
                "fixtures: near leak distance is the phash distance (%d)" % d,
                "json says %d" % l["distance"])


def check_findings(c, doc):
    got = dup_findings(doc)
    c.check(got == FINDINGS, "fixtures: duplicate, leak and conflict "
            "findings exactly as planted (%d)" % sum(FINDINGS.values()),
            "missing %s; extra %s" % (
                sorted(map(str, set(FINDINGS.items()) - set(got.items()))),
                sorted(map(str, set(got.items()) - set(FINDINGS.items())))))
    details = sorted(f["detail"] for f in doc.get("findings", [])
                     if f["code"] == "split_leak" and f["path"] is None)
    c.eq(details, sorted(LEAK_SUMMARIES),
         "fixtures: split_leak summaries per split pair")


def check_uniform(c, db):
    rows = db_rows(db, "SELECT path, hash_uniform, phash, dhash, pixel_hash "
                       "FROM file WHERE path LIKE '%blank_%'")
    c.check(len(rows) == 10 and all(r[1] == 1 for r in rows),
            "fixtures: the 10 blank frames are marked uniform",
            "got %s" % [(r[0], r[1]) for r in rows])
    # Without the uniform rule these would form a near group: the test
    # could not fail if no two blank frames had equal hashes.
    same = [(a[0], b[0]) for i, a in enumerate(rows) for b in rows[i + 1:]
            if a[2] == b[2] and a[3] == b[3] and a[4] != b[4]]
    c.check(len(same) >= 3, "fixtures: blank frames with equal phash and "
            "dhash but other pixels exist (%d pairs)" % len(same))


def check_text(c, imgaudit, db):
    p = run([imgaudit, "report", "--db", db])
    out = p.stdout.decode("utf-8", "replace")
    if not c.check(p.returncode == 0, "fixtures: text report exits 0"):
        return
    at = out.find("leaks between splits")
    first_problem = min([i for i in (out.find("\nerrors\n"),
                                     out.find("\nwarnings\n")) if i >= 0]
                        or [len(out)])
    c.check(0 <= at < first_problem, "text: leaks are listed before the "
            "other problems")
    for s in LEAK_SUMMARIES:
        c.check(s in out, "text: '%s'" % s)
    for kind, a, b, _, _ in sorted(LEAKS):
        c.check("%s: %s copy of %s" % (b, kind, a) in out,
                "text: leak %s listed with both paths" % b)
    c.check("  split_leak (" not in out, "text: split_leak not repeated "
            "among the other problems")


def check_fixtures(c, imgaudit, mkdups, tmp):
    tree = os.path.join(tmp, "dups")
    p = run([mkdups, tree])
    if not c.check(p.returncode == 0, "mkdups writes the fixtures",
                   p.stderr.decode("utf-8", "replace")[-300:]):
        return
    db = os.path.join(tmp, "dups.db")
    doc = scan(c, imgaudit, tree, db, 2, "fixtures")
    if doc is None:
        return
    c.eq(doc["status_counts"].get("ok"), 54, "fixtures: 54 images decode ok")
    check_groups(c, doc, db)
    check_leaks(c, doc, db)
    check_findings(c, doc)
    check_uniform(c, db)
    check_text(c, imgaudit, db)
    doc1 = scan(c, imgaudit, tree, os.path.join(tmp, "dups1.db"), 1,
                "fixtures")
    if doc1 is not None:
        c.check(doc1["duplicate_groups"] == doc["duplicate_groups"] and
                doc1["leaks"] == doc["leaks"],
                "fixtures: -j 1 and -j 2 give the same groups and leaks")


def check_clothing(c, imgaudit, tmp):
    if not os.path.isdir(CLOTHING):
        print("skip clothing-small: dataset not found at %s" % CLOTHING)
        return
    db = os.path.join(tmp, "clothing.db")
    doc = scan(c, imgaudit, CLOTHING, db, 2, "clothing-small")
    if doc is None:
        return
    c.eq(group_set(doc), CLOTHING_GROUPS, "clothing-small: groups")
    c.eq(doc.get("leaks"), [], "clothing-small: no leaks")
    c.eq(dup_findings(doc), CLOTHING_FINDINGS,
         "clothing-small: duplicate, leak and conflict findings")


def main(argv):
    if len(argv) != 3:
        print("usage: test_duplicates.py IMGAUDIT MKDUPS", file=sys.stderr)
        return 2
    imgaudit, mkdups = (os.path.abspath(a) for a in argv[1:])
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="imgaudit-dups-") as tmp:
        check_fixtures(c, imgaudit, mkdups, tmp)
        check_clothing(c, imgaudit, tmp)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
