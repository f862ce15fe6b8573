#!/usr/bin/env python3
"""Integration test: the DB under failure (issue 9, docs/security.md).

    test_db_failures.py IMGAUDIT

  - A read-only DB file, and a DB in a folder the user cannot write: scan
    exits 1 with a clear one-line error and the file is unchanged; report
    and export still read the read-only file. (CI runs as root, which
    ignores file modes, so these run as nobody through setuid.)
  - A full disk mid-scan, twice: a file-size limit (RLIMIT_FSIZE, writes
    then fail with EFBIG) and, where mounting is allowed, a 512 KB tmpfs
    in a private mount namespace (ENOSPC). Exit 1 with a clear error; the
    DB passes PRAGMA integrity_check; the complete scan stored before is
    untouched; the failed scan is marked incomplete with a file count equal
    to its rows; a later scan with room succeeds.
  - A new DB on a full disk (file-size limit; a 64 KB tmpfs where
    mounting is allowed): exit 1, and the files the scan made (DB, -wal,
    -shm, DB.lock) are removed; an empty DB file that was there before
    stays.
  - -o naming a folder (DIR or DIR/) for report, export and compare: exit
    1 with one line "DIR/: is a folder", nothing written into DIR.
  - A DB written by a newer schema (user_version 99) is refused by every
    command, unchanged; an SQLite file of another program and a file of
    random bytes are refused as not imgaudit databases, unchanged.
  - Corrupted DBs (pages of random bytes, a truncated file, a damaged
    header): every command exits 0 or 1 with a one-line message, never
    crashes (a sanitizer report or a signal would fail the check).
  - report (every format), export, scans and compare never write to their
    input DBs: same bytes, same mtime, no -wal or -shm left.

Standard library only; one line per check, then "N passed, N failed".
"""
import hashlib
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402

IMGAUDIT = None
C = iatest.Checks()
SAMPLE = os.path.join(iatest.SOURCE_ROOT, "fixtures", "sample")
CASES = os.path.join(iatest.SOURCE_ROOT, "fixtures", "cases")
NOBODY = 65534


def imgaudit(*args, timeout=300, preexec=None, env=None):
    return iatest.run(iatest.wrap([IMGAUDIT] + list(args)), timeout=timeout,
                      preexec=preexec, env=env)


def fingerprint(path):
    """Bytes and mtime of a file, and which of its -wal/-shm exist."""
    st = os.stat(path)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    side = [s for s in ("-wal", "-shm", "-journal")
            if os.path.exists(path + s)]
    return digest, st.st_mtime_ns, side


def one_line_error(res, *words):
    lines = res.stderr.decode("utf-8", "replace").strip().splitlines()
    return (res.returncode == 1 and len(lines) == 1 and
            all(w in lines[0] for w in words))


def as_nobody():
    if os.geteuid() != 0:
        return None

    def drop():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    return drop


def scan_db(db, root=SAMPLE, name=None):
    args = ["scan", root, "--db", db, "-q"]
    if name:
        args += ["--name", name]
    return imgaudit(*args)


# ---- permissions -----------------------------------------------------------

def case_read_only(tmp):
    drop = as_nobody()
    base = os.path.join(tmp, "ro")
    os.makedirs(base)
    db = os.path.join(base, "ro.db")
    if not C.check(scan_db(db).returncode == 0, "read-only: a first scan"):
        return
    os.chmod(db, 0o444)
    os.chmod(base, 0o555)
    before = fingerprint(db)
    # In a folder it may not write, a writer cannot even take the DB's
    # writer lock (DB.lock), so that is what it says.
    res = imgaudit("scan", SAMPLE, "--db", db, "-q", preexec=drop)
    C.check(one_line_error(res, db, "folder is not writable"),
            "read-only DB file: scan exits 1 with one line naming it",
            res.why())
    C.eq(fingerprint(db), before, "read-only DB file: unchanged")
    os.chmod(base, 0o777)
    res = imgaudit("scan", SAMPLE, "--db", db, "-q", preexec=drop)
    C.check(one_line_error(res, db, "readonly"),
            "read-only DB file in a writable folder: scan exits 1 with one "
            "line naming it", res.why())
    C.eq((fingerprint(db), sorted(os.listdir(base))), (before, ["ro.db"]),
         "read-only DB file in a writable folder: unchanged, and no lock "
         "file or other file left")
    os.chmod(base, 0o555)
    for args in (["report", "--db", db], ["export", "--db", db],
                 ["scans", "--db", db]):
        res = imgaudit(*args, preexec=drop)
        C.check(res.returncode == 0 and res.stdout,
                "read-only DB file: %s still reads it" % args[0], res.why())
    C.eq(fingerprint(db), before, "read-only DB file: still unchanged")
    missing = os.path.join(base, "new.db")
    res = imgaudit("scan", SAMPLE, "--db", missing, "-q", preexec=drop)
    C.check(one_line_error(res, missing, "folder is not writable"),
            "DB in a read-only folder: scan exits 1 with one line",
            res.why())
    C.check(not os.path.exists(missing),
            "DB in a read-only folder: nothing created")
    os.chmod(base, 0o755)


# ---- full disk ---------------------------------------------------------------

def fill_tree(root, n):
    folder = os.path.join(root, "cls")
    os.makedirs(folder)
    for i in range(n):
        with open(os.path.join(folder, "img_%05d.png" % i), "wb") as f:
            f.write(iatest.tiny_png(i))


def check_after_full(db, first_rows, what):
    C.eq(iatest.integrity(db), "ok", what + ": PRAGMA integrity_check")
    C.check(iatest.files(db, 1) == first_rows,
            what + ": the complete scan stored before is untouched")
    con = iatest.connect_ro(db)
    try:
        rows = con.execute("SELECT s.id, s.complete, s.files, "
                           "(SELECT count(*) FROM file f "
                           " WHERE f.scan_id = s.id) FROM scan s "
                           "WHERE s.id > 1").fetchall()
    finally:
        con.close()
    C.check(all(c == 0 and n == m for _, c, n, m in rows),
            what + ": the failed scan (if stored) is incomplete and "
                   "counts its rows", rows)


def case_fsize(tmp):
    what = "full disk (file-size limit)"
    db = os.path.join(tmp, "fsize.db")
    if not C.check(scan_db(db, CASES).returncode == 0, what + ": first scan"):
        return
    first = iatest.files(db, 1)
    big = os.path.join(tmp, "fsize-tree")
    fill_tree(big, 3000)
    limit = os.path.getsize(db) + 64 * 1024

    def cap():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    res = imgaudit("scan", big, "--db", db, "-q", preexec=cap)
    C.check(one_line_error(res, "database error") and
            ("disk I/O error" in res.why() or "full" in res.why()),
            what + ": scan exits 1 with one clear line", res.why())
    check_after_full(db, first, what)
    res = imgaudit("scan", SAMPLE, "--db", db, "-q")
    C.check(res.returncode == 0 and iatest.integrity(db) == "ok",
            what + ": a later scan with room succeeds", res.why())


def can_mount():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    t = subprocess.run(["unshare", "-m", "sh", "-c",
                        "mount -t tmpfs -o size=64k tmpfs /mnt"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return t.returncode == 0


def on_tmpfs(tmp, size, body, *args):
    """Runs the sh commands body in a private mount namespace with a tmpfs
    of size mounted at $1 (the tmpfs disappears with the namespace), $2 the
    imgaudit command (with IA_TEST_WRAPPER), $3 a folder for what body
    saves, $4... args. body saves the scan's stderr in $3/err and its exit
    code in $3/rc; returns (rc, stderr lines), or None (a failed check)."""
    mnt = os.path.join(tmp, "mnt")
    out = os.path.join(tmp, "out")
    os.makedirs(mnt)
    os.makedirs(out)
    script = 'mount -t tmpfs -o size=%s tmpfs "$1" || exit 99; %s' % (size,
                                                                      body)
    subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", mnt,
                    " ".join(iatest.wrap([IMGAUDIT])), out] + list(args),
                   timeout=600)
    try:
        with open(os.path.join(out, "rc")) as f:
            rc = int(f.read())
        with open(os.path.join(out, "err"), "rb") as f:
            err = f.read().decode("utf-8", "replace").strip().splitlines()
    except (OSError, ValueError) as e:
        C.check(False, "the scan on a tmpfs ran", e)
        return None
    return rc, err


def case_enospc(tmp):
    what = "full disk (512 KB file system)"
    if not can_mount():
        C.skip(what, "cannot mount a tmpfs here (needs root and "
                     "mount namespaces)")
        return
    seed = os.path.join(tmp, "seed.db")
    if not C.check(scan_db(seed, CASES).returncode == 0,
                   what + ": first scan"):
        return
    first = iatest.files(seed, 1)
    big = os.path.join(tmp, "enospc-tree")
    fill_tree(big, 3000)
    # The DB is copied out for inspection before the tmpfs goes.
    got = on_tmpfs(tmp, "512k", 'cp "$4" "$1/full.db"; '
                   '$2 scan "$5" --db "$1/full.db" -q 2>"$3/err"; '
                   'echo $? > "$3/rc"; cp "$1"/full.db* "$3/"', seed, big)
    if not got:
        return
    rc, err = got
    out = os.path.join(tmp, "out")
    C.check(rc == 1 and len(err) == 1 and "full" in err[0],
            what + ": scan exits 1 with one line saying the disk is full",
            "exit %d: %s" % (rc, err))
    check_after_full(os.path.join(out, "full.db"), first, what)


# ---- a new DB that cannot be created -----------------------------------------

def file_cap(limit):
    def cap():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return cap


def case_new_db_full(tmp):
    """A new DB on a full disk: the scan fails at creation and removes the
    files it made (DB, -wal, -shm, DB.lock), never a file it found."""
    what = "new DB on a full disk (file-size limit)"
    folder = os.path.join(tmp, "fsize")
    os.makedirs(folder)
    db = os.path.join(folder, "new.db")
    res = imgaudit("scan", SAMPLE, "--db", db, "-q",
                   preexec=file_cap(16 * 1024))
    C.check(one_line_error(res, db, "database error"),
            what + ": scan exits 1 with one line naming the DB", res.why())
    C.eq(os.listdir(folder), [], what + ": no DB file (0-byte or other), "
                                    "-wal, -shm or lock file is left")
    # A file that was there before is never removed, even an empty one.
    with open(db, "wb"):
        pass
    res = imgaudit("scan", SAMPLE, "--db", db, "-q",
                   preexec=file_cap(16 * 1024))
    C.eq((res.returncode, os.path.exists(db), "new.db.lock" in
          os.listdir(folder)), (1, True, False),
         what + ": an empty DB file made by someone else fails the same "
                "way and stays")
    if not can_mount():
        C.skip("new DB on a full 64 KB file system",
               "cannot mount a tmpfs here (needs root and mount namespaces)")
        return
    what = "new DB on a full 64 KB file system"
    got = on_tmpfs(tmp, "64k", '$2 scan "$4" --db "$1/new.db" -q '
                   '2>"$3/err"; echo $? > "$3/rc"; ls -A "$1" > "$3/ls"',
                   SAMPLE)
    if not got:
        return
    rc, err = got
    with open(os.path.join(tmp, "out", "ls")) as f:
        left = f.read().split()
    C.check(rc == 1 and len(err) == 1 and "full" in err[0],
            what + ": scan exits 1 with one line saying the disk is full",
            "exit %d: %s" % (rc, err))
    C.eq(left, [], what + ": no DB file (0-byte or other), -wal, -shm or "
                         "lock file is left")


# ---- -o that names a folder ----------------------------------------------------

def case_output_folder(tmp):
    """-o DIR or -o DIR/: one clear line, exit 1 (an output file that
    cannot be written), and nothing written into DIR."""
    db = os.path.join(tmp, "o.db")
    if not C.check(scan_db(db).returncode == 0, "-o a folder: a scan"):
        return
    folder = os.path.join(tmp, "reports")
    os.makedirs(folder)
    runs = [["report", "--db", db], ["report", "--db", db, "--format",
                                     "html"],
            ["report", "--db", db, "--format", "json"],
            ["export", "--db", db], ["compare", db, db]]
    for args in runs:
        for target in (folder + "/", folder):
            res = imgaudit(*(args + ["-o", target]))
            C.check(one_line_error(res, target + ": is a folder"),
                    "-o %s: %s exits 1 saying it is a folder"
                    % ("DIR/" if target.endswith("/") else "DIR",
                       " ".join(args[:1] + args[3:])), res.why())
    C.eq(os.listdir(folder), [], "-o a folder: nothing is left in it")


# ---- foreign, newer and corrupted DBs ---------------------------------------

def every_command(db, other):
    return [["scan", SAMPLE, "--db", db, "-q"],
            ["report", "--db", db], ["export", "--db", db],
            ["scans", "--db", db], ["compare", db, other],
            ["compare", other, db]]


def case_refused(tmp):
    good = os.path.join(tmp, "good.db")
    if not C.check(scan_db(good).returncode == 0, "refused DBs: a good DB"):
        return
    newer = os.path.join(tmp, "newer.db")
    shutil.copy(good, newer)
    con = sqlite3.connect(newer)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    foreign = os.path.join(tmp, "foreign.db")
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t(x)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    garbage = os.path.join(tmp, "garbage.db")
    with open(garbage, "wb") as f:
        f.write(random.Random(7).randbytes(20000))
    cases = [(newer, "written by a newer imgaudit"),
             (foreign, "not an imgaudit database"),
             (garbage, "not an SQLite database")]
    for db, words in cases:
        before = fingerprint(db)
        for args in every_command(db, good):
            res = imgaudit(*args)
            C.check(one_line_error(res, words),
                    "%s: %s refuses it" % (os.path.basename(db),
                                           " ".join(args[:1])),
                    res.why())
        C.eq(fingerprint(db), before,
             "%s: unchanged after every command" % os.path.basename(db))


def corrupt_copies(good, tmp):
    with open(good, "rb") as f:
        data = f.read()
    rnd = random.Random(1)
    page = 4096
    npages = len(data) // page
    out = []

    def save(name, blob):
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            f.write(blob)
        out.append(p)
    for k, first in enumerate((1, 2, npages // 3, npages // 2, npages - 1)):
        d = bytearray(data)
        d[first * page:(first + 2) * page] = rnd.randbytes(2 * page)
        save("pages%d.db" % k, bytes(d[:len(data)]))
    save("half.db", data[:len(data) // 2])
    save("onepage.db", data[:page])
    d = bytearray(data)
    d[16:100] = rnd.randbytes(84)
    save("header.db", bytes(d))
    d = bytearray(data)
    for _ in range(200):
        i = rnd.randrange(page, len(d))
        d[i] ^= 1 << rnd.randrange(8)
    save("bitflips.db", bytes(d))
    return out


def case_corrupt(tmp):
    good = os.path.join(tmp, "good2.db")
    if not C.check(scan_db(good).returncode == 0, "corrupted DBs: a good DB"):
        return
    for db in corrupt_copies(good, tmp):
        name = os.path.basename(db)
        bad = []
        for args in every_command(db, good):
            res = imgaudit(*args, timeout=120)
            lines = res.stderr.decode("utf-8", "replace").strip().splitlines()
            fine = (not res.timed_out and res.returncode in (0, 1, 3) and
                    (res.returncode != 1 or len(lines) == 1))
            if not fine:
                bad.append("%s: %s" % (args[0], res.why()))
        C.check(not bad, "corrupted %s: every command exits cleanly" % name,
                "; ".join(bad))


# ---- readers never write -------------------------------------------------------

def case_readers(tmp):
    a = os.path.join(tmp, "a.db")
    b = os.path.join(tmp, "b.db")
    if not (C.check(scan_db(a).returncode == 0, "readers: scan A") and
            C.check(scan_db(b, CASES).returncode == 0, "readers: scan B")):
        return
    before = {p: fingerprint(p) for p in (a, b)}
    runs = [["report", "--db", a, "--format", f]
            for f in ("text", "md", "json", "html")]
    runs += [["export", "--db", a, "--format", f] for f in ("csv", "jsonl")]
    runs += [["export", "--db", a, "--problems"], ["scans", "--db", a],
             ["compare", a, b, "--fail-on", "never"],
             ["compare", b, a, "--format", "json", "--fail-on", "never"]]
    for args in runs:
        res = imgaudit(*args)
        C.check(res.returncode == 0, "readers: %s runs" % " ".join(args[:1] +
                                                                   args[3:]),
                res.why())
    after = {p: fingerprint(p) for p in (a, b)}
    C.eq(after, before, "readers: report, export, scans and compare leave "
                        "both DBs byte-identical, same mtime, no -wal/-shm")


def main():
    global IMGAUDIT
    if len(sys.argv) < 2:
        print("usage: test_db_failures.py IMGAUDIT")
        return 2
    IMGAUDIT = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ia-dbfail-")
    os.chmod(tmp, 0o755)
    try:
        for case in (case_read_only, case_fsize, case_enospc,
                     case_new_db_full, case_output_folder, case_refused,
                     case_corrupt, case_readers):
            d = os.path.join(tmp, case.__name__)
            os.makedirs(d)
            os.chmod(d, 0o755)
            case(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return C.finish()


if __name__ == "__main__":
    sys.exit(main())
