#!/usr/bin/env python3
"""Writes the loader-profile fixture tree (issue 18, docs/loaders.md).

Usage: mkloaderfixtures.py OUTDIR

Each top-level folder of OUTDIR is one split, laid out the way folder
loaders expect (split/class/file); tests/loaders/probe.py runs the real
loaders on it. OUTDIR/manifest.json says, per file, what it is and which
file holds its undamaged original ("pristine", under OUTDIR/_pristine/),
and OUTDIR/_expected/ holds the RGB8 pixels a lossless file should give.

The splits:
  files/         one class folder per format family; every kind of damage,
                 bit depth, mode and naming case, one file each (every class
                 keeps one file torchvision lists, so ImageFolder builds)
  layout/        class ordering (codepoint order), a hidden class folder, a
                 symlinked class folder, nested sub-folders, a file at the
                 split root
  empty_class/   one class folder with no file at all
  webp_only/     one class folder holding only .webp files
  gif_only/      one class folder holding only .gif files
  no_classes/    image files at the split root and no class folder
  symlink_loop/  a class folder with a symlink to itself
  renumber_train/, renumber_test/  the same classes but one missing in test

Needs Python 3 and Pillow (python3-pil) only; the HEIC, AVIF, JPEG XL and
arithmetic-coded JPEG files are copied from seeds/ (made once with
heif-enc, avifenc, cjxl and cjpeg -arithmetic; see seeds/README). Every
byte written is a function of this script (no randomness, no clock), so
the tree is the same on every run with the same Pillow and libraries.
"""
import io
import json
import os
import shutil
import struct
import sys
import zlib

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
W, H = 64, 48  # not square: a rotated decode has the other shape


# ---------------------------------------------------------------- pixels

def base_rgb(w=W, h=H):
    """A gradient with a white square near the top-left corner, so both
    the shape and the pixels tell whether a loader rotated the image."""
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = (x * 255 // (w - 1), y * 255 // (h - 1), 96)
    s = max(4, w // 8)
    for y in range(2, 2 + s):
        for x in range(2, 2 + s):
            px[x, y] = (255, 255, 255)
    return im


def busy_rgb(w=256, h=192):
    """Texture (a fixed LCG) so that a JPEG has a long entropy-coded
    segment and a cut at 10 % and at 90 % land in different rows."""
    im = base_rgb(w, h)
    px = im.load()
    state = 12345
    for y in range(h):
        for x in range(w):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF
            r, g, b = px[x, y]
            n = (state >> 16) % 48
            px[x, y] = (min(255, r + n), min(255, g + n), min(255, b + n))
    return im


def rgba_with_hidden_colour():
    """Alpha falls from 255 to 0 left to right; where alpha is 0 the colour
    is magenta, which a loader that drops alpha shows."""
    im = base_rgb().convert("RGBA")
    px = im.load()
    for y in range(H):
        for x in range(W):
            a = 255 - x * 255 // (W - 1)
            r, g, b, _ = px[x, y]
            px[x, y] = (255, 0, 255, 0) if a == 0 else (r, g, b, a)
    return im


# ---------------------------------------------------------------- PNG bytes

def chunk(kind, data, crc=None):
    if crc is None:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


PNG_SIG = b"\x89PNG\r\n\x1a\n"


def png_raw(w, h, depth, ctype, rows, extra_before=(), extra_after=(),
            idat_chunks=None):
    """A PNG from filtered-free rows (filter byte 0 added here)."""
    raw = b"".join(b"\x00" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    body = chunk(b"IHDR", ihdr)
    for c in extra_before:
        body += c
    if idat_chunks is None:
        idat_chunks = [chunk(b"IDAT", zlib.compress(raw, 9))]
    body += b"".join(idat_chunks)
    for c in extra_after:
        body += c
    return PNG_SIG + body + chunk(b"IEND", b"")


def rgb_rows(im):
    w, h = im.size
    data = im.tobytes()
    return [data[y * w * 3:(y + 1) * w * 3] for y in range(h)]


def find_chunk(data, kind):
    """Offset of the length field of the first chunk of this kind."""
    pos = 8
    while pos + 8 <= len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        if data[pos + 4:pos + 8] == kind:
            return pos, n
        pos += 12 + n
    raise ValueError(kind)


def save(im, fmt, **kw):
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


# ---------------------------------------------------------------- JPEG bytes

def jpeg_scan_bounds(data):
    """(start, end) of the first entropy-coded segment: after SOS's header,
    up to the EOI."""
    pos = 2
    while pos < len(data):
        marker = data[pos + 1]
        n = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xDA:
            return pos + 2 + n, data.rindex(b"\xff\xd9")
        pos += 2 + n
    raise ValueError("no SOS")


def jpeg_marker(data, marker):
    pos = 2
    while pos < len(data):
        n = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if data[pos + 1] == marker:
            return pos
        pos += 2 + n
    raise ValueError(hex(marker))


def exif_orientation(value):
    """A minimal little-endian EXIF block holding one Orientation tag."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, value, 0)
    ifd += struct.pack("<I", 0)
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, code, length):
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((code >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc = 0
                self.n = 0

    def flush(self):
        while self.n:
            self.put(1, 1)  # pad with ones
        return bytes(self.out)


def flat_block_jpeg(precision, levels, blocks_x):
    """A grey JPEG of flat 8x8 blocks (DC only), written by hand because
    no encoder here writes 12-bit samples. precision 8 gives the same
    stream with 8-bit samples, which libjpeg decodes: the check that this
    writer is right (see check_flat_block_writer)."""
    # DC table: categories 0..15, 15 codes of 4 bits then one of 5 bits;
    # AC table: EOB only, code '0'.
    dc_bits = [0, 0, 0, 15, 1] + [0] * 11
    dc_vals = list(range(16))
    dc_codes = {v: (v, 4) for v in range(15)}
    dc_codes[15] = (0b11110, 5)
    qt = bytes([1] * 64)
    h = 8 * (len(levels) // blocks_x)
    w = 8 * blocks_x
    shift = 1 << (precision - 1)
    bw = BitWriter()
    prev = 0
    for level in levels:
        dc = 8 * (level - shift)
        diff = dc - prev
        prev = dc
        cat = abs(diff).bit_length()
        code, length = dc_codes[cat]
        bw.put(code, length)
        if cat:
            bits = diff if diff > 0 else diff + (1 << cat) - 1
            bw.put(bits, cat)
        bw.put(0, 1)  # EOB
    scan = bw.flush()
    sof = 0xC1 if precision == 12 else 0xC0
    out = b"\xff\xd8"
    out += b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + qt
    out += b"\xff" + bytes([sof]) + struct.pack(">HBHHB", 11, precision, h,
                                                 w, 1) + b"\x01\x11\x00"
    out += b"\xff\xc4" + struct.pack(">H", 3 + 16 + 16) + b"\x00"
    out += bytes(dc_bits) + bytes(dc_vals)
    out += b"\xff\xc4" + struct.pack(">H", 3 + 16 + 1) + b"\x10"
    out += bytes([1] + [0] * 15) + b"\x00"
    out += b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return out + scan + b"\xff\xd9"


def check_flat_block_writer():
    levels = [40, 90, 160, 230]
    data = flat_block_jpeg(8, levels, 2)
    im = Image.open(io.BytesIO(data))
    im.load()
    got = [im.getpixel((x, y))
           for y, x in ((3, 3), (3, 11), (11, 3), (11, 11))]
    if got != levels:
        raise SystemExit("flat_block_jpeg writer is wrong: %r != %r"
                         % (got, levels))


# ---------------------------------------------------------------- TIFF, BMP

def tiff(w, h, spp, bps, sample_format, photometric, data, pages=1):
    """An uncompressed little-endian TIFF, one strip a page."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    prev_next = 4
    for _ in range(pages):
        strip = len(out)
        out += data
        if len(out) % 2:
            out += b"\x00"
        bps_off = len(out)
        out += struct.pack("<" + "H" * spp, *([bps] * spp))
        tags = [(256, 3, 1, w), (257, 3, 1, h),
                (258, 3, spp, bps_off if spp > 2 else bps),
                (259, 3, 1, 1), (262, 3, 1, photometric), (273, 4, 1, strip),
                (277, 3, 1, spp), (278, 3, 1, h), (279, 4, 1, len(data)),
                (284, 3, 1, 1), (339, 3, 1, sample_format)]
        if spp == 4 and photometric == 2:
            tags.append((338, 3, 1, 2))  # ExtraSamples: unassociated alpha
        tags.sort()
        ifd = len(out)
        struct.pack_into("<I", out, prev_next, ifd)
        out += struct.pack("<H", len(tags))
        for tag, typ, count, value in tags:
            if typ == 3 and count == 1:
                out += struct.pack("<HHIHH", tag, typ, count, value, 0)
            else:
                out += struct.pack("<HHII", tag, typ, count, value)
        prev_next = len(out)
        out += b"\x00\x00\x00\x00"
    return bytes(out)


def bmp(w, h, bpp, pixel_rows, palette=b"", compression=0, masks=b""):
    """A BMP from already-packed bottom-up rows (padding added here)."""
    rows = b""
    for r in pixel_rows:
        rows += r + b"\x00" * ((4 - len(r) % 4) % 4)
    if compression == 1:  # BI_RLE8: rows are the RLE stream already
        rows = b"".join(pixel_rows)
    offset = 14 + 40 + len(masks) + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, bpp, compression,
                       len(rows), 2835, 2835, len(palette) // 4, 0)
    head = b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0, offset)
    return head + info + masks + palette + rows


# ---------------------------------------------------------------- the tree

class Tree:
    def __init__(self, root):
        self.root = root
        self.manifest = {}

    def path(self, rel):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def write(self, rel, data, kind, pristine=None, expected=None, **facts):
        """Writes one fixture. pristine: bytes of the undamaged original
        (saved under _pristine/); expected: a PIL image of the RGB8 pixels
        a correct decode gives (saved as PNG under _expected/)."""
        with open(self.path(rel), "wb") as f:
            f.write(data)
        entry = {"kind": kind}
        if pristine is not None:
            prel = os.path.join("_pristine", rel)
            with open(self.path(prel), "wb") as f:
                f.write(pristine)
            entry["pristine"] = prel
        if expected is not None:
            erel = os.path.join("_expected", rel) + ".png"
            expected.convert("RGB").save(self.path(erel), "PNG")
            entry["expected"] = erel
        entry.update(facts)
        self.manifest[rel] = entry

    def symlink(self, rel, target, kind, **facts):
        p = self.path(rel)
        os.symlink(target, p)
        self.manifest[rel] = dict(kind=kind, symlink_to=target, **facts)

    def mkdir(self, rel, kind, **facts):
        os.makedirs(os.path.join(self.root, rel), exist_ok=True)
        self.manifest[rel + "/"] = dict(kind=kind, **facts)

    def close(self):
        with open(os.path.join(self.root, "manifest.json"), "w") as f:
            json.dump(self.manifest, f, indent=1, sort_keys=True)
            f.write("\n")


def anchor(t, d):
    """A PNG in class folder d, so that ImageFolder, which raises for a
    class without a file it lists, builds the split; returns the base."""
    base = base_rgb()
    t.write(d + "anchor.png", save(base, "PNG"),
            "png, so that ImageFolder finds a file in this class",
            expected=base)
    return base


def seed(name):
    with open(os.path.join(SEEDS, name), "rb") as f:
        return f.read()


def jpeg_files(t):
    d = "files/jpeg/"
    base = base_rgb()
    good = save(base, "JPEG", quality=90)
    t.write(d + "baseline.jpg", good, "jpeg baseline 4:2:0", expected=base,
            lossy=True)
    busy = busy_rgb()
    bj = save(busy, "JPEG", quality=90)
    pj = save(busy, "JPEG", quality=90, progressive=True)
    t.write(d + "busy.jpg", bj, "jpeg baseline 256x192, the uncut original")
    t.write(d + "progressive.jpg", pj, "jpeg progressive", expected=busy,
            lossy=True)
    t.write(d + "grayscale.jpg", save(base.convert("L"), "JPEG", quality=90),
            "jpeg grayscale", expected=base.convert("L"), lossy=True)
    t.write(d + "cmyk_adobe.jpg", save(base.convert("CMYK"), "JPEG",
                                       quality=90),
            "jpeg CMYK with an Adobe marker (Pillow writes it inverted)",
            expected=base, lossy=True, colour_conversion=True)
    for value in (6, 3, 8):
        t.write(d + "exif_orientation%d.jpg" % value,
                save(base, "JPEG", quality=90, exif=exif_orientation(value)),
                "jpeg with EXIF Orientation=%d" % value, expected=base,
                lossy=True, exif_orientation=value)
    start, end = jpeg_scan_bounds(bj)
    sos = jpeg_marker(bj, 0xDA)
    t.write(d + "truncated_in_header.jpg", bj[:sos - 20],
            "jpeg cut inside the headers, before SOS", pristine=bj)
    for pct in (10, 50, 90):
        cut = start + (end - start) * pct // 100
        t.write(d + "truncated_%02dpct_scan.jpg" % pct, bj[:cut],
                "jpeg cut at %d%% of the entropy-coded data" % pct,
                pristine=bj)
    t.write(d + "truncated_no_eoi.jpg", bj[:-2],
            "jpeg with every scan byte but no EOI marker", pristine=bj)
    t.write(d + "truncated_progressive_50pct.jpg", pj[:len(pj) // 2],
            "progressive jpeg cut at half the file", pristine=pj)
    t.write(d + "truncated_progressive_no_eoi.jpg", pj[:-2],
            "progressive jpeg with every scan but no EOI marker", pristine=pj)
    t.write(d + "extraneous_before_eoi.jpg", bj[:-2] + b"\x00" * 5 + bj[-2:],
            "jpeg with 5 stray bytes before its EOI marker", pristine=bj)
    bad = bytearray(bj)
    mid = start + (end - start) // 2
    for i in range(mid, mid + 64):
        bad[i] = 0x55  # plausible entropy bytes: decodes to wrong blocks
    t.write(d + "corrupt_scan_bytes.jpg", bytes(bad),
            "jpeg with 64 bytes of its scan overwritten", pristine=bj)
    bad = bytearray(bj)
    bad[mid:mid + 2] = b"\xff\xd0"  # an RST marker where none belongs
    t.write(d + "corrupt_stray_marker.jpg", bytes(bad),
            "jpeg with an RST0 marker in the middle of its scan", pristine=bj)
    dht = jpeg_marker(bj, 0xC4)
    bad = bytearray(bj)
    bad[dht + 5:dht + 21] = b"\xff" * 16  # counts sum far above 256
    t.write(d + "corrupt_huffman_table.jpg", bytes(bad),
            "jpeg whose first DHT counts more than 256 codes", pristine=bj)
    sof = jpeg_marker(bj, 0xC0)
    bad = bytearray(bj)
    bad[sof + 5:sof + 7] = b"\x00\x00"
    t.write(d + "zero_height.jpg", bytes(bad),
            "jpeg whose SOF says height 0 (DNL)", pristine=bj)
    t.write(d + "trailing_garbage.jpg", good + b"GARBAGE" * 100,
            "jpeg with 700 bytes after EOI", pristine=good)
    check_flat_block_writer()
    levels = [400, 1400, 2600, 3900]
    t.write(d + "precision12.jpg", flat_block_jpeg(12, levels, 2),
            "12-bit extended sequential jpeg (SOF1), 16x16 grey blocks",
            expected=Image.frombytes("L", (16, 16), bytes(
                [levels[(y // 8) * 2 + x // 8] >> 4 for y in range(16)
                 for x in range(16)])))
    t.write(d + "precision8_same_writer.jpg", flat_block_jpeg(8, [25, 87, 162,
                                                                 243], 2),
            "the 12-bit file's writer at 8 bits (checks the writer)",
            expected=Image.frombytes("L", (16, 16), bytes(
                [[25, 87, 162, 243][(y // 8) * 2 + x // 8] for y in range(16)
                 for x in range(16)])))
    t.write(d + "arithmetic.jpg", seed("arithmetic.jpg"),
            "arithmetic-coded jpeg (cjpeg -arithmetic)", expected=base,
            lossy=True)


def naming_files(t):
    """Extension case, extensions only Pillow knows, content that does not
    match the extension, hidden and AppleDouble files, symlinks."""
    d = "files/names/"
    base = base_rgb()
    good = save(base, "JPEG", quality=90)
    png = save(base, "PNG")
    t.write(d + "good.jpg", good, "jpeg, the symlinks' target", expected=base,
            lossy=True)
    t.write(d + "upper.JPG", good, "extension in capitals", expected=base,
            lossy=True)
    t.write(d + "mixed.JpEg", good, "extension in mixed case", expected=base,
            lossy=True)
    t.write(d + "jfif.jfif", good, "jpeg as .jfif", expected=base, lossy=True)
    t.write(d + "jpe.jpe", good, "jpeg as .jpe", expected=base, lossy=True)
    t.write(d + "no_extension", good, "jpeg with no extension",
            expected=base, lossy=True)
    t.write(d + "png_named.jpg", png, "PNG content named .jpg", expected=base)
    t.write(d + "jpeg_named.png", good, "JPEG content named .png",
            expected=base, lossy=True)
    t.write(d + "empty.jpg", b"", "zero bytes")
    t.write(d + "text.jpg", b"not an image, a note\n" * 4, "text named .jpg")
    t.write(d + ".hidden.jpg", good, "hidden file (leading dot)",
            expected=base, lossy=True)
    t.write(d + "._good.jpg", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X"
            + b"\x00" * 4080, "macOS AppleDouble resource file named ._*.jpg")
    t.write(d + ".DS_Store", b"\x00\x00\x00\x01Bud1" + b"\x00" * 100,
            "macOS folder metadata")
    t.symlink(d + "symlink_to_good.jpg", "good.jpg", "symlink to a jpeg")
    t.symlink(d + "dangling.jpg", "does_not_exist.jpg", "dangling symlink")
    t.write(d + "dir_named.jpg/inside.jpg", good,
            "jpeg inside a folder whose name ends in .jpg", expected=base,
            lossy=True)
    t.write(d + "sub/deeper/nested.jpg", good,
            "jpeg two folders below the class folder", expected=base,
            lossy=True)
    t.write("_outside/outside.jpg", good,
            "jpeg outside every split, reached only by the symlink",
            expected=base, lossy=True)
    t.symlink(d + "linked_sub", "../../_outside",
              "symlink to a folder (walked only when links are followed)")


def png_chunk_variants(rows):
    """(name, what, png_raw keywords): the same RGB8 pixels with damaged or
    unusual chunks around them."""
    raw = b"".join(b"\x00" + r for r in rows)
    idat = zlib.compress(raw, 9)
    text = chunk(b"tEXt", b"Comment\x00made by mkloaderfixtures")
    bad_text = text[:-4] + bytes(b ^ 0xFF for b in text[-4:])
    comp = bytearray(idat)
    comp[len(comp) // 2] ^= 0x5A
    more_rows = zlib.compress(raw + b"\x00" + rows[0] + b"\x00" + rows[1], 9)
    big = chunk(b"zTXt", b"Comment\x00\x00"
                + zlib.compress(b"A" * (2 << 20), 9))
    mib = zlib.compress(b"B" * (1 << 20), 9)
    many = [chunk(b"zTXt", b"k%02d\x00\x00" % k + mib) for k in range(65)]
    icc = chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(bytes(2 << 20), 9))
    return [
        ("bad_text_crc_before_idat.png",
         "png with a tEXt chunk with a wrong CRC before IDAT",
         {"extra_before": [bad_text]}),
        ("bad_text_crc_after_idat.png",
         "png with a tEXt chunk with a wrong CRC after IDAT",
         {"extra_after": [bad_text]}),
        ("corrupt_zlib_data.png",
         "png whose IDAT zlib data is corrupt (CRC recomputed)",
         {"idat_chunks": [chunk(b"IDAT", bytes(comp))]}),
        ("extra_rows_in_zlib.png",
         "png whose zlib stream holds two rows more than the image",
         {"idat_chunks": [chunk(b"IDAT", more_rows)]}),
        ("bytes_after_zlib_end.png",
         "png with 32 bytes after the end of the zlib stream in IDAT",
         {"idat_chunks": [chunk(b"IDAT", idat + bytes(32))]}),
        ("extra_idat_after_stream.png",
         "png with a second IDAT after the zlib stream ended",
         {"idat_chunks": [chunk(b"IDAT", idat),
                          chunk(b"IDAT", zlib.compress(bytes(100)))]}),
        ("unknown_critical_chunk.png",
         "png with an unknown critical chunk ABCD before IDAT",
         {"extra_before": [chunk(b"ABCD", b"x" * 8)]}),
        ("ztxt_2mib.png",
         "png with a zTXt chunk that inflates to 2 MiB (before IDAT)",
         {"extra_before": [big]}),
        ("ztxt_2mib_after_idat.png",
         "png with a zTXt chunk that inflates to 2 MiB (after IDAT)",
         {"extra_after": [big]}),
        ("ztxt_65x1mib.png",
         "png with 65 zTXt chunks of 1 MiB each (65 MiB of text)",
         {"extra_before": many}),
        ("iccp_2mib.png",
         "png with an iCCP profile that inflates to 2 MiB of zeros",
         {"extra_before": [icc]}),
    ]


def png_files(t):
    d = "files/png/"
    base = base_rgb()
    rows = rgb_rows(base)
    good = png_raw(W, H, 8, 2, rows)
    t.write(d + "rgb8.png", good, "png RGB 8-bit", expected=base)
    t.write(d + "trailing_after_iend.png", good + b"\x00" * 16 + b"junk" * 64,
            "png with 272 bytes after IEND", pristine=good)
    i, n = find_chunk(good, b"IDAT")
    t.write(d + "truncated_in_idat.png", good[:i + 8 + n // 2],
            "png cut in the middle of its IDAT", pristine=good)
    t.write(d + "no_iend.png", good[:i + 12 + n],
            "png that ends right after its last IDAT (no IEND)",
            pristine=good)
    bad = bytearray(good)
    bad[i + 8 + n] ^= 0xFF  # CRC field only: the data is intact
    t.write(d + "bad_idat_crc.png", bytes(bad),
            "png whose IDAT CRC is wrong, data intact", pristine=good)
    bad = bytearray(good)
    bad[8 + 8 + 13] ^= 0xFF
    t.write(d + "bad_ihdr_crc.png", bytes(bad),
            "png whose IHDR CRC is wrong", pristine=good)
    for name, what, kw in png_chunk_variants(rows):
        t.write(d + name, png_raw(W, H, 8, 2, rows, **kw), what,
                pristine=good)
    rows16 = []
    for y in range(H):
        r = b""
        for x in range(W):
            for c in base.getpixel((x, y)):
                r += struct.pack(">H", c * 257)
        rows16.append(r)
    t.write(d + "rgb16.png", png_raw(W, H, 16, 2, rows16),
            "png RGB 16-bit (each sample c*257)", expected=base)
    g = base.convert("L")
    rowsg16 = [b"".join(struct.pack(">H", g.getpixel((x, y)) * 257)
                        for x in range(W)) for y in range(H)]
    t.write(d + "gray16.png", png_raw(W, H, 16, 0, rowsg16),
            "png grayscale 16-bit (each sample v*257)", expected=g)
    t.write(d + "gray8.png", save(g, "PNG"), "png grayscale 8-bit",
            expected=g)
    t.write(d + "gray1.png", save(g.convert("1"), "PNG"), "png 1-bit",
            expected=g.convert("1"))
    rgba = rgba_with_hidden_colour()
    t.write(d + "rgba8.png", save(rgba, "PNG"),
            "png RGBA; magenta where alpha is 0", expected=rgba.convert("RGB"),
            alpha=True)
    la = Image.merge("LA", (g, rgba.getchannel("A")))
    t.write(d + "la8.png", save(la, "PNG"), "png gray+alpha (LA)",
            expected=g, alpha=True)
    pal = base.quantize(16)
    pal.info["transparency"] = 0
    t.write(d + "palette_trns.png", save(pal, "PNG", transparency=0),
            "png palette with tRNS (entry 0 transparent)",
            expected=pal.convert("RGB"), alpha=True)
    t.write(d + "palette.png", save(base.quantize(16), "PNG"),
            "png palette, no transparency",
            expected=base.quantize(16).convert("RGB"))
    t.write(d + "interlaced.png", save_interlaced(base),
            "png Adam7 interlaced", expected=base)
    frames = [base, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    t.write(d + "apng_2frames.png", save(frames[0], "PNG", save_all=True,
                                         append_images=frames[1:],
                                         duration=100, loop=0),
            "APNG, two frames", expected=base, frames=2)


def save_interlaced(im):
    """Pillow writes no interlaced PNG; build one: seven passes, filter 0."""
    w, h = im.size
    px = im.tobytes()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
              (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        xs = range(x0, w, dx)
        if not xs:
            continue
        for y in range(y0, h, dy):
            raw += b"\x00" + b"".join(px[(y * w + x) * 3:(y * w + x) * 3 + 3]
                                      for x in xs)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return (PNG_SIG + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def bomb_files(t):
    """Pillow checks width*height against Image.MAX_IMAGE_PIXELS
    (89,478,485) when it opens a file: above it a warning, above twice it
    DecompressionBombError. 1-bit grey compresses to a few kilobytes."""
    d = "files/bombs/"
    anchor(t, d)
    for name, (w, h) in (("over_limit_10000x9000.png", (10000, 9000)),
                         ("over_2x_limit_13400x13356.png", (13400, 13356))):
        row = b"\x00" * ((w + 7) // 8)
        co = zlib.compressobj(9)
        data = b"".join(co.compress(b"\x00" + row) for _ in range(h))
        data += co.flush()
        ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
        png = (PNG_SIG + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data)
               + chunk(b"IEND", b""))
        t.write(d + name, png, "1-bit black png of %dx%d = %d pixels"
                % (w, h, w * h), pixels=w * h)


def webp_files(t):
    d = "files/webp/"
    base = base_rgb()
    lossy = save(base, "WEBP", quality=90)
    t.write(d + "lossy.webp", lossy, "webp lossy (VP8)", expected=base,
            lossy=True)
    t.write(d + "lossless.webp", save(base, "WEBP", lossless=True),
            "webp lossless (VP8L)", expected=base)
    rgba = rgba_with_hidden_colour()
    t.write(d + "alpha.webp", save(rgba, "WEBP", lossless=True, exact=True),
            "webp lossless with alpha; magenta where alpha is 0",
            expected=rgba.convert("RGB"), alpha=True)
    frames = [base, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    t.write(d + "animated.webp", save(frames[0], "WEBP", save_all=True,
                                      append_images=frames[1:], lossless=True,
                                      duration=100, loop=0),
            "animated webp, two frames", expected=base, frames=2)
    t.write(d + "truncated.webp", lossy[:len(lossy) // 2],
            "lossy webp cut at half", pristine=lossy)
    t.write(d + "upper.WEBP", lossy, "webp, extension in capitals",
            expected=base, lossy=True)


def tiff_files(t):
    d = "files/tiff/"
    base = base_rgb()
    good = save(base, "TIFF")
    t.write(d + "rgb8.tif", good, "tiff RGB 8-bit uncompressed",
            expected=base)
    t.write(d + "rgb8_lzw.tiff", save(base, "TIFF", compression="tiff_lzw"),
            "tiff RGB 8-bit LZW, .tiff", expected=base)
    flipped = base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    t.write(d + "multipage.tif", save(base, "TIFF", save_all=True,
                                      append_images=[flipped]),
            "tiff with two pages", expected=base, frames=2)
    t.write(d + "cmyk.tif", save(base.convert("CMYK"), "TIFF"), "tiff CMYK",
            expected=base.convert("CMYK").convert("RGB"),
            colour_conversion=True)
    data16 = b"".join(struct.pack("<HHH", *(c * 257 for c in
                                            base.getpixel((x, y))))
                      for y in range(H) for x in range(W))
    t.write(d + "rgb16.tif", tiff(W, H, 3, 16, 1, 2, data16),
            "tiff RGB 16-bit (each sample c*257)", expected=base)
    g = base.convert("L")
    g16 = b"".join(struct.pack("<H", g.getpixel((x, y)) * 257)
                   for y in range(H) for x in range(W))
    t.write(d + "gray16.tif", tiff(W, H, 1, 16, 1, 1, g16),
            "tiff grayscale 16-bit (each sample v*257)", expected=g)
    f32 = b"".join(struct.pack("<f", g.getpixel((x, y)) / 255.0)
                   for y in range(H) for x in range(W))
    t.write(d + "gray_float32.tif", tiff(W, H, 1, 32, 3, 1, f32),
            "tiff grayscale float32 in [0, 1]", expected=g)
    t.write(d + "truncated.tif", good[:len(good) // 2],
            "tiff cut at half (inside the strip)", pristine=good)


def bmp_files(t):
    d = "files/bmp/"
    base = base_rgb()
    t.write(d + "rgb24.bmp", save(base, "BMP"), "bmp 24-bit", expected=base)
    pal = base.quantize(16)
    t.write(d + "pal8.bmp", save(pal, "BMP"), "bmp 8-bit with a palette",
            expected=pal.convert("RGB"))
    g = base.convert("L")
    t.write(d + "gray8.bmp", save(g, "BMP"),
            "bmp 8-bit with a grey ramp palette", expected=g)
    t.write(d + "mono1.bmp", save(g.convert("1"), "BMP"), "bmp 1-bit",
            expected=g.convert("1"))
    rgba = rgba_with_hidden_colour()
    t.write(d + "bgra32_v4.bmp", bmp_v4_bgra(rgba),
            "bmp 32-bit BGRA (BITMAPV4HEADER, bitfields)",
            expected=rgba.convert("RGB"), alpha=True)
    rows565 = []
    for y in range(H - 1, -1, -1):
        r = b""
        for x in range(W):
            rr, gg, bb = base.getpixel((x, y))
            r += struct.pack("<H", ((rr >> 3) << 11) | ((gg >> 2) << 5)
                             | (bb >> 3))
        rows565.append(r)
    t.write(d + "rgb565.bmp", bmp(W, H, 16, rows565, compression=3,
                                  masks=struct.pack("<III", 0xF800, 0x07E0,
                                                    0x001F)),
            "bmp 16-bit RGB565 (bitfields)", expected=base, lossy=True)
    palette = b"".join(bytes((v, v, v, 0)) for v in range(256))
    rle = b""
    for y in range(H - 1, -1, -1):
        for x in range(0, W, 16):
            rle += bytes((16, g.getpixel((x, y))))
        rle += b"\x00\x00"
    rle += b"\x00\x01"
    t.write(d + "rle8.bmp", bmp(W, H, 8, [rle], palette=palette,
                                compression=1),
            "bmp 8-bit RLE8, runs of 16", expected=Image.frombytes(
                "L", (W, H), bytes(g.getpixel((x - x % 16, y))
                                   for y in range(H) for x in range(W))))
    good = save(base, "BMP")
    t.write(d + "trailing_bytes.bmp", good + b"\x00\x00",
            "bmp 24-bit with two bytes after the pixels", pristine=good)
    t.write(d + "truncated.bmp", good[:len(good) // 2],
            "bmp 24-bit cut at half", pristine=good)


def bmp_v4_bgra(rgba):
    rows = b"".join(b"".join(bytes((b, g, r, a)) for r, g, b, a in
                             (rgba.getpixel((x, y)) for x in range(W)))
                    for y in range(H - 1, -1, -1))
    info = struct.pack("<IiiHHIIiiII", 108, W, H, 1, 32, 3, len(rows), 2835,
                       2835, 0, 0)
    info += struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF,
                        0xFF000000)
    info += b"sRGB" + b"\x00" * 48
    offset = 14 + len(info)
    return b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0,
                               offset) + info + rows


def pnm_files(t):
    d = "files/pnm/"
    base = base_rgb()
    g = base.convert("L")
    t.write(d + "p6.ppm", save(base, "PPM"), "ppm binary (P6)", expected=base)
    t.write(d + "p6.pnm", save(base, "PPM"), "ppm binary named .pnm",
            expected=base)
    t.write(d + "p5.pgm", save(g, "PPM"), "pgm binary (P5)", expected=g)
    t.write(d + "p4.pbm", save(g.convert("1"), "PPM"), "pbm binary (P4)",
            expected=g.convert("1"))
    ascii_ppm = ("P3\n%d %d\n255\n" % (W, H)).encode() + b"\n".join(
        b" ".join(b"%d %d %d" % base.getpixel((x, y)) for x in range(W))
        for y in range(H)) + b"\n"
    t.write(d + "p3_ascii.ppm", ascii_ppm, "ppm ASCII (P3)", expected=base)
    g16 = ("P5\n%d %d\n65535\n" % (W, H)).encode() + b"".join(
        struct.pack(">H", g.getpixel((x, y)) * 257)
        for y in range(H) for x in range(W))
    t.write(d + "gray16.pgm", g16, "pgm 16-bit (maxval 65535, v*257)",
            expected=g)
    good = save(base, "PPM")
    t.write(d + "truncated.ppm", good[:len(good) // 2], "ppm cut at half",
            pristine=good)


def gif_files(t):
    d = "files/gif/"
    base = anchor(t, d)
    pal = base.quantize(64)
    still = save(pal, "GIF")
    t.write(d + "still.gif", still, "gif, one frame",
            expected=pal.convert("RGB"))
    flipped = base.transpose(Image.Transpose.FLIP_LEFT_RIGHT).quantize(64)
    t.write(d + "animated.gif", save(pal, "GIF", save_all=True,
                                     append_images=[flipped], duration=100,
                                     loop=0),
            "gif, two frames", expected=pal.convert("RGB"), frames=2)
    t.write(d + "transparent.gif", save(pal, "GIF", transparency=0),
            "gif with palette entry 0 transparent",
            expected=pal.convert("RGB"), alpha=True)
    t.write(d + "truncated.gif", still[:len(still) // 2], "gif cut at half",
            pristine=still)
    t.write(d + "no_trailer.gif", still[:-1],
            "gif without its trailer byte: the frame is whole",
            pristine=still, expected=pal.convert("RGB"))
    anim = save(pal, "GIF", save_all=True, append_images=[flipped],
                duration=100, loop=0)
    ends = gif_frame_ends(anim)
    cut = (ends[0] + ends[1]) // 2
    t.write(d + "animated_cut2.gif", anim[:cut],
            "animated gif cut inside its second frame: the first is whole",
            pristine=anim, expected=pal.convert("RGB"), frames=2)


def gif_sub_blocks(data, pos):
    """The offset after the sub-blocks starting at pos."""
    while data[pos]:
        pos += data[pos] + 1
    return pos + 1


def gif_frame_ends(data):
    """The offset after each frame's image data, in file order."""
    pos, ends = 13, []
    if data[10] & 0x80:
        pos += 3 << ((data[10] & 7) + 1)
    while pos < len(data) and data[pos] != 0x3B:
        if data[pos] == 0x21:
            pos = gif_sub_blocks(data, pos + 2)
            continue
        flags = data[pos + 9]
        pos += 10
        if flags & 0x80:
            pos += 3 << ((flags & 7) + 1)
        pos = gif_sub_blocks(data, pos + 1)
        ends.append(pos)
    return ends


def other_files(t):
    d = "files/other/"
    base = anchor(t, d)
    t.write(d + "heic.heic", seed("heic.heic"), "HEIC (heif-enc)",
            expected=base, lossy=True)
    t.write(d + "avif.avif", seed("avif.avif"), "AVIF (avifenc)",
            expected=base, lossy=True)
    t.write(d + "jxl.jxl", seed("jxl.jxl"), "JPEG XL (cjxl, lossless)",
            expected=base)
    t.write(d + "jp2.jp2", save(base, "JPEG2000", irreversible=False),
            "JPEG 2000 (jp2, lossless)", expected=base)
    t.write(d + "tga.tga", save(base, "TGA"), "TGA", expected=base)
    t.write(d + "ico.ico", save(base, "ICO", sizes=[(W, H)]), "ICO",
            expected=base)


def layout_splits(t):
    good = save(base_rgb(), "JPEG", quality=90)
    for cls in ("B_upper", "a_lower", "Zebra", "_underscore", "10_ten",
                "9_nine", "caf\u00e9", ".ipynb_checkpoints"):
        t.write("layout/%s/img.jpg" % cls, good, "jpeg in class %s" % cls)
    t.write("layout/nested/sub/deeper/img.jpg", good,
            "jpeg two folders below its class folder")
    t.write("layout/root_file.jpg", good, "jpeg at the split root")
    t.write("layout/notes.txt", b"a note\n", "text at the split root")
    t.symlink("layout/link_to_a_lower", "a_lower",
              "symlink to a class folder")
    t.write("empty_class/a/img.jpg", good, "jpeg")
    t.mkdir("empty_class/b_empty", "class folder with no file")
    t.write("webp_only/a/img.jpg", good, "jpeg")
    t.write("webp_only/b_webp/img.webp", save(base_rgb(), "WEBP",
                                              quality=90),
            "the only file of its class is a webp")
    t.write("gif_only/a/img.jpg", good, "jpeg")
    t.write("gif_only/b_gif/img.gif", save(base_rgb().quantize(64), "GIF"),
            "the only file of its class is a gif")
    t.write("no_classes/img.jpg", good, "jpeg at the split root")
    t.write("symlink_loop/a/img.jpg", good, "jpeg")
    t.symlink("symlink_loop/a/loop", ".", "symlink to its own folder")
    for cls in ("cat", "dog", "fox"):
        t.write("renumber_train/%s/img.jpg" % cls, good, "jpeg")
    for cls in ("cat", "fox"):
        t.write("renumber_test/%s/img.jpg" % cls, good,
                "jpeg (no dog in test)")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    t = Tree(root)
    jpeg_files(t)
    naming_files(t)
    png_files(t)
    bomb_files(t)
    webp_files(t)
    tiff_files(t)
    bmp_files(t)
    pnm_files(t)
    gif_files(t)
    other_files(t)
    layout_splits(t)
    t.close()
    print("%d fixtures in %s" % (len(t.manifest), root))


if __name__ == "__main__":
    main()
