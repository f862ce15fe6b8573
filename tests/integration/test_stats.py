#!/usr/bin/env python3
"""Integration test: dataset statistics, quality flags and label balance.

    test_stats.py IMGAUDIT

The test writes its fixtures itself (PNG, standard library only) into a
temporary folder, scans them with the real binary and checks the JSON
report and the DB (tables stat_group, stat_metric, class_index, finding)
against answers known by construction:

1. exact: a one-colour image, a two-colour image, a gradient, a grayscale
   image among RGB ones; per-label channel mean/std by hand formulas, per
   split from the pixel sums Python takes of the arrays it wrote.
   Also: the text and Markdown reports' channel and balance rows; the
   mode mix (a grayscale or alpha minority is a warning, a majority info).
2. flags: 24 noise images and, for every quality flag, one image that
   must raise it and one close to it that must not; -j 1 and -j 4 store
   identical statistics.
3. labels: class_missing, tiny_class, class_imbalance and the class index.
4. clothing-small (skipped with a message when absent): per-split channel
   mean and std within 1e-6 relative of the reference stats.json (decoded
   with Pillow, summed with numpy), label counts exact, and the quality
   flags that fire on real photos, pinned.

One line per check, then "N passed, N failed"; non-zero exit on failure.
"""
import json
import math
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
DATASETS = os.path.join(os.path.dirname(SOURCE_ROOT), "shared", "datasets")
CLOTHING = os.path.join(DATASETS, "clothing-small")
CLOTHING_REF = os.path.join(DATASETS, "clothing-small-reference",
                            "stats.json")
QUALITY = ["blank", "dark", "bright", "low_information", "blurry",
           "odd_size", "odd_aspect"]
LABEL_CODES = ["class_missing", "tiny_class", "class_imbalance"]


class Checks(iatest.Checks):
    """iatest's, with a check of a float within a relative tolerance."""

    def close(self, got, want, rel, what):
        ok = got is not None and abs(got - want) <= rel * max(abs(want), 1e-300)
        if want == 0:
            ok = got is not None and abs(got) <= 1e-12
        return self.check(ok, what, "got %r, want %r" % (got, want))


# ---- images -------------------------------------------------------------

class Image:
    """Rows of pixels: tuples (r, g, b) or ints (gray)."""

    def __init__(self, w, h, fn):
        self.w, self.h = w, h
        self.rows = [[fn(x, y) for x in range(w)] for y in range(h)]
        self.gray = isinstance(self.rows[0][0], int)
        self.alpha = not self.gray and len(self.rows[0][0]) == 4

    def rgb(self):
        for row in self.rows:
            for p in row:
                yield (p, p, p) if self.gray else p[:3]

    def write(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        raw = bytearray()
        for row in self.rows:
            raw.append(0)
            for p in row:
                raw.extend([p] if self.gray else p)

        def chunk(kind, data):
            return (struct.pack(">I", len(data)) + kind + data +
                    struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
        ihdr = struct.pack(">IIBBBBB", self.w, self.h, 8,
                           0 if self.gray else 6 if self.alpha else 2,
                           0, 0, 0)
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                    chunk(b"IDAT", zlib.compress(bytes(raw), 9)) +
                    chunk(b"IEND", b""))


class Rng:
    """A fixed linear congruential generator: the same images everywhere."""

    def __init__(self, seed):
        self.s = seed

    def next(self, n):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) % 2**64
        return (self.s >> 33) % n


def noise(w, h, seed, lo=0, hi=255):
    r = Rng(seed)
    span = hi - lo + 1
    return Image(w, h, lambda x, y: (lo + r.next(span), lo + r.next(span),
                                     lo + r.next(span)))


def blurred_noise(w, h, seed):
    """Noise on a coarse 8 px grid, bilinearly interpolated: smooth."""
    r = Rng(seed)
    gw, gh = w // 8 + 2, h // 8 + 2
    grid = [[(r.next(256), r.next(256), r.next(256)) for _ in range(gw)]
            for _ in range(gh)]

    def at(x, y):
        gx, gy = x / 8.0, y / 8.0
        x0, y0 = int(gx), int(gy)
        fx, fy = gx - x0, gy - y0
        out = []
        for c in range(3):
            top = grid[y0][x0][c] * (1 - fx) + grid[y0][x0 + 1][c] * fx
            bot = grid[y0 + 1][x0][c] * (1 - fx) + grid[y0 + 1][x0 + 1][c] * fx
            out.append(int(round(top * (1 - fy) + bot * fy)))
        return tuple(out)
    return Image(w, h, at)


def levels(w, h, seed, values):
    r = Rng(seed)
    return Image(w, h, lambda x, y: values[r.next(len(values))])


# ---- running imgaudit ----------------------------------------------------

def scan(imgaudit, root, db):
    p = subprocess.run([imgaudit, "scan", root, "--db", db, "-q"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rep = subprocess.run([imgaudit, "report", "--db", db, "--format", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    doc = None
    if rep.returncode == 0:
        doc = json.loads(rep.stdout.decode("utf-8"))
    return p, doc


def findings(db, codes):
    """{code: sorted [path or detail]} for the given codes."""
    con = sqlite3.connect(db)
    out = {c: [] for c in codes}
    for code, path, detail in con.execute(
            "SELECT code, path, detail FROM finding WHERE code IN (%s)"
            % ",".join("?" * len(codes)), codes):
        out[code].append(path if path is not None else "* " + detail)
    con.close()
    return {c: sorted(v) for c, v in out.items()}


def group_row(db, split, label):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    row = con.execute("SELECT * FROM stat_group WHERE split IS ? AND label"
                      " IS ?", (split, label)).fetchone()
    con.close()
    return row


def exact_moments(pixels):
    """Mean and population std per channel, from exact integer sums."""
    n, s, ss = 0, [0, 0, 0], [0, 0, 0]
    for p in pixels:
        n += 1
        for c in range(3):
            s[c] += p[c]
            ss[c] += p[c] * p[c]
    mean = [s[c] / n for c in range(3)]
    std = [math.sqrt(n * ss[c] - s[c] * s[c]) / n for c in range(3)]
    return mean, std


# ---- 1. exact answers ----------------------------------------------------

def case_exact(c, imgaudit, tmp):
    root = os.path.join(tmp, "exact")
    const = Image(16, 16, lambda x, y: (10, 20, 30))
    two = Image(16, 16, lambda x, y: (0, 0, 0) if x < 8 else (255, 255, 255))
    grad = Image(64, 64, lambda x, y: (4 * x, 4 * y, 128))
    gray = Image(16, 16, lambda x, y: 16 * x)
    rgb = noise(16, 16, 7)
    files = {"train/const/a.png": const, "train/two/a.png": two,
             "train/grad/a.png": grad, "val/gray/a.png": gray,
             "val/noise/a.png": rgb}
    for rel, im in files.items():
        im.write(os.path.join(root, rel))
    db = os.path.join(tmp, "exact.db")
    p, doc = scan(imgaudit, root, db)
    if not c.check(p.returncode == 0 and doc, "exact: scan and report",
                   p.stderr.decode("utf-8", "replace")):
        return
    # Per image, by hand: one colour; half black half white; a ramp of 64
    # values 4 apart (mean 4 * 31.5, std 4 * sqrt((64^2 - 1) / 12)); gray
    # 16 x (0..15), counted in all three channels.
    ramp = 4 * math.sqrt((64 ** 2 - 1) / 12)
    steps = 16 * math.sqrt((16 ** 2 - 1) / 12)
    want = {
        ("train", "const"): ([10, 20, 30], [0, 0, 0]),
        ("train", "two"): ([127.5] * 3, [127.5] * 3),
        ("train", "grad"): ([126, 126, 128], [ramp, ramp, 0]),
        ("val", "gray"): ([120] * 3, [steps] * 3),
    }
    for (split, label), (mean, std) in want.items():
        row = group_row(db, split, label)
        if not c.check(row is not None, "exact: stat_group %s/%s" % (split,
                                                                    label)):
            continue
        for i, ch in enumerate("rgb"):
            c.close(row["mean_" + ch], mean[i], 1e-12,
                    "exact: %s/%s mean_%s" % (split, label, ch))
            c.close(row["std_" + ch], std[i], 1e-12,
                    "exact: %s/%s std_%s" % (split, label, ch))
    # Per split, in the JSON report, from Python's own sums of the pixels.
    for split in ("train", "val"):
        px = [p for rel, im in sorted(files.items())
              if rel.startswith(split + "/") for p in im.rgb()]
        mean, std = exact_moments(px)
        got = doc["splits"].get(split, {})
        for i in range(3):
            c.close((got.get("channel_mean") or [None] * 3)[i], mean[i],
                    1e-12, "exact: JSON %s channel_mean[%d]" % (split, i))
            c.close((got.get("channel_std") or [None] * 3)[i], std[i],
                    1e-12, "exact: JSON %s channel_std[%d]" % (split, i))
        c.check(got.get("images") == sum(1 for r in files
                                          if r.startswith(split + "/")),
                "exact: JSON %s images" % split)
    check_text_report(c, imgaudit, db, files)
    f = findings(db, QUALITY + ["grayscale"])
    c.check(f["blank"] == ["* 1 of 5 images are blank (every channel's "
                           "standard deviation below 1)",
                           "train/const/a.png"],
            "exact: the one-colour image is blank, the two-colour one not",
            f["blank"])
    c.check(all(not f[k] for k in QUALITY if k != "blank"),
            "exact: no other quality flag (dark, bright: none; relative "
            "flags: fewer than 20 images)", f)
    c.check(f["grayscale"] == ["* 1 of 5 images are grayscale",
                               "val/gray/a.png"],
            "exact: one grayscale image among RGB ones", f["grayscale"])
    con = sqlite3.connect(db)
    sev = con.execute("SELECT group_concat(DISTINCT severity) FROM finding"
                      " WHERE code = 'grayscale'").fetchone()[0]
    con.close()
    c.check(sev == "1", "exact: grayscale is a warning (a minority)", sev)


def check_text_report(c, imgaudit, db, files):
    """The text and Markdown reports show the per-split channel table and
    the label balance, with the values Python computes."""
    out = {}
    for fmt in ("text", "md"):
        p = subprocess.run([imgaudit, "report", "--db", db, "--format", fmt],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out[fmt] = p.stdout.decode("utf-8", "replace")
    for split in ("train", "val"):
        px = [p for rel, im in sorted(files.items())
              if rel.startswith(split + "/") for p in im.rgb()]
        mean, std = exact_moments(px)
        n = sum(1 for r in files if r.startswith(split + "/"))
        line = "  %-12s  %6d  %10.1f" % (split, n, len(px) / 1e6) + "".join(
            "  %6.2f" % v for v in mean + std)
        c.check(line in out["text"].splitlines(),
                "report: text channel row of %s" % split, line)
        row = "| %s | %d | %.1f |" % (split, n, len(px) / 1e6) + "".join(
            " %.2f |" % v for v in mean + std)
        c.check(row in out["md"].splitlines(),
                "report: markdown channel row of %s" % split, row)
    # train: 3 labels of 1 image each, 3 of 5 images.
    line = "  %-12s  %6d  %5.1f%%  %6d  %16.2f  %18.3f" % ("train", 3, 60.0,
                                                         3, 1.0, 1.0)
    c.check(line in out["text"].splitlines(),
            "report: text label balance row of train", line)


def case_modes(c, imgaudit, tmp):
    """The mode mix (store/write.c): a minority is a warning, a majority info;
    alpha counts the mode, transparent pixels or not."""
    root = os.path.join(tmp, "modes")
    files = {"a/gray%d.png" % i: Image(16, 16, lambda x, y, i=i: 16 * x + i)
             for i in range(3)}
    files["a/rgb.png"] = noise(16, 16, 1)
    files["b/opaque.png"] = Image(16, 16, lambda x, y: (x, y, 9, 255))
    files["b/clear.png"] = Image(16, 16, lambda x, y: (x, y, 9, 16 * y))
    for i in range(4):
        files["b/rgb%d.png" % i] = noise(16, 16, 10 + i)
    for rel, im in files.items():
        im.write(os.path.join(root, rel))
    db = os.path.join(tmp, "modes.db")
    p, doc = scan(imgaudit, root, db)
    if not c.check(p.returncode == 0 and doc, "modes: scan and report"):
        return
    con = sqlite3.connect(db)
    rows = con.execute("SELECT code, severity, coalesce(path, detail) FROM"
                       " finding WHERE code IN ('grayscale', 'alpha')"
                       " ORDER BY code, path IS NOT NULL, path").fetchall()
    used = con.execute("SELECT path, alpha_used FROM file WHERE"
                       " alpha_used IS NOT NULL ORDER BY path").fetchall()
    con.close()
    c.check(rows == [
        ("alpha", 1, "2 of 10 images have an alpha channel"),
        ("alpha", 1, "b/clear.png"), ("alpha", 1, "b/opaque.png"),
        ("grayscale", 1, "3 of 10 images are grayscale"),
        ("grayscale", 1, "a/gray0.png"), ("grayscale", 1, "a/gray1.png"),
        ("grayscale", 1, "a/gray2.png")],
        "modes: alpha (used or not) and grayscale minorities are warnings",
        rows)
    c.check(used == [("b/clear.png", 1), ("b/opaque.png", 0)],
            "modes: alpha_used tells the transparent image", used)
    # Without the RGB images of b, gray is the majority of a: info.
    root2 = os.path.join(tmp, "modes2")
    for rel, im in files.items():
        if rel.startswith("a/"):
            im.write(os.path.join(root2, rel))
    db2 = os.path.join(tmp, "modes2.db")
    p, doc = scan(imgaudit, root2, db2)
    con = sqlite3.connect(db2)
    rows = con.execute("SELECT severity, coalesce(path, detail) FROM"
                       " finding WHERE code = 'grayscale'"
                       " ORDER BY path IS NOT NULL, path").fetchall()
    con.close()
    c.check(rows == [(0, "3 of 4 images are grayscale"), (0, "a/gray0.png"),
                     (0, "a/gray1.png"), (0, "a/gray2.png")],
            "modes: a grayscale majority is info", rows)


# ---- 2. quality flags ----------------------------------------------------

def case_flags(c, imgaudit, tmp):
    root = os.path.join(tmp, "flags")
    files = {}
    for i in range(24):
        files["x/noise%02d.png" % i] = noise(64, 64, 100 + i)
    files.update({
        # blank: one colour; a checkerboard of levels 100 and 102 (std 1)
        # is not blank, but it has 1 bit of information.
        "x/blank.png": Image(64, 64, lambda x, y: (90, 90, 90)),
        "x/faint.png": Image(64, 64, lambda x, y: (100, 100, 100)
                             if (x + y) % 2 else (102, 102, 102)),
        # dark: noise in 0..40 (mean luma 20); 10..60 (mean 35) is not.
        "x/dark.png": noise(64, 64, 1, 0, 40),
        "x/dim.png": noise(64, 64, 2, 10, 60),
        # bright: noise in 215..255 (mean 235); 195..245 (220) is not.
        "x/bright.png": noise(64, 64, 3, 215, 255),
        "x/light.png": noise(64, 64, 4, 195, 245),
        # low information: three gray levels (1.6 bits); 24 levels (4.6
        # bits) are more than the 4-bit cap.
        "x/three.png": levels(64, 64, 5, [(0, 0, 0), (128, 128, 128),
                                          (255, 255, 255)]),
        "x/levels24.png": levels(64, 64, 6, [(10 * k, 10 * k, 10 * k)
                                             for k in range(24)]),
        # blurry: noise smoothed over 8 px; sharp noise (above) is not.
        "x/blurred.png": blurred_noise(64, 64, 7),
        # odd_size: 8x8 against 64x64 (fences 32-128 px); 48x48 is not.
        "x/tiny.png": noise(8, 8, 8),
        "x/small.png": noise(48, 48, 9),
        # odd_aspect: 512x8 (64:1); 96x48 (2:1, on the fence) is not.
        "x/strip.png": noise(512, 8, 10),
        "x/wide.png": noise(96, 48, 11),
    })
    for rel, im in files.items():
        im.write(os.path.join(root, rel))
    db = os.path.join(tmp, "flags.db")
    p, doc = scan(imgaudit, root, db)
    if not c.check(p.returncode == 0 and doc, "flags: scan and report",
                   p.stderr.decode("utf-8", "replace")):
        return
    got = findings(db, QUALITY)
    n = len(files)
    want = {
        "blank": ["x/blank.png"], "dark": ["x/dark.png"],
        "bright": ["x/bright.png"],
        "low_information": ["x/faint.png", "x/three.png"],
        "blurry": ["x/blurred.png"], "odd_size": ["x/tiny.png"],
        "odd_aspect": ["x/strip.png"],
    }
    for code, paths_want in want.items():
        paths = [v for v in got[code] if not v.startswith("* ")]
        summary = [v for v in got[code] if v.startswith("* ")]
        c.check(paths == paths_want, "flags: %s raised by %s and nothing "
                "else" % (code, ", ".join(paths_want)), got[code])
        c.check(len(summary) == 1 and summary[0].startswith(
                    "* %d of %d images " % (len(paths_want), n)),
                "flags: %s has one dataset-level summary" % code, summary)
    con = sqlite3.connect(db)
    fence = dict(con.execute("SELECT metric, fence_low FROM stat_metric"
                             " WHERE split IS NULL AND label IS NULL"))
    high = dict(con.execute("SELECT metric, fence_high FROM stat_metric"
                            " WHERE split IS NULL AND label IS NULL"))
    con.close()
    c.close(fence.get("side"), 32, 1e-12, "flags: side fence low 32 px")
    c.close(high.get("side"), 128, 1e-12, "flags: side fence high 128 px")
    c.close(high.get("aspect"), 2, 1e-12, "flags: aspect fence 2")
    c.close(fence.get("entropy"), 4, 0, "flags: entropy fence 4 bits")
    check_jobs_identical(c, imgaudit, root, tmp)


def stat_rows(db):
    con = sqlite3.connect(db)
    rows = {t: sorted(map(repr, con.execute(
        "SELECT * FROM %s" % t).fetchall()))
        for t in ("stat_group", "stat_metric", "class_index")}
    rows["finding"] = sorted(map(repr, con.execute(
        "SELECT path, code, severity, detail FROM finding").fetchall()))
    con.close()
    return rows


def check_jobs_identical(c, imgaudit, root, tmp):
    """-j 1 and -j 4 store the same statistics, row for row."""
    rows = []
    for j in ("1", "4"):
        db = os.path.join(tmp, "flags-j%s.db" % j)
        p = subprocess.run([imgaudit, "scan", root, "--db", db, "-q", "-j", j],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        c.check(p.returncode == 0, "flags: scan -j %s" % j)
        rows.append(stat_rows(db))
    for t in rows[0]:
        c.check(rows[0][t] == rows[1][t] and rows[0][t],
                "flags: -j 1 and -j 4 store identical %s rows" % t)


# ---- 3. label balance ----------------------------------------------------

def case_labels(c, imgaudit, tmp):
    root = os.path.join(tmp, "labels")
    counts = {"train": {"a": 40, "b": 3, "c": 12},
              "val": {"a": 10, "c": 10},
              "test": {"a": 10, "b": 10, "c": 10}}
    seed = 0
    for split, labels in counts.items():
        for label, k in labels.items():
            for i in range(k):
                seed += 1
                noise(8, 8, seed).write(os.path.join(
                    root, split, label, "%03d.png" % i))
    db = os.path.join(tmp, "labels.db")
    p, doc = scan(imgaudit, root, db)
    if not c.check(p.returncode == 0 and doc, "labels: scan and report",
                   p.stderr.decode("utf-8", "replace")):
        return
    for split, labels in counts.items():
        c.check(doc["splits"].get(split, {}).get("labels") == labels,
                "labels: JSON label counts of %s" % split,
                doc["splits"].get(split))
    got = findings(db, LABEL_CODES)
    c.check(got["class_missing"] == [
        "* label 'b' has no images in split 'val' (test: 10, train: 3); a "
        "folder loader numbers the classes differently: 'c' is class 2 in "
        "'test' but 1 in 'val' (3 and 2 classes)"],
        "labels: class_missing names the renumbering", got["class_missing"])
    c.check(got["tiny_class"] == [
        "* label 'b' has 3 images in split 'train' (fewer than 10)"],
        "labels: tiny_class for 3 images, not for 10 or 12",
        got["tiny_class"])
    c.check(len(got["class_imbalance"]) == 1 and
            got["class_imbalance"][0].startswith(
                "* split 'train': largest label 'a' has 40 images, smallest"
                " 'b' 3 (ratio 13.3, above 10)"),
            "labels: class_imbalance in train only", got["class_imbalance"])
    con = sqlite3.connect(db)
    idx = con.execute("SELECT group_concat(split || ':' || label || '=' ||"
                      " idx, ' ') FROM (SELECT * FROM class_index ORDER BY"
                      " split, idx)").fetchone()[0]
    share = con.execute("SELECT share FROM stat_group WHERE split = 'train'"
                        " AND label IS NULL").fetchone()[0]
    con.close()
    c.check(idx == "test:a=0 test:b=1 test:c=2 train:a=0 train:b=1 "
            "train:c=2 val:a=0 val:c=1", "labels: class index per split",
            idx)
    c.close(share, 55 / 105, 1e-15, "labels: train share 55 of 105")


# ---- 4. clothing-small ---------------------------------------------------

# What fires on the real photos (judged by eye: three of the four are
# visibly out of focus, the fourth soft), and nothing else.
CLOTHING_FLAGS = {
    "blurry": ["train/hat/324b3d8f-3a20-4668-b58b-b4083ed1039a.jpg",
               "train/hat/a2269708-5c90-4c6c-8f1a-f75d99280f5a.jpg",
               "train/t-shirt/5e1c4241-34f9-42b5-8112-e5fcb4484a02.jpg",
               "train/t-shirt/ff3f01d5-0524-4851-8bcc-a1eb4bc096e6.jpg"],
}


def case_clothing(c, imgaudit, tmp):
    if not os.path.isdir(CLOTHING) or not os.path.isfile(CLOTHING_REF):
        print("skip clothing-small: %s not found" % CLOTHING)
        return
    db = os.path.join(tmp, "clothing.db")
    p, doc = scan(imgaudit, CLOTHING, db)
    if not c.check(p.returncode == 0 and doc, "clothing: scan and report",
                   p.stderr.decode("utf-8", "replace")):
        return
    ref = json.load(open(CLOTHING_REF))["splits"]
    for split, r in sorted(ref.items()):
        got = doc["splits"].get(split, {})
        c.check(got.get("images") == r["images"],
                "clothing: %s images %d" % (split, r["images"]))
        c.check(got.get("labels") == r["labels"],
                "clothing: %s label counts exact" % split)
        for key in ("channel_mean", "channel_std"):
            for i in range(3):
                c.close((got.get(key) or [None] * 3)[i], r[key][i], 1e-6,
                        "clothing: %s %s[%d]" % (split, key, i))
        row = group_row(db, split, None)
        c.check(row is not None and
                [int(row["sum_" + ch]) for ch in "rgb"] == r["channel_sum"]
                and [int(row["sumsq_" + ch]) for ch in "rgb"] ==
                r["channel_sumsq"],
                "clothing: %s stat_group sums equal the reference" % split)
    got = findings(db, QUALITY + LABEL_CODES)
    counts = {k: len([v for v in got[k] if not v.startswith("* ")])
              for k in got}
    print("     quality flags on clothing-small: %s" % counts)
    for code in QUALITY + LABEL_CODES:
        want = CLOTHING_FLAGS.get(code, [])
        paths = [v for v in got[code] if not v.startswith("* ")]
        c.check(paths == want, "clothing: %s fires on %d images"
                % (code, len(want)), paths)


def main(argv):
    if len(argv) != 2:
        print("usage: test_stats.py IMGAUDIT", file=sys.stderr)
        return 2
    imgaudit = os.path.abspath(argv[1])
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="imgaudit-stats-") as tmp:
        case_exact(c, imgaudit, tmp)
        case_modes(c, imgaudit, tmp)
        case_flags(c, imgaudit, tmp)
        case_labels(c, imgaudit, tmp)
        case_clothing(c, imgaudit, tmp)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
