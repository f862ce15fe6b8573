#!/usr/bin/env python3
"""Detection and segmentation annotations audited with the pixels
(issue 17, docs/annotations.md).

    test_annotations.py IMGAUDIT

mkannot.py writes a COCO set and a YOLO set with one planted fault of
each kind, and a clean set. Each is scanned by the real binary; the
annotation findings of each must be exactly the planted ones (code and
path), in the DB and in the JSON report; the annotations are in the DB
(schema 8); a clean set yields no annotation finding. Hostile inputs:
malformed and oversized JSON, malformed YAML, bad label lines are
findings, the scan succeeds; a missing --coco file exits 2.

Standard library only; one line per check, then "N passed, N failed".
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402
import mkannot  # noqa: E402

IMGAUDIT = ""
ANNOT_CODES = {
    "annot_invalid", "yolo_bad_line", "annot_unknown_image",
    "annot_unknown_category", "annot_image_missing",
    "annot_image_undecodable", "unannotated_image",
    "yolo_class_out_of_range", "box_not_normalized", "box_degenerate",
    "box_mostly_outside", "box_outside_image", "duplicate_box",
    "annot_size_mismatch", "annot_size_rotated", "empty_label_file",
    "annot_conflict", "category_missing_from_split",
}
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what + ("" if ok or not detail
                                                  else ": %s" % (detail,)))
    if ok:
        passed += 1
    else:
        failed += 1


def run(*args):
    return subprocess.run(iatest.wrap([IMGAUDIT, *args]), capture_output=True,
                          text=True)


def db_findings(db):
    con = sqlite3.connect(db)
    try:
        return {(c, p) for c, p in con.execute(
            "SELECT code, path FROM finding WHERE scan_id ="
            " (SELECT max(id) FROM scan)")}
    finally:
        con.close()


def expected_pairs(exp):
    return {(c, p) for c, paths in exp.items() for p in paths}


def check_set(name, db, exp, scan_args):
    r = run("scan", *scan_args, "--db", db, "-q")
    check(r.returncode == 0, name + ": scan exits 0", r.stderr)
    got = db_findings(db)
    want = expected_pairs(exp)
    annot_got = {x for x in got if x[0] in ANNOT_CODES}
    annot_want = {x for x in want if x[0] in ANNOT_CODES}
    for pair in sorted(annot_want, key=str):
        check(pair in annot_got, "%s: finding %s on %s" % (name, *pair))
    extra = annot_got - annot_want
    check(not extra, name + ": no annotation finding but the planted ones",
          sorted(extra, key=str))
    for pair in sorted(want - annot_want, key=str):
        check(pair in got, "%s: pixel finding %s on %s" % (name, *pair))
    r = run("report", "--db", db, "--format", "json")
    rep = json.loads(r.stdout) if r.returncode == 0 else {}
    in_json = {(f["code"], f["path"]) for f in rep.get("findings", [])}
    check(annot_want <= in_json, name + ": the JSON report lists them",
          sorted(annot_want - in_json, key=str))
    return rep


def check_coco_rows(db, out):
    con = sqlite3.connect(db)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    check(q("SELECT kind, path, split FROM annot_source ORDER BY id") ==
          [("coco", os.path.join(out, "instances_val.json"), "val"),
           ("coco", os.path.join(out, "instances_train.json"), "train")],
          "coco: sources stored, the train split inferred from its images",
          q("SELECT kind, path, split FROM annot_source"))
    # 10 annotations in val, one on an unknown image (not stored); 3 train
    check(q("SELECT count(*) FROM annot_box")[0][0] == 12,
          "coco: 12 boxes stored", q("SELECT count(*) FROM annot_box"))
    check(q("SELECT count(*) FROM annot_image WHERE file_id IS NULL") ==
          [(1,)], "coco: the missing image stored without a file")
    row = q("SELECT b.x, b.y, b.w, b.h, b.nx, b.nw, b.category, b.polygons,"
            " b.seg_area FROM annot_box b JOIN annot_image i"
            " ON i.id = b.image_id WHERE i.name = 'g.png'"
            " AND b.category = 'dog'")
    check(row == [(18.0, 2.0, 6.0, 6.0, 0.45, 0.15, "dog", 0, None)],
          "coco: a box in pixels and normalised", row)
    row = q("SELECT polygons, seg_area FROM annot_box WHERE x = 5.0"
            " AND y = 5.0 AND w = 10.0")
    check(row == [(1, 100.0)], "coco: polygon count and area stored", row)
    con.close()


def check_balance(db, rep):
    bal = rep.get("annotations", {}).get("splits", {})
    val = bal.get("val", {})
    check(val.get("images") == 6 and val.get("boxes") == 9 and
          val.get("max_boxes_per_image") == 3,
          "coco: JSON balance of val (6 images with a file, 9 boxes)", val)
    check(bal.get("train", {}).get("categories", {}).get("bird") ==
          {"images": 1, "boxes": 1, "small": 1, "medium": 0, "large": 0},
          "coco: JSON boxes per category with COCO size classes",
          bal.get("train"))
    check("bird" not in val.get("categories", {}),
          "coco: bird absent from val's categories", val)
    r = run("report", "--db", db)
    check("Boxes per split and category" in r.stdout and
          "Annotations per split" in r.stdout,
          "coco: the text report has the annotation sections")
    r = run("report", "--db", db, "--format", "md")
    check("| val | cat | 3 | 4 | 4 | 0 | 0 |" in r.stdout,
          "coco: the Markdown report has a category row", r.stdout[-800:])


def check_html(db, tmp):
    """(6): the flagged images with their boxes drawn over thumbnails."""
    html = os.path.join(tmp, "c.html")
    r = run("report", "--db", db, "--format", "html", "-o", html)
    text = open(html, encoding="utf-8").read() if r.returncode == 0 else ""
    i = text.find('<section id="annotations">')
    sec = text[i:text.find("</section>", i)] if i >= 0 else ""
    # a.png: 3 boxes (two duplicates, one unknown category); b.png: 3
    check(sec.count("<figure") == 5 and "val/b.png" in sec and
          "val/c.png" not in sec,
          "html: the 5 images with box findings shown", sec.count("<figure"))
    check(sec.count("<rect ") == 3 + 3 + 1 + 1 + 1,
          "html: their boxes drawn over the thumbnails", sec.count("<rect "))
    check('<rect x="0.8750" y="0.8333" width="0.5000" height="0.6667"/>'
          in sec, "html: the mostly-outside box at its place")


def check_yolo_rows(db):
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT b.category_id, b.category, b.nx, b.ny, b.x, b.w"
        " FROM annot_box b JOIN annot_image i ON i.id = b.image_id"
        " WHERE i.name = 'images/val/v.png'").fetchall()
    check(len(rows) == 1 and rows[0][:2] == (0, "cat") and
          abs(rows[0][2] - 0.35) < 1e-9 and abs(rows[0][4] - 14.0) < 1e-9
          and abs(rows[0][5] - 12.0) < 1e-9,
          "yolo: the good line after a bad one stored, with pixels", rows)
    n = con.execute("SELECT count(*) FROM annot_category").fetchone()[0]
    check(n == 2, "yolo: data.yaml's two names stored", n)
    con.close()


def hostile(tmp, root):
    db = os.path.join(tmp, "h.db")
    bad = os.path.join(tmp, "bad.json")
    iatest.write(bad, b'{"images": [ {"id": 1,')
    big = os.path.join(tmp, "big.json")
    with open(big, "wb") as f:
        f.truncate((256 << 20) + 1)       # sparse: costs nothing
    shape = os.path.join(tmp, "shape.json")
    iatest.write(shape, b'[1, 2, 3]')
    for spec, what in ((bad, "not valid JSON"), (big, "over the limit"),
                       (shape, "not COCO")):
        if os.path.exists(db):
            os.remove(db)
        r = run("scan", root, "--db", db, "--coco", "val=" + spec, "-q")
        con = sqlite3.connect(db)
        det = con.execute("SELECT detail FROM finding WHERE code ="
                          " 'annot_invalid'").fetchall()
        con.close()
        check(r.returncode == 0 and len(det) == 1 and what in det[0][0],
              "hostile: %s is an annot_invalid finding, scan exits 0" % what,
              (r.returncode, r.stderr, det))
    yroot = os.path.join(tmp, "hy")
    iatest.write(os.path.join(yroot, "images", "a.png"), mkannot.png(8, 8, 1))
    iatest.write(os.path.join(yroot, "labels", "a.txt"),
                 b"0 nan 0.5 0.1 0.1\n0 1e999 0 0 0\n\x00\xff junk\n" +
                 b"0 " + b"0.5 " * 40000 + b"\n")
    iatest.write(os.path.join(yroot, "data.yaml"), b"names: [a, b\n  - :")
    os.remove(db)
    r = run("scan", yroot, "--db", db, "--yolo", "-q")
    got = db_findings(db)
    con = sqlite3.connect(db)
    codes = sorted(c for c, in con.execute("SELECT code FROM finding"))
    con.close()
    check(r.returncode == 0 and codes.count("yolo_bad_line") == 4 and
          ("annot_invalid", "data.yaml") in got,
          "hostile: bad label lines and YAML are findings", (codes, r.stderr))
    missing = os.path.join(tmp, "none.db")
    r = run("scan", root, "--db", missing, "--coco", "/nonexistent.json")
    check(r.returncode == 2 and not os.path.exists(missing),
          "a missing --coco file exits 2, no DB made", r.returncode)
    r = run("scan", root, "--db", missing, "--yolo", "--shard", "0/2")
    check(r.returncode != 0 and "--shard" in r.stderr,
          "--yolo with --shard refused", r.stderr)


def compare_json(base, new):
    r = run("compare", base, new, "--format", "json")
    check(r.returncode in (0, 3), "compare runs", r.stderr)
    try:
        return {(f["code"], f["split"], f["label"])
                for f in json.loads(r.stdout)["findings"]}
    except (ValueError, KeyError):
        return set()


def compare_tests(tmp, out):
    """(5): a category dropped from val; shares, sizes and counts moved."""
    clean2 = os.path.join(out, "clean2")
    shutil.copytree(os.path.join(out, "clean"), clean2)
    iatest.write(os.path.join(clean2, "labels", "val", "b.txt"),
                 b"0 0.4 0.4 0.2 0.2\n")
    dbs = []
    for name, root in (("base", os.path.join(out, "clean")),
                       ("dropped", clean2)):
        dbs.append(os.path.join(tmp, name + ".db"))
        run("scan", root, "--db", dbs[-1], "--yolo", "-q")
    got = compare_json(*dbs)
    check(("category_removed", "val", "dog") in got,
          "compare: category 'dog' dropped from val is category_removed",
          sorted(got, key=str))
    check(("box_count_drift", "val", None) in got,
          "compare: val's boxes per image 2 -> 1 is box_count_drift")
    check(not any(c == "category_removed" and s == "train"
                  for c, s, _ in got), "compare: train unchanged")
    mkannot.drifted(out, "drift_a", "0 0.2 0.2 0.2 0.2\n0 0.5 0.5 0.2 0.2\n"
                    "0 0.8 0.8 0.2 0.2\n")
    mkannot.drifted(out, "drift_b", "0 0.5 0.5 0.8 0.8\n1 0.5 0.5 0.7 0.7\n"
                    "1 0.4 0.4 0.6 0.6\n")
    for name in ("drift_a", "drift_b"):
        dbs.append(os.path.join(tmp, name + ".db"))
        run("scan", os.path.join(out, name), "--db", dbs[-1], "--yolo", "-q")
    got = compare_json(dbs[2], dbs[3])
    for want in (("category_drift", "train", "cat"),
                 ("category_added", "train", "dog"),
                 ("box_size_drift", "train", None)):
        check(want in got, "compare: %s %s %s" % want, sorted(got, key=str))
    check(not any(c == "box_count_drift" for c, _, _ in got),
          "compare: 3 boxes per image on both sides: no box_count_drift")
    got = compare_json(dbs[2], dbs[2])
    check(not any(c.startswith(("category_", "box_")) for c, _, _ in got),
          "compare: a scan with itself: no annotation drift", got)


def resume_tests(tmp, root):
    """--coco and --yolo are scan options: recorded with the scan, so
    --resume refuses to finish a scan without the annotations it was
    started with, and with them finishes it to the same rows. The scan
    is made incomplete by hand (test_interrupt.py interrupts for real)."""
    db = os.path.join(tmp, "resume.db")
    r = run("scan", root, "--db", db, "--yolo", "-q", "--name", "r")
    con = sqlite3.connect(db)
    opts = json.loads(con.execute("SELECT options FROM scan").fetchone()[0])
    check(r.returncode == 0 and opts.get("yolo") is True,
          "the scan's options record --yolo", opts)
    boxes = con.execute("SELECT count(*) FROM annot_box").fetchone()[0]
    con.execute("UPDATE scan SET complete = 0")
    con.commit()
    con.close()
    r = run("scan", root, "--db", db, "-q", "--name", "r", "--resume")
    check(r.returncode != 0 and "other options" in r.stderr,
          "--resume without --yolo is refused", r.stderr.strip())
    r = run("scan", root, "--db", db, "-q", "--name", "r", "--resume",
            "--yolo")
    con = sqlite3.connect(db)
    done = con.execute("SELECT complete FROM scan").fetchone()[0]
    again = con.execute("SELECT count(*) FROM annot_box").fetchone()[0]
    con.close()
    check(r.returncode == 0 and done == 1 and again == boxes,
          "--resume --yolo finishes it with the same boxes",
          (r.returncode, r.stderr.strip(), done, again, boxes))


def main():
    global IMGAUDIT
    IMGAUDIT = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        exp = {"coco": mkannot.coco(out), "yolo": mkannot.yolo(out)}
        # a COCO file outside the root is named as given
        for code, paths in exp["coco"].items():
            exp["coco"][code] = [os.path.join(out, p)
                                 if p and p.endswith(".json") else p
                                 for p in paths]
        mkannot.clean(out)
        cdb = os.path.join(tmp, "c.db")
        rep = check_set("coco", cdb, exp["coco"],
                  [os.path.join(out, "coco"), "--coco",
                   "val=" + os.path.join(out, "instances_val.json"),
                   "--coco", os.path.join(out, "instances_train.json")])
        check_coco_rows(cdb, out)
        check_balance(cdb, rep)
        check_html(cdb, tmp)
        ydb = os.path.join(tmp, "y.db")
        check_set("yolo", ydb, exp["yolo"],
                  [os.path.join(out, "yolo"), "--yolo",
                   os.path.join(out, "yolo", "data.yaml")])
        check_yolo_rows(ydb)
        kdb = os.path.join(tmp, "k.db")
        r = run("scan", os.path.join(out, "clean"), "--db", kdb, "--yolo",
                "-q")
        got = db_findings(kdb)
        check(r.returncode == 0 and not got,
              "clean: no finding at all", sorted(got, key=str))
        con = sqlite3.connect(kdb)
        n = con.execute("SELECT count(*) FROM annot_box").fetchone()[0]
        con.close()
        check(n == 4, "clean: its 4 boxes stored", n)
        r = run("scan", os.path.join(out, "clean"), "--db", kdb, "-q",
                "--name", "plain")
        r = run("report", "--db", kdb, "plain", "--format", "json")
        check(r.returncode == 0 and "annotations" not in json.loads(r.stdout),
              "a scan without annotations has no annotations key")
        hostile(tmp, os.path.join(out, "clean"))
        resume_tests(tmp, os.path.join(out, "clean"))
        compare_tests(tmp, out)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
