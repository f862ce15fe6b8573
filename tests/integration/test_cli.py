#!/usr/bin/env python3
"""The command line as a new user meets it (issue 19, docs/cli.md).

    test_cli.py IMGAUDIT SOURCE_ROOT

- A scan that cannot start (missing folder, a file for a folder, a DB in
  a missing folder, a missing manifest or --reuse DB, a bad option)
  creates no DB and touches none.
- The same condition gets the same exit code in every command (docs/cli.md
  "Exit codes"): a DB that is not there, a scan name the DB lacks: 2.
- Error messages are one line and name their subject once.
- --exclude leaves out files and folders by path or name, in a folder
  walk and in a manifest, and is part of the scan's options.
- On a terminal the progress line shows done/total files, percent, rate
  and time left; an interrupted scan prints the exact command that
  finishes it, and that command does.
- `scans` says which scans share rows and each one's share of the DB;
  `scans --delete` removes a scan and its rows and shrinks the file, and
  refuses a scan whose rows an unchanged rescan reads.

Standard library only; one line per check, then "N passed, N failed".
"""
import os
import pty
import re
import select
import shutil
import signal
import sqlite3
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


def paths(db):
    con = sqlite3.connect(db)
    try:
        return sorted(r[0] for r in con.execute(
            "SELECT path FROM file WHERE scan_id = "
            "(SELECT max(id) FROM scan)"))
    finally:
        con.close()


def case_exclude(tmp):
    """--exclude by name glob and by folder path; the globs in options."""
    db = os.path.join(tmp, "ex.db")
    r = run("scan", SAMPLE, "--db", db, "-q")
    everything = paths(db)
    r = run("scan", SAMPLE, "--db", db, "-q", "--exclude", "train",
            "--exclude", ".DS_Store", "--exclude", "test/*/0*")
    check(r.returncode in (0, 3), "scan with three --exclude", r.stderr)
    got = paths(db)
    want = [p for p in everything
            if not p.startswith("train/") and not p.endswith(".DS_Store")
            and not re.match(r"test/[^/]*/0", p)]
    check(got == want and len(want) < len(everything) and
          any(p.startswith("test/") for p in got),
          "--exclude train, .DS_Store, test/*/0*: exactly those left out",
          "%d of %d kept" % (len(got), len(everything)))
    con = sqlite3.connect(db)
    opts = con.execute("SELECT options FROM scan ORDER BY id DESC").fetchone()
    con.close()
    check('"exclude":["train",".DS_Store","test/*/0*"]' in opts[0],
          "the globs are in the scan's options", opts[0])
    # A manifest's rows are left out the same way.
    man = os.path.join(tmp, "m.csv")
    with open(man, "w") as f:
        f.write("path,label\n")
        for p in everything[:10]:
            f.write("%s,x\n" % os.path.join(SAMPLE, p))
    r = run("scan", SAMPLE, "--db", db, "-q", "--manifest", man,
            "--exclude", os.path.basename(everything[0]))
    check(paths(db) == everything[1:10], "--exclude on a manifest's rows",
          str(paths(db)[:3]))
    r = run("scan", SAMPLE, "--db", db, "--exclude", "")
    check(r.returncode == 2, "an empty --exclude: exit 2", r.stderr)


def many_files(tmp, copies):
    """copies of the sample's images, as one folder tree."""
    root = os.path.join(tmp, "many")
    for i in range(copies):
        shutil.copytree(SAMPLE, os.path.join(root, "train", "c%03d" % i),
                        ignore=shutil.ignore_patterns(".*", "val", "test"))
    return root


def read_pty(proc, fd, until, limit):
    """What the scan wrote to its terminal until until(text) or the end."""
    out = b""
    while proc.poll() is None or select.select([fd], [], [], 0)[0]:
        if select.select([fd], [], [], limit)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if until(out.decode("utf-8", "replace")):
                break
        elif proc.poll() is not None:
            break
    return out.decode("utf-8", "replace")


def case_progress_and_resume(tmp):
    """The progress line on a terminal, then Ctrl-C, then the command."""
    root = many_files(tmp, 40)
    total = sum(len(f) for _, _, f in os.walk(root))
    db = os.path.join(tmp, "p.db")
    master, slave = pty.openpty()
    proc = subprocess.Popen(iatest.wrap([IMGAUDIT, "scan", root, "--db", db,
                                         "-j", "1", "--exclude", "*.none",
                                         "--name", "it's"]),
                            stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, cwd=tmp)
    os.close(slave)
    pat = re.compile(r"imgaudit scan: (\d+)/(\d+) files \((\d+)%\), "
                     r"\d+ files/s, \d+:\d\d elapsed, \d+:\d\d left")
    text = read_pty(proc, master, lambda t: pat.search(t), 30)
    m = pat.search(text)
    check(m is not None and int(m.group(2)) == total,
          "progress line: done/%d files (percent), rate, elapsed, left"
          % total, text[-300:])
    proc.send_signal(signal.SIGINT)
    text += read_pty(proc, master, lambda t: False, 30)
    proc.wait()
    os.close(master)
    check(proc.returncode == 130, "interrupted: exit 130",
          str(proc.returncode))
    cmd = re.search(r"to finish it, run:\r?\n  (imgaudit [^\r\n]*)", text)
    check(cmd is not None and cmd.group(1).endswith(" --resume") and
          "'it'\\''s'" in cmd.group(1) and "'*.none'" in cmd.group(1),
          "interrupted: the exact --resume command, quoted for the shell",
          text[-400:])
    if cmd is None:
        return
    line = IMGAUDIT + cmd.group(1)[len("imgaudit"):]
    r = subprocess.run(["sh", "-c", line + " -q"], cwd=tmp,
                       capture_output=True, text=True)
    con = sqlite3.connect(db)
    n, complete = con.execute(
        "SELECT count(*), (SELECT complete FROM scan WHERE name = ?) "
        "FROM file", ("it's",)).fetchone()
    scans = con.execute("SELECT count(*) FROM scan").fetchone()[0]
    con.close()
    check(r.returncode in (0, 3) and complete == 1 and n == total and
          scans == 1, "the printed command finishes the same scan: "
          "complete, every file once", "%s n=%d/%d complete=%s scans=%d" %
          (r.stderr.strip(), n, total, complete, scans))


def case_scans_delete(tmp):
    db = os.path.join(tmp, "del.db")
    big = many_files(os.path.join(tmp, "d"), 10)
    run("scan", SAMPLE, "--db", db, "-q")
    run("scan", SAMPLE, "--db", db, "-q", "--reuse", db, "--trust-mtime")
    run("scan", big, "--db", db, "-q", "--name", "big")
    r = run("scans", "--db", db)
    lines = r.stdout.splitlines()
    check(len(lines) == 4 and "rows" in lines[0] and "~size" in lines[0] and
          "own, 1 sharing" in lines[1] and "= scan 1" in lines[2] and
          re.search(r"own\s+0\.[1-9] MB", lines[3]) is not None,
          "scans: who shares rows, and each scan's share of the DB",
          r.stdout)
    r = run("scans", "--db", db, "--delete", "1")
    con = sqlite3.connect(db)
    left = con.execute("SELECT count(*) FROM scan").fetchone()[0]
    con.close()
    check(r.returncode == 2 and "scan 2" in r.stderr and left == 3,
          "scans --delete of a scan whose rows another reads: refused, "
          "exit 2, names the sharer", r.stderr)
    size = os.path.getsize(db)
    r = run("scans", "--db", db, "--delete", "big")
    con = sqlite3.connect(db)
    rest = con.execute("SELECT count(*) FROM file f JOIN scan s ON "
                       "s.id = f.scan_id WHERE s.name = 'big'").fetchone()[0]
    names = [n for (n,) in con.execute("SELECT name FROM scan")]
    orphans = con.execute("SELECT count(*) FROM finding WHERE scan_id NOT IN"
                          " (SELECT id FROM scan)").fetchone()[0]
    con.close()
    check(r.returncode == 0 and rest == 0 and names == ["sample", "sample"]
          and orphans == 0 and os.path.getsize(db) < size / 2 and
          "deleted scan big" in r.stderr,
          "scans --delete NAME: the scan and its rows gone, the file "
          "shrunk", "%s %d -> %d" % (r.stderr.strip(), size,
                                     os.path.getsize(db)))
    r = run("scans", "--db", db, "--delete", "nosuch")
    check(r.returncode == 2, "scans --delete of an unknown scan: exit 2",
          r.stderr)


def main():
    global IMGAUDIT, SAMPLE
    IMGAUDIT = os.path.abspath(sys.argv[1])
    SAMPLE = os.path.abspath(os.path.join(sys.argv[2], "fixtures", "sample"))
    with tempfile.TemporaryDirectory() as tmp:
        case_scan_refused(tmp)
        case_same_codes(tmp)
        case_exclude(tmp)
        case_progress_and_resume(tmp)
        case_scans_delete(tmp)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
