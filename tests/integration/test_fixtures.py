#!/usr/bin/env python3
"""Integration test: imgaudit's verdict on every fixture.

    test_fixtures.py IMGAUDIT MKFIXTURES

1. mkfixtures writes the fixture tree into a temporary folder (it checks
   every JPEG/PNG with libjpeg/libpng itself and fails if one drifted);
   the tree must equal the committed copy in fixtures/cases, and
   `mkfixtures --sample` must reproduce the committed fixtures/sample.
2. `imgaudit scan DIR --db T.db -q` and `imgaudit report --format json`:
   for every row of tests/fixtures.csv the status and findings must be in
   the DB (tables file, finding) and in the JSON report; the status counts
   must be exact.
3. A `-j 1` and a `-j 4` scan must store identical file and finding rows.
4. The committed sample dataset must show its planted problems
   (fixtures/README.md) and nothing else of severity error.

Standard library only. One line per check, then "N passed, N failed"; the
exit status is non-zero when any check failed.
"""
import csv
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iatest import Checks, short, capture, tree_files, compare_trees  # noqa: E402

run = capture  # the tests' name for it

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
EXPECTED_CSV = os.path.join(SOURCE_ROOT, "tests", "fixtures.csv")
CASES_DIR = os.path.join(SOURCE_ROOT, "fixtures", "cases")
SAMPLE_DIR = os.path.join(SOURCE_ROOT, "fixtures", "sample")

# Status findings and their severities (DESIGN.md "Verdicts and findings").
STATUS_FINDING_SEVERITY = {
    "truncated": "error", "corrupt": "error", "not_image": "error",
    "empty": "error", "unreadable": "error", "too_large": "error",
    "unsupported": "warning",
}
# Per-file facts: every fixture that has one is the only one of its kind in
# its split and class, so each is a minority and must be a warning. For a
# file whose status is ok, the set of these codes must be exactly the one
# listed in fixtures.csv.
PROPERTY_CODES = {"cmyk", "grayscale", "alpha", "high_bit_depth",
                  "exif_rotated", "animated", "extension_mismatch"}
SEVERITY_NAMES = {0: "info", 1: "warning", 2: "error"}
# Columns that may differ between two scans of the same tree.
TIMING_COLUMN = re.compile(
    r"(time|_at$|seconds|elapsed|duration|_ns$|_us$|_ms$)", re.I)

# The sample dataset: planted files, their status and required findings.
SAMPLE_PLANTED = {
    "train/dog/dog_007.jpg": ("truncated", ["truncated"]),
    "train/bird/bird_012.jpg": ("ok", ["grayscale"]),
    "train/cat/cat_015.jpg": ("ok", ["extension_mismatch"]),
    "train/cat/cat_004.jpg": ("ok", []),
    "test/cat/cat_030.jpg": ("ok", []),
    "train/dog/.DS_Store": ("not_image", ["not_image"]),
    "train/bird/._bird_003.jpg": ("not_image", ["not_image"]),
}
SAMPLE_LEAK = ("train/cat/cat_004.jpg", "test/cat/cat_030.jpg")
SAMPLE_COUNTS = {"ok": 89, "truncated": 1, "not_image": 2}


def read_expected():
    with open(EXPECTED_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["findings"] = [x for x in r["findings"].split(";") if x]
    return rows


# ---- DB access ----------------------------------------------------------

def open_ro(path):
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True)


def columns(con, table):
    return [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)]


def primary_key(con, table):
    for r in con.execute("PRAGMA table_info(%s)" % table):
        if r[5] == 1:
            return r[1]
    return "rowid"


def severity_name(v):
    return SEVERITY_NAMES.get(v, v) if isinstance(v, int) else v


def read_db(path):
    """{path: status}, {path: [(code, severity)]} of the DB's files."""
    con = open_ro(path)
    try:
        pk = primary_key(con, "file")
        status = dict(con.execute("SELECT path, status FROM file"))
        findings = {}
        q = ("SELECT f.path, g.code, g.severity FROM finding g "
             "JOIN file f ON g.file_id = f.%s" % pk)
        # as the reports show them: the default loader profile's only
        # (docs/loaders.md); every profile's findings are stored
        if "loader" in [r[1] for r in
                        con.execute("PRAGMA table_info(finding)")]:
            q += " WHERE g.loader IS NULL OR g.loader = 'pillow'"
        for p, code, sev in con.execute(q):
            findings.setdefault(p, []).append((code, severity_name(sev)))
        return status, findings
    finally:
        con.close()


def dump_db(path):
    """File rows, finding rows (by path) and file ids, without timing."""
    con = open_ro(path)
    try:
        fpk, gpk = primary_key(con, "file"), primary_key(con, "finding")
        fcols = [x for x in columns(con, "file")
                 if x not in (fpk, "scan_id") and not TIMING_COLUMN.search(x)]
        gcols = [x for x in columns(con, "finding")
                 if x not in (gpk, "file_id", "scan_id")
                 and not TIMING_COLUMN.search(x)]
        sel = ", ".join('"%s"' % x for x in fcols)
        files = con.execute("SELECT %s FROM file ORDER BY %s"
                            % (sel, sel)).fetchall()
        gsel = ", ".join('g."%s"' % x for x in gcols)
        finds = con.execute(
            "SELECT f.path, %s FROM finding g LEFT JOIN file f "
            "ON g.file_id = f.%s ORDER BY f.path, %s"
            % (gsel, fpk, gsel)).fetchall()
        ids = con.execute("SELECT path, %s FROM file ORDER BY path"
                          % fpk).fetchall()
        return files, finds, ids
    finally:
        con.close()


ANALYSIS_TABLES = ("finding", "dup_group", "dup_member", "leak",
                   "stat_group", "stat_metric", "class_index",
                   "loader_class")


def dump_analysis(path):
    """Every row of the analysis tables, ids included, without scan ids
    and timing, sorted."""
    con = open_ro(path)
    try:
        out = {}
        for t in ANALYSIS_TABLES:
            cols = [x for x in columns(con, t)
                    if x != "scan_id" and not TIMING_COLUMN.search(x)]
            sel = ", ".join('"%s"' % x for x in cols)
            out[t] = con.execute("SELECT %s FROM %s ORDER BY %s"
                                 % (sel, t, sel)).fetchall()
        return out
    finally:
        con.close()


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "row %d: %r != %r" % (i, x, y)
    return "%d rows != %d rows" % (len(a), len(b))


# ---- Scans ---------------------------------------------------------------

def scan_and_report(c, imgaudit, root, db, jobs, label):
    """Runs scan and report; returns the JSON document or None."""
    p = run([imgaudit, "scan", root, "--db", db, "-q", "-j", str(jobs)])
    if not c.check(p.returncode == 0, "%s: scan -j %d exits 0" % (label, jobs),
                   short(p)):
        return None
    p = run([imgaudit, "report", "--db", db, "--format", "json"])
    if not c.check(p.returncode == 0, "%s: report --format json exits 0"
                   % label, short(p)):
        return None
    try:
        doc = json.loads(p.stdout.decode("utf-8"))
    except ValueError as e:
        c.check(False, "%s: report is JSON" % label, str(e))
        return None
    c.check(isinstance(doc, dict), "%s: report is a JSON object" % label)
    return doc if isinstance(doc, dict) else None


def json_findings(doc):
    out = {}
    for f in doc.get("findings") or []:
        out.setdefault(f.get("path"), []).append(
            (f.get("code"), f.get("severity")))
    return out


def nonzero(counts):
    return {k: v for k, v in (counts or {}).items() if v}


def codes_of(pairs):
    return {code for code, _ in pairs}


def check_row(c, row, status, db_finds, js_finds):
    """The checks for one fixture: DB status, DB findings, JSON findings."""
    path, want = row["path"], row["status"]
    got = status.get(path)
    c.check(got == want, "db status %s = %s" % (path, want), "got %r" % got)
    required = list(row["findings"])
    if want != "ok":
        required.append(want)
    for source, finds in (("db", db_finds), ("json", js_finds)):
        have = finds.get(path, [])
        problems = []
        for code in required:
            sevs = {s for k, s in have if k == code}
            want_sev = STATUS_FINDING_SEVERITY.get(code, "warning")
            if not sevs:
                problems.append("no %s" % code)
            elif want_sev not in sevs:
                problems.append("%s is %s" % (code, "/".join(sorted(sevs))))
        wrong = (codes_of(have) & set(STATUS_FINDING_SEVERITY)) - {want}
        if wrong:
            problems.append("other status findings " + ",".join(sorted(wrong)))
        if want == "ok":
            extra = (codes_of(have) & PROPERTY_CODES) - set(row["findings"])
            if extra:
                problems.append("unexpected " + ",".join(sorted(extra)))
            errors = sorted(k for k, s in have if s == "error")
            if errors:
                problems.append("errors " + ",".join(errors))
        c.check(not problems, "%s findings %s: %s" % (
            source, path, ";".join(required) or "(none)"),
            "; ".join(problems) + " (has %s)" % sorted(have))


def check_fixture_scan(c, imgaudit, tree, tmp, rows):
    db1 = os.path.join(tmp, "j1.db")
    doc = scan_and_report(c, imgaudit, tree, db1, 1, "fixtures")
    if doc is None:
        return None
    status, db_finds = read_db(db1)
    js_finds = json_findings(doc)
    want_counts = {}
    for r in rows:
        want_counts[r["status"]] = want_counts.get(r["status"], 0) + 1
    c.check(len(status) == len(rows), "db has %d file rows" % len(rows),
            "got %d" % len(status))
    got_counts = {}
    for s in status.values():
        got_counts[s] = got_counts.get(s, 0) + 1
    c.check(got_counts == want_counts, "db status counts %s" % want_counts,
            "got %s" % got_counts)
    c.check(nonzero(doc.get("status_counts")) == want_counts,
            "json status_counts %s" % want_counts,
            "got %s" % doc.get("status_counts"))
    scan = doc.get("scan") or {}
    c.check(scan.get("files") == len(rows) and scan.get("complete") in
            (True, 1), "json scan: %d files, complete" % len(rows),
            "got files=%r complete=%r" % (scan.get("files"),
                                          scan.get("complete")))
    bad_paths = sorted(p for p in js_finds if p is not None and
                       (p.startswith("/") or "\\" in p or p not in status))
    c.check(not bad_paths, "json finding paths are relative file paths",
            ", ".join(bad_paths[:5]))
    for r in rows:
        check_row(c, r, status, db_finds, js_finds)
    return db1


def check_jobs_identical(c, imgaudit, tree, tmp, db1):
    db4 = os.path.join(tmp, "j4.db")
    p = run([imgaudit, "scan", tree, "--db", db4, "-q", "-j", "4"])
    if not c.check(p.returncode == 0, "fixtures: scan -j 4 exits 0",
                   short(p)):
        return
    f1, g1, i1 = dump_db(db1)
    f4, g4, i4 = dump_db(db4)
    c.check(f1 == f4, "-j 1 and -j 4 file rows identical (%d rows)"
            % len(f1), first_difference(f1, f4))
    c.check(g1 == g4, "-j 1 and -j 4 finding rows identical (%d rows)"
            % len(g1), first_difference(g1, g4))
    c.check(i1 == i4, "-j 1 and -j 4 file ids identical",
            first_difference(i1, i4))
    # at -j 4 a helper thread reads the rows for the statistics and the
    # loaders on its own connection while the duplicates are written
    # (analyze/analyze.c): every analysis table, row for row with its
    # ids, must be what -j 1 stores
    a1, a4 = dump_analysis(db1), dump_analysis(db4)
    for t in ANALYSIS_TABLES:
        if t != "leak":     # the fixtures have no split leak
            c.check(len(a1[t]) > 0, "-j 1 stored %s rows" % t, "none")
        c.check(a1[t] == a4[t], "-j 1 and -j 4 %s rows identical (%d rows)"
                % (t, len(a1[t])), first_difference(a1[t], a4[t]))


def check_sample(c, imgaudit, tmp):
    db = os.path.join(tmp, "sample.db")
    doc = scan_and_report(c, imgaudit, SAMPLE_DIR, db, 2, "sample")
    if doc is None:
        return
    status, db_finds = read_db(db)
    js_finds = json_findings(doc)
    counts = {}
    for s in status.values():
        counts[s] = counts.get(s, 0) + 1
    c.check(counts == SAMPLE_COUNTS, "sample: status counts %s"
            % SAMPLE_COUNTS, "got %s" % counts)
    for path, (want, codes) in sorted(SAMPLE_PLANTED.items()):
        have = codes_of(db_finds.get(path, [])) & codes_of(
            js_finds.get(path, []))
        missing = [k for k in codes if k not in have]
        c.check(status.get(path) == want and not missing,
                "sample: %s is %s %s" % (path, want, ";".join(codes)),
                "got %r, missing in db or json: %s"
                % (status.get(path), missing))
    leak = [(k, s) for p in SAMPLE_LEAK for k, s in db_finds.get(p, [])
            if k == "split_leak"]
    c.check(("split_leak", "error") in leak,
            "sample: exact split_leak (error) on %s / %s" % SAMPLE_LEAK,
            "got %s" % leak)
    pairs = [{x.get("a"), x.get("b")} for x in doc.get("leaks") or []]
    c.check(set(SAMPLE_LEAK) in pairs, "sample: json leaks pair %s / %s"
            % SAMPLE_LEAK, "got %s" % pairs[:5])
    errors = sorted({p for p, fs in db_finds.items()
                     for k, s in fs if s == "error"} - set(SAMPLE_PLANTED))
    c.check(not errors, "sample: no error findings besides the planted ones",
            ", ".join(errors[:5]))


def main(argv):
    if len(argv) != 3:
        print("usage: test_fixtures.py IMGAUDIT MKFIXTURES", file=sys.stderr)
        return 2
    imgaudit, mkfixtures = (os.path.abspath(a) for a in argv[1:])
    c = Checks()
    rows = read_expected()
    with tempfile.TemporaryDirectory(prefix="imgaudit-fixtures-") as tmp:
        tree = os.path.join(tmp, "fixtures")
        p = run([mkfixtures, tree])
        c.check(p.returncode == 0, "mkfixtures writes and verifies the tree",
                short(p) + " " + p.stdout.decode("utf-8", "replace")[-400:])
        files = set(tree_files(tree))
        listed = {r["path"] for r in rows}
        c.check(files == listed, "fixtures.csv lists every generated file",
                "only on disk: %s; only in csv: %s"
                % (sorted(files - listed), sorted(listed - files)))
        compare_trees(c, tree, CASES_DIR,
                      "generated tree equals committed fixtures/cases")
        sample = os.path.join(tmp, "sample")
        p = run([mkfixtures, "--sample", sample])
        c.check(p.returncode == 0, "mkfixtures --sample", short(p))
        compare_trees(c, sample, SAMPLE_DIR,
                      "generated sample equals committed fixtures/sample")
        db1 = check_fixture_scan(c, imgaudit, tree, tmp, rows)
        if db1:
            check_jobs_identical(c, imgaudit, tree, tmp, db1)
        check_sample(c, imgaudit, tmp)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
