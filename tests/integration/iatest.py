"""Helpers shared by the integration tests: Checks (one line per check,
then "N passed, N failed"), capture() and short() for commands whose
output a check reads, run() with a child's own peak RSS for the
hardening tests (test_hostile.py, test_limits.py, test_interrupt.py,
test_db_failures.py).

Standard library only. Paths in the DB are read as bytes (text_factory =
bytes) because a hostile tree may hold names that are not UTF-8.
"""
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE_JPEG = os.path.join(SOURCE_ROOT, "fixtures", "sample", "train", "cat",
                           "cat_001.jpg")
SEVERITY = {0: "info", 1: "warning", 2: "error"}


class Checks:
    """One line per check, then "N passed, N failed"."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed += 1
            detail = str(detail)
            if len(detail) > 600:
                detail = detail[:600] + "... (%d chars)" % len(detail)
            print("FAIL " + what + (": " + detail if detail else ""))
        sys.stdout.flush()
        return ok

    def eq(self, got, want, what):
        return self.check(got == want, what, "got %r, want %r" % (got, want))

    def skip(self, what, why):
        print("skip " + what + ": " + why)
        sys.stdout.flush()

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


class Result:
    def __init__(self, rc, out, err, maxrss_kb, seconds, timed_out):
        self.returncode = rc
        self.stdout = out
        self.stderr = err
        self.maxrss_kb = maxrss_kb
        self.seconds = seconds
        self.timed_out = timed_out

    def why(self):
        if self.timed_out:
            return "timed out after %.0f s" % self.seconds
        lines = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return "exit %s%s" % (self.returncode,
                              ": " + lines[-1] if lines else "")


def capture(cmd, timeout=300, env=None, cwd=None):
    """subprocess.run with both outputs captured as bytes; a command that
    cannot start or times out becomes exit -1 with the reason on stderr,
    so a check reports it instead of the test stopping."""
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, cwd=cwd,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return subprocess.CompletedProcess(cmd, -1, b"", str(e).encode())


def short(proc):
    """"exit N: the last line of stderr", for a check's detail."""
    err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    return "exit %s%s" % (proc.returncode, ": " + err[-1] if err else "")


def tree_files(root):
    """{relative path: bytes} of every file under root."""
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            with open(full, "rb") as f:
                out[rel] = f.read()
    return out


def compare_trees(c, got_dir, want_dir, what):
    """One check: the two trees hold the same files with the same bytes."""
    if not os.path.isdir(want_dir):
        c.check(False, what, "%s is missing" % want_dir)
        return
    got, want = tree_files(got_dir), tree_files(want_dir)
    diff = sorted(set(got) ^ set(want))
    diff += sorted(p for p in set(got) & set(want) if got[p] != want[p])
    c.check(not diff, what, "differ: " + ", ".join(diff[:5]))


def run(cmd, timeout=120, env=None, stdin=subprocess.DEVNULL, preexec=None):
    """Runs cmd; returns a Result with this child's own peak RSS (wait4),
    wall time, and whether the timeout killed it. Output goes through
    temporary files so that a child that fills a pipe cannot block."""
    import tempfile
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=stdin,
                             env=env, preexec_fn=preexec,
                             start_new_session=True)
        killed = []

        def kill():
            killed.append(1)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return Result(p.returncode, out.read(), err.read(), usage.ru_maxrss,
                      seconds, bool(killed))


def sanitized(binary):
    """Whether binary was built with AddressSanitizer (memory figures are
    then inflated by shadow memory and quarantine)."""
    try:
        with open(binary, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def under_valgrind():
    return bool(os.environ.get("IA_TEST_WRAPPER"))


def wrap(cmd):
    """Prefixes IA_TEST_WRAPPER (e.g. a valgrind command line, set by
    scripts/ci-extra.sh) to an imgaudit command."""
    w = os.environ.get("IA_TEST_WRAPPER", "").split()
    return w + list(cmd)


def broken_libs_env(folder, sonames):
    """The environment with a broken file of each soname in folder, first
    on LD_LIBRARY_PATH: a library imgaudit opens at first use
    (src/core/dynlib.c) then cannot be loaded."""
    os.makedirs(folder, exist_ok=True)
    for name in sonames:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b"not a shared library\n")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = folder + (
        ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def store_batch():
    """IA_STORE_BATCH from src/store/store.h: files per transaction."""
    import re
    path = os.path.join(SOURCE_ROOT, "src", "store", "store.h")
    with open(path) as f:
        m = re.search(r"#define IA_STORE_BATCH\s+(\d+)", f.read())
    return int(m.group(1)) if m else 2000


def start_paused(shim, cmd, tmp, target, stderr=subprocess.PIPE):
    """Starts cmd (an imgaudit command line) under the race shim, action
    "pause": it stops in the open() of the file whose path ends in
    /target, until the returned release path exists. Returns (Popen,
    release) once it is stopped there, or (None, why) when it exited or
    took more than 300 s to get there."""
    ready = os.path.join(tmp, "ready")
    release = os.path.join(tmp, "release")
    for p in (ready, release):
        if os.path.exists(p):
            os.unlink(p)
    env = dict(os.environ, LD_PRELOAD=shim, IA_SHIM_ACTION="pause",
               IA_SHIM_TARGET="/" + target, IA_SHIM_READY=ready,
               IA_SHIM_RELEASE=release)
    env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                           ":verify_asan_link_order=0").lstrip(":")
    p = subprocess.Popen(wrap(cmd), env=env, stdout=subprocess.PIPE,
                         stderr=stderr)
    deadline = time.monotonic() + 300
    while not os.path.exists(ready):
        if p.poll() is not None or time.monotonic() > deadline:
            p.kill()
            out, err = p.communicate()
            return None, "exit %s: %s" % (p.returncode, (err or b"")[-300:])
        time.sleep(0.02)
    return p, release


# ---- files -----------------------------------------------------------------

def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def png_bytes(width, height, rows=None, color_type=2, depth=8, extra=(),
              idat=None, interlace=0):
    """A PNG; rows: raw scanlines (filter byte included) or None for
    zeros. extra: chunks (type, data) placed before IDAT. idat: the
    compressed stream, when the caller builds it."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    if idat is None:
        if rows is None:
            line = b"\x00" * (1 + width * channels * depth // 8)
            raw = line * height
        else:
            raw = b"".join(rows)
        idat = zlib.compress(raw, 9)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0,
                       interlace)
    parts = [b"\x89PNG\r\n\x1a\n", png_chunk(b"IHDR", ihdr)]
    parts += [png_chunk(kind, data) for kind, data in extra]
    parts += [png_chunk(b"IDAT", idat), png_chunk(b"IEND", b"")]
    return b"".join(parts)


def tiny_png(i):
    """A 1x1 RGB PNG whose colour encodes i: distinct bytes and pixels."""
    rgb = bytes((i & 255, (i >> 8) & 255, (i >> 16) & 255))
    return png_bytes(1, 1, rows=[b"\x00" + rgb])


def sample_jpeg():
    with open(SAMPLE_JPEG, "rb") as f:
        return f.read()


def write(path, data):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---- the DB ----------------------------------------------------------------

def connect_ro(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    con.text_factory = bytes
    return con


def b(s):
    return s if isinstance(s, bytes) else s.encode("utf-8", "surrogateescape")


def files(db, scan=None):
    """{path (bytes): row dict} of the latest scan (or scan id)."""
    con = connect_ro(db)
    try:
        con.row_factory = sqlite3.Row
        if scan is None:
            scan = con.execute("SELECT max(id) FROM scan").fetchone()[0]
        rows = con.execute("SELECT * FROM file WHERE scan_id = ?", (scan,))
        return {r["path"]: dict(r) for r in rows}
    finally:
        con.close()


def findings(db, scan=None):
    """[(path, code, severity name, detail)] (bytes, str, str, str)."""
    con = connect_ro(db)
    try:
        if scan is None:
            scan = con.execute("SELECT max(id) FROM scan").fetchone()[0]
        out = []
        for p, code, sev, detail in con.execute(
                "SELECT path, code, severity, detail FROM finding "
                "WHERE scan_id = ? ORDER BY id", (scan,)):
            out.append((p, code.decode(), SEVERITY.get(sev, sev),
                        (detail or b"").decode("utf-8", "replace")))
        return out
    finally:
        con.close()


def text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def scan_row(db, scan=None):
    con = connect_ro(db)
    try:
        con.row_factory = sqlite3.Row
        if scan is None:
            r = con.execute("SELECT * FROM scan ORDER BY id DESC LIMIT 1")
        else:
            r = con.execute("SELECT * FROM scan WHERE id = ?", (scan,))
        row = r.fetchone()
        return dict(row) if row else None
    finally:
        con.close()


def integrity(db):
    """PRAGMA integrity_check's answer ("ok" when sound) on a copy-free
    read-only connection; an exception's text when it cannot open."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
            return "; ".join(r[0] for r in rows)
        finally:
            con.close()
    except sqlite3.Error as e:
        return "error: %s" % e
