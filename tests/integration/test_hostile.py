#!/usr/bin/env python3
"""Integration test: hostile trees (issue 9, docs/security.md).

    test_hostile.py IMGAUDIT [RACE_SHIM.so]

Each case builds a tree in a temporary folder, scans it with the real
binary and checks the exact outcome: statuses, findings, stored paths, exit
code, and that the scan ends (a hang is a failure: every scan runs under a
timeout). Cases:

  symlink loops (with and without --follow-symlinks), a dangling symlink,
  a FIFO and a socket in a class folder, a file that vanishes, turns into a
  FIFO or shrinks between the walk and the read (RACE_SHIM, an LD_PRELOAD
  shim, makes that happen deterministically), a folder replaced by a
  symlink to outside the root between the walk and the read, manifest
  rows through a symlinked folder (nothing of the outside files read
  unless --follow-symlinks, not even with --allow-outside), a file and a
  folder the
  scanning user may not read (CI runs as root, so the scan then runs as
  nobody through setpriv), names with spaces, newlines, leading dashes and
  invalid UTF-8, a folder of 100,000 files, a tree 200 levels deep (and one
  past PATH_MAX), and manifests with quoted fields, embedded newlines,
  missing columns, paths outside the root (refused unless
  --allow-outside) and labels full of SQL and HTML metacharacters, and an
  APNG whose acTL claims 2^31 - 1 frames (the frames present are stored).

IA_TEST_QUICK=1 skips the 100,000-file folder (used under valgrind).
Standard library only; prints one line per check, then "N passed,
N failed"; exits non-zero when a check failed.
"""
import csv
import hashlib
import io
import json
import os
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402
from iatest import b  # noqa: E402

IMGAUDIT = None
SHIM = None
C = iatest.Checks()
JPEG = iatest.sample_jpeg()


def scan(root, db, *extra, timeout=120, env=None, preexec=None, jobs=None):
    cmd = [IMGAUDIT, "scan", root, "--db", db, "-q"]
    if jobs:
        cmd += ["-j", str(jobs)]
    return iatest.run(iatest.wrap(cmd + list(extra)), timeout=timeout,
                      env=env, preexec=preexec)


def scanned(what, res):
    return C.check(res.returncode == 0 and not res.timed_out,
                   what + ": scan exits 0", res.why())


def by_path(db):
    return iatest.files(db)


# Findings the hardening cases are about: statuses and paths that are not
# files. Quality findings (blank, low_information, ...) on the tiny test
# images are another module's business and are ignored here.
HARDENING_CODES = {"truncated", "corrupt", "unsupported", "not_image",
                   "empty", "unreadable", "too_large", "symlink",
                   "symlink_loop", "broken_symlink", "junk_folder",
                   "outside_root", "manifest_row", "extension_mismatch",
                   "decoder_warning"}


def problems(db):
    """Findings of severity error, or about statuses and paths."""
    return [f for f in iatest.findings(db)
            if f[2] == "error" or f[1] in HARDENING_CODES]


def codes_at(db, path):
    """The file's own findings: what each loader profile does with it
    (loader_*) is tests/loaders' subject."""
    return sorted((code, sev) for p, code, sev, _ in iatest.findings(db)
                  if p == b(path) and not code.startswith("loader_"))


# ---- symlinks, special files ----------------------------------------------

def case_symlinks(tmp):
    root = os.path.join(tmp, "links")
    iatest.write(os.path.join(root, "cat", "a.jpg"), JPEG)
    os.symlink("..", os.path.join(root, "cat", "loop"))
    os.makedirs(os.path.join(root, "dog"))
    os.symlink("../dog", os.path.join(root, "dog", "self"))
    os.symlink("nowhere.jpg", os.path.join(root, "dog", "dangling.jpg"))

    db = os.path.join(tmp, "links.db")
    if scanned("symlinks, not followed", scan(root, db, timeout=60)):
        C.eq(sorted(by_path(db)), [b"cat/a.jpg"],
             "symlinks, not followed: only the real file is scanned")
        for p in ("cat/loop", "dog/self", "dog/dangling.jpg"):
            C.eq(codes_at(db, p), [("symlink", "info")],
                 "symlinks, not followed: %s is an info finding" % p)

    db = os.path.join(tmp, "links-follow.db")
    if scanned("symlinks, followed", scan(root, db, "--follow-symlinks",
                                          timeout=60)):
        C.eq(sorted(by_path(db)), [b"cat/a.jpg"],
             "symlink loop followed: every file scanned exactly once")
        for p in ("cat/loop", "dog/self"):
            C.eq(codes_at(db, p), [("symlink_loop", "warning")],
                 "symlink loop followed: %s is symlink_loop" % p)
        C.eq(codes_at(db, "dog/dangling.jpg"), [("broken_symlink",
                                                 "warning")],
             "dangling symlink followed: broken_symlink")


def case_special(tmp):
    root = os.path.join(tmp, "special")
    iatest.write(os.path.join(root, "cat", "a.jpg"), JPEG)
    os.mkfifo(os.path.join(root, "cat", "fifo.jpg"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock_path = os.path.join(root, "cat", "sock.jpg")
    try:
        sock.bind(sock_path)
    except OSError as e:  # path too long for sun_path
        C.skip("socket in a class folder", str(e))
        sock_path = None
    os.symlink("fifo.jpg", os.path.join(root, "cat", "link-to-fifo.jpg"))
    for extra in ([], ["--follow-symlinks"]):
        db = os.path.join(tmp, "special%d.db" % len(extra))
        what = "FIFO and socket%s" % (" (followed links)" if extra else "")
        res = scan(root, db, *extra, timeout=30)
        C.check(not res.timed_out, what + ": the scan does not block",
                res.why())
        if not scanned(what, res):
            continue
        rows = by_path(db)
        fifo = rows.get(b"cat/fifo.jpg", {})
        C.eq((fifo.get("status"), fifo.get("message")),
             (b"unreadable", b"FIFO (named pipe): never opened"),
             what + ": the FIFO is unreadable, never opened")
        if sock_path:
            s = rows.get(b"cat/sock.jpg", {})
            C.eq((s.get("status"), s.get("message")),
                 (b"unreadable", b"UNIX socket: never opened"),
                 what + ": the socket is unreadable, never opened")
        C.eq(rows.get(b"cat/a.jpg", {}).get("status"), b"ok",
             what + ": the image beside them is ok")
        link = rows.get(b"cat/link-to-fifo.jpg", {})
        if extra:
            C.eq((link.get("status"), link.get("message")),
                 (b"unreadable", b"symlink to a FIFO (named pipe): "
                                 b"never opened"),
                 what + ": a symlink to the FIFO is not opened either")
        else:
            C.eq(codes_at(db, "cat/link-to-fifo.jpg"), [("symlink", "info")],
                 what + ": a symlink to the FIFO is not followed")
    sock.close()


# ---- races between walk and read ------------------------------------------

def case_races(tmp):
    if not SHIM:
        C.skip("file changing between walk and read", "no shim given")
        return
    for action, name in (("vanish", "b.jpg"), ("fifo", "b.jpg"),
                         ("shrink", "b.jpg")):
        root = os.path.join(tmp, "race-" + action)
        iatest.write(os.path.join(root, "cat", "a.jpg"), JPEG)
        iatest.write(os.path.join(root, "cat", name), JPEG)
        iatest.write(os.path.join(root, "cat", "c.jpg"), JPEG)
        env = dict(os.environ, LD_PRELOAD=SHIM, IA_SHIM_TARGET="/cat/" + name,
                   IA_SHIM_ACTION=action)
        # The shim must come first; AddressSanitizer wants to be first too.
        env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                               ":verify_asan_link_order=0").lstrip(":")
        db = os.path.join(tmp, "race-%s.db" % action)
        what = "file %s between walk and read" % {
            "vanish": "vanishes", "fifo": "becomes a FIFO",
            "shrink": "shrinks"}[action]
        res = scan(root, db, "-j", "1", timeout=30, env=env)
        if not scanned(what, res):
            continue
        rows = by_path(db)
        r = rows.get(b"cat/" + b(name), {})
        C.eq([rows.get(b"cat/a.jpg", {}).get("status"),
              rows.get(b"cat/c.jpg", {}).get("status")], [b"ok", b"ok"],
             what + ": the files around it are ok")
        if action == "vanish":
            C.eq((r.get("status"), r.get("message")),
                 (b"unreadable", b"vanished between walk and read"), what)
        elif action == "fifo":
            C.eq((r.get("status"), r.get("message")),
                 (b"unreadable", b"not a regular file when opened"), what)
        else:
            half = JPEG[:len(JPEG) // 2]
            C.eq((r.get("status"), r.get("size"), r.get("sha256")),
                 (b"truncated", len(half), hashlib.sha256(half).digest()),
                 what + ": truncated, size and SHA-256 of the bytes read")
        C.eq(codes_at(db, "cat/" + name),
             [("unreadable" if action != "shrink" else "truncated",
               "error")], what + ": one error finding")


# ---- symlinked folders: nothing is read from outside the root ---------------

# What lies outside the root: PNG bytes named .jpg, so that a scan that
# read them would flag the file (extension_mismatch) and the HTML report
# would show its thumbnail in a gallery.
SECRET = iatest.tiny_png(4242)


def secret_rows(db):
    digest = hashlib.sha256(SECRET).digest()
    return sorted(p for p, r in by_path(db).items()
                  if r.get("sha256") == digest)


def html_report(db):
    rep = iatest.run(iatest.wrap([IMGAUDIT, "report", "--db", db, "--format",
                                  "html"]), timeout=60)
    return rep.returncode, rep.stdout.decode("utf-8", "replace")


def case_manifest_through_link(tmp):
    outside = os.path.join(tmp, "etc")
    iatest.write(os.path.join(outside, "shadow"), b"root:$6$secret:19000::\n")
    iatest.write(os.path.join(outside, "secret.jpg"), SECRET)
    root = os.path.join(tmp, "root")
    iatest.write(os.path.join(root, "a", "real.jpg"), JPEG)
    os.symlink(outside, os.path.join(root, "a", "etclink"))
    man = os.path.join(root, "m.csv")
    with open(man, "w") as f:
        f.write("path,label\na/etclink/shadow,x\na/etclink/secret.jpg,x\n"
                "a/real.jpg,x\n")
    what = "manifest row through a symlinked folder"
    for extra in ((), ("--allow-outside",)):
        db = os.path.join(tmp, "through%s.db" % len(extra))
        label = what + (" (--allow-outside)" if extra else "")
        if not scanned(label, scan(root, db, "--manifest", man, *extra)):
            continue
        C.eq(sorted(by_path(db)), [b"a/real.jpg"],
             label + ": only the real file is read")
        C.eq(secret_rows(db), [], label + ": no bytes from outside stored")
        got = sorted((p, c, s, d) for p, c, s, d in iatest.findings(db)
                     if p and p.startswith(b"a/etclink/"))
        why = ("goes through the symlink 'a/etclink' (not followed without "
               "--follow-symlinks)")
        C.eq(got, [(b"a/etclink/secret.jpg", "symlink", "info",
                    "line 3: " + why),
                   (b"a/etclink/shadow", "symlink", "info",
                    "line 2: " + why)],
             label + ": each row is a symlink finding naming the folder")
        rc, html = html_report(db)
        C.check(rc == 0 and "thumbnail of a/etclink" not in html,
                label + ": no thumbnail of the outside file in the HTML "
                "report")
    db = os.path.join(tmp, "through-follow.db")
    if scanned(what + " (--follow-symlinks)",
               scan(root, db, "--manifest", man, "--follow-symlinks")):
        C.eq(secret_rows(db), [b"a/etclink/secret.jpg"],
             what + " (--follow-symlinks): followed, as asked")


def case_race_dirlink(tmp):
    if not SHIM:
        C.skip("folder replaced by a symlink between walk and read",
               "no shim given")
        return
    outside = os.path.join(tmp, "elsewhere")
    iatest.write(os.path.join(outside, "b.jpg"), SECRET)
    iatest.write(os.path.join(outside, "c.jpg"), SECRET)
    root = os.path.join(tmp, "race-dirlink")
    for i, name in enumerate(("a.jpg", "b.jpg", "c.jpg")):
        iatest.write(os.path.join(root, "cat", name), iatest.tiny_png(i + 1))
    # Just before b.jpg is opened, "cat" becomes a symlink to "elsewhere".
    env = dict(os.environ, LD_PRELOAD=SHIM, IA_SHIM_TARGET="/cat/b.jpg",
               IA_SHIM_ACTION="dirlink", IA_SHIM_LINK=outside)
    env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                           ":verify_asan_link_order=0").lstrip(":")
    db = os.path.join(tmp, "race-dirlink.db")
    what = "folder replaced by a symlink between walk and read"
    if not scanned(what, scan(root, db, "-j", "1", timeout=30, env=env)):
        return
    rows = by_path(db)
    C.eq(secret_rows(db), [], what + ": no bytes from outside stored")
    C.eq(rows.get(b"cat/a.jpg", {}).get("status"), b"ok",
         what + ": the file read before is ok")
    refused = (b"unreadable", b"path goes through a symlink (not followed)")
    c = rows.get(b"cat/c.jpg", {})
    C.eq((c.get("status"), c.get("message")), refused,
         what + ": the file after it is refused")
    r = rows.get(b"cat/b.jpg", {})
    got = (r.get("status"), r.get("message"))
    # Without openat2 (valgrind) the reader walks the path itself, so it
    # holds "cat" open before the shim swaps it: the file is then read in
    # the folder that was walked, which is as safe.
    if iatest.under_valgrind() and got == (b"ok", None):
        C.eq(r.get("sha256"), hashlib.sha256(iatest.tiny_png(2)).digest(),
             what + ": the file read is the one walked")
    else:
        C.eq(got, refused, what + ": the file is refused")


# ---- permissions ------------------------------------------------------------

def as_nobody():
    """A preexec function dropping to nobody (CI runs as root), or None
    when already unprivileged; (None, why) when it cannot be done."""
    if os.geteuid() != 0:
        return None, None
    import pwd
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None, "no user nobody"

    def drop():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop, None


def case_unreadable(tmp):
    drop, why = as_nobody()
    if why:
        C.skip("unreadable file", why)
        return
    base = os.path.join(tmp, "perm")
    root = os.path.join(base, "root")
    iatest.write(os.path.join(root, "cat", "a.jpg"), JPEG)
    secret = os.path.join(root, "cat", "secret.jpg")
    iatest.write(secret, JPEG)
    os.chmod(secret, 0)
    closed = os.path.join(root, "closed")
    iatest.write(os.path.join(closed, "x.jpg"), JPEG)
    os.chmod(closed, 0)
    # The scanning user needs a folder of its own for the DB.
    out = os.path.join(base, "out")
    os.makedirs(out)
    for d in (tmp, base, root, os.path.join(root, "cat")):
        os.chmod(d, 0o755)
    if drop:
        os.chown(out, 65534, 65534)
    db = os.path.join(out, "perm.db")
    res = scan(root, db, timeout=60, preexec=drop)
    os.chmod(closed, 0o755)
    os.chmod(secret, 0o644)
    if not scanned("unreadable file (as %s)" % ("nobody" if drop else
                                                 "this user"), res):
        return
    r = by_path(db).get(b"cat/secret.jpg", {})
    C.eq((r.get("status"), r.get("message")),
         (b"unreadable", b"cannot open: Permission denied"),
         "unreadable file: status unreadable, permission denied")
    C.eq(codes_at(db, "cat/secret.jpg"), [("unreadable", "error")],
         "unreadable file: one error finding")
    got = [(c, s, d) for p, c, s, d in iatest.findings(db) if p == b"closed"]
    C.eq(got, [("unreadable", "error",
                "cannot list folder: Permission denied")],
         "unlistable folder: unreadable error finding")


# ---- names -------------------------------------------------------------------

HOSTILE_NAMES = [b"with space.png", b"new\nline.png", b"-dash.png",
                 b"--db=x.png", b"bad\xff\xfeutf8.png", b"tab\tand\rcr.png",
                 b"quote\"'`$(x).png", b"<b>&amp;.png"]


def case_names(tmp):
    root = os.path.join(tmp, "-names")
    broot = b(root)
    for i, name in enumerate(HOSTILE_NAMES):
        # distinct bytes per file: no duplicate findings to account for
        data = iatest.tiny_png(i + 1)
        iatest.write(os.path.join(broot, b"-cls\nx", name), data)
    db = os.path.join(tmp, "names.db")
    # A root starting with a dash, given after "--".
    os.chdir(tmp)
    res = iatest.run(iatest.wrap([IMGAUDIT, "scan", "--db", db, "-q", "--",
                                  "-names"]), timeout=60)
    if not scanned("hostile names", res):
        return
    rows = by_path(db)
    want = sorted(b"-cls\nx/" + n for n in HOSTILE_NAMES)
    C.eq(sorted(rows), want, "hostile names: every path stored byte-exact")
    C.eq(sorted(set(r["status"] for r in rows.values())), [b"ok"],
         "hostile names: every file decoded")
    C.eq(sorted(set(r["label"] for r in rows.values())), [b"-cls\nx"],
         "hostile names: the label keeps its dash and newline")
    C.eq(problems(db), [], "hostile names: no status or path finding")

    rep = iatest.run(iatest.wrap([IMGAUDIT, "report", "--db", db, "--format",
                                  "json"]), timeout=60)
    try:
        doc = json.loads(rep.stdout.decode("utf-8"))
        ok = rep.returncode == 0
    except ValueError as e:
        doc, ok = None, False
        rep.stderr += str(e).encode()
    C.check(ok, "hostile names: the JSON report is valid UTF-8 JSON",
            rep.why())
    if doc:
        C.eq(doc["scan"]["files"], len(HOSTILE_NAMES),
             "hostile names: the JSON report counts every file")

    exp = iatest.run(iatest.wrap([IMGAUDIT, "export", "--db", db, "--format",
                                  "csv"]), timeout=60)
    if C.check(exp.returncode == 0, "hostile names: export csv", exp.why()):
        text = exp.stdout.decode("utf-8", "surrogateescape")
        got = sorted(b(r["path"]) for r in csv.DictReader(io.StringIO(
            text, newline="")))
        valid = sorted(p for p in want if _utf8(p))
        C.eq([p for p in got if _utf8(p)], valid,
             "hostile names: CSV export round-trips every UTF-8 path, "
             "newlines included")


def _utf8(p):
    try:
        p.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ---- big and deep trees ------------------------------------------------------

def case_big_folder(tmp, n=100000):
    if os.environ.get("IA_TEST_QUICK"):
        C.skip("folder of %d files" % n, "IA_TEST_QUICK")
        return
    root = os.path.join(tmp, "big")
    folder = os.path.join(root, "cls")
    os.makedirs(folder)
    for i in range(n):
        with open(os.path.join(folder, "img_%06d.png" % (n - 1 - i)),
                  "wb") as f:
            f.write(iatest.tiny_png(i))
    db = os.path.join(tmp, "big.db")
    res = scan(root, db, timeout=600)
    if not scanned("folder of %d files" % n, res):
        return
    con = iatest.connect_ro(db)
    try:
        got = con.execute("SELECT count(*), sum(status = 'ok'), "
                          "count(DISTINCT sha256), min(path), max(path) "
                          "FROM file").fetchone()
        order = [r[0] for r in con.execute("SELECT path FROM file "
                                           "ORDER BY id")]
    finally:
        con.close()
    C.eq(tuple(got), (n, n, n, b"cls/img_000000.png",
                      b"cls/img_%06d.png" % (n - 1)),
         "folder of %d files: every file stored once, all ok" % n)
    C.check(order == sorted(order),
            "folder of %d files: stored in sorted walk order" % n)
    C.eq(problems(db), [],
         "folder of %d files: no status or path finding" % n)
    print("     (%d files in %.1f s, peak RSS %d MB)" %
          (n, res.seconds, res.maxrss_kb // 1024))


def deep_tree(root, levels, width):
    path = os.path.join(root, "cls")
    os.makedirs(path)
    fd = os.open(path, os.O_RDONLY)
    rel = []
    try:
        for i in range(levels):
            name = ("L%03d" % i).ljust(width, "_")
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
            rel.append(name)
        wfd = os.open("img.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(wfd, JPEG)
        os.close(wfd)
    finally:
        os.close(fd)
    return "cls/" + "/".join(rel) + "/img.jpg"


def case_deep(tmp):
    # 200 levels, path ~3.6 KB: under PATH_MAX, scanned like any file.
    root = os.path.join(tmp, "deep")
    rel = deep_tree(root, 200, 17)
    db = os.path.join(tmp, "deep.db")
    if scanned("tree 200 levels deep", scan(root, db, timeout=60)):
        rows = by_path(db)
        C.eq([(p, r["label"], r["status"]) for p, r in rows.items()],
             [(b(rel), b"cls", b"ok")],
             "tree 200 levels deep: the file at the bottom is ok")
        C.eq(problems(db), [],
             "tree 200 levels deep: no status or path finding")
    # 260 levels, path ~5 KB: past PATH_MAX. The first folder whose path
    # is too long cannot be looked at, so it is the one row: unreadable,
    # with the kernel's reason; no crash, nothing silently dropped.
    root = os.path.join(tmp, "deeper")
    rel = deep_tree(root, 260, 19)
    db = os.path.join(tmp, "deeper.db")
    if scanned("tree past PATH_MAX", scan(root, db, timeout=60)):
        rows = list(by_path(db).items())
        got = [(b(rel).startswith(p + b"/"),
                r["status"], r["message"]) for p, r in rows]
        C.eq(got, [(True, b"unreadable", b"cannot open: File name too long")],
             "tree past PATH_MAX: one unreadable row where the path "
             "outgrows PATH_MAX")


# ---- manifests ---------------------------------------------------------------

SQL_LABEL = "x'); DROP TABLE file; --"
HTML_LABEL = "<script>alert(\"x\")</script>&amp;"


def case_manifest(tmp):
    root = os.path.join(tmp, "mroot")
    outside = os.path.join(tmp, "outside.jpg")
    iatest.write(outside, iatest.tiny_png(9))
    names = ["a.jpg", "comma, \"quoted\".jpg", "new\nline.jpg", "b.jpg",
             "c.jpg", "d.jpg"]
    for i, n in enumerate(names):
        iatest.write(os.path.join(root, "imgs", n), iatest.tiny_png(100 + i))
    man = os.path.join(root, "m.csv")
    with open(man, "w", newline="", encoding="utf-8") as f:
        f.write("label,path,split\n"
                "cat,imgs/a.jpg,train\n"
                "\"multi\nline label\",\"imgs/comma, \"\"quoted\"\".jpg\",val\n"
                "dog,\"imgs/new\nline.jpg\",test\n"
                "\"%s\",imgs/b.jpg,train\n"
                "\"%s\",imgs/c.jpg,train\n"
                "bird\n"
                "cat,../outside.jpg,train\n"
                "cat,%s,train\n"
                "cat,imgs/missing.jpg,train\n"
                ",imgs/d.jpg,train\n"
                % (SQL_LABEL.replace('"', '""'),
                   HTML_LABEL.replace('"', '""'), outside))
    db = os.path.join(tmp, "manifest.db")
    if not scanned("manifest", scan(root, db, "--manifest", man,
                                    timeout=60)):
        return
    rows = by_path(db)
    got = {iatest.text(p): (iatest.text(r["label"]), iatest.text(r["split"]),
                            iatest.text(r["status"]))
           for p, r in rows.items()}
    C.eq(got, {
        "imgs/a.jpg": ("cat", "train", "ok"),
        "imgs/comma, \"quoted\".jpg": ("multi\nline label", "val", "ok"),
        "imgs/new\nline.jpg": ("dog", "test", "ok"),
        "imgs/b.jpg": (SQL_LABEL, "train", "ok"),
        "imgs/c.jpg": (HTML_LABEL, "train", "ok"),
        "imgs/d.jpg": (None, "train", "ok"),
        "imgs/missing.jpg": ("cat", "train", "unreadable"),
    }, "manifest: quoted fields, embedded newlines and metacharacter "
       "labels stored verbatim")
    nonfile = sorted((iatest.text(p), c, s, d)
                     for p, c, s, d in problems(db)
                     if p is not None and iatest.text(p) not in got)
    out_norm = os.path.normpath(outside)
    # Lines count the newlines inside quoted fields; ../outside.jpg and the
    # absolute path name the same file, so the second is "listed twice".
    C.eq(nonfile, sorted([
        ("", "manifest_row", "error",
         "line 9: no 'path' field (fewer fields than the header)"),
        (out_norm, "outside_root", "error",
         "line 10: path is outside the root"),
        (out_norm, "manifest_row", "error",
         "line 11: listed twice (first at line 10)"),
    ]), "manifest: a short row, outside paths and a repeat are error "
        "findings")
    con = iatest.connect_ro(db)
    try:
        tables = sorted(r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))
    finally:
        con.close()
    C.check(b"file" in tables, "manifest: the SQL label dropped no table")

    rep = iatest.run(iatest.wrap([IMGAUDIT, "report", "--db", db, "--format",
                                  "md"]), timeout=60)
    md = rep.stdout.decode("utf-8", "replace")
    C.check(rep.returncode == 0 and "<script>" not in md,
            "manifest: the Markdown report escapes HTML in labels",
            rep.why() if rep.returncode else
            md[md.find("<script>") - 40:md.find("<script>") + 40])
    rep = iatest.run(iatest.wrap([IMGAUDIT, "report", "--db", db, "--format",
                                  "html"]), timeout=60)
    html = rep.stdout.decode("utf-8", "replace")
    C.check(rep.returncode == 0 and "<script>alert" not in html and
            "&lt;script&gt;alert" in html,
            "manifest: the HTML report shows labels escaped", rep.why())
    rep = iatest.run(iatest.wrap([IMGAUDIT, "report", "--db", db, "--format",
                                  "json"]), timeout=60)
    try:
        labels = set()
        for s in json.loads(rep.stdout.decode("utf-8"))["splits"].values():
            labels |= set(s["labels"])
        C.check({SQL_LABEL, HTML_LABEL} <= labels,
                "manifest: the JSON report keeps metacharacter labels "
                "verbatim", sorted(labels))
    except (ValueError, KeyError) as e:
        C.check(False, "manifest: the JSON report parses", e)

    db = os.path.join(tmp, "manifest-outside.db")
    if scanned("manifest --allow-outside",
               scan(root, db, "--manifest", man, "--allow-outside",
                    timeout=60)):
        rows = by_path(db)
        r = rows.get(b(out_norm), {})
        C.eq((r.get("status"), r.get("label")), (b"ok", b"cat"),
             "manifest --allow-outside: the outside file is scanned under "
             "its absolute path")
        C.eq([f for f in iatest.findings(db) if f[1] == "outside_root"], [],
             "manifest --allow-outside: no outside_root finding")
        dup = [f for f in iatest.findings(db) if f[1] == "manifest_row" and
               "listed twice" in f[3]]
        C.eq(len(dup), 1, "manifest --allow-outside: the second spelling of "
                          "the outside file is 'listed twice'")


# ---- APNG frame counts --------------------------------------------------------

def apng(claimed, frames):
    """A valid 4x4 APNG of `frames` frames (the default image is the
    first) whose acTL claims `claimed`."""
    import struct
    import zlib
    rows = [b"\x00" + bytes((40, 80, 120)) * 4] * 4
    seq = [0]

    def fctl():
        data = struct.pack(">IIIIIHHBB", seq[0], 4, 4, 0, 0, 1, 10, 0, 0)
        seq[0] += 1
        return data
    head = [(b"acTL", struct.pack(">II", claimed, 0)), (b"fcTL", fctl())]
    png = iatest.png_bytes(4, 4, rows=rows, extra=head)
    tail = b""
    for _ in range(frames - 1):
        tail += iatest.png_chunk(b"fcTL", fctl())
        fdat = struct.pack(">I", seq[0]) + zlib.compress(b"".join(rows))
        seq[0] += 1
        tail += iatest.png_chunk(b"fdAT", fdat)
    return png[:-12] + tail + png[-12:]


def case_apng(tmp):
    """acTL's num_frames is a claim: the file row stores the frames the
    file holds (fcTL chunks), and the finding names a claim that lies."""
    root = os.path.join(tmp, "tree")
    iatest.write(os.path.join(root, "cls", "honest.png"), apng(3, 3))
    iatest.write(os.path.join(root, "cls", "lying.png"), apng(2147483647, 2))
    db = os.path.join(tmp, "apng.db")
    if not scanned("APNG frames", scan(root, db)):
        return
    rows = by_path(db)
    got = {p: (r["status"], r["animated"], r["frames"])
           for p, r in rows.items()}
    C.eq(got, {b"cls/honest.png": (b"ok", 1, 3),
               b"cls/lying.png": (b"ok", 1, 2)},
         "APNG: frames stores the frames present, not acTL's claim")
    details = {p: d for p, code, _, d in iatest.findings(db)
               if code == "animated" and p}
    C.eq(details, {b"cls/honest.png": "APNG, 3 frames",
                   b"cls/lying.png": "APNG, 2 frames (its acTL claims "
                                     "2147483647)"},
         "APNG: the animated finding names a claim that differs")


def main():
    global IMGAUDIT, SHIM
    if len(sys.argv) < 2:
        print("usage: test_hostile.py IMGAUDIT [RACE_SHIM.so]")
        return 2
    IMGAUDIT = os.path.abspath(sys.argv[1])
    SHIM = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    tmp = tempfile.mkdtemp(prefix="ia-hostile-")
    os.chmod(tmp, 0o755)
    cwd = os.getcwd()
    try:
        for case in (case_symlinks, case_special, case_races,
                     case_manifest_through_link, case_race_dirlink,
                     case_unreadable, case_names, case_deep, case_manifest,
                     case_apng, case_big_folder):
            d = os.path.join(tmp, case.__name__)
            os.makedirs(d)
            os.chmod(d, 0o755)
            case(d)
            os.chdir(cwd)
    finally:
        os.chdir(cwd)
        shutil.rmtree(tmp, ignore_errors=True)
    return C.finish()


if __name__ == "__main__":
    sys.exit(main())
