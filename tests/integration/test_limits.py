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

What a file's bytes justify (issue 13; docs/security.md, "Memory per
worker and per scan"), each case failing on the code before it:
  a 4:4:4 progressive JPEG of ~700 bytes claiming 13000x13000: its 967 MB
    coefficient buffer is over 1024 x its bytes: too_large at once,
    RSS < BASE + 16 MB (was: decoded from padding, 1.0 GB, 4-6 s)
  two 6000x6000 flat progressive JPEGs (216 MB of coefficients each,
    justified by their ~210 KB) at -j 2 with --max-memory 300M: both ok,
    one after the other: RSS < BASE + 216 + 64 MB (was ~440 MB); alone
    under --max-memory 100M: too_large, over the scan's budget
  a flat 12000x12000 progressive JPEG with 2080 scans (1.4 MB): stopped
    after 16 passes over its buffer, < 9 s of CPU (was 256 scans, 14 s)
  an Adam7 RGBA PNG of 13000x13000 in 657 KB: its 644 MB image buffer is
    over 256 x its bytes: too_large, RSS < BASE + 16 MB (was ok, 671 MB)
  1 GiB sparse files named .jpg and .png: not_image, hashed through a
    window, never held: RSS < BASE + 16 MB, < 10 s of CPU for both (was
    2.1 GB and 18 s of CPU)

Time and memory bounds are checked on plain builds; under AddressSanitizer
(shadow memory) or valgrind (IA_TEST_WRAPPER) only the verdicts are.
Standard library only; one line per check, then "N passed, N failed".
"""
import hashlib
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


def scan_dir(tmp, name, files, *extra, timeout=300):
    """Scans a folder holding files ({name: bytes, or a callable writing
    the file}) in folder cls; returns (Result, {name: file row}, {name:
    findings}). The options (extra) come after "-j 1", so they may set
    -j again."""
    root = os.path.join(tmp, name.replace("/", "_") + ".d")
    os.makedirs(os.path.join(root, "cls"))
    for fname, data in files.items():
        path = os.path.join(root, "cls", fname)
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
            kb, cpu = f.read().split()
        res.maxrss_kb, res.cpu = int(kb), float(cpu)
    except (OSError, ValueError):
        res.maxrss_kb, res.cpu = 1 << 40, 1e9
    if res.returncode != 0:
        return res, {}, {}
    rows, finds = {}, {}
    found = iatest.files(db)
    # Quality findings (blank, ...) on these synthetic images are another
    # module's business: only the status and decoder findings count here.
    allf = iatest.findings(db)
    for fname in files:
        key = ("cls/" + fname).encode()
        rows[fname] = found.get(key, {})
        finds[fname] = [(c, s, d) for p, c, s, d in allf
                        if p == key and c in HARDENING_CODES]
    shutil.rmtree(root, ignore_errors=True)
    return res, rows, finds


def scan_one(tmp, name, data, *extra, timeout=300):
    """Scans a folder holding only name (bytes, or a callable writing the
    file); returns (Result, file row, findings of that file)."""
    res, rows, finds = scan_dir(tmp, name, {name: data}, *extra,
                                timeout=timeout)
    return res, rows.get(name, {}), finds.get(name, [])


def verdict(row):
    return (iatest.text(row.get("status")), iatest.text(row.get("message")))


def bounded(res, what, rss_mb=None, seconds=None, cpu=None):
    """Checks the scan's peak RSS over BASE, its wall time and its CPU
    time (user + system: what a loaded machine stretches least)."""
    if not BOUNDS:
        return
    if cpu is not None:
        C.check(res.cpu < cpu, "%s: %.2f s of CPU, bound %d s"
                % (what, res.cpu, cpu), "%.2f s" % res.cpu)
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


def mkhostile(tmp, scans, w, h, kind="scans"):
    out = os.path.join(tmp, "%s-%d-%dx%d.jpg" % (kind, scans, w, h))
    r = iatest.run([MKHOSTILE, kind, str(scans), str(w), str(h), out],
                   timeout=300)
    if r.returncode != 0:
        C.check(False, "mkhostile %s %d" % (kind, scans), r.why())
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

    res, row, _ = scan_one(tmp, "adam7_4000.png", adam7_zeros(4000),
                           "--max-pixels", "16M")
    C.eq(verdict(row)[0], "ok",
         "PNG Adam7 4000x4000 RGBA under --max-pixels 16M: ok")
    bounded(res, "PNG Adam7 4000x4000 RGBA", rss_mb=4 * 16 + 16, seconds=20)


def adam7_raw(w, h, bpp):
    """Bytes of filtered Adam7 data (a filter byte per pass row)."""
    total = 0
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8),
                           (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                           (0, 1, 1, 2)):
        pw = (w - x0 + dx - 1) // dx
        ph = (h - y0 + dy - 1) // dy
        if pw and ph:
            total += ph * (1 + pw * bpp)
    return total


def adam7_zeros(side):
    """A valid black, transparent side x side RGBA Adam7 PNG."""
    n = adam7_raw(side, side, 4)
    co = zlib.compressobj(9)
    seg = 16 * MB
    z = b"".join(co.compress(b"\0" * seg) for _ in range(n // seg))
    z += co.compress(b"\0" * (n % seg)) + co.flush()
    return iatest.png_bytes(side, side, color_type=6, idat=z, interlace=1)


# ---- What a file's bytes justify (issue 13) --------------------------------

def case_cost_jpeg(tmp):
    small = mkhostile(tmp, 10, 64, 64)
    if small is not None:
        claim = patch_sof(small, 13000, 13000)
        res, row, _ = scan_one(tmp, "claim13000_prog.jpg", claim)
        C.eq(verdict(row), ("too_large", "progressive JPEG of 13000 x 13000: "
                            "its 967 MB coefficient buffer is more than "
                            "1024 times the file's %d bytes" % len(claim)),
             "progressive JPEG of %d bytes claiming 13000x13000: too_large"
             % len(claim))
        bounded(res, "progressive JPEG of %d bytes claiming 13000x13000"
                % len(claim), rss_mb=16, seconds=5)

    flat = mkhostile(tmp, 10, 6000, 6000, kind="flat")
    if flat is not None:
        two = {"a.jpg": flat, "b.jpg": flat}
        res, rows, _ = scan_dir(tmp, "two_flat", two, "-j", "2",
                                "--max-memory", "300M")
        C.eq([verdict(rows.get(n, {}))[0] for n in two], ["ok", "ok"],
             "two 6000x6000 progressive JPEGs at -j 2, --max-memory 300M: ok")
        bounded(res, "two 216 MB coefficient buffers at -j 2 under "
                "--max-memory 300M", rss_mb=216 + 64, seconds=60)
        res, row, _ = scan_one(tmp, "flat6000.jpg", flat,
                               "--max-memory", "100M")
        C.eq(verdict(row), ("too_large", "progressive JPEG of 6000 x 6000: "
                            "its 205 MB coefficient buffer is over the "
                            "scan's memory budget of 95 MB"),
             "a 216 MB coefficient buffer under --max-memory 100M: too_large")

    many = mkhostile(tmp, 2080, 12000, 12000, kind="flat")
    if many is not None:
        res, row, _ = scan_one(tmp, "flat2080.jpg", many)
        C.eq(verdict(row), ("corrupt", "too many progressive scans for the "
                            "image size: scan 47 would pass over the 823 MB "
                            "coefficient buffer more than 16 times in all"),
             "12000x12000 progressive JPEG with 2080 scans: stopped at "
             "16 passes")
        bounded(res, "12000x12000 progressive JPEG with 2080 scans",
                rss_mb=824 + 64, cpu=9)


def case_cost_png(tmp):
    data = adam7_zeros(13000)
    res, row, _ = scan_one(tmp, "adam7_13000.png", data)
    C.eq(verdict(row), ("too_large", "interlaced PNG of 13000 x 13000: its "
                        "644 MB image buffer is more than 256 times the "
                        "file's %d bytes" % len(data)),
         "Adam7 PNG 13000x13000 RGBA in %d bytes: too_large" % len(data))
    bounded(res, "Adam7 PNG 13000x13000 in %d bytes" % len(data), rss_mb=16,
            seconds=5)


def case_cost_sparse(tmp):
    # Under valgrind hashing 2 GiB takes many minutes and proves nothing
    # more about memory errors: 64 MiB files (still 64 read windows) there.
    size = (64 << 20) if iatest.under_valgrind() else (1 << 30)

    def sparse(path):
        with open(path, "wb") as f:
            f.truncate(size)
    zeros_sha = hashlib.sha256(bytes(size)).hexdigest()
    res, rows, _ = scan_dir(tmp, "sparse", {"a.jpg": sparse,
                                            "b.png": sparse}, "-j", "2")
    for name, ext in (("a.jpg", "jpeg"), ("b.png", "png")):
        row = rows.get(name, {})
        sha = (row.get("sha256") or b"").hex()
        C.eq((verdict(row), sha, row.get("size")),
             (("not_image", "no image signature although named .%s" % ext),
              zeros_sha, size),
             "%d MiB sparse %s: not_image, hashed whole"
             % (size >> 20, name))
    # Reading holes the page cache has not seen costs the kernel ~2 s of
    # CPU a GiB: the files were just made.
    bounded(res, "two 1 GiB sparse non-images at -j 2", rss_mb=16, cpu=10)


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
        for case in (case_jpeg, case_png, case_idat, case_file_size,
                     case_cost_jpeg, case_cost_png, case_cost_sparse):
            d = os.path.join(tmp, case.__name__)
            os.makedirs(d)
            case(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return C.finish()


if __name__ == "__main__":
    sys.exit(main())
