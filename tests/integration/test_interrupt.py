#!/usr/bin/env python3
"""Integration test: interrupted scans (issue 9, docs/security.md).

    test_interrupt.py IMGAUDIT RACE_SHIM.so

The shim (race_shim.c, action "pause") stops the scan inside the open()
of one chosen file, so the signal arrives at a known point of the walk,
never by timing luck. Files are tiny distinct PNGs, stored in walk order.

  SIGINT (and SIGTERM) mid-scan: exit 130, the scan row stays incomplete,
  every file up to and including the one in flight is stored (-j 1: exactly
  those; -j 4: a prefix of the walk no shorter), the DB passes
  PRAGMA integrity_check, is back in rollback-journal mode (no -wal left),
  and report/scans still read it.
  SIGKILL mid-scan, after the first batch of IA_STORE_BATCH files (read
  from src/store/store.h) was committed: the DB opens and passes PRAGMA integrity_check, holds
  exactly that batch, the scan row is incomplete, imgaudit can still
  report it (every format, and `scans`, counting the batch's rows although
  the scan's totals were never stored), and a new scan into the same DB
  completes.
  SIGKILL mid-merge: the merged scan is left unfinished; running the same
  merge again removes it and merges (one complete merged scan, the DB's
  other scan untouched).
  If `imgaudit scan --resume` exists: a scan stopped by SIGINT, and one
  killed by SIGKILL, resumed, end with the same files and findings as an
  uninterrupted scan, and the files already stored are not opened again
  (the shim would make the first of them vanish if it were).

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


BATCH = iatest.store_batch()


def make_tree(root, n):
    folder = os.path.join(root, "cls")
    os.makedirs(folder)
    names = []
    for i in range(n):
        name = "img_%05d.png" % i
        with open(os.path.join(folder, name), "wb") as f:
            f.write(iatest.tiny_png(i))
        names.append("cls/" + name)
    return names


def start_paused(tmp, root, db, target, jobs, extra=()):
    """Starts a scan that pauses in the open() of target; returns the
    Popen and the release path, once the pause is reached (or None)."""
    p, release = iatest.start_paused(SHIM, [IMGAUDIT, "scan", root, "--db",
                                            db, "-q", "-j", str(jobs)] +
                                     list(extra), tmp, target)
    if not p:
        C.check(False, "the scan reaches %s" % target, release)
        return None, None
    return p, release


def finish(p, timeout=120):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, err
    return p.returncode, err


def stored_paths(db):
    con = iatest.connect_ro(db)
    try:
        return [r[0].decode() for r in con.execute(
            "SELECT path FROM file ORDER BY id")]
    finally:
        con.close()


def check_readable(db, what, scan="1"):
    rep = iatest.run(iatest.wrap([IMGAUDIT, "report", "--db", db,
                                  "--format", "json", scan]), timeout=120)
    try:
        doc = json.loads(rep.stdout)
        complete = doc["scan"]["complete"]
    except (ValueError, KeyError, TypeError) as e:
        complete = "unparsable: %s" % e
    C.eq((rep.returncode, complete), (0, False),
         what + ": report reads the incomplete scan" +
         ("" if rep.returncode == 0 else " (%s)" % rep.why()))
    lst = iatest.run(iatest.wrap([IMGAUDIT, "scans", "--db", db]),
                     timeout=60)
    C.eq(lst.returncode, 0, what + ": scans lists it")


def case_sigint(tmp, names, sig, jobs):
    signame = signal.Signals(sig).name
    what = "%s mid-scan (-j %d)" % (signame, jobs)
    root = os.path.join(tmp, "tree")
    db = os.path.join(tmp, "%s-j%d.db" % (signame, jobs))
    k = 150  # the file in flight when the signal comes
    p, release = start_paused(tmp, root, db, names[k], jobs)
    if not p:
        return
    p.send_signal(sig)
    open(release, "w").close()
    rc, err = finish(p)
    C.eq(rc, 130, what + ": exit 130")
    C.check(b"INTERRUPTED" in err, what + ": the summary says interrupted",
            err[-200:])
    C.eq(iatest.integrity(db), "ok", what + ": PRAGMA integrity_check")
    C.check(not os.path.exists(db + "-wal") or
            os.path.getsize(db + "-wal") == 0,
            what + ": no WAL left behind (closed cleanly)")
    row = iatest.scan_row(db) or {}
    C.eq((row.get("complete"), row.get("finished_at") is not None),
         (0, True), what + ": the scan row is incomplete and finished_at "
                           "set")
    got = stored_paths(db)
    if jobs == 1:
        C.eq(got, names[:k + 1], what + ": exactly the files up to the one "
                                        "in flight are stored")
    else:
        # Workers stop between files as soon as they see the signal, so
        # with several workers the stored prefix may end before the paused
        # file (under valgrind, which runs one thread at a time, it often
        # does); it never goes past what was in flight: 8 slots per worker
        # of at most 32 files each (docs/internals.md).
        C.check(got == names[:len(got)] and
                len(got) <= k + 1 + 8 * jobs * 32,
                what + ": a prefix of the walk, no more than was in flight",
                "%d rows" % len(got))
    C.eq(row.get("files"), len(got), what + ": the scan's file count "
                                          "matches its rows")
    ok = iatest.files(db)
    C.eq(sorted(set(r["status"] for r in ok.values())), [b"ok"],
         what + ": every stored file has its full result")
    check_readable(db, what)


def case_sigkill(tmp, names):
    what = "SIGKILL mid-scan"
    root = os.path.join(tmp, "tree")
    db = os.path.join(tmp, "kill.db")
    # A complete scan first: it must survive the crash of the next one.
    first = iatest.run(iatest.wrap([IMGAUDIT, "scan", root, "--db", db, "-q",
                                    "--name", "before"]), timeout=600)
    if not C.check(first.returncode == 0, what + ": a first complete scan",
                   first.why()):
        return
    before = iatest.files(db, 1)
    k = BATCH + 100
    p, release = start_paused(tmp, root, db, names[k], 1,
                              ["--name", "killed"])
    if not p:
        return
    p.send_signal(signal.SIGKILL)
    rc, _ = finish(p)
    open(release, "w").close()
    C.eq(rc, -signal.SIGKILL, what + ": the process died")
    C.eq(iatest.integrity(db), "ok", what + ": PRAGMA integrity_check")
    row = iatest.scan_row(db) or {}
    C.eq((row.get("name"), row.get("complete")), (b"killed", 0),
         what + ": the killed scan's row is there, incomplete")
    got = stored_paths(db)
    C.eq(got[len(names):], names[:BATCH],
         what + ": exactly the committed batch of %d files is stored" % BATCH)
    C.check(iatest.files(db, 1) == before,
            what + ": the earlier complete scan is untouched")
    check_readable(db, what, "killed")
    check_counts(db, "killed", BATCH, what)
    again = iatest.run(iatest.wrap([IMGAUDIT, "scan", root, "--db", db, "-q",
                                    "--name", "after"]), timeout=600)
    C.check(again.returncode == 0, what + ": a new scan into the same DB "
                                          "completes", again.why())
    C.eq(iatest.integrity(db), "ok", what + ": integrity after the new scan")


def check_counts(db, scan, n, what):
    """Every report format and the scan list give the n stored rows of an
    incomplete scan (its totals were never stored: it was killed)."""
    import re

    def report(fmt):
        return iatest.run(iatest.wrap([IMGAUDIT, "report", "--db", db, scan,
                                       "--format", fmt]), timeout=120)
    try:
        doc = json.loads(report("json").stdout)["scan"]
        got = (doc["files"], doc["decoded"])
    except (ValueError, KeyError, TypeError) as e:
        got = "unparsable: %s" % e
    C.eq(got, (n, n), what + ": report --format json counts the stored rows")
    text = report("text").stdout.decode("utf-8", "replace")
    C.check(re.search(r"files +%d \(%d decoded\)" % (n, n), text),
            what + ": report (text) counts the stored rows",
            [ln for ln in text.splitlines() if "files" in ln][:1])
    md = report("md").stdout.decode("utf-8", "replace")
    C.check("| %d | %d |" % (n, n) in md,
            what + ": report --format md counts the stored rows")
    page = report("html").stdout.decode("utf-8", "replace")
    C.check("%d files, %d decoded" % (n, n) in page,
            what + ": report --format html counts the stored rows")
    lst = iatest.run(iatest.wrap([IMGAUDIT, "scans", "--db", db]),
                     timeout=60).stdout.decode("utf-8", "replace")
    line = [ln.split() for ln in lst.splitlines() if " %s " % scan in ln]
    C.check(line and line[0][2:5] == ["no", str(n), str(n)],
            what + ": scans counts the stored rows", line)


def case_killed_merge(tmp, names):
    """A merge killed half way leaves its scan unfinished; running the same
    merge again removes it and merges anew. The kill comes as soon as the
    merged scan row is seen (the merge takes a fraction of a second), so
    a merge that finished first is simply run again."""
    what = "SIGKILL mid-merge"
    root = os.path.join(tmp, "tree")
    shards = [os.path.join(tmp, "m-shard%d.db" % k) for k in range(2)]
    for k, sdb in enumerate(shards):
        res = iatest.run(iatest.wrap([IMGAUDIT, "scan", root, "--db", sdb,
                                      "-q", "--shard", "%d/2" % k]),
                         timeout=600)
        if not C.check(res.returncode == 0, what + ": shard %d/2" % k,
                       res.why()):
            return
    out = os.path.join(tmp, "merged.db")
    orphan = None
    for _ in range(10):
        if os.path.exists(out):
            os.unlink(out)
        # An existing DB with a scan of its own, which must survive.
        iatest.run([IMGAUDIT, "scan", os.path.join(iatest.SOURCE_ROOT,
                                                   "fixtures", "sample"),
                    "--db", out, "-q", "--name", "other"], timeout=300)
        orphan = kill_merge(out, shards)
        if orphan:
            break
    if not C.check(orphan, what + ": the merge was killed while its scan "
                                  "was unfinished"):
        return
    res = iatest.run(iatest.wrap([IMGAUDIT, "merge", out] + shards),
                     timeout=600)
    C.check(res.returncode == 0 and b"unfinished" in res.stderr,
            what + ": the rerun merges and says it removed the unfinished "
                   "scan", res.why())
    con = iatest.connect_ro(out)
    try:
        rows = con.execute("SELECT name, complete, (SELECT count(*) FROM "
                           "file f WHERE f.scan_id = s.id) FROM scan s "
                           "ORDER BY id").fetchall()
    finally:
        con.close()
    C.eq([(r[0].decode(), r[1], r[2]) for r in rows][1:],
         [("tree", 1, len(names))],
         what + ": after the rerun, one complete merged scan and no orphan")
    C.eq(rows[0][:2], (b"other", 1), what + ": the DB's other scan stays")
    C.eq(iatest.integrity(out), "ok", what + ": PRAGMA integrity_check")


def kill_merge(out, shards):
    """Starts merge OUT SHARDS and kills it once its scan row is committed
    and unfinished; the orphan's id, or None if the merge ended first."""
    p = subprocess.Popen(iatest.wrap([IMGAUDIT, "merge", out, "-q"] +
                                     shards),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = None
    while p.poll() is None and not found:
        try:
            con = iatest.connect_ro(out)
            try:
                found = con.execute("SELECT id FROM scan WHERE complete = 0"
                                    " AND finished_at IS NULL").fetchone()
            finally:
                con.close()
        except Exception:  # noqa: BLE001 (the DB may be mid-switch)
            pass
        if found:
            p.send_signal(signal.SIGKILL)
        else:
            time.sleep(0.001)
    p.wait()
    if not found or p.returncode != -signal.SIGKILL:
        return None
    return found[0]


def has_resume():
    h = iatest.run([IMGAUDIT, "scan", "--help"], timeout=30)
    return b"--resume" in h.stdout


def case_resume(tmp, names, sig):
    what = "--resume after %s" % signal.Signals(sig).name
    if not has_resume():
        C.skip(what, "this imgaudit has no scan --resume")
        return
    root = os.path.join(tmp, "tree")
    db = os.path.join(tmp, "resume-%d.db" % sig)
    ref = os.path.join(tmp, "reference.db")
    if not os.path.exists(ref):
        full = iatest.run(iatest.wrap([IMGAUDIT, "scan", root, "--db", ref,
                                       "-q", "--name", "r"]), timeout=600)
        if not C.check(full.returncode == 0, what + ": reference scan",
                       full.why()):
            return
    k = 300 if sig == signal.SIGINT else BATCH + 100
    p, release = start_paused(tmp, root, db, names[k], 1, ["--name", "r"])
    if not p:
        return
    p.send_signal(sig)
    open(release, "w").close()
    rc, _ = finish(p)
    C.eq(rc, 130 if sig == signal.SIGINT else -sig,
         what + ": the first run is stopped")
    stored = len(stored_paths(db))
    C.eq(stored, k + 1 if sig == signal.SIGINT else BATCH,
         what + ": what the first run stored")
    # Resume under the shim with every stored file as a trap: opening one
    # of them again would mean decoding it again.
    env = dict(os.environ, LD_PRELOAD=SHIM, IA_SHIM_ACTION="vanish",
               IA_SHIM_TARGET="/" + names[0])
    env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                           ":verify_asan_link_order=0").lstrip(":")
    res = iatest.run(iatest.wrap([IMGAUDIT, "scan", root, "--db", db, "-q",
                                  "-j", "1", "--name", "r", "--resume"]),
                     timeout=600, env=env)
    C.check(res.returncode == 0, what + ": the resumed scan completes",
            res.why())
    C.check(os.path.exists(os.path.join(root, names[0])),
            what + ": files already stored are not read again "
                   "(%d of them)" % stored)
    C.eq(dump(db), dump(ref), what + ": same files and findings as an "
                                     "uninterrupted scan")


def dump(db):
    con = iatest.connect_ro(db)
    try:
        sid = con.execute("SELECT max(id) FROM scan WHERE complete = 1"
                          ).fetchone()[0]
        files = con.execute("SELECT path, status, sha256, pixel_hash, "
                            "width, height FROM file WHERE scan_id = ? "
                            "ORDER BY path", (sid,)).fetchall()
        finds = con.execute("SELECT path, code, severity, detail FROM "
                            "finding WHERE scan_id = ? ORDER BY path, code, "
                            "detail", (sid,)).fetchall()
        return files, finds
    finally:
        con.close()


def main():
    global IMGAUDIT, SHIM
    if len(sys.argv) < 3:
        print("usage: test_interrupt.py IMGAUDIT RACE_SHIM.so")
        return 2
    IMGAUDIT = os.path.abspath(sys.argv[1])
    SHIM = os.path.abspath(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="ia-interrupt-")
    try:
        names = make_tree(os.path.join(tmp, "tree"), BATCH + 400)
        case_sigint(tmp, names, signal.SIGINT, 1)
        case_sigint(tmp, names, signal.SIGTERM, 1)
        case_sigint(tmp, names, signal.SIGINT, 4)
        case_sigkill(tmp, names)
        case_resume(tmp, names, signal.SIGINT)
        case_resume(tmp, names, signal.SIGKILL)
        case_killed_merge(tmp, names)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return C.finish()


if __name__ == "__main__":
    sys.exit(main())
