#!/usr/bin/env python3
"""What the reports promise about findings, checked on fixtures/sample
(issue 19).

    test_counts.py IMGAUDIT SOURCE_ROOT

1. The export carries every finding of a file with its detail: for each
   row of the CSV and the JSONL export, `finding_details` has one
   `code: detail` line per code in `findings`, in the same order, and the
   lines are exactly the file's findings of `report --format json`.
2. The HTML header says "92 files, 89 decoded", not "files 92 files".
3. Findings and files counted apart in the HTML: per code, the files
   column is the distinct files with that code and the dataset-level
   column the findings about no file; the summary cards count files
   with an error / warning / info, and dataset-level findings apart;
   all against `report --format json`.

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


def expected_counts(report):
    """(code, severity) -> (distinct files, dataset-level findings), and
    severity -> distinct files, from the JSON report's findings."""
    codes, sev = {}, {}
    for f in report["findings"]:
        k = (f["code"], f["severity"])
        files, n = codes.get(k, (set(), 0))
        if f["path"] is None:
            n += 1
        else:
            files.add(f["path"])
            sev.setdefault(f["severity"], set()).add(f["path"])
        codes[k] = (files, n)
    return ({k: (len(v[0]), v[1]) for k, v in codes.items()},
            {k: len(v) for k, v in sev.items()})


def num(text):
    return int(re.sub(r"\D", "", text))


def check_html_counts(exe, db, tmp):
    report = json.loads(run(exe, "report", "--db", db, "--format", "json"))
    want_codes, want_sev = expected_counts(report)
    with open(os.path.join(tmp, "s.html"), encoding="utf-8") as f:
        html = f.read()
    rows = re.findall(r'<tr><td><span class="sev sev-(\w+)">\w+</span></td>'
                      r'<td><code>([^<]*)</code></td><td class="n">([^<]*)'
                      r'</td><td class="n">([^<]*)</td>', html)
    got = {(code, sev): (num(a), num(b)) for sev, code, a, b in rows}
    check(got == want_codes and any(n for _, n in got.values()),
          "html: per code, files and dataset-level findings apart (%d codes)"
          % len(got), (got, want_codes))
    cards = dict((cap, num(n)) for n, cap in re.findall(
        r'<div class="num">([^<]*)</div><div class="cap">([^<]*)</div>',
        html))
    check(all(cards.get("files with %s" % ("errors" if s == "error" else
                                           "warnings" if s == "warning"
                                           else s)) == want_sev.get(s, 0)
              for s in ("error", "warning", "info")) and
          cards.get("dataset-level findings") ==
          sum(n for _, n in want_codes.values()),
          "html: cards count files with errors / warnings / info, and "
          "dataset-level findings", (cards, want_sev))


def main():
    exe = os.path.abspath(sys.argv[1])
    sample = os.path.join(sys.argv[2], "fixtures", "sample")
    with tempfile.TemporaryDirectory(prefix="imgaudit-counts-") as tmp:
        db = os.path.join(tmp, "s.db")
        subprocess.run([exe, "scan", sample, "--db", db, "-q"],
                       capture_output=True)
        check_export(exe, db)
        check_header(exe, db, tmp)
        check_html_counts(exe, db, tmp)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
