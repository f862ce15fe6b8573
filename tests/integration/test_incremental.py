#!/usr/bin/env python3
"""Integration test: incremental rescans and resumed scans give the results
of a full scan (docs/performance.md).

    test_incremental.py IMGAUDIT

On copies of fixtures/cases (every decoder path: CMYK, 16-bit, truncated,
corrupt, decoder warnings, unsupported formats) and fixtures/sample
(duplicates, leaks, junk files):

1. `--reuse OTHER.db`, with and without `--trust-mtime`, at -j 1 and -j 2,
   and a rescan into the same DB (`--reuse` naming `--db`), store the same
   rows as a full scan: file rows (all columns but ids), findings (in each
   file's order), duplicate groups, leaks, every other table of the scan,
   and the JSON report.
2. Reuse really takes results over: with a reused DB whose stored
   brightness was altered, the altered value comes back for every
   unchanged file (it was copied, not decoded); the reused DB's bytes
   never change.
3. After files are changed, added, removed and copied under another
   extension, a reusing rescan equals a full scan of the new tree.
4. Reuse refuses a DB made with other decode options (exit 2), and a DB
   with no scan yet (the first of `--db X --reuse X`) gives a full scan.
5. `--resume` of a scan cut after part of its files (rows removed from a
   copy of a full scan, its analysis left behind) equals the full scan;
   so does a scan interrupted with SIGINT and resumed (on a subset of
   ../shared/datasets/clothing-small, skipped when absent or when the scan
   ends before the signal); resuming a complete scan is refused (exit 2).
6. Unchanged rescans into the DB they reuse share the reused scan's rows
   (scan.same_as) and add none, with and without --trust-mtime, also
   after a rescan that shared and after another dataset was scanned into
   the DB (the scan of the same name is reused); they read and compare as
   the scan they repeat. A change late in the walk (a touched file, a
   changed file that is not JPEG or PNG, a new symlink, a removed file)
   makes the rescan store its own rows, equal to a full scan's; so do
   changes inside the tree, which the rescan follows around.

Standard library only. One line per check, then "N passed, N failed".
"""
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
CASES_DIR = os.path.join(SOURCE_ROOT, "fixtures", "cases")
SAMPLE_DIR = os.path.join(SOURCE_ROOT, "fixtures", "sample")
CLOTHING = os.path.join(os.path.dirname(SOURCE_ROOT), "shared", "datasets",
                        "clothing-small")

PASSED = 0
FAILED = 0


def check(ok, what):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print("ok   " + what)
    else:
        FAILED += 1
        print("FAIL " + what)
    return ok


def run(imgaudit, *args, expect=0):
    p = subprocess.run([imgaudit] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != expect:
        print("  command: %s\n  exit %d (want %d)\n  stderr: %s" %
              (" ".join(args), p.returncode, expect, p.stderr.strip()))
    return p


def scan_id(db, nth=-1):
    c = sqlite3.connect(db)
    ids = [r[0] for r in c.execute("SELECT id FROM scan ORDER BY id")]
    c.close()
    return ids[nth]


def rows_of(db, sid):
    """The scan whose rows sid reads: an unchanged rescan shares them."""
    c = sqlite3.connect(db)
    r = c.execute("SELECT coalesce(same_as, id) FROM scan WHERE id = ?",
                  (sid,)).fetchone()[0]
    c.close()
    return r


def snapshot(db, sid):
    """Everything a scan stored, keyed by paths instead of row ids."""
    meta = sid
    sid = rows_of(db, sid)
    c = sqlite3.connect(db)
    out = {}
    cols = [r[1] for r in c.execute("PRAGMA table_info(file)")
            if r[1] not in ("id", "scan_id")]
    out["files"] = c.execute(
        "SELECT %s FROM file WHERE scan_id = ? ORDER BY path" %
        ", ".join('"%s"' % x for x in cols), (sid,)).fetchall()
    fcols = [r[1] for r in c.execute("PRAGMA table_info(finding)")
             if r[1] not in ("id", "scan_id", "file_id")]
    # per file in stored order; dataset-level and notes as a sorted list
    out["file_findings"] = c.execute(
        "SELECT f.path, %s FROM finding g JOIN file f ON f.id = g.file_id"
        " WHERE g.scan_id = ? ORDER BY f.path, g.id" %
        ", ".join('g."%s"' % x for x in fcols), (sid,)).fetchall()
    out["other_findings"] = sorted(c.execute(
        "SELECT %s FROM finding WHERE scan_id = ? AND file_id IS NULL" %
        ", ".join('"%s"' % x for x in fcols), (sid,)).fetchall(),
        key=repr)
    out["groups"] = sorted(
        (kind, tuple(c.execute(
            "SELECT f.path, m.position, m.distance FROM dup_member m"
            " JOIN file f ON f.id = m.file_id WHERE m.group_id = ?"
            " ORDER BY m.position", (gid,)).fetchall()))
        for gid, kind in c.execute(
            "SELECT id, kind FROM dup_group WHERE scan_id = ?", (sid,)))
    out["leaks"] = sorted(c.execute(
        "SELECT l.kind, a.path, b.path, l.distance FROM leak l"
        " JOIN file a ON a.id = l.a_file_id JOIN file b ON b.id = l.b_file_id"
        " WHERE l.scan_id = ?", (sid,)).fetchall())
    out["scan"] = c.execute(
        "SELECT complete, files, decoded, bytes, pixels FROM scan"
        " WHERE id = ?", (meta,)).fetchone()
    # any other table of the scan (dataset statistics and what may come)
    for (t,) in c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name"
            " NOT IN ('scan', 'file', 'finding', 'dup_group', 'leak')"
            " ORDER BY name"):
        tcols = [r[1] for r in c.execute('PRAGMA table_info("%s")' % t)]
        if "scan_id" not in tcols:
            continue
        keep = [x for x in tcols if x not in ("scan_id", "id")]
        out["table " + t] = sorted(c.execute(
            'SELECT %s FROM "%s" WHERE scan_id = ?' %
            (", ".join('"%s"' % x for x in keep), t), (sid,)).fetchall(),
            key=repr)
    c.close()
    return out


def report(imgaudit, db, sid):
    p = run(imgaudit, "report", "--db", db, str(sid), "--format", "json")
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        return None
    for k in ("name", "started_at", "finished_at", "id"):
        doc.get("scan", {}).pop(k, None)
    doc.pop("tool", None)
    return doc


def same(imgaudit, a_db, a_id, b_db, b_id, what):
    a, b = snapshot(a_db, a_id), snapshot(b_db, b_id)
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if diff:
        for k in diff[:3]:
            x, y = a.get(k) or [], b.get(k) or []
            if isinstance(x, list) and isinstance(y, list):
                extra = [r for r in x if r not in y][:2]
                missing = [r for r in y if r not in x][:2]
                print("  %s: %d vs %d rows; only in full %r; only in other %r"
                      % (k, len(x), len(y), extra, missing))
            else:
                print("  %s: %r vs %r" % (k, x, y))
    ra, rb = report(imgaudit, a_db, a_id), report(imgaudit, b_db, b_id)
    check(not diff and ra is not None and ra == rb,
          what + " (rows, groups, tables, JSON report)")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def count_files(db, sid):
    sid = rows_of(db, sid)
    c = sqlite3.connect(db)
    n = c.execute("SELECT count(*) FROM file WHERE scan_id = ?",
                  (sid,)).fetchone()[0]
    c.close()
    return n


def reuse_cases(imgaudit, tmp, name, src):
    tree = os.path.join(tmp, name)
    shutil.copytree(src, tree)
    full = os.path.join(tmp, name + "-full.db")
    run(imgaudit, "scan", tree, "--db", full, "-q", "-j", "1")
    fid = scan_id(full)
    check(count_files(full, fid) > 0, "%s: full scan stored files" % name)
    before = digest(full)
    for jobs in ("1", "2"):
        for trust in ([], ["--trust-mtime"]):
            db = os.path.join(tmp, "%s-r%s%s.db" % (name, jobs, len(trust)))
            p = run(imgaudit, "scan", tree, "--db", db, "--reuse", full,
                    "-q", "-j", jobs, *trust)
            check(p.returncode == 0, "%s: --reuse -j %s %s exits 0" %
                  (name, jobs, " ".join(trust)))
            same(imgaudit, full, fid, db, scan_id(db),
                 "%s: --reuse -j %s %s equals the full scan" %
                 (name, jobs, " ".join(trust)))
    check(digest(full) == before, "%s: the reused DB is unchanged" % name)

    # a rescan into the same DB
    same_db = os.path.join(tmp, name + "-same.db")
    shutil.copy(full, same_db)
    p = run(imgaudit, "scan", tree, "--db", same_db, "--reuse", same_db,
            "--trust-mtime", "--name", "again", "-q")
    check(p.returncode == 0, "%s: rescan into the same DB exits 0" % name)
    same(imgaudit, full, fid, same_db, scan_id(same_db),
         "%s: rescan into the same DB equals the full scan" % name)
    same(imgaudit, full, fid, same_db, scan_id(same_db, 0),
         "%s: the first scan of that DB is untouched" % name)

    # results are taken over, not recomputed: an altered stored value
    # comes back for every file that was not decoded again
    tampered = os.path.join(tmp, name + "-tampered.db")
    shutil.copy(full, tampered)
    c = sqlite3.connect(tampered)
    c.execute("UPDATE file SET brightness = 999.5 WHERE status = 'ok'")
    n_ok = c.execute("SELECT count(*) FROM file WHERE status = 'ok'"
                     ).fetchone()[0]
    c.commit()
    c.close()
    for trust in ([], ["--trust-mtime"]):
        db = os.path.join(tmp, "%s-t%d.db" % (name, len(trust)))
        run(imgaudit, "scan", tree, "--db", db, "--reuse", tampered, "-q",
            *trust)
        c = sqlite3.connect(db)
        got = c.execute("SELECT count(*) FROM file WHERE brightness = 999.5"
                        ).fetchone()[0]
        c.close()
        check(n_ok > 0 and got == n_ok,
              "%s: %s every decoded file (%d of %d) came from the reused DB"
              % (name, " ".join(trust) or "by SHA-256:", got, n_ok))

    # other decode options: refused
    p = run(imgaudit, "scan", tree, "--db", os.path.join(tmp, "x.db"),
            "--reuse", full, "--max-pixels", "1000", "-q", expect=2)
    check(p.returncode == 2 and "--reuse" in p.stderr,
          "%s: a DB made with other --max-pixels is refused (exit 2)" % name)
    return tree, full


def same_as(db, sid):
    c = sqlite3.connect(db)
    r = c.execute("SELECT same_as FROM scan WHERE id = ?", (sid,)).fetchone()
    c.close()
    return r[0]


def row_count(db):
    c = sqlite3.connect(db)
    n = sum(c.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
            for t in ("file", "finding", "dup_group", "leak", "stat_group",
                      "stat_metric", "class_index"))
    c.close()
    return n


def walk_last(tree, suffixes=(".jpg", ".png")):
    """The last image in walk order (names sorted bytewise per folder)."""
    rel = [os.path.relpath(os.path.join(d, f), tree)
           for d, _, fs in os.walk(tree) for f in fs if f.endswith(suffixes)]
    return os.path.join(tree, max(rel, key=lambda p: [x.encode()
                                                     for x in p.split("/")]))


def share_step(imgaudit, tmp, name, tree, db, what, trust, shared_with):
    """Rescans tree into db reusing db; checks whether it shared
    shared_with's rows (None: it must store rows) and that it equals a
    full scan of the tree as it is now."""
    before = row_count(db)
    p = run(imgaudit, "scan", tree, "--db", db, "--reuse", db, "-q", *trust)
    sid = scan_id(db)
    label = "%s: %s (%s)" % (name, what, " ".join(trust) or "by SHA-256")
    if shared_with is None:
        check(p.returncode == 0 and same_as(db, sid) is None and
              row_count(db) > before, label + ": stores its own rows")
    else:
        check(p.returncode == 0 and same_as(db, sid) == shared_with and
              row_count(db) == before,
              label + ": shares the rows of scan %d, adds none" % shared_with)
    ref = os.path.join(tmp, "%s-share-ref-%d.db" % (name, sid))
    run(imgaudit, "scan", tree, "--db", ref, "-q")
    same(imgaudit, ref, scan_id(ref), db, sid, label + ": equals a full scan")
    return sid


def share_cases(imgaudit, tmp, name, src):
    """Unchanged rescans into the DB they reuse store no rows (they share
    the reused scan's); a change anywhere, late in the walk included,
    makes the rescan store its rows, equal to a full scan's."""
    tree = os.path.join(tmp, name + "-share")
    shutil.copytree(src, tree)
    db = os.path.join(tmp, name + "-share.db")
    run(imgaudit, "scan", tree, "--db", db, "-q")
    first = scan_id(db)
    for trust in (["--trust-mtime"], []):
        share_step(imgaudit, tmp, name, tree, db, "unchanged", trust, first)
    p = run(imgaudit, "scan", tree, "--db", db, "--reuse", db)
    check(p.returncode == 0 and "unchanged since scan %d (its rows are "
          "shared)" % first in p.stderr,
          "%s: the summary line says the rescan shares scan %d's rows"
          % (name, first))
    # the latest scan is now a sharer: sharing goes to the rows' owner
    sid = share_step(imgaudit, tmp, name, tree, db, "unchanged, again",
                     ["--trust-mtime", "-j", "1"], first)
    p = run(imgaudit, "compare", "%s:%d" % (db, first), "%s:%d" % (db, sid),
            "--format", "json")
    doc = json.loads(p.stdout or "{}")
    files = doc.get("files", {})
    check(p.returncode == 0 and doc.get("verdict") == "pass" and
          files.get("unchanged") == files.get("base") and
          files.get("added", {}).get("count") == 0,
          "%s: compare of a scan and its unchanged rescan: all unchanged"
          % name)
    # the last image of the walk only touched: the rescan follows the
    # reused scan to the end, then stores the prefix it followed
    last = walk_last(tree)
    for trust in (["--trust-mtime"], []):
        st = os.stat(last)
        os.utime(last, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        share_step(imgaudit, tmp, name, tree, db, "last file touched", trust,
                   None)
    share_step(imgaudit, tmp, name, tree, db, "unchanged after that",
               ["--trust-mtime"], scan_id(db))
    # another dataset scanned into the same DB since: the rescan reuses
    # the latest scan of its own name, not the latest scan
    owner = rows_of(db, scan_id(db))
    other = os.path.join(tmp, name + "-other")
    shutil.copytree(CASES_DIR if name == "sample" else SAMPLE_DIR, other)
    run(imgaudit, "scan", other, "--db", db, "-q")
    share_step(imgaudit, tmp, name, tree, db, "unchanged, another dataset"
               " scanned since", ["--trust-mtime"], owner)
    # changes inside the tree (a file touched, one removed, one added):
    # followed around, the runs between copied; then another file touched
    # and rescanned by SHA-256
    imgs = sorted(os.path.join(d, f) for d, _, fs in os.walk(tree)
                  for f in fs if f.endswith((".jpg", ".png")))
    touch = imgs[len(imgs) // 2]
    st = os.stat(touch)
    os.utime(touch, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    os.remove(imgs[len(imgs) // 3])
    shutil.copy(imgs[1], imgs[1][:-4] + "_added" + imgs[1][-4:])
    share_step(imgaudit, tmp, name, tree, db, "changes inside the tree",
               ["--trust-mtime"], None)
    st = os.stat(imgs[len(imgs) // 4])
    os.utime(imgs[len(imgs) // 4], ns=(st.st_atime_ns,
                                       st.st_mtime_ns + 10**9))
    share_step(imgaudit, tmp, name, tree, db, "a file touched inside the"
               " tree", [], None)
    # a file that is not JPEG or PNG (compared as a trial row) changed
    others = sorted(os.path.join(d, f) for d, _, fs in os.walk(tree)
                    for f in fs if not f.endswith((".jpg", ".png")))
    check(bool(others), "%s: the tree has files that are not JPEG or PNG"
          % name)
    with open(others[0], "ab") as fh:
        fh.write(b"more bytes")
    sid = share_step(imgaudit, tmp, name, tree, db,
                     "a file that is not JPEG or PNG changed",
                     ["--trust-mtime"], None)
    share_step(imgaudit, tmp, name, tree, db, "unchanged after that", [],
               sid)
    # a new note (an unfollowed symlink) at the end of the walk
    os.symlink(last, os.path.join(tree, "zz-link.jpg"))
    share_step(imgaudit, tmp, name, tree, db, "a symlink added last",
               ["--trust-mtime"], None)
    # the last file removed: the walk ends before the reused scan does
    os.remove(last)
    os.remove(os.path.join(tree, "zz-link.jpg"))
    share_step(imgaudit, tmp, name, tree, db, "the last file removed",
               ["--trust-mtime"], None)


def change_tree(tree):
    """Changes, additions, removals and a copy under another extension."""
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(tree)
                   for f in fs)
    images = [f for f in files if f.endswith((".jpg", ".png"))]
    # replace one image's bytes with another's (a changed file)
    shutil.copy(images[1], images[0])
    # a new file with bytes seen before, under another extension and path
    base, ext = os.path.splitext(images[2])
    other = ".png" if ext == ".jpg" else ".jpg"
    shutil.copy(images[2], base + "_copy" + other)
    # a removed file
    os.remove(images[3])
    # a file whose size changes but that stays the same kind of file
    with open(images[4], "ab") as f:
        f.write(b"\0\0trailing")
    # mtime-only change (same bytes): reused by SHA-256 without trust
    st = os.stat(images[5])
    os.utime(images[5], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def changed_cases(imgaudit, tmp, name, tree, full):
    change_tree(tree)
    ref = os.path.join(tmp, name + "-changed-full.db")
    run(imgaudit, "scan", tree, "--db", ref, "-q")
    for trust in ([], ["--trust-mtime"]):
        db = os.path.join(tmp, "%s-changed-%d.db" % (name, len(trust)))
        run(imgaudit, "scan", tree, "--db", db, "--reuse", full, "-q",
            *trust)
        same(imgaudit, ref, scan_id(ref), db, scan_id(db),
             "%s: after changes, --reuse %s equals a full scan" %
             (name, " ".join(trust)))
    return ref


def cut_scan(db, keep):
    """Leaves the scan as an interruption would: its first `keep` files,
    incomplete, with the analysis of the finished run left behind."""
    c = sqlite3.connect(db)
    c.execute("PRAGMA foreign_keys = ON")
    sid = c.execute("SELECT max(id) FROM scan").fetchone()[0]
    c.execute("DELETE FROM file WHERE scan_id = ? AND id NOT IN (SELECT id"
              " FROM file WHERE scan_id = ? ORDER BY id LIMIT ?)",
              (sid, sid, keep))
    c.execute("UPDATE scan SET complete = 0 WHERE id = ?", (sid,))
    c.commit()
    n = c.execute("SELECT count(*) FROM file WHERE scan_id = ?",
                  (sid,)).fetchone()[0]
    c.close()
    return n


def resume_cases(imgaudit, tmp, name, tree, ref):
    total = count_files(ref, scan_id(ref))
    for keep in (0, total // 2, total - 1):
        db = os.path.join(tmp, "%s-resume-%d.db" % (name, keep))
        shutil.copy(ref, db)
        n = cut_scan(db, keep)
        p = run(imgaudit, "scan", tree, "--db", db, "--resume", "-q")
        check(p.returncode == 0 and n == keep,
              "%s: --resume after %d of %d files exits 0" %
              (name, keep, total))
        same(imgaudit, ref, scan_id(ref), db, scan_id(db),
             "%s: --resume after %d of %d files equals the full scan" %
             (name, keep, total))
        c = sqlite3.connect(db)
        nscans = c.execute("SELECT count(*) FROM scan").fetchone()[0]
        c.close()
        check(nscans == 1, "%s: the resumed scan is the same scan row" % name)
    p = run(imgaudit, "scan", tree, "--db", ref, "--resume", "-q", expect=2)
    check(p.returncode == 2 and "complete" in p.stderr,
          "%s: resuming a complete scan is refused (exit 2)" % name)


def sigint_case(imgaudit, tmp):
    if not os.path.isdir(CLOTHING):
        print("skip: %s absent, no SIGINT resume test" % CLOTHING)
        return
    tree = os.path.join(tmp, "clothing")
    n = 0
    for split in ("train", "validation"):
        for label in sorted(os.listdir(os.path.join(CLOTHING, split))):
            src = os.path.join(CLOTHING, split, label)
            dst = os.path.join(tree, split, label)
            os.makedirs(dst)
            for f in sorted(os.listdir(src))[:60]:
                shutil.copy(os.path.join(src, f), dst)
                n += 1
    ref = os.path.join(tmp, "clothing-full.db")
    run(imgaudit, "scan", tree, "--db", ref, "-q", "-j", "1")
    db = os.path.join(tmp, "clothing-int.db")
    p = subprocess.Popen([imgaudit, "scan", tree, "--db", db, "-q", "-j",
                          "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(0.25)
    p.send_signal(signal.SIGINT)
    p.communicate()
    c = sqlite3.connect(db)
    complete, stored = c.execute(
        "SELECT complete, (SELECT count(*) FROM file) FROM scan").fetchone()
    c.close()
    if complete:
        print("skip: the scan of %d files ended before SIGINT" % n)
        return
    check(p.returncode == 130, "SIGINT: the scan exits 130 with %d of %d "
          "files stored" % (stored, n))
    p = run(imgaudit, "scan", tree, "--db", db, "--resume", "-q", "-j", "2")
    check(p.returncode == 0, "SIGINT: --resume exits 0")
    same(imgaudit, ref, scan_id(ref), db, scan_id(db),
         "SIGINT: the resumed scan equals an uninterrupted one")


def main():
    imgaudit = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="ia-incr-") as tmp:
        for name, src in (("cases", CASES_DIR), ("sample", SAMPLE_DIR)):
            tree, full = reuse_cases(imgaudit, tmp, name, src)
            ref = changed_cases(imgaudit, tmp, name, tree, full)
            resume_cases(imgaudit, tmp, name, tree, ref)
            share_cases(imgaudit, tmp, name, src)
        # `--db X --reuse X` from the first scan on: nothing to reuse yet
        own = os.path.join(tmp, "own.db")
        p = run(imgaudit, "scan", CASES_DIR, "--db", own, "--reuse", own,
                "--trust-mtime", "-q")
        check(p.returncode == 0 and count_files(own, scan_id(own)) > 0,
              "a first scan with --reuse naming its own new DB is a full scan")
        p = run(imgaudit, "scan", CASES_DIR, "--db",
                os.path.join(tmp, "y.db"), "--trust-mtime", expect=2)
        check(p.returncode == 2, "--trust-mtime without --reuse is a usage "
              "error (exit 2)")
        sigint_case(imgaudit, tmp)
    print("%d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
