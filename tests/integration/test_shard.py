#!/usr/bin/env python3
"""Integration test of sharded scans and merge (docs/scale-out.md).

    test_shard.py IMGAUDIT

1. Builds a dataset in a temporary folder from the committed fixtures
   (fixtures/sample and fixtures/cases) plus planted cases: exact, pixel
   and near duplicates across splits and labels, copies in folders whose
   names sort differently bytewise and component-wise (so the merged walk
   order decides the groups' anchors), a junk folder, a symlink, a file at
   the root.
2. Scans it once (`scan -j 2`): the reference.
3. Scans it in N = 1 and 3 shards, and in 4 shards run concurrently by the
   guide's own scripts, extracted from docs/scale-out.md and run as
   written: the xargs script (4 at once through xargs -P 4), the Slurm
   array script (SLURM_ARRAY_TASK_ID 0..3, all at once) and its merge
   script, the Kubernetes Indexed Job's container script
   (JOB_COMPLETION_INDEX 0..3) and the merge Job's. Each merged scan must
   equal the reference through `report --format json` (without times and
   the scan's name), `export --format jsonl`, and the DB rows themselves
   (files in id order, findings per file, groups, leaks, every other
   per-scan table).
4. The same for a manifest layout (N = 3), and for the real photo
   dataset (N = 4 through the xargs script; skipped when absent).
5. The shards partition the tree; merge leaves the shard DBs unchanged.
6. A missing shard: exit 1 naming it, nothing written; --allow-partial:
   exit 0, scan incomplete, a shard_missing finding. A failed (unfinished)
   shard likewise. Mismatched shards (N, root, options, version, a K twice,
   not a shard, not a DB): exit 1 with the reason. Usage errors: exit 2.

Standard library only. One line per check, then "N passed, N failed"; the
exit status is non-zero when any check failed.
"""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iatest import Checks, short, capture  # noqa: E402

run = capture  # the tests' name for it

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
DOC = os.path.join(SOURCE_ROOT, "docs", "scale-out.md")
SAMPLE_DIR = os.path.join(SOURCE_ROOT, "fixtures", "sample")
CASES_DIR = os.path.join(SOURCE_ROOT, "fixtures", "cases")
REAL_DIR = os.path.join(os.path.dirname(SOURCE_ROOT), "shared", "datasets",
                        "clothing-small")

# Keys of the JSON report that may differ between two scans of one tree.
VOLATILE_KEY = re.compile(r"(_at$|seconds|elapsed|duration)")


def err_text(proc):
    return proc.stderr.decode("utf-8", "replace")


# ---- the dataset -----------------------------------------------------------

def png_bytes(w, h, pixel):
    rows = b"".join(b"\0" + bytes(v for x in range(w) for v in pixel(x, y))
                    for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return (struct.pack(">I", len(data)) + body +
                struct.pack(">I", zlib.crc32(body) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def scene(x, y):
    """A smooth picture with structure: phash and dhash are meaningful."""
    r = (x * 4 + y) % 256
    g = 255 - (y * 3) % 256
    b = 200 if (x // 16 + y // 16) % 2 else 40
    return (r, g, b)


def scene_touched(x, y):
    """The same picture with a small patch changed: a near duplicate."""
    if 40 <= x < 44 and 10 <= y < 13:
        return (0, 0, 0)
    return scene(x, y)


def put(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def read(root, rel):
    with open(os.path.join(root, rel), "rb") as f:
        return f.read()


def build_tree(root):
    shutil.copytree(SAMPLE_DIR, root, symlinks=True)
    for split in ("train", "test"):
        for entry in sorted(os.listdir(os.path.join(CASES_DIR, split))):
            shutil.copytree(os.path.join(CASES_DIR, split, entry),
                            os.path.join(root, split, entry))
    # Exact copy under another label in the same split: exact_duplicate
    # and label_conflict.
    put(root, "train/dog/cat_001_copy.jpg", read(root, "train/cat/cat_001.jpg"))
    # Copies in folders that sort before "cat" bytewise ('.', '-', ' ' <
    # '/') but after it in the walk: which copy is the anchor depends on
    # the merged order.
    put(root, "train/cat.v2/cat_003.jpg", read(root, "train/cat/cat_003.jpg"))
    put(root, "train/cat-x/cat_005.jpg", read(root, "train/cat/cat_005.jpg"))
    put(root, "train/cat x/cat_006.jpg", read(root, "train/cat/cat_006.jpg"))
    put(root, "val/cat.v2/cat_006.jpg", read(root, "train/cat/cat_006.jpg"))
    # Same pixels, other bytes (trailing data after EOI): pixel duplicate,
    # leaking into val.
    put(root, "val/bird/bird_002_resaved.jpg",
        read(root, "train/bird/bird_002.jpg") + b"\0trailing bytes")
    # Near duplicates across splits.
    put(root, "train/cat/near_a.png", png_bytes(64, 48, scene))
    put(root, "test/cat/near_b.png", png_bytes(64, 48, scene_touched))
    put(root, "val/dog/near_c.png", png_bytes(64, 48, scene_touched))
    # A junk folder, a symlink, files outside classes.
    put(root, "train/cat/__MACOSX/._cat_001.jpg",
        b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    os.symlink("../cat/cat_002.jpg", os.path.join(root, "train/dog/link.jpg"))
    put(root, "README.md", b"# a dataset\n")


def write_manifest(prefix, path):
    """A manifest over part of the tree, in no particular order, with a
    missing file and a row listed twice; paths are relative to the CSV's
    folder, so they start with the tree's name (prefix)."""
    rows = ["path,label,split"]
    for rel, label, split in [
            ("train/cat.v2/cat_003.jpg", "cat", "train"),
            ("train/cat/cat_003.jpg", "cat", "train"),
            ("train/cat-x/cat_005.jpg", "cat", "train"),
            ("train/cat/cat_005.jpg", "cat", "train"),
            ("train/dog/cat_001_copy.jpg", "dog", "train"),
            ("train/cat/cat_001.jpg", "cat", "train"),
            ("test/cat/near_b.png", "cat", "test"),
            ("train/cat/near_a.png", "cat", "train"),
            ("train/dog/dog_007.jpg", "dog", "train"),
            ("train/jpeg/grayscale.jpg", "x", "train"),
            ("train/png/rgba_alpha.png", "x", "train"),
            ("train/cat/missing.jpg", "cat", "train"),
            ("train/cat/cat_001.jpg", "cat", "train"),
            ("test/cat/cat_030.jpg", "cat", "test"),
            ("train/cat/cat_004.jpg", "cat", "train"),
    ] + [("train/bird/bird_%03d.jpg" % i, "bird", "train")
         for i in range(1, 21)]:
        rows.append("%s/%s,%s,%s" % (prefix, rel, label, split))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")


# ---- comparing scans -------------------------------------------------------

def strip_volatile(v):
    if isinstance(v, dict):
        return {k: strip_volatile(x) for k, x in v.items()
                if not VOLATILE_KEY.search(k)}
    if isinstance(v, list):
        return [strip_volatile(x) for x in v]
    return v


def report_json(imgaudit, db):
    p = run([imgaudit, "report", "--db", db, "--format", "json"])
    if p.returncode != 0:
        return None, short(p)
    doc = json.loads(p.stdout)
    doc.get("scan", {}).pop("name", None)
    doc.get("scan", {}).pop("id", None)
    return strip_volatile(doc), ""


def export_jsonl(imgaudit, db):
    p = run([imgaudit, "export", "--db", db, "--format", "jsonl"])
    return (p.stdout if p.returncode == 0 else None), short(p)


def open_ro(path):
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True)


def latest_scan(con):
    return con.execute("SELECT max(id) FROM scan").fetchone()[0]


def columns(con, table):
    return [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)]


def db_rows(path):
    """Everything a scan holds, with ids replaced by paths and positions,
    in the order that matters (file ids follow the walk)."""
    con = open_ro(path)
    sid = latest_scan(con)
    out = {}
    fcols = [c for c in columns(con, "file") if c not in ("id", "scan_id")]
    out["file"] = con.execute(
        "SELECT %s FROM file WHERE scan_id = ? ORDER BY id"
        % ", ".join(fcols), (sid,)).fetchall()
    gcols = [c for c in columns(con, "finding")
             if c not in ("id", "scan_id", "file_id")]
    sel = ", ".join("g." + c for c in gcols)
    # Per file: in id order (the order export joins codes in).
    out["file findings"] = con.execute(
        "SELECT f.path, %s FROM finding g JOIN file f ON f.id = g.file_id"
        " WHERE g.scan_id = ? ORDER BY f.id, g.id" % sel, (sid,)).fetchall()
    # Dataset-level, in id order (the analysis writes them in order).
    out["dataset findings"] = con.execute(
        "SELECT %s FROM finding g WHERE g.scan_id = ? AND g.file_id IS NULL"
        " AND g.path IS NULL ORDER BY g.id" % sel, (sid,)).fetchall()
    out["notes"] = sorted(con.execute(
        "SELECT %s FROM finding g WHERE g.scan_id = ? AND g.file_id IS NULL"
        " AND g.path IS NOT NULL" % sel, (sid,)).fetchall(), key=repr)
    out["groups"] = con.execute(
        "SELECT g.kind, g.size, m.position, m.distance, f.path"
        " FROM dup_group g JOIN dup_member m ON m.group_id = g.id"
        " JOIN file f ON f.id = m.file_id WHERE g.scan_id = ?"
        " ORDER BY g.id, m.position", (sid,)).fetchall()
    out["leaks"] = con.execute(
        "SELECT l.kind, a.path, b.path, l.distance FROM leak l"
        " JOIN file a ON a.id = l.a_file_id JOIN file b ON b.id = l.b_file_id"
        " WHERE l.scan_id = ? ORDER BY l.id", (sid,)).fetchall()
    # Every other per-scan table (statistics, class index, ...), whatever
    # the schema version holds.
    for (table,) in con.execute("SELECT name FROM sqlite_master"
                                " WHERE type = 'table' ORDER BY name"):
        if table in ("scan", "file", "finding", "dup_group", "dup_member",
                     "leak"):
            continue
        cols = [c for c in columns(con, table)
                if c != "id" and c != "scan_id" and not c.endswith("_id")]
        if "scan_id" not in columns(con, table) or not cols:
            continue
        out["table " + table] = sorted(con.execute(
            "SELECT %s FROM %s WHERE scan_id = ?" % (", ".join(cols), table),
            (sid,)).fetchall(), key=repr)
    scan = con.execute("SELECT root, layout, options, tool_version, complete,"
                       " files, decoded, bytes, pixels, shard_k, shard_n"
                       " FROM scan WHERE id = ?", (sid,)).fetchone()
    con.close()
    out["scan"] = scan
    return out


class Reference:
    def __init__(self, imgaudit, db):
        self.report, self.report_err = report_json(imgaudit, db)
        self.export, self.export_err = export_jsonl(imgaudit, db)
        self.rows = db_rows(db)


def first_diff(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return "key %r only in one" % (k,)
            d = first_diff(a[k], b[k])
            if d:
                return "%s: %s" % (k, d)
        return ""
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y)
            if d:
                return "[%d]: %s" % (i, d)
        if len(a) != len(b):
            return "length %d vs %d" % (len(a), len(b))
        return ""
    return "" if a == b else "%r vs %r" % (a, b)


def compare_with(c, imgaudit, ref, db, what):
    rep, err = report_json(imgaudit, db)
    c.check(rep is not None and rep == ref.report,
            what + ": report --format json equals the single scan's",
            err or first_diff(ref.report, rep))
    exp, err = export_jsonl(imgaudit, db)
    if exp is None or exp != ref.export:
        got = (exp or b"").splitlines()
        want = ref.export.splitlines()
        bad = [i for i, (x, y) in enumerate(zip(got, want)) if x != y]
        err = err if exp is None else (
            "line %d: %s" % (bad[0] + 1, got[bad[0]][:160]) if bad else
            "%d lines vs %d" % (len(got), len(want)))
    c.check(exp is not None and exp == ref.export,
            what + ": export --format jsonl equals the single scan's", err)
    rows = db_rows(db)
    for key in sorted(set(ref.rows) | set(rows)):
        if key == "scan":
            continue
        c.check(rows.get(key) == ref.rows.get(key),
                "%s: DB %s equal" % (what, key),
                first_diff(ref.rows.get(key), rows.get(key)))
    c.check(rows["scan"][:9] == ref.rows["scan"][:9] and
            rows["scan"][9:] == (None, None),
            what + ": scan row (root, layout, options, version, complete,"
            " totals) equal, no shard", "%r vs %r" % (rows["scan"],
                                                    ref.rows["scan"]))


# ---- the guide's scripts ---------------------------------------------------

def doc_block(name):
    """The fenced block after '<!-- tested: NAME -->' in the guide."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- tested: %s -->\n```[a-z]*\n(.*?)\n```" %
                  re.escape(name), text, re.S)
    return m.group(1) + "\n" if m else None


def yaml_args_script(block):
    """The shell script of a manifest's `args: - |` literal block."""
    lines = block.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == "- |" and i > 0 and lines[i - 1].strip() == "args:":
            indent = len(line) - len(line.lstrip()) + 2
            body = []
            for x in lines[i + 1:]:
                if x.strip() and len(x) - len(x.lstrip()) < indent:
                    break
                body.append(x[indent:])
            return "\n".join(body).rstrip() + "\n"
    return None


def script_env(imgaudit, **extra):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(os.path.abspath(imgaudit)) + os.pathsep + \
        env.get("PATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_concurrently(cmds):
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env)
             for cmd, env in cmds]
    out = []
    for p in procs:
        so, se = p.communicate(timeout=240)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, so, se))
    return out


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---- the tests -------------------------------------------------------------

def shard_scans(imgaudit, tree, n, folder, extra=()):
    os.makedirs(folder, exist_ok=True)
    dbs = []
    for k in range(n):
        db = os.path.join(folder, "shard-%d.db" % k)
        jobs = "1" if k % 2 == 0 else "2"
        p = run([imgaudit, "scan", tree, "--shard", "%d/%d" % (k, n),
                 "--db", db, "-q", "-j", jobs] + list(extra))
        if p.returncode != 0:
            return None, "shard %d: %s" % (k, short(p))
        dbs.append(db)
    return dbs, ""


def test_n(c, imgaudit, ref, tree, tmp, n):
    folder = os.path.join(tmp, "n%d" % n)
    dbs, err = shard_scans(imgaudit, tree, n, folder)
    if not c.check(dbs is not None, "N=%d: shard scans succeed" % n, err):
        return
    before = [file_digest(d) for d in dbs]
    out = os.path.join(tmp, "merged-%d.db" % n)
    p = run([imgaudit, "merge", out] + dbs + ["-j", "2"])
    c.check(p.returncode == 0, "N=%d: merge exits 0" % n, short(p))
    c.check(re.search(r"%d of %d shards" % (n, n), err_text(p)) is not None,
            "N=%d: merge summary names the shards" % n, err_text(p))
    c.check([file_digest(d) for d in dbs] == before,
            "N=%d: merge leaves the shard DBs unchanged" % n)
    compare_with(c, imgaudit, ref, out, "N=%d" % n)


def check_partition(c, ref, dbs, what):
    paths, notes, rows = [], [], []
    for k, db in enumerate(dbs):
        con = open_ro(db)
        sid = latest_scan(con)
        rows.append(con.execute("SELECT shard_k, shard_n, options FROM scan"
                                " WHERE id = ?", (sid,)).fetchone())
        paths += [r[0] for r in con.execute(
            "SELECT path FROM file WHERE scan_id = ?", (sid,))]
        notes += [r for r in con.execute(
            "SELECT path, code FROM finding WHERE scan_id = ? AND"
            " file_id IS NULL AND path IS NOT NULL", (sid,))]
        con.close()
    n = len(dbs)
    c.check([r[:2] for r in rows] == [(k, n) for k in range(n)],
            what + ": each shard's scan row records K/N",
            repr([r[:2] for r in rows]))
    c.check(len({r[2] for r in rows}) == 1 and rows[0][2] == ref.rows["scan"][2],
            what + ": shards' options equal the single scan's (no shard in"
            " them)", repr({r[2] for r in rows}))
    want = sorted(r[0] for r in ref.rows["file"])  # path is the first column
    c.check(sorted(paths) == want,
            what + ": the shards' files partition the tree (each once)",
            "%d rows vs %d" % (len(paths), len(want)))
    c.check(paths and len(set(paths)) == len(paths),
            what + ": no file in two shards")
    want_notes = sorted((r[0], r[1]) for r in ref.rows["notes"])
    c.check(sorted(notes) == want_notes,
            what + ": notes (symlink, junk_folder) are in exactly one shard",
            "%r vs %r" % (sorted(notes), want_notes))


def test_xargs(c, imgaudit, ref, tree, tmp):
    script = doc_block("xargs")
    if not c.check(script is not None, "guide: the xargs script is there"):
        return None
    c.check("xargs -P" in script and '-I{}' in script,
            "guide: the xargs script runs shards with xargs -P")
    path = os.path.join(tmp, "scan-shards.sh")
    with open(path, "w") as f:
        f.write(script)
    out = os.path.join(tmp, "x4")
    audit = os.path.join(tmp, "x4-audit.db")
    p = run(["sh", path], env=script_env(imgaudit, DATASET=tree, N=4,
                                         OUT=out, AUDIT=audit), cwd=tmp)
    c.check(p.returncode == 0, "xargs script (N=4, P=4) exits 0", short(p))
    dbs = [os.path.join(out, "shard-%d.db" % k) for k in range(4)]
    if not c.check(all(os.path.exists(d) for d in dbs),
                   "xargs script wrote shard-0..3.db"):
        return None
    compare_with(c, imgaudit, ref, audit, "xargs N=4")
    check_partition(c, ref, dbs, "xargs N=4")
    # Running it again over existing shard DBs starts afresh.
    p = run(["sh", path], env=script_env(imgaudit, DATASET=tree, N=4,
                                         OUT=out, AUDIT=audit), cwd=tmp)
    c.check(p.returncode == 0, "xargs script runs again over its own output",
            short(p))
    return dbs


def test_slurm(c, imgaudit, ref, tree, tmp):
    scan = doc_block("slurm-scan")
    merge = doc_block("slurm-merge")
    if not c.check(scan is not None and merge is not None,
                   "guide: the Slurm scripts are there"):
        return
    c.check("SLURM_ARRAY_TASK_ID" in scan and "#SBATCH --array=0-" in scan,
            "guide: the Slurm script is an array job using "
            "SLURM_ARRAY_TASK_ID")
    spath = os.path.join(tmp, "scan-shards.sbatch")
    mpath = os.path.join(tmp, "merge.sbatch")
    for path, text in ((spath, scan), (mpath, merge)):
        with open(path, "w") as f:
            f.write(text)
    out = os.path.join(tmp, "slurm-out")
    local = os.path.join(tmp, "slurm-node")
    os.makedirs(local)
    procs = run_concurrently([
        (["bash", spath], script_env(imgaudit, SLURM_ARRAY_TASK_ID=k,
                                     SLURM_CPUS_PER_TASK=1, DATASET=tree,
                                     N=4, OUT=out, TMPDIR=local))
        for k in range(4)])
    c.check(all(p.returncode == 0 for p in procs),
            "Slurm scan script: 4 array tasks at once exit 0",
            "; ".join(short(p) for p in procs))
    c.check(sorted(os.listdir(out)) ==
            ["shard-%d.db" % k for k in range(4)] and not os.listdir(local),
            "Slurm scan script: shard DBs copied to OUT, node disk cleaned",
            repr((sorted(os.listdir(out)), os.listdir(local))))
    p = run(["bash", mpath], env=script_env(imgaudit, SLURM_CPUS_PER_TASK=2,
                                            OUT=out, TMPDIR=local))
    c.check(p.returncode == 0, "Slurm merge script exits 0", short(p))
    compare_with(c, imgaudit, ref, os.path.join(out, "audit.db"),
                 "Slurm N=4")
    # A task without its array index refuses to run.
    p = run(["bash", spath], env=script_env(imgaudit, DATASET=tree, N=4,
                                            OUT=out, TMPDIR=local))
    c.check(p.returncode != 0 and b"SLURM_ARRAY_TASK_ID" in p.stderr,
            "Slurm scan script outside an array: refuses", short(p))


def test_k8s(c, imgaudit, ref, tree, tmp):
    scan_yaml = doc_block("k8s-scan")
    merge_yaml = doc_block("k8s-merge")
    if not c.check(scan_yaml is not None and merge_yaml is not None,
                   "guide: the Kubernetes manifests are there"):
        return
    c.check("completionMode: Indexed" in scan_yaml and
            "JOB_COMPLETION_INDEX" in scan_yaml,
            "guide: the scan Job is an Indexed Job using "
            "JOB_COMPLETION_INDEX")
    scan = yaml_args_script(scan_yaml)
    merge = yaml_args_script(merge_yaml)
    if not c.check(scan is not None and merge is not None,
                   "guide: the Jobs' container scripts can be extracted"):
        return
    out = os.path.join(tmp, "k8s-out")
    os.makedirs(out)
    cmds = []
    for k in range(4):
        scratch = os.path.join(tmp, "k8s-pod-%d" % k)   # an emptyDir each
        os.makedirs(scratch)
        cmds.append((["/bin/sh", "-c", scan],
                     script_env(imgaudit, JOB_COMPLETION_INDEX=k, N=4,
                                JOBS=1, DATASET=tree, OUT=out,
                                SCRATCH=scratch)))
    procs = run_concurrently(cmds)
    c.check(all(p.returncode == 0 for p in procs),
            "Kubernetes scan Job: 4 indexes at once exit 0",
            "; ".join(short(p) for p in procs))
    scratch = os.path.join(tmp, "k8s-merge-pod")
    os.makedirs(scratch)
    p = run(["/bin/sh", "-c", merge],
            env=script_env(imgaudit, JOBS=2, OUT=out, SCRATCH=scratch))
    c.check(p.returncode == 0, "Kubernetes merge Job exits 0", short(p))
    compare_with(c, imgaudit, ref, os.path.join(out, "audit.db"),
                 "Kubernetes N=4")


def test_real(c, imgaudit, tmp):
    """The real photo dataset (3781 JPEGs), 4 shards through the guide's
    xargs script, against one scan."""
    if not os.path.isdir(REAL_DIR):
        print("skip real dataset: %s is absent" % REAL_DIR)
        return
    single = os.path.join(tmp, "real-single.db")
    p = run([imgaudit, "scan", REAL_DIR, "--db", single, "-q", "-j", "2"],
            timeout=600)
    if not c.check(p.returncode == 0, "real dataset: single scan", short(p)):
        return
    ref = Reference(imgaudit, single)
    path = os.path.join(tmp, "real-shards.sh")
    with open(path, "w") as f:
        f.write(doc_block("xargs") or "exit 99\n")
    audit = os.path.join(tmp, "real-audit.db")
    p = run(["sh", path], env=script_env(imgaudit, DATASET=REAL_DIR, N=4,
                                         OUT=os.path.join(tmp, "real4"),
                                         AUDIT=audit), cwd=tmp, timeout=600)
    c.check(p.returncode == 0, "real dataset: xargs script (N=4) exits 0",
            short(p))
    compare_with(c, imgaudit, ref, audit, "real dataset N=4")


def test_manifest(c, imgaudit, tree, tmp):
    csv_path = os.path.join(tmp, "manifest.csv")
    write_manifest(os.path.basename(tree), csv_path)
    single = os.path.join(tmp, "manifest-single.db")
    p = run([imgaudit, "scan", tree, "--manifest", csv_path, "--db", single,
             "-q"])
    if not c.check(p.returncode == 0, "manifest: single scan", short(p)):
        return
    ref = Reference(imgaudit, single)
    dbs, err = shard_scans(imgaudit, tree, 3, os.path.join(tmp, "man3"),
                           ["--manifest", csv_path])
    if not c.check(dbs is not None, "manifest: 3 shard scans", err):
        return
    out = os.path.join(tmp, "manifest-merged.db")
    p = run([imgaudit, "merge", out] + dbs)
    c.check(p.returncode == 0, "manifest: merge exits 0", short(p))
    compare_with(c, imgaudit, ref, out, "manifest N=3")


def scan_count(db):
    if not os.path.exists(db):
        return 0
    con = open_ro(db)
    try:
        return con.execute("SELECT count(*) FROM scan").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        con.close()


def test_refusals(c, imgaudit, ref, tree, tmp, dbs):
    out = os.path.join(tmp, "refused.db")

    def merge(args, what, code, *needles):
        before = scan_count(out)
        p = run([imgaudit, "merge", out] + args)
        text = err_text(p)
        ok = p.returncode == code and all(n in text for n in needles)
        c.check(ok, what, "%s (want exit %d and %r)" % (short(p), code,
                                                        needles))
        if code != 0:
            c.check(scan_count(out) == before,
                    what + ": nothing written to OUT.db")
        return p

    three = [dbs[0], dbs[1], dbs[3]]
    merge(three, "missing shard: exit 1 naming it", 1,
          "shard 2/4 is missing", "--allow-partial")
    p = merge(three + ["--allow-partial"], "missing shard, --allow-partial:"
              " exit 0 with a warning", 0, "warning: shard 2/4 is missing",
              "INCOMPLETE")
    con = open_ro(out)
    sid = latest_scan(con)
    complete, files = con.execute("SELECT complete, files FROM scan"
                                  " WHERE id = ?", (sid,)).fetchone()
    gaps = con.execute("SELECT severity, detail FROM finding WHERE"
                       " scan_id = ? AND code = 'shard_missing'",
                       (sid,)).fetchall()
    con.close()
    con = open_ro(dbs[2])
    in_two = con.execute("SELECT count(*) FROM file").fetchone()[0]
    con.close()
    c.check(complete == 0, "partial merge: the scan is incomplete")
    c.check(files == len(ref.rows["file"]) - in_two,
            "partial merge: holds the files of the 3 shards present",
            "%d vs %d - %d" % (files, len(ref.rows["file"]), in_two))
    c.check(len(gaps) == 1 and gaps[0][0] == 2 and "shard 2/4" in gaps[0][1],
            "partial merge: one shard_missing error naming shard 2/4",
            repr(gaps))
    rep = run([imgaudit, "report", "--db", out, "--format", "json"])
    doc = json.loads(rep.stdout) if rep.returncode == 0 else {}
    c.check(doc.get("scan", {}).get("complete") is False and
            any(f.get("code") == "shard_missing"
                for f in doc.get("findings", [])),
            "partial merge: the JSON report says incomplete, shard_missing")

    # A shard whose scan did not finish.
    failed = os.path.join(tmp, "failed-1.db")
    shutil.copy(dbs[1], failed)
    con = sqlite3.connect(failed)
    con.execute("UPDATE scan SET complete = 0, finished_at = NULL")
    con.commit()
    con.close()
    args = [dbs[0], failed, dbs[2], dbs[3]]
    merge(args, "unfinished shard: exit 1 naming it", 1,
          "shard 1/4 (%s) did not finish" % failed)
    merge(args + ["--allow-partial"], "unfinished shard, --allow-partial:"
          " exit 0", 0, "shard 1/4", "did not finish", "INCOMPLETE")

    # Mismatches.
    other_n = os.path.join(tmp, "n2-0.db")
    p = run([imgaudit, "scan", tree, "--shard", "0/2", "--db", other_n, "-q"])
    merge([dbs[0], dbs[1], dbs[2], other_n], "different N: exit 1", 1,
          "not shards of one scan", "shard 0/4 vs 0/2")
    merge([dbs[0], dbs[1], dbs[2], other_n, "--allow-partial"],
          "different N with --allow-partial: still exit 1", 1, "0/2")
    other_opt = os.path.join(tmp, "opt-3.db")
    run([imgaudit, "scan", tree, "--shard", "3/4", "--db", other_opt, "-q",
         "--max-pixels", "1000000"])
    merge([dbs[0], dbs[1], dbs[2], other_opt], "different options: exit 1",
          1, "options", '"max_pixels":1000000')
    moved = os.path.join(tmp, "moved-tree")
    shutil.copytree(tree, moved, symlinks=True)
    other_root = os.path.join(tmp, "root-3.db")
    run([imgaudit, "scan", moved, "--shard", "3/4", "--db", other_root, "-q"])
    merge([dbs[0], dbs[1], dbs[2], other_root], "different root: exit 1", 1,
          "root '%s' vs '%s'" % (os.path.realpath(tree),
                                 os.path.realpath(moved)))
    old = os.path.join(tmp, "old-3.db")
    shutil.copy(dbs[3], old)
    con = sqlite3.connect(old)
    con.execute("UPDATE scan SET tool_version = '0.0.9'")
    con.commit()
    con.close()
    merge([old, dbs[0], dbs[1], dbs[2]], "another version: exit 1", 1,
          "made by imgaudit 0.0.9")
    merge([dbs[0], dbs[1], dbs[2], dbs[3], dbs[1]], "a K twice: exit 1", 1,
          "shard 1/4 given twice")
    single = os.path.join(tmp, "single.db")
    merge([dbs[0], dbs[1], dbs[2], single], "a DB that is no shard: exit 1",
          1, single, "no scan made with --shard")
    junk = os.path.join(tmp, "junk.db")
    with open(junk, "wb") as f:
        f.write(b"not a database at all" * 100)
    merge([dbs[0], dbs[1], dbs[2], junk], "not a DB: exit 1", 1, junk)
    merge([dbs[0], dbs[1], dbs[2], os.path.join(tmp, "nope.db")],
          "a shard file that does not exist: exit 1", 1, "nope.db",
          "no such file")
    p = merge([dbs[0], dbs[1], dbs[2], os.path.join(tmp, "nope.db"),
               "--allow-partial"], "a shard file that does not exist,"
              " --allow-partial: exit 0", 0, "nope.db", "left out",
              "shard 3/4 is missing")

    # Shards that pass the checks but do not partition one walk: found
    # while copying, and the half-merged scan is removed again.
    twin = os.path.join(tmp, "twin-2.db")
    shutil.copy(dbs[1], twin)
    con = sqlite3.connect(twin)
    con.execute("UPDATE scan SET shard_k = 2")
    con.commit()
    con.close()
    merge([dbs[0], dbs[1], twin, dbs[3]], "a path in two shards: exit 1,"
          " half-merged scan removed", 1, "is in two shards", twin)
    unordered = os.path.join(tmp, "unordered-0.db")
    shutil.copy(dbs[0], unordered)
    con = sqlite3.connect(unordered)
    con.execute("UPDATE file SET path = 'zzz/' || path"
                " WHERE id = (SELECT min(id) FROM file)")
    con.commit()
    con.close()
    merge([unordered, dbs[1], dbs[2], dbs[3]], "a shard not in walk order:"
          " exit 1, half-merged scan removed", 1, "against the walk order")

    # Usage errors.
    for args, what in (([], "no arguments"), ([out], "no shards"),
                       ([out, dbs[0], "--bogus"], "unknown option"),
                       ([out, dbs[0], "-j", "0"], "-j 0")):
        p = run([imgaudit, "merge"] + args)
        c.check(p.returncode == 2 and b"Try 'imgaudit merge --help'" in
                p.stderr, "merge usage error (%s): exit 2" % what, short(p))
    for bad in ("4/4", "1/0", "a/b", "1", "-1/4", "0/1001", "1/4x"):
        p = run([imgaudit, "scan", tree, "--shard", bad, "--db",
                 os.path.join(tmp, "usage.db")])
        c.check(p.returncode == 2 and b"--shard" in p.stderr,
                "scan --shard %s: usage error, exit 2" % bad, short(p))
    p = run([imgaudit, "merge", "--help"])
    c.check(p.returncode == 0 and b"--allow-partial" in p.stdout,
            "merge --help: exit 0, lists --allow-partial")


def main():
    if len(sys.argv) != 2:
        print("usage: test_shard.py IMGAUDIT", file=sys.stderr)
        return 2
    imgaudit = os.path.abspath(sys.argv[1])
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="ia_shard_") as tmp:
        tree = os.path.join(tmp, "dataset")
        build_tree(tree)
        single = os.path.join(tmp, "single.db")
        p = run([imgaudit, "scan", tree, "--db", single, "-q", "-j", "2"])
        if not c.check(p.returncode == 0, "single scan of the dataset",
                       short(p)):
            return 1
        ref = Reference(imgaudit, single)
        c.check(ref.report is not None and ref.export is not None,
                "single scan: report and export", ref.report_err)
        kinds = {g[0] for g in ref.rows["groups"]}
        codes = {f[2] for f in ref.rows["file findings"]}
        c.check(kinds == {"exact", "pixel", "near"},
                "the dataset has exact, pixel and near groups", repr(kinds))
        c.check({"split_leak", "label_conflict", "grayscale", "truncated",
                 "corrupt"} <= codes,
                "the dataset has leaks, conflicts, mode and broken files",
                repr(sorted(codes)))
        for n in (1, 3):
            test_n(c, imgaudit, ref, tree, tmp, n)
        dbs = test_xargs(c, imgaudit, ref, tree, tmp)
        test_slurm(c, imgaudit, ref, tree, tmp)
        test_k8s(c, imgaudit, ref, tree, tmp)
        test_manifest(c, imgaudit, tree, tmp)
        test_real(c, imgaudit, tmp)
        if dbs:
            test_refusals(c, imgaudit, ref, tree, tmp, dbs)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
