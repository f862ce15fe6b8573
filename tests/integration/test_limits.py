#!/usr/bin/env python3
"""Integration test: limits on hostile images (issue 9, docs/security.md).

    test_limits.py IMGAUDIT MKHOSTILE

Each hostile file is scanned alone (-j 1); the test checks its status and
finding, and that the scan's peak RSS (wait4) and wall time stay under the
bound docs/security.md states for it. RSS bounds are relative to the RSS
of a scan of one small valid image (BASE), since the binary, SQLite and
libc take their share before any image is read; MKHOSTILE rusage measures
it (a child forked by this Python process would start from its RSS).

  headers claiming huge sizes (JPEG 65500x65500, PNG 2^31-1 squared):
    too_large, refused before any pixel memory: RSS < BASE + 16 MB
  a JPEG claiming 13000x13000 (under the default limit) with 2 KB of data:
    decoding stops or streams, O(width) memory: RSS < BASE + 32 MB
  a progressive JPEG claiming 4000x4000 under --max-pixels 16M: its
    coefficient buffer is bounded by the pixel limit (6 bytes a pixel at
    most): RSS < BASE + 6 x 16M; with --max-pixels 15M, too_large
  progressive JPEGs with 256 scans (ok), 257 and 2080 scans (corrupt,
    "too many progressive scans"), the last 2048x2048 in < 10 s
  PNG: a chunk declaring 2 GB, a real 20 MB tEXt, zTXt and iCCP bombs
    (1 GB inflated), 500,000 unknown chunks, 200,000 tEXt chunks: all
    bounded (RSS < BASE + file size + 16 MB, < 5 s), with capped findings
  PNG IDAT bombs: 8000x8000 gray over --max-pixels 20M (too_large);
    16x16 with 8 GB of extra deflate data (corrupt, not inflated: < 3 s);
    a 4000x4000 RGBA Adam7 image under --max-pixels 16M (its whole-image
    buffer: RSS < BASE + 4 x 16M)
  a file over the 1 GiB read limit (sparse): too_large, never read

Time and memory bounds are checked on plain builds; under AddressSanitizer
(shadow memory) or valgrind (IA_TEST_WRAPPER) only the verdicts are.
Standard library only; one line per check, then "N passed, N failed".
"""
import os
import shutil
import struct
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402

IMGAUDIT = MKHOSTILE = None
C = iatest.Checks()
MB = 1024 * 1024
BOUNDS = True
BASE_KB = 0
HARDENING_CODES = {"truncated", "corrupt", "unsupported", "not_image",
                   "empty", "unreadable", "too_large", "decoder_warning"}


def scan_one(tmp, name, data, *extra, timeout=300):
    """Scans a folder holding only name (bytes, or a callable writing the
    file); returns (Result, file row, findings of that file)."""
    root = os.path.join(tmp, name.replace("/", "_") + ".d")
    path = os.path.join(root, "cls", name)
    os.makedirs(os.path.dirname(path))
    if callable(data):
        data(path)
    else:
        iatest.write(path, data)
    db = root + ".db"
    rss = root + ".rss"
    res = iatest.run([MKHOSTILE, "rusage", rss] + iatest.wrap(
        [IMGAUDIT, "scan", root, "--db", db, "-q", "-j", "1"] + list(extra)),
        timeout=timeout)
    try:
        with open(rss) as f:
            res.maxrss_kb = int(f.read())
    except (OSError, ValueError):
        res.maxrss_kb = 1 << 40
    if res.returncode != 0:
        return res, {}, []
    row = iatest.files(db).get(("cls/" + name).encode(), {})
    # Quality findings (blank, ...) on these synthetic images are another
    # module's business: only the status and decoder findings count here.
    finds = [(c, s, d) for p, c, s, d in iatest.findings(db)
             if p == ("cls/" + name).encode() and c in HARDENING_CODES]
    shutil.rmtree(root, ignore_errors=True)
    return res, row, finds


def verdict(row):
    return (iatest.text(row.get("status")), iatest.text(row.get("message")))


def bounded(res, what, rss_mb=None, seconds=None):
    """Checks the scan's peak RSS over BASE and its wall time."""
    if not BOUNDS:
        return
    if rss_mb is not None:
        over = max(0.0, (res.maxrss_kb - BASE_KB) / 1024.0)
        C.check(over < rss_mb, "%s: peak RSS %.0f MB over base, bound %d MB"
                % (what, over, rss_mb), "%.0f MB" % over)
    if seconds is not None:
        C.check(res.seconds < seconds, "%s: %.2f s, bound %d s"
                % (what, res.seconds, seconds), "%.2f s" % res.seconds)


def patch_sof(jpeg, width, height):
    """The JPEG with its frame header claiming width x height."""
    d = bytearray(jpeg)
    i = 2
    while i + 9 < len(d):
        marker = d[i + 1]
        length = struct.unpack(">H", d[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            d[i + 5:i + 9] = struct.pack(">HH", height, width)
            return bytes(d)
        i += 2 + length
    raise ValueError("no SOF marker")


def mkhostile(tmp, scans, w, h):
    out = os.path.join(tmp, "scans-%d-%dx%d.jpg" % (scans, w, h))
    r = iatest.run([MKHOSTILE, "scans", str(scans), str(w), str(h), out],
                   timeout=300)
    if r.returncode != 0:
        C.check(False, "mkhostile scans %d" % scans, r.why())
        return None
    with open(out, "rb") as f:
        return f.read()


# ---- JPEG ------------------------------------------------------------------

def case_jpeg(tmp):
    jpeg = iatest.sample_jpeg()
    res, row, _ = scan_one(tmp, "claim65500.jpg", patch_sof(jpeg, 65500,
                                                            65500))
    C.eq(verdict(row), ("too_large", "65500 x 65500 pixels exceeds the "
                        "limit of 178956970 pixels"),
         "JPEG claiming 65500x65500: too_large")
    bounded(res, "JPEG claiming 65500x65500", rss_mb=16, seconds=5)

    res, row, _ = scan_one(tmp, "claim13000.jpg", patch_sof(jpeg, 13000,
                                                            13000))
    C.check(row.get("status") in (b"corrupt", b"truncated"),
            "JPEG claiming 13000x13000 with 2 KB of data: corrupt or "
            "truncated", verdict(row))
    bounded(res, "JPEG claiming 13000x13000", rss_mb=32, seconds=30)

    prog_path = os.path.join(iatest.SOURCE_ROOT, "fixtures", "cases",
                             "train", "jpeg", "progressive.jpg")
    with open(prog_path, "rb") as f:
        prog = patch_sof(f.read(), 4000, 4000)
    res, row, _ = scan_one(tmp, "prog4000.jpg", prog, "--max-pixels", "16M")
    C.check(row.get("status") in (b"corrupt", b"truncated"),
            "progressive JPEG claiming 4000x4000: corrupt or truncated",
            verdict(row))
    bounded(res, "progressive JPEG claiming 4000x4000 (--max-pixels 16M)",
            rss_mb=6 * 16 + 16, seconds=30)
    res, row, _ = scan_one(tmp, "prog4000b.jpg", prog, "--max-pixels", "15M")
    C.eq(verdict(row)[0], "too_large",
         "progressive JPEG claiming 4000x4000 (--max-pixels 15M): too_large")
    bounded(res, "progressive JPEG over --max-pixels", rss_mb=16)

    for n, w, want in ((256, 256, "ok"), (257, 256, "corrupt"),
                       (2080, 2048, "corrupt")):
        data = mkhostile(tmp, n, w, w)
        if data is None:
            continue
        res, row, _ = scan_one(tmp, "scans%d.jpg" % n, data)
        msg = "" if want == "ok" else \
            "too many progressive scans: more than 256"
        C.eq(verdict(row), (want, msg or None),
             "progressive JPEG with %d scans: %s" % (n, want))
        if n == 2080:
            bounded(res, "progressive JPEG with 2080 scans, 2048x2048",
                    rss_mb=6 * 4 + 16, seconds=10)


# ---- PNG -------------------------------------------------------------------

def zeros_deflate(nbytes, seg=16 * MB):
    """A raw zlib stream start (header and blocks, no end) that inflates to
    about nbytes of zeros, built from one repeated full-flush segment so
    that making it costs milliseconds."""
    co = zlib.compressobj(9)
    head = co.compress(b"\0" * seg) + co.flush(zlib.Z_FULL_FLUSH)
    body = co.compress(b"\0" * seg) + co.flush(zlib.Z_FULL_FLUSH)
    return head + body * max(0, nbytes // seg - 1)


def case_png(tmp):
    p = iatest.png_bytes
    res, row, _ = scan_one(tmp, "claim_max.png",
                           p(2**31 - 1, 2**31 - 1, idat=zlib.compress(b"")))
    C.eq(verdict(row)[0], "too_large", "PNG claiming (2^31-1)^2: too_large")
    bounded(res, "PNG claiming (2^31-1)^2", rss_mb=16, seconds=5)

    good = p(16, 16)
    i = good.index(b"IDAT") - 4
    declared = (good[:i] + struct.pack(">I", 2**31 - 1) + b"tEXt" +
                b"x" * 10 + good[i:])
    res, row, finds = scan_one(tmp, "declared_2gb_chunk.png", declared)
    C.eq((verdict(row)[0], finds),
         ("truncated", [("decoder_warning", "info", "tEXt chunk of "
                         "2147483647 bytes skipped (limit 8388608)"),
                        ("truncated", "error",
                         "truncated before the image data")]),
         "PNG chunk declaring 2 GB: skipped unread, then truncated")
    bounded(res, "PNG chunk declaring 2 GB", rss_mb=16, seconds=5)

    big_text = p(16, 16, extra=[(b"tEXt", b"k\0" + b"v" * (20 * MB))])
    res, row, finds = scan_one(tmp, "text_20mb.png", big_text)
    C.eq((verdict(row)[0], finds),
         ("ok", [("decoder_warning", "info", "tEXt chunk of 20971522 bytes "
                  "skipped (limit 8388608)")]),
         "PNG with a 20 MB tEXt chunk: ok, chunk skipped with a finding")
    bounded(res, "PNG with a 20 MB tEXt chunk", rss_mb=20 + 16, seconds=5)

    bomb = zeros_deflate(1024 * MB) + zlib.compressobj().flush()
    for kind, payload in ((b"zTXt", b"k\0\0" + bomb),
                          (b"iCCP", b"p\0\0" + bomb)):
        name = kind.decode() + "_bomb.png"
        res, row, finds = scan_one(tmp, name, p(16, 16,
                                                extra=[(kind, payload)]))
        C.check(row.get("status") == b"ok" and len(finds) == 1 and
                finds[0][:2] == ("decoder_warning", "info"),
                "PNG %s inflating to 1 GB: ok, one info finding" % kind.decode(),
                (verdict(row), finds))
        bounded(res, "PNG %s bomb" % kind.decode(), rss_mb=1 + 16, seconds=5)

    many = p(16, 16, extra=[(b"prIv", b"")] * 500000)
    res, row, finds = scan_one(tmp, "500k_chunks.png", many)
    C.eq((verdict(row)[0], finds), ("ok", []),
         "PNG with 500,000 unknown chunks: ok")
    bounded(res, "PNG with 500,000 unknown chunks", rss_mb=6 + 16,
            seconds=5)
    texts = p(16, 16, extra=[(b"tEXt", b"k\0v")] * 200000)
    res, row, finds = scan_one(tmp, "200k_text.png", texts)
    C.eq((verdict(row)[0], finds),
         ("ok", [("decoder_warning", "info", "tEXt: no space in chunk "
                  "cache")]),
         "PNG with 200,000 tEXt chunks: ok, the chunk cache capped")
    bounded(res, "PNG with 200,000 tEXt chunks", rss_mb=3 + 16, seconds=5)

    crc = good[:i] + b"".join(
        struct.pack(">I", 1) + b"prIv" + b"x" + b"\0\0\0\0"
        for _ in range(1000)) + good[i:]
    res, row, finds = scan_one(tmp, "1000_bad_crcs.png", crc)
    C.check(row.get("status") == b"ok" and 0 < len(finds) <= 12,
            "PNG with 1000 ancillary CRC errors: ok, findings capped",
            (verdict(row), len(finds)))


def case_idat(tmp):
    p = iatest.png_bytes
    line = b"\0" * 8001
    co = zlib.compressobj(9)
    z = b"".join(co.compress(line * 1000) for _ in range(8)) + co.flush()
    res, row, _ = scan_one(tmp, "idat_8000.png", p(8000, 8000, color_type=0,
                                                   idat=z),
                           "--max-pixels", "20M")
    C.eq(verdict(row)[0], "too_large",
         "PNG IDAT bomb 8000x8000 over --max-pixels 20M: too_large")
    bounded(res, "PNG IDAT bomb over the limit", rss_mb=16, seconds=5)

    # The refused gray image is not a decoded image: the dataset-level
    # mode mix ("N of M decoded images are grayscale") must not count it.
    root = os.path.join(tmp, "mix")
    iatest.write(os.path.join(root, "cls", "big_gray.png"),
                 p(8000, 8000, color_type=0, idat=z))
    iatest.write(os.path.join(root, "cls", "rgb.png"), iatest.tiny_png(5))
    db = os.path.join(tmp, "mix.db")
    res = iatest.run(iatest.wrap([IMGAUDIT, "scan", root, "--db", db, "-q",
                                  "--max-pixels", "20M"]), timeout=300)
    C.eq([(c, d) for f, c, s, d in iatest.findings(db)
          if f is None and c == "grayscale"] if res.returncode == 0 else
         res.why(), [],
         "a too_large gray PNG is not counted in the grayscale mix")

    co = zlib.compressobj(9)
    head = co.compress(b"\0" * (16 * 49)) + co.flush(zlib.Z_FULL_FLUSH)
    tail = zeros_deflate(8 * 1024 * MB)[2:]  # without its zlib header
    res, row, _ = scan_one(tmp, "idat_tail_8gb.png", p(16, 16,
                                                       idat=head + tail))
    C.eq(verdict(row)[0], "corrupt",
         "PNG with 8 GB of extra IDAT data: corrupt")
    C.check("too much image data after the last row (not inflated)" in
            (verdict(row)[1] or ""),
            "PNG with 8 GB of extra IDAT data: not inflated", verdict(row))
    bounded(res, "PNG with 8 GB of extra IDAT data", rss_mb=16, seconds=3)

    def adam7_raw(w, h, bpp):
        total = 0
        for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8),
                               (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                               (0, 1, 1, 2)):
            pw = (w - x0 + dx - 1) // dx
            ph = (h - y0 + dy - 1) // dy
            if pw and ph:
                total += ph * (1 + pw * bpp)
        return total
    n = adam7_raw(4000, 4000, 4)
    co = zlib.compressobj(9)
    z = b"".join(co.compress(b"\0" * MB) for _ in range(n // MB))
    z += co.compress(b"\0" * (n % MB)) + co.flush()
    res, row, _ = scan_one(tmp, "adam7_4000.png",
                           p(4000, 4000, color_type=6, idat=z, interlace=1),
                           "--max-pixels", "16M")
    C.eq(verdict(row)[0], "ok",
         "PNG Adam7 4000x4000 RGBA under --max-pixels 16M: ok")
    bounded(res, "PNG Adam7 4000x4000 RGBA", rss_mb=4 * 16 + 16, seconds=20)


def case_file_size(tmp):
    def sparse(path):
        with open(path, "wb") as f:
            f.truncate((1 << 30) + 1)
    res, row, _ = scan_one(tmp, "over_1gib.jpg", sparse)
    C.eq(verdict(row), ("too_large", "file of 1073741825 bytes over the "
                        "1073741824-byte limit"),
         "file over the 1 GiB read limit: too_large")
    bounded(res, "file over the 1 GiB read limit", rss_mb=16, seconds=5)


def main():
    global IMGAUDIT, MKHOSTILE, BOUNDS, BASE_KB
    if len(sys.argv) < 3:
        print("usage: test_limits.py IMGAUDIT MKHOSTILE")
        return 2
    IMGAUDIT = os.path.abspath(sys.argv[1])
    MKHOSTILE = os.path.abspath(sys.argv[2])
    BOUNDS = not iatest.sanitized(IMGAUDIT) and not iatest.under_valgrind()
    if not BOUNDS:
        print("     (sanitized or valgrind build: time and memory bounds "
              "not checked)")
    tmp = tempfile.mkdtemp(prefix="ia-limits-")
    try:
        res, row, _ = scan_one(tmp, "base.jpg", iatest.sample_jpeg())
        C.eq(verdict(row)[0], "ok", "base: a small JPEG scans ok")
        BASE_KB = res.maxrss_kb
        print("     (base RSS %d MB)" % (BASE_KB // 1024))
        for case in (case_jpeg, case_png, case_idat, case_file_size):
            d = os.path.join(tmp, case.__name__)
            os.makedirs(d)
            case(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return C.finish()


if __name__ == "__main__":
    sys.exit(main())
