#!/usr/bin/env python3
"""The command line as a new user meets it (issue 19, docs/cli.md).

    test_cli.py IMGAUDIT SOURCE_ROOT

- A scan that cannot start (missing folder, a file for a folder, a DB in
  a missing folder, a missing manifest or --reuse DB, a bad option)
  creates no DB and touches none.
- The same condition gets the same exit code in every command (docs/cli.md
  "Exit codes"): a DB that is not there, a scan name the DB lacks: 2.
- Error messages are one line and name their subject once.

Standard library only; one line per check, then "N passed, N failed".
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402

IMGAUDIT = ""
SAMPLE = ""
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what + ("" if ok or not detail
                                                  else ": %s" % detail))
    if ok:
        passed += 1
    else:
        failed += 1


def run(*args, cwd=None):
    return subprocess.run(iatest.wrap([IMGAUDIT, *args]), capture_output=True,
                          text=True, cwd=cwd)


def one_line(r, subject, what):
    lines = r.stderr.strip().splitlines()
    check(len(lines) == 1 and lines[0].count(subject) == 1,
          what + ": one line naming %s once" % subject, r.stderr.strip())


def case_scan_refused(tmp):
    """Each failure before the start: exit 2, no DB made or touched."""
    afile = os.path.join(tmp, "x.jpg")
    open(afile, "wb").close()
    missing = os.path.join(tmp, "nothere")
    cases = [
        ("a missing folder", [missing], missing),
        ("a file given for a folder", [afile], afile),
        ("a bad option", [SAMPLE, "--bogus"], "--bogus"),
        ("a DB in a missing folder",
         [SAMPLE, "--db", os.path.join(missing, "a.db")], missing),
        ("a missing manifest",
         [SAMPLE, "--manifest", os.path.join(tmp, "none.csv")], "none.csv"),
        ("a missing --reuse DB",
         [SAMPLE, "--reuse", os.path.join(tmp, "none.db")], "none.db"),
    ]
    for what, args, subject in cases:
        work = tempfile.mkdtemp(dir=tmp)
        r = run("scan", *args, cwd=work)
        check(r.returncode == 2, "scan with %s: exit 2" % what,
              "%d %s" % (r.returncode, r.stderr.strip()))
        check(os.listdir(work) == [] and not os.path.exists(
            os.path.join(missing, "a.db")),
              "scan with %s: no DB created" % what, str(os.listdir(work)))
        if what != "a bad option":
            one_line(r, subject, "scan with " + what)
    # An existing DB is not touched either.
    db = os.path.join(tmp, "keep.db")
    r = run("scan", SAMPLE, "--db", db, "-q")
    check(r.returncode in (0, 3), "a first scan into keep.db", r.stderr)
    before = (os.stat(db).st_mtime_ns, open(db, "rb").read())
    r = run("scan", missing, "--db", db)
    check(r.returncode == 2 and
          (os.stat(db).st_mtime_ns, open(db, "rb").read()) == before,
          "scan of a missing folder into an existing DB: exit 2, the DB "
          "byte-identical")


def case_same_codes(tmp):
    """A missing DB and an unknown scan: 2 in every command."""
    missing = os.path.join(tmp, "missing.db")
    db = os.path.join(tmp, "keep.db")
    for cmd in (["report", "--db", missing], ["export", "--db", missing],
                ["scans", "--db", missing], ["compare", missing, db],
                ["compare", db, missing]):
        r = run(*cmd)
        check(r.returncode == 2, "%s with a missing DB: exit 2" % cmd[0],
              "%d %s" % (r.returncode, r.stderr.strip()))
        one_line(r, "missing.db", "%s with a missing DB" % cmd[0])
    for cmd in (["report", "--db", db, "nosuch"],
                ["export", "--db", db, "nosuch"],
                ["compare", db + ":nosuch", db]):
        r = run(*cmd)
        check(r.returncode == 2, "%s of an unknown scan: exit 2" % cmd[0],
              "%d %s" % (r.returncode, r.stderr.strip()))
        one_line(r, "nosuch", "%s of an unknown scan" % cmd[0])
    bad = os.path.join(tmp, "bad.db")
    with open(bad, "wb") as f:
        f.write(b"not a database at all" * 100)
    for cmd in (["report", "--db", bad], ["scans", "--db", bad],
                ["compare", bad, db]):
        r = run(*cmd)
        check(r.returncode == 1, "%s of a file that is not a DB: exit 1"
              % cmd[0], "%d %s" % (r.returncode, r.stderr.strip()))


def main():
    global IMGAUDIT, SAMPLE
    IMGAUDIT = os.path.abspath(sys.argv[1])
    SAMPLE = os.path.abspath(os.path.join(sys.argv[2], "fixtures", "sample"))
    with tempfile.TemporaryDirectory() as tmp:
        case_scan_refused(tmp)
        case_same_codes(tmp)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
