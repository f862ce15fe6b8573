#!/usr/bin/env python3
"""Scanning a dataset packed as WebDataset shards against scanning it as
a folder (issue 16, docs/performance.md "Archives").

    bench/shards.py BUILD [DATASET] [--jobs 1,2] [--repeat N] [--per-shard N]

DATASET (default ../shared/datasets/clothing-small, or
$IA_DATASETS/clothing-small) is packed once into tar shards under
$IA_SHARDS (default /tmp/imgaudit-shards), one folder per split as
img2dataset and WebDataset's tools write them: SPLIT/shard-NNNNNN.tar,
--per-shard samples each (default 1000), every sample KEY.jpg (the file's
bytes), KEY.cls (its class number) and KEY.json ({"label": class name}).
A .tar.gz copy of the shards is made beside them.

For each thread count the folder scan and the shard scans (plain tar,
tar.gz) run in turn, REPEAT times (default 3), each into a fresh DB with
`--label-field label`; the best wall time of each is kept (the machine
is shared) and printed with CPU time and peak RSS, then the ratio
folder time / shard time ("speed of the shards relative to the folder";
the issue asks >= 0.9) by wall and CPU time. The runs are checked to
store the same images (count, bytes, pixels, SHA-256 set).
"""
import gzip
import io
import json
import os
import shutil
import sqlite3
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd):
    """Wall seconds, CPU seconds and peak RSS (KiB) of one child. Spawned,
    not forked: a forked child's peak RSS counts this process' pages until
    it execs, and the packing made this process large."""
    t0 = time.monotonic()
    pid = os.posix_spawn(cmd[0], cmd, os.environ)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("shards.py: %s failed" % " ".join(cmd))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def images(tree):
    """(split, class, path) of every file, in walk order."""
    out = []
    for split in sorted(os.listdir(tree)):
        sd = os.path.join(tree, split)
        if not os.path.isdir(sd):
            continue
        for cls in sorted(os.listdir(sd)):
            cd = os.path.join(sd, cls)
            if os.path.isdir(cd):
                out += [(split, cls, os.path.join(cd, f))
                        for f in sorted(os.listdir(cd))]
    return out


def add(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = 1700000000
    t.addfile(ti, io.BytesIO(data))


def pack(tree, out, per_shard):
    """The shards, made once (a stamp file says they are complete)."""
    stamp = os.path.join(out, ".complete-%d" % per_shard)
    if os.path.exists(stamp):
        return
    shutil.rmtree(out, ignore_errors=True)
    files = images(tree)
    classes = sorted({c for _, c, _ in files})
    by_split = {}
    for f in files:
        by_split.setdefault(f[0], []).append(f)
    key = 0
    for split, fs in sorted(by_split.items()):
        os.makedirs(os.path.join(out, "tar", split))
        os.makedirs(os.path.join(out, "tar.gz", split))
        for s in range(0, len(fs), per_shard):
            name = "shard-%06d.tar" % (s // per_shard)
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as t:
                for _, cls, path in fs[s:s + per_shard]:
                    k = "%09d" % key
                    key += 1
                    with open(path, "rb") as f:
                        add(t, k + os.path.splitext(path)[1], f.read())
                    add(t, k + ".cls", b"%d" % classes.index(cls))
                    add(t, k + ".json", json.dumps({"label": cls}).encode())
            with open(os.path.join(out, "tar", split, name), "wb") as f:
                f.write(buf.getvalue())
            with open(os.path.join(out, "tar.gz", split, name + ".gz"),
                      "wb") as f:
                f.write(gzip.compress(buf.getvalue(), 6))
    open(stamp, "w").close()


def summary(db):
    """The images' count, bytes and SHA-256 set (the folder's root also
    holds a README and a LICENSE, which are not packed)."""
    c = sqlite3.connect(db)
    sid = c.execute("SELECT max(id) FROM scan").fetchone()[0]
    row = c.execute("SELECT count(*), sum(size), sum(pixels) FROM file"
                    " WHERE scan_id = ? AND status = 'ok'", (sid,)).fetchone()
    shas = sorted(r[0] for r in c.execute(
        "SELECT sha256 FROM file WHERE scan_id = ? AND status = 'ok'",
        (sid,)))
    c.close()
    return row, shas


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    build = args.pop(0)
    jobs, repeat, per_shard = [1, 2], 3, 1000
    tree = None
    while args:
        a = args.pop(0)
        if a == "--jobs":
            jobs = [int(x) for x in args.pop(0).split(",")]
        elif a == "--repeat":
            repeat = int(args.pop(0))
        elif a == "--per-shard":
            per_shard = int(args.pop(0))
        else:
            tree = a
    if tree is None:
        base = os.environ.get("IA_DATASETS",
                              os.path.join(HERE, "..", "..", "shared",
                                           "datasets"))
        tree = os.path.join(base, "clothing-small")
    tree = os.path.abspath(tree)
    out = os.environ.get("IA_SHARDS", "/tmp/imgaudit-shards")
    imgaudit = os.path.join(build, "imgaudit")
    pack(tree, out, per_shard)
    n_tars = sum(len(fs) for _, _, fs in os.walk(os.path.join(out, "tar")))
    print("== %s: %d files as a folder, as %d WebDataset shards (%s)"
          % (tree, len(images(tree)), n_tars, out))
    print("   load average at start: %.2f %.2f %.2f" % os.getloadavg())
    kinds = [("folder", tree), ("tar", os.path.join(out, "tar")),
             ("tar.gz", os.path.join(out, "tar.gz"))]
    with tempfile.TemporaryDirectory() as tmp:
        for j in jobs:
            best = {}
            sums = {}
            for r in range(repeat):
                for kind, path in kinds:
                    db = os.path.join(tmp, "%s-%d-%d.db" % (kind, j, r))
                    fig = timed([imgaudit, "scan", path, "--db", db, "-q",
                                 "-j", str(j), "--label-field", "label"])
                    if kind not in best or fig[0] < best[kind][0]:
                        best[kind] = fig
                    sums[kind] = summary(db)
                    os.unlink(db)
            for kind, _ in kinds:
                w, cpu, rss = best[kind]
                print("  -j %d  %-7s %6.2f s (cpu %6.2f s)  %7.0f files/s  "
                      "peak RSS %6.1f MB" % (j, kind, w, cpu,
                                             sums[kind][0][0] / w,
                                             rss / 1024))
            fw, fc, _ = best["folder"]
            for kind in ("tar", "tar.gz"):
                w, cpu, _ = best[kind]
                same = (sums[kind][0] == sums["folder"][0] and
                        sums[kind][1] == sums["folder"][1])
                print("  -j %d  %s speed / folder speed: %.2f (by CPU time "
                      "%.2f)%s" % (j, kind, fw / w, fc / cpu,
                                   "" if same else
                                   "  RESULTS DIFFER from the folder's"))


if __name__ == "__main__":
    main()
