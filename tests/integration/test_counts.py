#!/usr/bin/env python3
"""What the reports promise about findings, checked on fixtures/sample
(issue 19).

    test_counts.py IMGAUDIT SOURCE_ROOT

1. The export carries every finding of a file with its detail: for each
   row of the CSV and the JSONL export, `finding_details` has one
   `code: detail` line per code in `findings`, in the same order, and the
   lines are exactly the file's findings of `report --format json`.
2. The HTML header says "92 files, 89 decoded", not "files 92 files".

Standard library only. One line per check, then "N passed, N failed".
"""
import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what +
          ("" if ok or not detail else ": %s" % (detail,))[:800])
    if ok:
        passed += 1
    else:
        failed += 1


def run(exe, *args):
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise SystemExit("%s: %s" % (" ".join(args[:2]), r.stderr))
    return r.stdout


def file_findings(report):
    """path -> ["code: detail", ...] in report order."""
    out = {}
    for f in report["findings"]:
        if f["path"] is not None:
            out.setdefault(f["path"], []).append(
                "%s: %s" % (f["code"], (f["detail"] or "").replace("\n", " ")))
    return out


def check_export(exe, db):
    report = json.loads(run(exe, "report", "--db", db, "--format", "json"))
    want = file_findings(report)
    rows = {"jsonl": [json.loads(line) for line in
                      run(exe, "export", "--db", db, "-f",
                          "jsonl").splitlines()],
            "csv": list(csv.DictReader(io.StringIO(
                run(exe, "export", "--db", db, "-f", "csv"))))}
    for fmt, table in rows.items():
        bad = []
        for r in table:
            codes = r.get("findings")
            if fmt == "csv":
                codes = codes.split(";") if codes else []
            lines = (r.get("finding_details") or "").splitlines()
            if ([ln.split(": ", 1)[0] for ln in lines] != codes or
                    sorted(lines) != sorted(want.get(r["path"], []))):
                bad.append((r["path"], codes, lines))
        check(table and not bad and any(want.values()),
              "export %s: every finding of a file with its detail, %d files"
              % (fmt, len(table)), bad[:3])


def check_header(exe, db, tmp):
    out = os.path.join(tmp, "s.html")
    run(exe, "report", "--db", db, "--format", "html", "-o", out)
    with open(out, encoding="utf-8") as f:
        html = f.read()
    head = html[html.find("<header>"):html.find("</header>")]
    n = len(run(exe, "export", "--db", db, "-f", "jsonl").splitlines())
    check(re.search(r"<dd>%d files, \d+ decoded</dd>" % n, head) and
          "<dt>files</dt>" not in head,
          "html header: '%d files, N decoded' without a 'files' key" % n,
          head)


def main():
    exe = os.path.abspath(sys.argv[1])
    sample = os.path.join(sys.argv[2], "fixtures", "sample")
    with tempfile.TemporaryDirectory(prefix="imgaudit-counts-") as tmp:
        db = os.path.join(tmp, "s.db")
        subprocess.run([exe, "scan", sample, "--db", db, "-q"],
                       capture_output=True)
        check_export(exe, db)
        check_header(exe, db, tmp)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
