#!/usr/bin/env python3
"""Archives read in place (issue 16, docs/archives.md).

    test_archives.py IMGAUDIT MKDUPS

Fixtures are built here with Python's tarfile, zipfile and gzip (and the
zstd command for .tar.zst): the same members as a folder, a tar, a
tar.gz, a tgz, a tar.zst and a zip; a WebDataset shard with .cls and
.json labels, a sample with two images, one with no image, one whose
label does not parse, a key repeated, names that escape, links and a
FIFO; a truncated tar, a corrupt and a not-zip zip, an encrypted member.
Then:

- every format gives the folder's hashes and verdicts, at ARCHIVE/MEMBER;
- the WebDataset conventions and each archive-level finding;
- a manifest naming archives gives their members its split and label;
- `scan -` from a pipe equals the scan of the file in its folder, and a
  single archive as PATH;
- mkdups' dataset scanned as a folder and packed as tar shards (labels in
  .label, .json and member folders, in tar, tar.gz and zip) gives the
  same file rows (hashes, statistics, verdicts), statistics tables,
  duplicate groups, leaks and analysis findings;
- -j 1 and -j 4 write identical rows; --shard K/N partitions by archive
  and merge equals one scan; docs/scale-out.md's WebDataset Slurm and
  Kubernetes scripts run as written;
- --reuse takes every member over (a tampered value comes back) and an
  unchanged shard set shares the rows;
- members of a sample pass a sample's cap, and --resume keeps members;
- the limits (docs/security.md): --max-members, a zstd bomb, a member
  over the size limit, the bytes in flight at -j 2 (peak RSS).

Standard library only; one line per check, then "N passed, N failed".
"""
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import iatest  # noqa: E402
from iatest import Checks, run, sanitized, under_valgrind, wrap  # noqa: E402
from test_shard import doc_block, yaml_args_script  # noqa: E402

ROOT = iatest.SOURCE_ROOT
SAMPLE = os.path.join(ROOT, "fixtures", "sample")
MTIME = 1700000000


# ---- building archives ------------------------------------------------------

def jpeg(name):
    """A JPEG of fixtures/sample by its base name (cat_001.jpg ...)."""
    cls = name.split("_")[0]
    for split in ("train", "val", "test"):
        p = os.path.join(SAMPLE, split, cls, name)
        if os.path.exists(p):
            with open(p, "rb") as f:
                return f.read()
    raise FileNotFoundError(name)


def tar_add(t, name, data=None, kind=None, link=None):
    ti = tarfile.TarInfo(name)
    ti.mtime = MTIME
    if kind is not None:
        ti.type = kind
        ti.linkname = link or ""
        t.addfile(ti)
        return
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))


def tar_bytes(members):
    """members: (name, bytes) or (name, None, tarfile type, link)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            tar_add(t, m[0], *m[1:])
    return buf.getvalue()


def zstd(data):
    if not shutil.which("zstd"):
        return None
    return subprocess.run(["zstd", "-q", "-c"], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


def zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=(2023, 11, 14, 22, 13, 20))
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    return buf.getvalue()


def encrypt_flag(zdata, name):
    """The zip with the 'encrypted' flag set on name's local and central
    headers: what a passworded member looks like to a reader."""
    z = bytearray(zdata)
    nb = name.encode()
    for sig, name_at, flag_at in ((b"PK\x03\x04", 30, 6),
                                  (b"PK\x01\x02", 46, 8)):
        i = z.find(sig)
        while i >= 0:
            if z[i + name_at:i + name_at + len(nb)] == nb:
                z[i + flag_at] |= 1
            i = z.find(sig, i + 4)
    return bytes(z)


# ---- running and reading -------------------------------------------------------

def scan(imgaudit, path, db, *extra, stdin=None, timeout=300):
    cmd = wrap([imgaudit, "scan", path, "--db", db, "-q"] + list(extra))
    if stdin is None:
        return run(cmd, timeout=timeout)
    with open(stdin, "rb") as f:
        return run(cmd, timeout=timeout, stdin=f)


def short(p):
    return p.why()


def rows(db):
    return {iatest.text(k): v for k, v in iatest.files(db).items()}


def notes(db):
    """[(path, code, detail)] of the findings without a file row."""
    con = iatest.connect_ro(db)
    try:
        sid = con.execute("SELECT max(id) FROM scan").fetchone()[0]
        return [(iatest.text(p), c.decode(), iatest.text(d or b""))
                for p, c, d in con.execute(
                    "SELECT path, code, detail FROM finding WHERE scan_id = ?"
                    " AND file_id IS NULL AND path IS NOT NULL ORDER BY id",
                    (sid,))]
    finally:
        con.close()


def codes_of(db, path):
    return sorted(c for p, c, _, _ in iatest.findings(db)
                  if iatest.text(p) == path)


def note_codes(db, path):
    return sorted(c for p, c, _ in notes(db) if p == path)


VERDICT = ("sha256", "format", "status", "width", "height", "pixel_hash",
           "phash", "dhash", "size", "sum_r", "sum_g", "sum_b")


def verdict(r):
    return tuple(r[k] for k in VERDICT)


# ---- 1. formats -------------------------------------------------------------------

def plain_members():
    return [("cat_001.jpg", jpeg("cat_001.jpg")),
            ("dog/dog_002.jpg", jpeg("dog_002.jpg")),
            ("px.png", iatest.tiny_png(7)),
            ("cut.jpg", jpeg("bird_003.jpg")[:900]),
            ("notes.md", b"not an image\n")]


def test_formats(c, imgaudit, tmp):
    members = plain_members()
    folder = os.path.join(tmp, "fmt-folder")
    for name, data in members:
        iatest.write(os.path.join(folder, name), data)
    db = os.path.join(tmp, "fmt-folder.db")
    p = scan(imgaudit, folder, db)
    c.check(p.returncode == 0, "formats: the folder scans", short(p))
    want = {k: verdict(v) for k, v in rows(db).items()}
    tb = tar_bytes(members)
    arch = os.path.join(tmp, "fmt")
    os.makedirs(arch)
    kinds = {"a.tar": tb, "b.tar.gz": gzip.compress(tb),
             "c.tgz": gzip.compress(tb), "e.zip": zip_bytes(members)}
    zs = zstd(tb)
    if zs is None:
        c.skip("formats: .tar.zst", "no zstd command")
    else:
        kinds["d.tar.zst"] = zs
    for name, data in kinds.items():
        iatest.write(os.path.join(arch, name), data)
    db = os.path.join(tmp, "fmt.db")
    p = scan(imgaudit, arch, db, "-j", "2")
    c.check(p.returncode == 0, "formats: the folder of archives scans",
            short(p))
    got = rows(db)
    for name in kinds:
        mine = {k[len(name) + 1:]: verdict(v) for k, v in got.items()
                if k.startswith(name + "/")}
        c.eq(mine, want, "formats: %s's members have the folder's hashes, "
             "sizes, statuses and pixel sums" % name)
        c.check(all(v["archive"] == name.encode() and v["mtime_ns"] ==
                    MTIME * 10**9 for k, v in got.items()
                    if k.startswith(name + "/")),
                "formats: %s's rows name their archive and the member's "
                "mtime" % name)
    c.eq(notes(db), [], "formats: sound archives give no note")
    c.eq(got["a.tar/cut.jpg"]["status"], b"truncated",
         "formats: a cut JPEG member is truncated")
    c.eq(got["a.tar/notes.md"]["status"], b"not_image",
         "formats: a text member is not_image")


# ---- 2. WebDataset and archive-level findings ----------------------------------------

def wds_members():
    j1, j2, j3 = jpeg("cat_001.jpg"), jpeg("cat_002.jpg"), jpeg("dog_001.jpg")
    return [
        ("000001.cls", b" 3\n"), ("000001.jpg", j1),
        ("000002.jpg", j2), ("000002.json", json.dumps(
            {"label": "tabby", "url": "x"}).encode()),
        ("000003.cls", b"cat"), ("000003.jpg", j3),
        ("000004.jpg", jpeg("dog_002.jpg")),
        ("000004.png", iatest.tiny_png(4)),
        ("000005.cls", b"2"),
        ("000006.jpg", jpeg("dog_003.jpg")), ("000006.txt", b"a caption\n"),
        ("000007.jpg", jpeg("bird_001.jpg")),
        ("000007.json", b"{not json"),
        ("000001.txt", b"back again"),
        ("000008.jpg", jpeg("bird_002.jpg")),
        ("000008.jpg", jpeg("bird_004.jpg")),
        ("../../escape.jpg", j1), ("/abs/path.jpg", j1),
        ("ok/../../x.jpg", j1),
        ("link.jpg", None, tarfile.SYMTYPE, "../../etc/passwd"),
        ("hard.jpg", None, tarfile.LNKTYPE, "000001.jpg"),
        ("pipe.jpg", None, tarfile.FIFOTYPE),
        ("./dir/", None, tarfile.DIRTYPE),
        ("./dir/000009.jpg", jpeg("bird_005.jpg")),
        ("inner.zip", zip_bytes([("a.jpg", j1)])),
        ("empty.jpg", b""),
    ]


def test_webdataset(c, imgaudit, tmp):
    tree = os.path.join(tmp, "wds")
    iatest.write(os.path.join(tree, "train", "shard-000000.tar"),
                 tar_bytes(wds_members()))
    db = os.path.join(tmp, "wds.db")
    p = scan(imgaudit, tree, db, "--label-field", "label")
    if not c.check(p.returncode == 0, "webdataset: scan exits 0", short(p)):
        return
    a = "train/shard-000000.tar/"
    got = rows(db)
    lab = {k[len(a):]: (iatest.text(v["label"]), iatest.text(v["split"]))
           for k, v in got.items()}
    c.eq(lab.get("000001.jpg"), ("3", "train"),
         "webdataset: label from .cls (a class number), split from the "
         "archive's folder")
    c.eq(lab.get("000002.jpg"), ("tabby", "train"),
         "webdataset: label from --label-field of the .json")
    c.eq(lab.get("000003.jpg"), (None, "train"),
         "webdataset: a .cls that is no number gives no label")
    c.eq(lab.get("000006.jpg"), (None, "train"),
         "webdataset: with --label-field a .txt (a caption) is no label")
    c.eq(lab.get("dir/000009.jpg"), ("dir", "train"),
         "webdataset: a member folder is the label when no label file is")
    c.check(not any(k.endswith((".cls", ".json", ".txt")) for k in lab),
            "webdataset: label and metadata files are no file rows",
            sorted(lab))
    c.eq(got[a + "000001.jpg"]["outside_class"], 0,
         "webdataset: a labelled member is inside a class")
    c.eq(note_codes(db, a + "000003"), ["sample_label"],
         "webdataset: a .cls that does not parse is sample_label")
    c.eq(note_codes(db, a + "000007"), ["sample_label"],
         "webdataset: a .json that is no JSON is sample_label under "
         "--label-field")
    c.eq(note_codes(db, a + "000004"), ["sample_multiple_images"],
         "webdataset: a sample with two images is sample_multiple_images")
    c.eq(note_codes(db, a + "000005"), ["sample_no_image"],
         "webdataset: a sample without an image is sample_no_image")
    c.eq(note_codes(db, a + "000001"), ["sample_key_repeated",
                                         "sample_no_image"],
         "webdataset: a key seen again after other samples is "
         "sample_key_repeated (here a lone .txt: no image either)")
    c.eq(note_codes(db, a + "000008.jpg"), ["member_repeated"],
         "webdataset: a second member of one name is member_repeated")
    c.eq(got[a + "000008.jpg"]["sha256"],
         hashlib.sha256(jpeg("bird_002.jpg")).digest(),
         "webdataset: the first member of a repeated name is the one "
         "scanned")
    paths = [d for p, code, d in notes(db) if code == "member_path"]
    c.check(len(paths) == 3, "webdataset: absolute and '..' names are "
            "member_path (3)", paths)
    c.check(all(p == "train/shard-000000.tar" for p, code, _ in notes(db)
                if code == "member_path"),
            "webdataset: an escaping name is noted on the archive, its name "
            "only in the detail")
    c.check(not any(k.endswith(("escape.jpg", "path.jpg", "/x.jpg"))
                    for k in got) and
            not os.path.exists(os.path.join(tmp, "escape.jpg")) and
            not os.path.exists("/abs/path.jpg"),
            "webdataset: an escaping member is neither a row nor written")
    c.eq(note_codes(db, a + "link.jpg"), ["symlink"],
         "webdataset: a symlink member is a symlink note")
    c.eq(note_codes(db, a + "hard.jpg"), ["symlink"],
         "webdataset: a hard link member is a symlink note")
    c.eq(got.get(a + "pipe.jpg", {}).get("status"), b"unreadable",
         "webdataset: a FIFO member is unreadable, never read")
    c.eq(note_codes(db, a + "inner.zip"), ["nested_archive"],
         "webdataset: an archive in an archive is nested_archive, not opened")
    c.eq(got.get(a + "empty.jpg", {}).get("status"), b"empty",
         "webdataset: an empty member is empty")
    # without --label-field: .txt is the label, .json nothing
    db1 = os.path.join(tmp, "wds-txt.db")
    p = scan(imgaudit, tree, db1)
    lab = {k[len(a):]: iatest.text(v["label"]) for k, v in rows(db1).items()}
    c.check(p.returncode == 0 and lab.get("000006.jpg") == "a caption" and
            lab.get("000002.jpg") is None and
            note_codes(db1, a + "000007") == [],
            "webdataset: without --label-field a .txt is the label and a "
            ".json none", lab)
    # .json with a field that is absent
    tree2 = os.path.join(tmp, "wds-json")
    iatest.write(os.path.join(tree2, "s.tar"), tar_bytes([
        ("a.jpg", jpeg("cat_003.jpg")), ("a.json", b"{not json"),
        ("b.jpg", jpeg("cat_004.jpg")), ("b.json", b'{"other": 1}'),
        ("c.jpg", jpeg("cat_005.jpg")), ("c.json", b'{"label": 12}')]))
    db2 = os.path.join(tmp, "wds-json.db")
    p = scan(imgaudit, tree2, db2, "--label-field", "label")
    c.check(p.returncode == 0, "webdataset: the .json shard scans", short(p))
    c.eq([note_codes(db2, "s.tar/" + k) for k in "abc"],
         [["sample_label"], ["sample_label"], []],
         "webdataset: a .json that is no JSON or lacks the field is "
         "sample_label")
    c.eq(rows(db2)["s.tar/c.jpg"]["label"], b"12",
         "webdataset: an integer field is the label")


def test_broken(c, imgaudit, tmp):
    tree = os.path.join(tmp, "broken")
    noise = [b"\x00" + os.urandom(600) for _ in range(200)]
    members = [("a.jpg", jpeg("cat_001.jpg")), ("b.jpg", jpeg("cat_002.jpg")),
               ("c.png", iatest.png_bytes(200, 200, rows=noise)),
               ("d.jpg", jpeg("dog_001.jpg"))]
    tb = tar_bytes(members)
    cut = tb.find(b"c.png") + 512 + 60000   # inside c.png's data
    iatest.write(os.path.join(tree, "cut.tar"), tb[:cut])
    zb = bytearray(zip_bytes(members))
    # a CRC that does not match b.jpg's bytes, in both headers
    for sig, off in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        i = -1
        for _ in range(2):
            i = zb.find(sig, i + 1)
        zb[i + off] ^= 1
    iatest.write(os.path.join(tree, "crc.zip"), bytes(zb))
    iatest.write(os.path.join(tree, "text.zip"), b"hello, no zip\n" * 10)
    iatest.write(os.path.join(tree, "enc.zip"),
                 encrypt_flag(zip_bytes(members[:2]), "b.jpg"))
    db = os.path.join(tmp, "broken.db")
    p = scan(imgaudit, tree, db)
    if not c.check(p.returncode == 0, "broken: scan exits 0", short(p)):
        return
    got = rows(db)
    c.check(all(("cut.tar/" + n) in got for n in ("a.jpg", "b.jpg")),
            "broken: the members before a truncation are kept", sorted(got))
    c.eq(got.get("cut.tar/c.png", {}).get("status"), b"truncated",
         "broken: the member cut by the truncation is scanned as read "
         "(truncated)")
    c.check("cut.tar/d.jpg" not in got, "broken: nothing after it")
    tn = [d for p, code, d in notes(db) if p == "cut.tar"]
    c.check(note_codes(db, "cut.tar") == ["archive_truncated"] and
            "c.png" in tn[0] and "b.jpg" in tn[0],
            "broken: archive_truncated names the member in flight and the "
            "last one read", tn)
    c.eq(got.get("crc.zip/b.jpg", {}).get("status"), b"unreadable",
         "broken: a zip member failing its CRC is unreadable")
    c.check(all(got.get("crc.zip/" + n, {}).get("status") == b"ok"
                for n in ("a.jpg", "c.png", "d.jpg")),
            "broken: the other members of that zip are read")
    c.eq(note_codes(db, "crc.zip"), ["archive_corrupt"],
         "broken: the bad CRC is archive_corrupt on the archive")
    c.check(note_codes(db, "text.zip") == ["archive_corrupt"] and
            not any(k.startswith("text.zip") for k in got),
            "broken: a .zip that is no archive is archive_corrupt")
    c.eq(got.get("enc.zip/b.jpg", {}).get("status"), b"unreadable",
         "broken: an encrypted member is unreadable")
    c.check("encrypted" in iatest.text(got.get("enc.zip/b.jpg", {}).get(
        "message") or b""), "broken: ... saying it is encrypted")
    c.eq(got.get("enc.zip/a.jpg", {}).get("status"), b"ok",
         "broken: the member beside it is read")


def test_unloadable(c, imgaudit, tmp):
    """libarchive is opened at the first archive (src/core/dynlib.c): with
    a broken file of its soname (meson passes it in IA_ARCHIVE_SONAME)
    first on LD_LIBRARY_PATH, the scan exits 0, each archive is one
    `unreadable` finding naming the library and why, its members unread,
    and the files beside it keep their verdicts; a stream the same."""
    soname = os.environ.get("IA_ARCHIVE_SONAME", "")
    if not soname:
        print("skip: libarchive is linked in this build (IA_ARCHIVE_SONAME "
              "is empty)")
        return
    env = iatest.broken_libs_env(os.path.join(tmp, "broken-archive-lib"),
                                 [soname])
    tree = os.path.join(tmp, "unloadable")
    tb = tar_bytes(plain_members())
    iatest.write(os.path.join(tree, "a.tar"), tb)
    iatest.write(os.path.join(tree, "x.jpg"), jpeg("cat_002.jpg"))
    db = os.path.join(tmp, "unloadable.db")
    p = run(wrap([imgaudit, "scan", tree, "--db", db, "-q"]), env=env)
    if not c.check(p.returncode == 0, "unloadable libarchive: scan exits 0",
                   short(p)):
        return
    got = rows(db)
    c.check(not any(k.startswith("a.tar/") for k in got),
            "unloadable libarchive: no member read", sorted(got))
    c.eq(got.get("x.jpg", {}).get("status"), b"ok",
         "unloadable libarchive: the file beside the archive is read")
    tn = [d for p_, code, d in notes(db) if p_ == "a.tar"]
    c.check(note_codes(db, "a.tar") == ["unreadable"] and
            soname in tn[0] and "could not be loaded" in tn[0],
            "unloadable libarchive: the archive is unreadable, naming the "
            "library", tn)
    arch = os.path.join(tmp, "unloadable-stream.tar")
    with open(arch, "wb") as f:
        f.write(tb)
    db = os.path.join(tmp, "unloadable-stream.db")
    with open(arch, "rb") as f:
        p = run(wrap([imgaudit, "scan", "-", "--name", "s.tar", "--db", db,
                      "-q"]), env=env, stdin=f)
    c.check(p.returncode == 0 and note_codes(db, "s.tar") == ["unreadable"],
            "unloadable libarchive: a stream is one unreadable finding",
            short(p) if p.returncode else notes(db))


# ---- 3. streams and one archive ---------------------------------------------------

def test_stream(c, imgaudit, tmp):
    tree = os.path.join(tmp, "stream")
    shard = os.path.join(tree, "train", "shard-000007.tar")
    iatest.write(shard, tar_bytes(wds_members()[:8]))
    ref = os.path.join(tmp, "stream-ref.db")
    p = scan(imgaudit, tree, ref)
    c.check(p.returncode == 0, "stream: the folder scans", short(p))
    db = os.path.join(tmp, "stream.db")
    p = scan(imgaudit, "-", db, "--name", "train/shard-000007.tar",
             stdin=shard)
    c.check(p.returncode == 0, "stream: scan - reads a pipe", short(p))
    keyed = ("path", "split", "label", "sha256", "status", "archive")
    c.eq({k: tuple(v[x] for x in keyed) for k, v in rows(db).items()},
         {k: tuple(v[x] for x in keyed) for k, v in rows(ref).items()},
         "stream: --name train/shard-000007.tar gives the rows of the "
         "file's scan in its folder")
    c.eq(sorted(notes(db)), sorted(notes(ref)), "stream: ... and its notes")
    sr = iatest.scan_row(db)
    c.check(sr["root"] == b"-" and sr["layout"] == b"archive" and
            sr["name"] == b"train/shard-000007.tar",
            "stream: root '-', layout archive, the name", sr)
    db = os.path.join(tmp, "stream-anon.db")
    p = scan(imgaudit, "-", db, stdin=shard)
    c.check(p.returncode == 0 and all(k.startswith("stdin/")
                                      for k in rows(db)),
            "stream: without --name the members are stdin/MEMBER")
    master, slave = os.openpty()
    p = run(wrap([imgaudit, "scan", "-", "--db", db, "-q"]), stdin=slave)
    os.close(master)
    os.close(slave)
    c.check(p.returncode == 2 and b"terminal" in p.stderr,
            "stream: scan - on a terminal is a usage error, not a wait",
            short(p))
    p = scan(imgaudit, "-", db, "--name", "../x.tar", stdin=shard)
    c.check(p.returncode == 2 and b"relative" in p.stderr,
            "stream: a name with '..' is refused", short(p))
    db = os.path.join(tmp, "one.db")
    p = scan(imgaudit, shard, db)
    got = rows(db)
    c.check(p.returncode == 0 and got and
            all(k.startswith("shard-000007.tar/") and
                v["split"] == b"train" for k, v in got.items()),
            "stream: one archive as PATH: members shard-000007.tar/MEMBER, "
            "split from its folder", sorted(got)[:3])
    c.eq(iatest.scan_row(db)["name"], b"shard-000007.tar",
         "stream: one archive's scan is named after it")
    p = scan(imgaudit, os.path.join(SAMPLE, "train", "cat", "cat_001.jpg"),
             db)
    c.check(p.returncode == 2 and b"not a folder or an archive" in p.stderr,
            "stream: a PATH that is a plain file is refused", short(p))


def test_manifest(c, imgaudit, tmp):
    """A manifest naming archives: the row's split and label are the
    members', a sample's label file wins, and a row naming a member of an
    archive it also names is refused."""
    tree = os.path.join(tmp, "mani")
    iatest.write(os.path.join(tree, "s.tar"), tar_bytes([
        ("1.jpg", jpeg("cat_001.jpg")),
        ("2.jpg", jpeg("cat_002.jpg")), ("2.cls", b"7")]))
    iatest.write(os.path.join(tree, "x.jpg"), jpeg("dog_001.jpg"))
    csv = os.path.join(tree, "m.csv")
    iatest.write(csv, b"path,label,split\ns.tar,tabby,val\n"
                 b"s.tar/1.jpg,dog,train\nx.jpg,dog,train\n")
    db = os.path.join(tmp, "mani.db")
    p = scan(imgaudit, tree, db, "--manifest", csv)
    got = rows(db)
    lab = {k: (iatest.text(v["label"]), iatest.text(v["split"]))
           for k, v in got.items()}
    c.check(p.returncode == 0 and lab == {
        "s.tar/1.jpg": ("tabby", "val"), "s.tar/2.jpg": ("7", "val"),
        "x.jpg": ("dog", "train")},
            "manifest: an archive's row gives its members' split and label "
            "(a .cls wins)", "%s %r" % (short(p), lab))
    c.eq(note_codes(db, "s.tar/1.jpg"), ["manifest_row"],
         "manifest: a row naming a member of a listed archive is refused")


# ---- 4. folder and shards give the same analysis -----------------------------------

def walk_files(tree):
    out = []
    for d, dirs, names in os.walk(tree):
        dirs.sort()
        for n in sorted(names):
            out.append(os.path.relpath(os.path.join(d, n), tree))
    return sorted(out, key=lambda p: p.split("/"))


def pack_shards(tree, out, per_shard=5):
    """mkdups' tree as shards per split: labels from .label files, .json
    (--label-field) and member folders, in tar, tar.gz and zip. Returns
    {member path: folder path}."""
    mapping = {}
    by_split = {}
    for rel in walk_files(tree):
        by_split.setdefault(rel.split("/")[0], []).append(rel)
    for split, rels in sorted(by_split.items()):
        for s in range(0, len(rels), per_shard):
            chunk, k = rels[s:s + per_shard], s // per_shard
            style = k % 3
            name = "%s/shard-%06d.%s" % (split, k,
                                         ("tar", "tar.gz", "zip")[style])
            members = []
            for i, rel in enumerate(chunk):
                _, label, base = rel.split("/")
                with open(os.path.join(tree, rel), "rb") as f:
                    data = f.read()
                ext = base.split(".", 1)[1]
                key = "%06d" % len(mapping)
                if style == 2:
                    member = "%s/%s" % (label, base)
                    members.append((member, data))
                else:
                    member = "%s.%s" % (key, ext)
                    members.append((member, data))
                    if style == 0:
                        members.append((key + ".label", label.encode()))
                    else:
                        members.append((key + ".json", json.dumps(
                            {"cls": label}).encode()))
                mapping["%s/%s" % (name, member)] = rel
            if style == 2:
                data = zip_bytes(members)
            else:
                data = tar_bytes(members)
                data = gzip.compress(data) if style == 1 else data
            iatest.write(os.path.join(out, name), data)
    return mapping


def db_tables(db, mapping):
    """What the analysis made, with member paths mapped to folder paths."""
    con = sqlite3.connect(db)
    sid = con.execute("SELECT max(id) FROM scan").fetchone()[0]
    m = lambda p: mapping.get(p, p)  # noqa: E731
    cols = [r[1] for r in con.execute("PRAGMA table_info(file)")
            if r[1] not in ("id", "scan_id", "path", "mtime_ns", "archive")]
    files = {m(r[0]): r[1:] for r in con.execute(
        "SELECT path, %s FROM file WHERE scan_id = ?" % ", ".join(cols),
        (sid,))}
    out = {"files": files}
    out["groups"] = [(k, [m(p) for p in ps.split("\n")]) for k, ps in
                     con.execute(
        "SELECT g.kind, group_concat(f.path, char(10)) FROM dup_group g"
        " JOIN (SELECT * FROM dup_member ORDER BY group_id, position) d"
        " ON d.group_id = g.id JOIN file f ON f.id = d.file_id"
        " WHERE g.scan_id = ? GROUP BY g.id ORDER BY g.id", (sid,))]
    out["leaks"] = sorted((k, m(a), m(b), d) for k, a, b, d in con.execute(
        "SELECT l.kind, fa.path, fb.path, l.distance FROM leak l"
        " JOIN file fa ON fa.id = l.a_file_id JOIN file fb"
        " ON fb.id = l.b_file_id WHERE l.scan_id = ?", (sid,)))
    for t in ("stat_group", "stat_metric", "class_index"):
        out[t] = sorted((tuple(r[1:]) for r in con.execute(
            "SELECT * FROM %s WHERE scan_id = ?" % t, (sid,))), key=repr)
    out["findings"] = sorted((
        (m(p) if p else None, code, sev,
         re.sub(r"[^\s:,()]+\.(?:tar|tar\.gz|zip)/[^\s:,()]+",
                lambda x: m(x.group(0)), d or ""))
        for p, code, sev, d in con.execute(
            "SELECT path, code, severity, detail FROM finding"
            " WHERE scan_id = ? AND file_id IS NOT NULL", (sid,))), key=repr)
    out["totals"] = con.execute("SELECT files, decoded, bytes, pixels FROM"
                                " scan WHERE id = ?", (sid,)).fetchone()
    con.close()
    return out


def different(got, want):
    """The first items on each side that the other lacks."""
    if not isinstance(want, (list, dict)):
        return "%r vs %r" % (got, want)
    if isinstance(want, dict):
        got, want = sorted(got.items()), sorted(want.items())
    return "only here: %r; only there: %r" % (
        [x for x in got if x not in want][:2],
        [x for x in want if x not in got][:2])


def test_equivalence(c, imgaudit, mkdups, tmp):
    tree = os.path.join(tmp, "dups")
    subprocess.run([mkdups, tree], check=True, stdout=subprocess.DEVNULL)
    shards = os.path.join(tmp, "dups-shards")
    mapping = pack_shards(tree, shards)
    ref_db, db = os.path.join(tmp, "dups.db"), os.path.join(tmp, "dshard.db")
    p = scan(imgaudit, tree, ref_db, "-j", "2")
    c.check(p.returncode == 0, "same: the folder scans", short(p))
    p = scan(imgaudit, shards, db, "-j", "2", "--label-field", "cls")
    c.check(p.returncode == 0, "same: the shards scan", short(p))
    # a zip keeps folder names, so two images of one stem in one zip
    # (png_base.jpg and .png, wherever the packing puts them) are one
    # WebDataset sample of two images
    stems = {}
    for member in mapping:
        if ".zip/" in member:
            stem = member.rsplit(".", 1)[0]
            stems[stem] = stems.get(stem, 0) + 1
    want_notes = sorted((st, "sample_multiple_images")
                        for st, n in stems.items() if n > 1)
    # (mkdups' tree decides whether any zip gets such a pair; the note
    # itself is tested on its own above)
    c.eq(sorted((p, code) for p, code, _ in notes(db)), want_notes,
         "same: the notes are the zips' samples of two images, if any")
    want, got = db_tables(ref_db, {}), db_tables(db, mapping)
    c.check(len(want["files"]) > 40, "same: mkdups' tree has its files")
    for key in ("files", "groups", "leaks", "stat_group", "stat_metric",
                "class_index", "findings", "totals"):
        c.check(got[key] == want[key], "same: folder and shards give equal "
                "%s" % key, different(got[key], want[key]))
    return shards


# ---- 5. threads, shards, merge, the guide --------------------------------------

def dump(db):
    con = sqlite3.connect(db)
    sid = con.execute("SELECT max(id) FROM scan").fetchone()[0]
    out = [r[1:] for r in con.execute(
        "SELECT * FROM file WHERE scan_id = ? ORDER BY id", (sid,))]
    out += [r[3:] for r in con.execute(
        "SELECT * FROM finding WHERE scan_id = ? ORDER BY path, code, detail",
        (sid,))]
    out += [r for r in con.execute(
        "SELECT kind, size FROM dup_group WHERE scan_id = ? ORDER BY id",
        (sid,))]
    con.close()
    return out


def test_threads_and_shards(c, imgaudit, shards, tmp):
    dbs = {}
    for j in ("1", "4"):
        dbs[j] = os.path.join(tmp, "j%s.db" % j)
        p = scan(imgaudit, shards, dbs[j], "-j", j, "--label-field", "cls")
        c.check(p.returncode == 0, "threads: -j %s scans" % j, short(p))
    ref = dump(dbs["1"])
    c.eq(dump(dbs["4"]), ref, "threads: -j 1 and -j 4 write identical rows")
    n = 3
    parts = []
    for k in range(n):
        parts.append(os.path.join(tmp, "part-%d.db" % k))
        p = scan(imgaudit, shards, parts[-1], "--shard", "%d/%d" % (k, n),
                 "--label-field", "cls", "-j", "2")
        c.check(p.returncode == 0, "shards: shard %d/%d scans" % (k, n),
                short(p))
    owner = {}
    for k, part in enumerate(parts):
        for v in rows(part).values():
            owner.setdefault(iatest.text(v["archive"]), set()).add(k)
    c.check(owner and all(len(s) == 1 for s in owner.values()) and
            len({next(iter(s)) for s in owner.values()}) > 1,
            "shards: each archive's members are in one shard, the archives "
            "spread over several", owner)
    merged = os.path.join(tmp, "merged.db")
    p = run(wrap([imgaudit, "merge", merged] + parts))
    c.check(p.returncode == 0, "shards: merge exits 0", short(p))
    c.eq(dump(merged), ref, "shards: the merge equals one scan")


def yaml_env(block):
    return dict(re.findall(r"\{name: (\w+), value: \"?([^\"}]+)\"?\}", block))


def test_guide(c, imgaudit, shards, tmp):
    """The WebDataset recipes of docs/scale-out.md, as written."""
    ref = os.path.join(tmp, "j1.db")
    env0 = dict(os.environ)
    env0["PATH"] = os.path.dirname(os.path.abspath(imgaudit)) + \
        os.pathsep + env0.get("PATH", "")
    slurm, k8s = doc_block("wds-slurm"), doc_block("wds-k8s")
    if not c.check(slurm is not None and k8s is not None,
                   "guide: the WebDataset Slurm and Kubernetes recipes are "
                   "in docs/scale-out.md"):
        return
    c.check("SLURM_ARRAY_TASK_ID" in slurm and "--label-field" in slurm,
            "guide: the Slurm recipe is an array job passing --label-field")
    c.check("completionMode: Indexed" in k8s, "guide: the Kubernetes recipe "
            "is an Indexed Job")
    n = 3
    for what, script, env_of in (
            ("Slurm", slurm, lambda k: {"SLURM_ARRAY_TASK_ID": str(k),
                                        "SLURM_CPUS_PER_TASK": "1"}),
            ("Kubernetes", yaml_args_script(k8s),
             lambda k: dict(yaml_env(k8s), JOB_COMPLETION_INDEX=str(k)))):
        out = os.path.join(tmp, "guide-" + what)
        scratch = os.path.join(out, "scratch")
        os.makedirs(scratch)
        path = os.path.join(out, "task.sh")
        with open(path, "w") as f:
            f.write(script)
        ok = True
        for k in range(n):
            env = dict(env0, TMPDIR=scratch)
            env.update(env_of(k))
            env.update(DATASET=shards, N=str(n), OUT=out, SCRATCH=scratch,
                       LABEL_FIELD="cls")
            p = subprocess.run(["bash", path], env=env, capture_output=True)
            ok = ok and p.returncode == 0
            if p.returncode:
                print(p.stderr.decode()[-400:])
        c.check(ok, "guide: the %s task runs for each of %d shards" % (what,
                                                                      n))
        dbs = sorted(os.path.join(out, f) for f in os.listdir(out)
                     if f.endswith(".db"))
        merged = os.path.join(tmp, "guide-%s.db" % what)
        p = run(wrap([imgaudit, "merge", merged] + dbs))
        c.check(p.returncode == 0 and len(dbs) == n,
                "guide: %s: merge of the %d shard DBs exits 0" % (what, n),
                short(p))
        c.eq(dump(merged), dump(ref), "guide: %s: the merge equals one scan"
             % what)


# ---- 6. rescans and resumed scans ------------------------------------------------

def test_reuse(c, imgaudit, shards, tmp):
    full = os.path.join(tmp, "j1.db")
    tampered = os.path.join(tmp, "tampered.db")
    shutil.copy(full, tampered)
    con = sqlite3.connect(tampered)
    con.execute("UPDATE file SET brightness = 999.5 WHERE status = 'ok'")
    n_ok = con.execute("SELECT count(*) FROM file WHERE status = 'ok'"
                       ).fetchone()[0]
    con.commit()
    con.close()
    moved = os.path.join(tmp, "moved-shards")
    shutil.copytree(shards, moved)
    os.rename(os.path.join(moved, "train", "shard-000000.tar"),
              os.path.join(moved, "train", "shard-000099.tar"))
    for tree, what in ((shards, "unchanged"), (moved, "renamed shard")):
        for trust in ([], ["--trust-mtime"]):
            db = os.path.join(tmp, "re-%d-%d.db" % (tree == moved,
                                                    len(trust)))
            p = scan(imgaudit, tree, db, "--reuse", tampered,
                     "--label-field", "cls", *trust)
            con = sqlite3.connect(db)
            got = con.execute("SELECT count(*) FROM file WHERE"
                              " brightness = 999.5").fetchone()[0]
            con.close()
            c.check(p.returncode == 0 and n_ok > 0 and got == n_ok,
                    "reuse: %s %s: every decoded member (%d of %d) came from "
                    "the reused DB" % (what, " ".join(trust) or "by SHA-256",
                                       got, n_ok), short(p))
    same = os.path.join(tmp, "same.db")
    shutil.copy(full, same)
    p = scan(imgaudit, shards, same, "--reuse", same, "--label-field", "cls")
    c.check(p.returncode == 0 and
            iatest.scan_row(same)["same_as"] is not None,
            "reuse: an unchanged shard set rescanned into its DB shares the "
            "rows", short(p))
    same = os.path.join(tmp, "same-trust.db")
    shutil.copy(full, same)
    p = scan(imgaudit, shards, same, "--reuse", same, "--label-field", "cls",
             "--trust-mtime")
    c.check(p.returncode == 0 and
            iatest.scan_row(same)["same_as"] is not None,
            "reuse: ... and with --trust-mtime (members looked up by their "
            "archive-named folder)", short(p))
    test_reuse_extracted(c, imgaudit, tmp)
    # --resume: an interrupted scan's members are kept
    part = os.path.join(tmp, "resume.db")
    shutil.copy(full, part)
    con = sqlite3.connect(part)
    con.execute("PRAGMA foreign_keys = ON")
    sid = con.execute("SELECT max(id) FROM scan").fetchone()[0]
    keep = con.execute("SELECT count(*) FROM file WHERE scan_id = ? AND"
                       " id <= (SELECT min(id) + 20 FROM file WHERE"
                       " scan_id = ?)", (sid, sid)).fetchone()[0]
    for t in ("leak", "dup_group", "stat_group", "stat_metric",
              "class_index"):
        con.execute("DELETE FROM %s WHERE scan_id = ?" % t, (sid,))
    con.execute("DELETE FROM finding WHERE scan_id = ? AND stage ="
                " 'analysis'", (sid,))
    con.execute("DELETE FROM file WHERE scan_id = ? AND id > (SELECT min(id)"
                " + 20 FROM file WHERE scan_id = ?)", (sid, sid))
    con.execute("UPDATE scan SET complete = 0, finished_at = NULL")
    before = dict(con.execute("SELECT path, id FROM file WHERE scan_id = ?",
                              (sid,)).fetchall())
    con.commit()
    con.close()
    p = scan(imgaudit, shards, part, "--resume", "--label-field", "cls",
             "--name", iatest.text(iatest.scan_row(full)["name"]))
    con = sqlite3.connect(part)
    after = dict(con.execute("SELECT path, id FROM file WHERE scan_id = ?",
                             (sid,)).fetchall())
    con.close()
    c.check(p.returncode == 0 and keep == 21 and
            all(after.get(k) == v for k, v in before.items()),
            "resume: the members an interrupted scan stored are kept",
            short(p))
    c.eq(sorted(after), sorted(r for r in rows(full)),
         "resume: the resumed scan has every member")


def test_reuse_extracted(c, imgaudit, tmp):
    """An archive replaced by a folder of its name holding its members
    with their sizes and mtimes (extracted in place): same paths, sizes,
    mtimes, splits and labels, but files of the folder now, not members
    (the archive column differs, nothing else). A rescan trusting mtimes
    must not take the members' rows over."""
    tree = os.path.join(tmp, "extracted")
    members = [("m1.jpg", jpeg("cat_001.jpg")), ("m2.jpg", jpeg("dog_001.jpg"))]
    iatest.write(os.path.join(tree, "cat", "x.jpg"), jpeg("cat_002.jpg"))
    iatest.write(os.path.join(tree, "dog", "y.jpg"), jpeg("dog_002.jpg"))
    iatest.write(os.path.join(tree, "cat", "a.tar"), tar_bytes(members))
    db = os.path.join(tmp, "extracted.db")
    p = scan(imgaudit, tree, db)
    os.remove(os.path.join(tree, "cat", "a.tar"))
    for name, data in members:
        path = os.path.join(tree, "cat", "a.tar", name)
        iatest.write(path, data)
        os.utime(path, ns=(MTIME * 10**9, MTIME * 10**9))
    q = scan(imgaudit, tree, db, "--reuse", db, "--trust-mtime")
    con = sqlite3.connect(db)
    cols = "path, split, label, outside_class, size, mtime_ns, archive"
    old = con.execute("SELECT %s FROM file WHERE scan_id = 1 ORDER BY path"
                      % cols).fetchall()
    new = con.execute("SELECT %s FROM file WHERE scan_id = 2 ORDER BY path"
                      % cols).fetchall()
    con.close()
    c.check(p.returncode == 0 and q.returncode == 0 and len(old) == 4 and
            [r[:-1] for r in old] == [r[:-1] for r in new] and
            [r[-1] for r in new] == [None] * 4 and
            iatest.scan_row(db)["same_as"] is None,
            "reuse: an archive extracted in place, members' mtimes kept, is "
            "no repeat of its members under --trust-mtime", (old, new))


# ---- 7. limits -------------------------------------------------------------------

def test_limits(c, imgaudit, tmp):
    tree = os.path.join(tmp, "lim")
    many = [("e%05d.jpg" % i, b"") for i in range(3000)]
    iatest.write(os.path.join(tree, "many.tar"), tar_bytes(many))
    db = os.path.join(tmp, "lim.db")
    p = scan(imgaudit, tree, db, "--max-members", "1000")
    got = rows(db)
    c.check(p.returncode == 0 and len(got) == 1000,
            "limits: --max-members 1000 reads 1000 of 3000 members",
            "%s, %d rows" % (short(p), len(got)))
    c.eq(note_codes(db, "many.tar"), ["archive_limit"],
         "limits: ... and says so (archive_limit)")
    bomb = os.path.join(tmp, "bomb")
    hdr = tarfile.TarInfo("zeros.jpg")
    hdr.size = (1 << 30) + (64 << 20)
    hdr.mtime = MTIME
    head = hdr.tobuf(tarfile.PAX_FORMAT)
    if not shutil.which("zstd"):
        c.skip("limits: the zstd bomb", "no zstd command")
        return
    with open(os.path.join(tmp, "bomb.tar.zst"), "wb") as out:
        z = subprocess.Popen(["zstd", "-q", "-c", "-1"], stdin=subprocess.PIPE,
                             stdout=out)
        z.stdin.write(head)
        block = bytes(1 << 20)
        for _ in range(hdr.size >> 20):
            z.stdin.write(block)
        z.stdin.write(bytes(1024))
        z.stdin.close()
        z.wait()
    os.makedirs(bomb)
    os.rename(os.path.join(tmp, "bomb.tar.zst"),
              os.path.join(bomb, "bomb.tar.zst"))
    size = os.path.getsize(os.path.join(bomb, "bomb.tar.zst"))
    db = os.path.join(tmp, "bomb.db")
    p = scan(imgaudit, bomb, db, timeout=120)
    got = rows(db)
    c.check(p.returncode == 0 and
            got.get("bomb.tar.zst/zeros.jpg", {}).get("status") ==
            b"too_large",
            "limits: a member claiming more than 1 GiB is too_large, never "
            "held (%d KB archive)" % (size >> 10), short(p))
    c.eq(note_codes(db, "bomb.tar.zst"), ["archive_limit"],
         "limits: inflating past 1000 times the archive stops it "
         "(archive_limit)")
    if not sanitized(imgaudit) and not under_valgrind():
        c.check(p.maxrss_kb < 100 * 1024 and p.seconds < 60,
                "limits: the bomb costs %.0f MB and %.1f s" %
                (p.maxrss_kb / 1024, p.seconds))
    # members in flight: 48 JPEG-looking 4 MiB members, held whole (the
    # tar written as a stream: this process' own size counts in the
    # child's peak RSS, which starts as a fork of it)
    big = os.path.join(tmp, "big")
    os.makedirs(big)
    data = b"\xff\xd8\xff\xe0" + bytes(4 << 20)
    with tarfile.open(os.path.join(big, "big.tar"), "w") as t:
        for i in range(48):
            tar_add(t, "%03d.jpg" % i, data)
    del data
    db = os.path.join(tmp, "big.db")
    p = scan(imgaudit, big, db, "-j", "2")
    c.check(p.returncode == 0 and len(rows(db)) == 48,
            "limits: 48 members of 4 MiB scan at -j 2", short(p))
    if not sanitized(imgaudit) and not under_valgrind():
        c.check(p.maxrss_kb < 150 * 1024,
                "limits: a 192 MiB shard of large members at -j 2 peaks at "
                "%.0f MB (under 150: the bytes in flight are capped)" %
                (p.maxrss_kb / 1024))


def main():
    imgaudit, mkdups = sys.argv[1], sys.argv[2]
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        test_formats(c, imgaudit, tmp)
        test_webdataset(c, imgaudit, tmp)
        test_broken(c, imgaudit, tmp)
        test_unloadable(c, imgaudit, tmp)
        test_stream(c, imgaudit, tmp)
        test_manifest(c, imgaudit, tmp)
        shards = test_equivalence(c, imgaudit, mkdups, tmp)
        test_threads_and_shards(c, imgaudit, shards, tmp)
        test_guide(c, imgaudit, shards, tmp)
        test_reuse(c, imgaudit, shards, tmp)
        test_limits(c, imgaudit, tmp)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
