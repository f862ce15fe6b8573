#!/usr/bin/env python3
"""Integration test: the formats besides JPEG and PNG (issue 15).

    test_formats.py IMGAUDIT MKFORMATS [PYTHON_WITH_PILLOW]

1. mkformats writes the fixture tree into a temporary folder; it must
   equal the committed fixtures/formats (its codecs/ folder holds AVIF,
   HEIF and JPEG XL files made once with avifenc, heif-enc and cjxl), and
   tests/formats.csv must list every file.
2. A scan of fixtures/formats: every file's status and, for a decoded
   file, its exact set of per-file facts (tests/formats.csv). AVIF, HEIF
   and JPEG XL files may instead be `unsupported` "built without" the
   library, when this build lacks it.
3. The same pixels saved as PNG, lossless WebP, GIF, TIFF, BMP, PPM, TGA
   (and lossless AVIF and JPEG XL) share one pixel_hash and are
   pixel_duplicate; a lossless WebP copy of a train JPEG in test is a pixel
   leak (split_leak, error), a lossy WebP of it a near leak.
4. Hostile headers (docs/security.md): each new decoder refuses a size
   over --max-pixels, or a whole-image buffer its file's bytes cannot
   justify, before allocating; animations past the frame cap are counted,
   not decoded. Each file costs well under a second and the scan's peak
   memory stays small. A PPM of exactly 1 MiB, whose rows the
   measurements read from the file's own buffer, ends that buffer with
   its last row (under ASan or valgrind, a read past a row fails).
5. With the Python that has Pillow (found by meson): every decoded file
   Pillow opens has the statistics of Pillow's convert("RGB") and
   convert("L") (channel means and standard deviations, brightness,
   contrast, entropy of the L histogram), to 1e-9.
6. TIFF, AVIF, HEIF and JPEG XL libraries are opened at the first such
   file (src/core/dynlib.c): with a broken file of each soname the build
   recorded (meson passes them in IA_CODEC_SONAMES) first on
   LD_LIBRARY_PATH, the scan still exits 0 and each such file is
   `unsupported`, its message naming the library and why it could not
   be loaded; the other files keep their verdicts.

Standard library only in this process. One line per check, then
"N passed, N failed".
"""
import csv
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402
from iatest import Checks, capture, tree_files  # noqa: E402

run = capture  # the tests' name for it

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
EXPECTED_CSV = os.path.join(SOURCE_ROOT, "tests", "formats.csv")
TREE = os.path.join(SOURCE_ROOT, "fixtures", "formats")

PROPERTY_CODES = {"cmyk", "grayscale", "alpha", "high_bit_depth",
                  "exif_rotated", "animated", "extension_mismatch",
                  "multi_page", "float_samples"}
OPTIONAL = (".avif", ".heic", ".jxl")
SAME = ["train/same/scene." + e
        for e in ("png", "webp", "gif", "tif", "bmp", "ppm", "tga")]
SAME_OPTIONAL = ["codecs/lossless.avif", "codecs/lossless.jxl"]
LEAK_PIXEL = ("train/leak/photo.jpg", "test/leak/photo_copy.webp")
LEAK_NEAR = ("train/leak/photo.jpg", "test/leak/photo_lossy.webp")

# Run by the Python that has Pillow: prints one JSON line per file.
PILLOW_SCRIPT = r"""
import json, sys
import numpy as np
from PIL import Image
for path in sys.argv[1:]:
    try:
        im = Image.open(path)
        im.load()
        rgb = np.asarray(im.convert("RGB"), dtype=np.float64).reshape(-1, 3)
        lum = np.asarray(im.convert("L"), dtype=np.int64).reshape(-1)
    except Exception as e:
        print(json.dumps({"path": path, "error": str(e)}))
        continue
    hist = np.bincount(lum, minlength=256) / lum.size
    nz = hist[hist > 0]
    print(json.dumps({
        "path": path, "mode": im.mode, "size": list(im.size),
        "mean": rgb.mean(0).tolist(), "std": rgb.std(0).tolist(),
        "brightness": float(lum.mean()), "contrast": float(lum.std()),
        "entropy": float(-(nz * np.log2(nz)).sum())}))
"""


def read_expected():
    with open(EXPECTED_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["findings"] = {x for x in r["findings"].split(";") if x}
    return rows


def check_generated(c, mkformats, tmp, rows):
    gen = os.path.join(tmp, "gen")
    p = run([mkformats, gen])
    c.check(p.returncode == 0, "mkformats writes the tree",
            p.stderr.decode("utf-8", "replace")[-300:])
    got, want = tree_files(gen), tree_files(TREE)
    made = {k for k in want if not k.startswith("codecs/")}
    diff = sorted(set(got) ^ made)
    diff += sorted(k for k in set(got) & made if got[k] != want[k])
    c.check(not diff, "generated tree equals committed fixtures/formats",
            "differ: " + ", ".join(diff[:5]))
    listed = {r["path"] for r in rows}
    c.check(listed == set(want), "formats.csv lists every fixture",
            "only on disk: %s; only in csv: %s"
            % (sorted(set(want) - listed), sorted(listed - set(want))))


def scan(c, imgaudit, tmp):
    db = os.path.join(tmp, "formats.db")
    p = run([imgaudit, "scan", TREE, "--db", db, "-q", "-j", "2"])
    if not c.check(p.returncode == 0, "scan exits 0",
                   p.stderr.decode("utf-8", "replace")[-300:]):
        return None, None
    p = run([imgaudit, "export", "--db", db, "--format", "jsonl"])
    rows = {}
    for line in p.stdout.decode("utf-8").splitlines():
        r = json.loads(line)
        rows[r["path"]] = r
    p = run([imgaudit, "report", "--db", db, "--format", "json"])
    doc = json.loads(p.stdout.decode("utf-8")) if p.returncode == 0 else {}
    c.check(p.returncode == 0 and rows, "export and report")
    return rows, doc


def missing_library(r):
    return (r["path"].endswith(OPTIONAL) and r.get("status") == "unsupported"
            and "built without" in (r.get("message") or ""))


def check_verdicts(c, rows, got):
    for want in rows:
        path = want["path"]
        r = got.get(path)
        if r and missing_library(r):
            c.check(True, "%s: unsupported (this build lacks its library)"
                    % path)
            continue
        status = r.get("status") if r else None
        codes = set(r.get("findings") or []) if r else set()
        problems = []
        if status != want["status"]:
            problems.append("status %r (%s)" % (status, r and r["message"]))
        if want["status"] == "ok":
            facts = codes & PROPERTY_CODES
            if facts != want["findings"]:
                problems.append("facts %s" % sorted(facts))
        elif want["status"] not in codes:
            problems.append("no %s finding" % want["status"])
        c.check(not problems, "%s: %s %s" % (
            path, want["status"], ";".join(sorted(want["findings"]))),
            "; ".join(problems))
    r = got.get("test/jpeg/precision12.jpg") or {}
    c.check("12-bit" in (r.get("message") or ""),
            "12-bit JPEG: the precision is in the detail", r.get("message"))


def check_duplicates(c, got, doc):
    paths = SAME + [p for p in SAME_OPTIONAL
                    if got.get(p, {}).get("status") == "ok"]
    hashes = {p: got.get(p, {}).get("pixel_hash") for p in paths}
    c.check(len(set(hashes.values())) == 1 and None not in hashes.values(),
            "same pixels in %d formats: one pixel_hash" % len(paths),
            str(hashes))
    lacking = [p for p in SAME
               if "pixel_duplicate" not in (got.get(p, {}).get("findings")
                                            or [])]
    c.check(not lacking, "each of the train split is a pixel_duplicate",
            ", ".join(lacking))
    leaks = {(x.get("a"), x.get("b")): x.get("kind")
             for x in doc.get("leaks") or []}
    c.check(leaks.get(LEAK_PIXEL) == "pixel",
            "lossless WebP in test of a train JPEG: a pixel leak",
            str(leaks.get(LEAK_PIXEL)))
    c.check(leaks.get(LEAK_NEAR) == "near",
            "lossy WebP in test of a train JPEG: a near leak",
            str(leaks.get(LEAK_NEAR)))
    sev = {(f.get("path"), f.get("code")): f.get("severity")
           for f in doc.get("findings") or []}
    c.check(sev.get((LEAK_PIXEL[1], "split_leak")) == "error",
            "its split_leak is an error", str(sev.get((LEAK_PIXEL[1],
                                                       "split_leak"))))


# ---- hostile headers -----------------------------------------------------

def gif(w, h, frames, fw=1, fh=1):
    """A GIF of frames frames of fw x fh, each one 1x1 LZW image."""
    out = b"GIF89a" + struct.pack("<HHBBB", w, h, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    for i in range(frames):
        fwi, fhi = (fw, fh) if i else (min(fw, w), min(fh, h))
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, fwi, fhi, 0)
        out += b"\x02\x02\x44\x01\x00"
    return out + b"\x3b"


def vp8l(w, h):
    bits = (w - 1) | (h - 1) << 14
    data = b"\x2f" + struct.pack("<I", bits) + b"\0" * 9  # even size
    chunk = b"VP8L" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def bmp(w, h):
    head = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 2835, 2835,
                       0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 16, 0, 0, 54) + head + b"\0" * 16


def tiff_one_strip(w, h):
    """8-bit grey, deflate, one strip of all h rows, 16 bytes of data."""
    tags = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 8), (262, 3, 1),
            (273, 4, 0), (277, 3, 1), (278, 4, h), (279, 4, 16)]
    ifd_len = 2 + 12 * len(tags) + 4
    data_off = 8 + ifd_len
    out = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(tags))
    for tag, typ, val in tags:
        if tag == 273:
            val = data_off
        fmt = "<HHIHH" if typ == 3 else "<HHII"
        out += struct.pack(fmt, tag, typ, 1, val, 0) if typ == 3 else \
            struct.pack(fmt, tag, typ, 1, val)
    return out + b"\0\0\0\0" + b"\x78\x9c" + b"\0" * 14


HOSTILE = {
    "gif_huge_screen.gif": (gif(65535, 65535, 1, 65535, 65535),
                            ("too_large",)),
    "gif_3000_frames.gif": (gif(1, 1, 3000), ("ok",)),
    "gif_big_later_frames.gif": (gif(16, 16, 40, 8000, 8000),
                                 ("corrupt", "truncated")),
    "webp_huge.webp": (vp8l(16384, 16384), ("too_large",)),
    "webp_unjustified.webp": (vp8l(12000, 12000), ("too_large",)),
    "bmp_huge.bmp": (bmp(50000, 50000), ("too_large",)),
    "bmp_claims_much.bmp": (bmp(10000, 10000), ("truncated",)),
    "pnm_huge.ppm": (b"P6\n60000 60000\n255\n" + b"\0" * 16, ("too_large",)),
    "pnm_claims_much.pgm": (b"P5\n10000 10000\n255\n" + b"\0" * 16,
                            ("truncated",)),
    "tga_huge.tga": (bytes([0, 0, 2]) + b"\0" * 9 +
                     struct.pack("<HHBB", 65535, 65535, 24, 0) + b"\0" * 16,
                     ("too_large",)),
    "tiff_one_strip.tif": (tiff_one_strip(15000, 10000), ("too_large",)),
}


def run_measured(cmd):
    """(returncode, seconds, peak RSS in MB) of a child."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, time.monotonic() - t0, ru.ru_maxrss / 1024.0


def check_hostile(c, imgaudit, tmp):
    root = os.path.join(tmp, "hostile")
    os.makedirs(root)
    for name, (data, _) in HOSTILE.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    db = os.path.join(tmp, "hostile.db")
    rc, secs, rss = run_measured([imgaudit, "scan", root, "--db", db, "-q",
                                  "-j", "1"])
    c.check(rc in (0, 1), "hostile headers: scan exits 0 or 1", "exit %d" % rc)
    c.check(secs < 20, "hostile headers: %d files in %.1f s" %
            (len(HOSTILE), secs))
    c.check(rss < 400, "hostile headers: peak RSS %.0f MB (< 400)" % rss)
    p = run([imgaudit, "export", "--db", db, "--format", "jsonl"])
    got = {}
    for line in p.stdout.decode("utf-8").splitlines():
        r = json.loads(line)
        got[r["path"]] = r
    for name, (_, want) in sorted(HOSTILE.items()):
        r = got.get(name) or {}
        c.check(r.get("status") in want, "hostile %s: %s" % (name,
                " or ".join(want)), "%s: %s" % (r.get("status"),
                                                r.get("message")))
    r = got.get("gif_3000_frames.gif") or {}
    c.check(r.get("frames") == 3000 and
            "decoder_warning" in (r.get("findings") or []),
            "3000 frames counted, those past 1024 not decoded",
            "frames %r, findings %r" % (r.get("frames"), r.get("findings")))
    r = got.get("webp_unjustified.webp") or {}
    c.check("times the file" in (r.get("message") or ""),
            "a buffer the file's bytes cannot justify is refused",
            r.get("message"))


def edge_ppm():
    """A binary PPM of exactly 1 MiB (the reader's first buffer): its
    rows are handed to the measurements straight from the file's bytes
    (src/decode/pnm.c), so the last one ends where the buffer does, and
    a kernel reading past a row would read past the allocation (ASan,
    valgrind). Pixels from a fixed LCG, so not uniform."""
    w, h = 340, 1028
    head = b"P6\n%d %d\n255\n" % (w, h)
    assert len(head) + w * h * 3 == 1 << 20
    x, px = 12345, bytearray(w * h * 3)
    for i in range(len(px)):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        px[i] = x >> 23
    return head + bytes(px)


def check_edge_rows(c, imgaudit, tmp):
    root = os.path.join(tmp, "edge")
    os.makedirs(root)
    with open(os.path.join(root, "edge.ppm"), "wb") as f:
        f.write(edge_ppm())
    db = os.path.join(tmp, "edge.db")
    p = run([imgaudit, "scan", root, "--db", db, "-q", "-j", "1"])
    q = run([imgaudit, "export", "--db", db, "--format", "jsonl"])
    r = json.loads(q.stdout.decode("utf-8").splitlines()[0]) \
        if q.returncode == 0 and q.stdout else {}
    c.check(p.returncode == 0 and r.get("status") == "ok" and
            r.get("width") == 340 and r.get("height") == 1028 and
            r.get("pixel_hash"),
            "a PPM whose last row ends the 1 MiB read buffer: ok, measured",
            "exit %d, %r" % (p.returncode, r.get("message")))


def close(a, b):
    return a is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b))


def pillow_rows(python, paths):
    p = run([python, "-c", PILLOW_SCRIPT] + paths, timeout=300)
    out = {}
    for line in p.stdout.decode("utf-8").splitlines():
        r = json.loads(line)
        out[os.path.relpath(r["path"], TREE).replace(os.sep, "/")] = r
    return out


def check_pillow(c, python, got):
    if not c.check(bool(python), "a Python with Pillow and numpy (found by "
                   "meson; scripts/install-deps.sh installs python3-pil)"):
        return
    ok = sorted(p for p, r in got.items() if r["status"] == "ok")
    ref = pillow_rows(python, [os.path.join(TREE, p) for p in ok])
    compared = 0
    for path in ok:
        pil, r = ref.get(path), got[path]
        if not pil or "error" in pil:
            # Pillow 9.4 opens no AVIF, HEIF or JPEG XL
            c.check(path.endswith(OPTIONAL), "%s: Pillow opens it" % path,
                    pil and pil.get("error"))
            continue
        compared += 1
        problems = []
        if [r["width"], r["height"]] != pil["size"]:
            problems.append("size %sx%s" % (r["width"], r["height"]))
        for k in range(3):
            if not close(r["channel_mean"][k], pil["mean"][k]):
                problems.append("mean[%d] %r != %r" % (
                    k, r["channel_mean"][k], pil["mean"][k]))
            if not close(r["channel_std"][k], pil["std"][k]):
                problems.append("std[%d]" % k)
        for ours, theirs in (("brightness", "brightness"),
                             ("contrast", "contrast"),
                             ("entropy", "entropy")):
            if not close(r[ours], pil[theirs]):
                problems.append("%s %r != %r" % (ours, r[ours], pil[theirs]))
        c.check(not problems, "%s: statistics equal Pillow's (mode %s)"
                % (path, pil["mode"]), "; ".join(problems))
    c.check(compared >= 40, "Pillow compared %d decoded files" % compared)


def check_unloadable(c, imgaudit, tmp, got):
    sonames = os.environ.get("IA_CODEC_SONAMES", "").split()
    if not sonames:
        print("skip: no TIFF, AVIF, HEIF or JPEG XL library opened at "
              "first use in this build (IA_CODEC_SONAMES is empty)")
        return
    env = iatest.broken_libs_env(os.path.join(tmp, "broken-libs"), sonames)
    db = os.path.join(tmp, "unloadable.db")
    p = subprocess.run([imgaudit, "scan", TREE, "--db", db, "-q", "-j", "2"],
                       capture_output=True, env=env)
    if not c.check(p.returncode == 0, "scan with unloadable codec "
                   "libraries exits 0",
                   p.stderr.decode("utf-8", "replace")[-300:]):
        return
    p = run([imgaudit, "export", "--db", db, "--format", "jsonl"])
    rows = {}
    for line in p.stdout.decode("utf-8").splitlines():
        r = json.loads(line)
        rows[r["path"]] = r
    prefix = {".avif": "libavif", ".heic": "libheif", ".jxl": "libjxl",
              ".tif": "libtiff", ".tiff": "libtiff"}
    for path, r in sorted(rows.items()):
        ext = os.path.splitext(path)[1]
        if ext not in prefix:
            same = got.get(path, {}).get("status") == r.get("status")
            c.check(same, "%s: same verdict with the codecs unloadable"
                    % path, "%s vs %s" % (got.get(path, {}).get("status"),
                                          r.get("status")))
            continue
        lib = [n for n in sonames if n.startswith(prefix[ext] + ".so")]
        msg = r.get("message") or ""
        if not lib and ext in (".tif", ".tiff"):
            # libtiff linked (no soname found): nothing shadowed it
            ok = r.get("status") == got.get(path, {}).get("status")
        elif not lib:
            ok = r.get("status") == "unsupported" and "built without" in msg
        else:
            ok = (r.get("status") == "unsupported" and
                  "could not be loaded" in msg and lib[0] in msg)
        c.check(ok, "%s: unsupported, its library unloadable" % path,
                "%s: %s" % (r.get("status"), msg))


def main(argv):
    if len(argv) not in (3, 4):
        print("usage: test_formats.py IMGAUDIT MKFORMATS [PYTHON]",
              file=sys.stderr)
        return 2
    imgaudit, mkformats = (os.path.abspath(a) for a in argv[1:3])
    python = argv[3] if len(argv) == 4 else ""
    c = Checks()
    rows = read_expected()
    with tempfile.TemporaryDirectory(prefix="imgaudit-formats-") as tmp:
        check_generated(c, mkformats, tmp, rows)
        got, doc = scan(c, imgaudit, tmp)
        if got is not None:
            check_verdicts(c, rows, got)
            check_duplicates(c, got, doc)
            check_pillow(c, python, got)
            check_unloadable(c, imgaudit, tmp, got)
        check_hostile(c, imgaudit, tmp)
        check_edge_rows(c, imgaudit, tmp)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
