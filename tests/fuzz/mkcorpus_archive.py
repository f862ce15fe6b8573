#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_archive (tests/fuzz/corpus/archive/):
small archives of every kind the producer reads, sound and broken, so the
fuzzer starts from each format's structures (tar headers, pax records,
gzip and zstd frames, zip local and central headers):

    python3 tests/fuzz/mkcorpus_archive.py tests/fuzz/corpus/archive

Members are tiny (a 1x1 PNG, a JPEG's first bytes, label files) to keep
the corpus small. The .tar.zst seed needs the zstd command.
"""
import gzip
import io
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib


def png():
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\x00\x10\x20\x30")) +
            chunk(b"IEND", b""))


JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def tar(members, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data, *kind in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind:
                ti.type, ti.linkname = kind[0], kind[1] if len(kind) > 1 else ""
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def zipped(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, (2023, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    wds = [("000001.cls", b"3"), ("000001.png", png()),
           ("000002.png", png()), ("000002.json", b'{"label": "cat"}'),
           ("000003.jpg", JPEG_HEAD), ("000003.png", png()),
           ("000004.txt", b"caption"), ("000001.label", b"x"),
           ("000005.png", png()), ("000005.png", png()),
           ("../up.png", png()), ("/abs.png", png()), ("./d/", None,
                                                        tarfile.DIRTYPE),
           ("d/6.png", png()), ("ln", None, tarfile.SYMTYPE, "../x"),
           ("hl", None, tarfile.LNKTYPE, "d/6.png"),
           ("p", None, tarfile.FIFOTYPE), ("e.png", b""),
           ("n.zip", zipped([("a.png", png())]))]
    seeds = {
        "webdataset.tar": tar(wds),
        "gnu.tar": tar([("a.png", png()), ("b" * 120 + ".png", png())],
                       tarfile.GNU_FORMAT),
        "ustar.tar.gz": gzip.compress(tar([("a.png", png()),
                                           ("a.cls", b"1")],
                                          tarfile.USTAR_FORMAT), mtime=0),
        "folders.zip": zipped([("train/cat/1.png", png()),
                               ("train/cat/1.jpg", JPEG_HEAD),
                               ("README.txt", b"hi")]),
    }
    t = tar(wds[:6])
    seeds["truncated.tar"] = t[:len(t) // 2]
    z = bytearray(seeds["folders.zip"])
    z[z.find(b"PK\x03\x04") + 14] ^= 1          # a CRC that does not match
    seeds["bad-crc.zip"] = bytes(z)
    if shutil.which("zstd"):
        seeds["plain.tar.zst"] = subprocess.run(
            ["zstd", "-q", "-c"], input=tar(wds[:4]), check=True,
            stdout=subprocess.PIPE).stdout
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
