#!/usr/bin/env python3
"""Integration test: one writer per DB at a time (issue 13, docs/cli.md).

    test_writers.py IMGAUDIT RACE_SHIM.so

Scan A is held mid-walk by the shim (action "pause", as in
test_interrupt.py): -j 1, past its first committed batch, so it holds
both the DB's writer lock and an open write transaction. Meanwhile:

  - scan, merge and scan --resume into A's DB with --wait 0 exit 1 at
    once with one line naming A's pid, and write nothing (same scans, no
    new row, no empty incomplete scan); --wait 1 says it waits, waits a
    second, then gives up the same way.
  - report (json), scans, export and compare read the DB while A writes,
    without waiting for it; they see A's committed rows.
  - a scan and a merge started without --wait say they are waiting; once
    A is released, A, the scan and the merge all complete, one after the
    other: three complete scans, none incomplete, integrity ok.
  - a writer lock left by a writer killed with SIGKILL is no lock: the
    next scan goes ahead at once.

Standard library only; one line per check, then "N passed, N failed".
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402

IMGAUDIT = SHIM = None
C = iatest.Checks()
SAMPLE = os.path.join(iatest.SOURCE_ROOT, "fixtures", "sample")
BATCH = iatest.store_batch()


def imgaudit(*args, timeout=300):
    return iatest.run(iatest.wrap([IMGAUDIT] + list(args)), timeout=timeout)


def make_tree(root, n):
    names = []
    for i in range(n):
        name = "cls/img_%05d.png" % i
        iatest.write(os.path.join(root, name), iatest.tiny_png(i))
        names.append(name)
    return names


def start_paused(tmp, root, db, target):
    """Scan A, paused in the open() of target; (Popen, release path)."""
    p, release = iatest.start_paused(SHIM, [IMGAUDIT, "scan", root, "--db",
                                            db, "-q", "-j", "1", "--name",
                                            "a"], tmp, target)
    if not p:
        C.check(False, "scan A reaches %s" % target, release)
        return None, None
    return p, release


def scan_rows(db):
    con = iatest.connect_ro(db)
    try:
        return con.execute("SELECT id, name, complete FROM scan ORDER BY id"
                           ).fetchall()
    finally:
        con.close()


def refused(res, pid):
    lines = res.stderr.decode("utf-8", "replace").strip().splitlines()
    return (res.returncode == 1 and lines and
            "another imgaudit (pid %d) is writing it" % pid in lines[-1])


def check_refusals(tmp, db, shards, pid):
    before = scan_rows(db)
    runs = {"scan": ["scan", SAMPLE, "--db", db, "-q"],
            "merge": ["merge", db] + shards + ["-q"],
            "scan --resume": ["scan", SAMPLE, "--db", db, "-q", "--name",
                              "a", "--resume"]}
    for what, args in runs.items():
        res = imgaudit(*(args + ["--wait", "0"]))
        lines = res.stderr.decode("utf-8", "replace").strip().splitlines()
        C.check(refused(res, pid) and len(lines) == 1 and res.seconds < 3,
                "%s --wait 0 while A writes: exit 1 at once, one line "
                "naming A's pid" % what,
                "%s in %.1f s" % (res.why(), res.seconds))
    res = imgaudit(*(runs["scan"] + ["--wait", "1"]))
    lines = res.stderr.decode("utf-8", "replace").strip().splitlines()
    C.check(refused(res, pid) and len(lines) == 2 and
            lines[0].startswith("imgaudit scan: waiting for") and
            1 <= res.seconds < 5,
            "scan --wait 1 while A writes: says it waits, then exits 1 "
            "after a second", "%s in %.1f s" % (res.why(), res.seconds))
    C.eq(scan_rows(db), before, "refused writers wrote nothing: no scan "
                                "row, no empty incomplete scan")


def check_readers(tmp, db, other):
    t0 = time.monotonic()
    rep = imgaudit("report", "--db", db, "a", "--format", "json")
    try:
        files = json.loads(rep.stdout)["scan"]["files"]
    except (ValueError, KeyError, TypeError) as e:
        files = "unparsable: %s" % e
    C.eq((rep.returncode, files), (0, BATCH),
         "report while A writes: reads A's committed rows")
    runs = [["scans", "--db", db], ["export", "--db", db, "a"],
            ["compare", other, db + ":a", "--fail-on", "never"]]
    for args in runs:
        res = imgaudit(*args)
        C.check(res.returncode == 0, "%s while A writes: runs" % args[0],
                res.why())
    # A reader blocked by the writer would fail after SQLite's 5 s busy
    # timeout (the exit codes above); the time says it did not wait at
    # all (not under valgrind, which alone takes seconds).
    if not iatest.under_valgrind():
        C.check(time.monotonic() - t0 < 4, "readers never wait for the "
                                           "writer", "%.1f s"
                % (time.monotonic() - t0))


def wait_for_line(path, words, p, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        with open(path, "rb") as f:
            if words in f.read():
                return True
        time.sleep(0.02)
    return False


def check_queue(tmp, db, shards, a, release):
    """A scan and a merge started without --wait queue behind A."""
    queued = {}
    for what, args in (("scan", ["scan", SAMPLE, "--db", db, "-q",
                                 "--name", "b"]),
                       ("merge", ["merge", db] + shards + ["-q", "--name",
                                                           "m"])):
        err = os.path.join(tmp, what + ".err")
        f = open(err, "wb")
        p = subprocess.Popen(iatest.wrap([IMGAUDIT] + args),
                             stdout=subprocess.DEVNULL, stderr=f)
        f.close()
        C.check(wait_for_line(err, b"waiting for", p),
                "%s without --wait while A writes: says it is waiting"
                % what, open(err, "rb").read()[-300:])
        queued[what] = (p, err)
    open(release, "w").close()
    _, err_a = a.communicate(timeout=600)
    C.eq(a.returncode, 0, "A completes once released")
    for what, (p, err) in queued.items():
        try:
            p.wait(timeout=600)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        C.eq(p.returncode, 0, "the queued %s completes after A" % what)
    rows = [(r[1].decode(), r[2]) for r in scan_rows(db)]
    C.eq(sorted(rows), [("a", 1), ("b", 1), ("m", 1)],
         "three complete scans, no incomplete one")
    C.eq(iatest.integrity(db), "ok", "PRAGMA integrity_check")
    C.check(not os.path.exists(db + ".lock"),
            "the last writer removed the lock file")


def case_killed_holder(tmp, root, names):
    """A lock whose holder died (SIGKILL) is released by the kernel."""
    db = os.path.join(tmp, "killed.db")
    a, release = start_paused(tmp, root, db, names[10])
    if not a:
        return
    a.send_signal(signal.SIGKILL)
    a.communicate()
    open(release, "w").close()
    C.check(os.path.exists(db + ".lock"), "a killed writer leaves its lock "
                                          "file behind")
    res = imgaudit("scan", SAMPLE, "--db", db, "-q", "--wait", "0")
    C.check(res.returncode == 0, "the next scan takes the lock at once",
            res.why())
    C.check(not os.path.exists(db + ".lock"), "and removes the file")


def main():
    global IMGAUDIT, SHIM
    if len(sys.argv) < 3:
        print("usage: test_writers.py IMGAUDIT RACE_SHIM.so")
        return 2
    IMGAUDIT = os.path.abspath(sys.argv[1])
    SHIM = os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="ia-writers-")
    try:
        root = os.path.join(tmp, "tree")
        names = make_tree(root, BATCH + 200)
        shards = [os.path.join(tmp, "shard%d.db" % k) for k in range(2)]
        other = os.path.join(tmp, "other.db")
        for args in [["scan", SAMPLE, "--db", s, "-q", "--shard",
                      "%d/2" % k] for k, s in enumerate(shards)] + \
                [["scan", root, "--db", other, "-q", "--name", "a"]]:
            if not C.check(imgaudit(*args).returncode == 0,
                           "setup: " + " ".join(args[:1] + args[4:])):
                return C.finish()
        db = os.path.join(tmp, "shared.db")
        a, release = start_paused(tmp, root, db, names[BATCH + 100])
        if a:
            try:
                check_refusals(tmp, db, shards, a.pid)
                check_readers(tmp, db, other)
                check_queue(tmp, db, shards, a, release)
            finally:
                open(release, "w").close()
                if a.poll() is None:
                    a.wait(timeout=600)
        case_killed_holder(tmp, root, names)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return C.finish()


if __name__ == "__main__":
    sys.exit(main())
