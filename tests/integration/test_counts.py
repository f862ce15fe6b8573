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
4. The same two numbers, named, in every format: per code and per
   severity, the text and Markdown reports, the JSON report's
   `finding_counts` and `summary`, the HTML and the summary line of
   `imgaudit scan` all equal what sqlite3 counts in the DB's finding
   table (distinct paths, and rows without a path). On fixtures/sample
   (grayscale: 1 file and 1 dataset-level finding) and on a copy with
   findings about paths that are no stored file (a symlink, a junk
   folder: counted by path, not as dataset-level).

Standard library only. One line per check, then "N passed, N failed".
"""
import csv
import io
import json
import os
import re
import shutil
import sqlite3
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
    out = os.path.join(tmp, os.path.basename(db) + ".html")
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


def html_codes(html):
    rows = re.findall(r'<tr><td><span class="sev sev-(\w+)">\w+</span></td>'
                      r'<td><code>([^<]*)</code></td><td class="n">([^<]*)'
                      r'</td><td class="n">([^<]*)</td>', html)
    return {(code, sev): (num(a), num(b)) for sev, code, a, b in rows}


def html_cards(html):
    return dict((cap, num(n)) for n, cap in re.findall(
        r'<div class="num">([^<]*)</div><div class="cap">([^<]*)</div>',
        html))


def check_html_counts(exe, db, tmp):
    report = json.loads(run(exe, "report", "--db", db, "--format", "json"))
    want_codes, want_sev = expected_counts(report)
    with open(os.path.join(tmp, os.path.basename(db) + ".html"),
              encoding="utf-8") as f:
        html = f.read()
    got = html_codes(html)
    check(got == want_codes and any(n for _, n in got.values()),
          "html: per code, files and dataset-level findings apart (%d codes)"
          % len(got), (got, want_codes))
    cards = html_cards(html)
    check(all(cards.get("files with %s" % ("errors" if s == "error" else
                                           "warnings" if s == "warning"
                                           else s)) == want_sev.get(s, 0)
              for s in ("error", "warning", "info")) and
          cards.get("dataset-level findings") ==
          sum(n for _, n in want_codes.values()),
          "html: cards count files with errors / warnings / info, and "
          "dataset-level findings", (cards, want_sev))


SEVERITY = {0: "info", 1: "warning", 2: "error"}
PLURAL = {"error": "errors", "warning": "warnings", "info": "info"}


def db_counts(db):
    """The truth, from the finding table by sqlite3 through the scan's
    loader profiles (as the reports read it): {(code, severity): (files,
    dataset-level)} and {severity: (files, dataset-level)}, where files
    are the distinct paths and dataset-level the rows without a path."""
    con = sqlite3.connect(db)
    loaders = json.loads(con.execute("SELECT options FROM scan"
                                     ).fetchone()[0]).get("loaders")
    shown = ("(loader IS NULL OR loader IN (%s))"
             % ",".join("'%s'" % n for n in loaders))
    codes = {(code, SEVERITY[sev]): (files, ds) for code, sev, files, ds in
             con.execute("SELECT code, severity, count(DISTINCT path),"
                         " sum(path IS NULL) FROM finding WHERE " + shown +
                         " GROUP BY code, severity")}
    sev = {SEVERITY[s]: (files, ds) for s, files, ds in
           con.execute("SELECT severity, count(DISTINCT path),"
                       " sum(path IS NULL) FROM finding WHERE " + shown +
                       " GROUP BY severity")}
    con.close()
    for s in SEVERITY.values():
        sev.setdefault(s, (0, 0))
    return codes, sev


def severity_words(sev):
    """The wording every report uses for the per-severity counts."""
    ds = ["%d %s" % (sev[s][1], s if sev[s][1] == 1 else PLURAL[s])
          for s in ("error", "warning", "info")]
    return ("files with errors: %d, with warnings: %d, with info: %d; "
            "dataset-level findings: %s" % (sev["error"][0],
                                            sev["warning"][0],
                                            sev["info"][0], ", ".join(ds)))


def text_codes(text):
    """(code, severity) -> (files, dataset-level) from the text report's
    problem headings ("  grayscale: 1 file, 1 dataset-level") and info
    lines."""
    got, sev = {}, None
    for line in text.splitlines():
        head = {"errors": "error", "warnings": "warning", "info": "info"}
        if line in head:
            sev = head[line]
            continue
        m = re.match(r"  (\w+):? +(\d+) files?, (\d+) dataset-level", line)
        if m and sev:
            got[(m.group(1), sev)] = (int(m.group(2)), int(m.group(3)))
    return got


def md_codes(md):
    rows = re.findall(r"^\| (error|warning|info) \| ([^|]+) \| (\d+) \| "
                      r"(\d+) \|", md, re.M)
    return {(code.replace("\\_", "_").strip(), sev): (int(a), int(b))
            for sev, code, a, b in rows}


def check_formats(exe, db, tmp, tag, scan_err):
    want_codes, want_sev = db_counts(db)
    shown = {k: v for k, v in want_codes.items() if k[1] != "info"}
    words = severity_words(want_sev)
    check(want_codes and any(ds for _, ds in want_codes.values()) and
          any(f for f, _ in want_codes.values()),
          "%s: the DB holds findings about files and about the dataset"
          % tag, want_codes)

    with open(os.path.join(tmp, os.path.basename(db) + ".html"),
              encoding="utf-8") as f:
        html = f.read()
    got = html_codes(html)
    check(got == want_codes, "%s: html, per code: files and dataset-level "
          "as the DB counts them" % tag, (got, want_codes))
    cards = html_cards(html)
    got = {s: cards.get("files with " + PLURAL[s]) for s in SEVERITY.values()}
    check(got == {s: f for s, (f, _) in want_sev.items()} and
          cards.get("dataset-level findings") ==
          sum(d for _, d in want_sev.values()),
          "%s: html cards as the DB counts them" % tag, (cards, want_sev))

    text = run(exe, "report", "--db", db)
    got = text_codes(text)
    check(got == want_codes, "%s: text, per code: files and dataset-level "
          "as the DB counts them" % tag, (got, want_codes))
    check("\nsummary: %s\n" % words in text,
          "%s: text summary: '%s'" % (tag, words),
          text[text.find("\nsummary"):])

    md = run(exe, "report", "--db", db, "--format", "md")
    got = md_codes(md)
    check(got == shown, "%s: markdown, per code: files and dataset-level "
          "columns as the DB counts them" % tag, (got, shown))
    check(re.search(r"\*\*Verdict: [^*]+\*\* \(%s\)" % re.escape(words),
                    md), "%s: markdown verdict names the counts" % tag,
          md[:600])

    report = json.loads(run(exe, "report", "--db", db, "--format", "json"))
    got = {(c["code"], c["severity"]): (c["files"], c["dataset_level"])
           for c in report.get("finding_counts", [])}
    check(got == want_codes, "%s: json finding_counts as the DB counts "
          "them" % tag, (got, want_codes))
    summ = report["summary"]
    got = {s: (summ.get("files_with_" + PLURAL[s].replace("info", "infos")),
               summ.get("dataset_level_" + PLURAL[s].replace("info",
                                                             "infos")))
           for s in SEVERITY.values()}
    check(got == want_sev and
          all(summ[k] == sum(1 for f in report["findings"]
                             if f["severity"] == s)
              for s, k in (("error", "errors"), ("warning", "warnings"),
                           ("info", "infos"))),
          "%s: json summary: files_with_* and dataset_level_* as the DB, "
          "errors/warnings/infos still findings" % tag, (got, want_sev))

    ds = sum(want_sev[s][1] for s in SEVERITY.values())
    parts = ["%d %s" % (want_sev[s][1], s if want_sev[s][1] == 1 or
                        s == "info" else PLURAL[s])
             for s in ("error", "warning", "info") if want_sev[s][1]]
    line = ("%d file%s with errors, %d with warnings; %d dataset-level "
            "finding%s%s" % (want_sev["error"][0],
                             "" if want_sev["error"][0] == 1 else "s",
                             want_sev["warning"][0], ds,
                             "" if ds == 1 else "s",
                             " (%s)" % ", ".join(parts) if parts else ""))
    check("decoded; %s; " % line in scan_err,
          "%s: scan summary line: '%s'" % (tag, line), scan_err)


def scan(exe, root, db):
    r = subprocess.run([exe, "scan", root, "--db", db],
                       capture_output=True, text=True)
    if r.returncode not in (0, 3):
        raise SystemExit("scan %s: %s" % (root, r.stderr))
    return r.stderr


def with_paths(sample, tmp):
    """A copy of the sample with findings about paths that are no stored
    file: a symlink and a junk folder (junk_folder and empty_class on one
    path: one file, two findings)."""
    root = os.path.join(tmp, "paths")
    shutil.copytree(sample, root, symlinks=True)
    os.symlink("nowhere.jpg", os.path.join(root, "train", "cat",
                                           "gone.jpg"))
    os.mkdir(os.path.join(root, "train", ".ipynb_checkpoints"))
    return root


def main():
    exe = os.path.abspath(sys.argv[1])
    sample = os.path.join(sys.argv[2], "fixtures", "sample")
    with tempfile.TemporaryDirectory(prefix="imgaudit-counts-") as tmp:
        db = os.path.join(tmp, "s.db")
        err = scan(exe, sample, db)
        check_export(exe, db)
        check_header(exe, db, tmp)
        check_html_counts(exe, db, tmp)
        check_formats(exe, db, tmp, "sample", err)
        db = os.path.join(tmp, "p.db")
        err = scan(exe, with_paths(sample, tmp), db)
        check_header(exe, db, tmp)
        check_html_counts(exe, db, tmp)
        check_formats(exe, db, tmp, "paths", err)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
