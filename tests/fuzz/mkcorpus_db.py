#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_db (tests/fuzz/corpus/db/): one input per
kind of hostile DB, spelled in the target's little language (fuzz_db.c):

    flags byte, then operations until the end:
      SET      0 table column value row     a column of a row := value
      DELETE   1 table column row           a row deleted
      RELINK   2 link hi lo row             an id column := hi * 256 + lo
      SWAP     3 from to                    a schema text := another's

    value: 0 NULL | 1 int8 | 2 int64 (8 bytes) | 3 extreme (odd: max)
           | 4 real (8 bytes) | 5 len bytes... sel (odd: blob, even: text)
           | 8 word (fuzz_db.c's words[])

Tables and columns are numbered as the target finds them: tables by name,
columns in schema order.

    python3 tests/fuzz/mkcorpus_db.py tests/fuzz/corpus/db
"""
import os
import struct
import sys

TABLES = ["class_index", "dup_group", "dup_member", "file", "finding",
          "leak", "scan", "stat_group", "stat_metric"]
COLS = {
    "scan": ["id", "name", "root", "layout", "options", "tool_version",
             "started_at", "finished_at", "complete", "files", "decoded",
             "bytes", "pixels", "shard_k", "shard_n", "same_as"],
    "file": ["id", "scan_id", "path", "split", "split_canonical", "label",
             "outside_class", "size", "mtime_ns", "sha256", "format",
             "ext_format", "status", "message", "width", "height"],
    "finding": ["id", "scan_id", "file_id", "path", "code", "severity",
                "detail", "stage"],
    "dup_group": ["id", "scan_id", "kind", "size"],
    "dup_member": ["group_id", "file_id", "position", "distance"],
    "leak": ["id", "scan_id", "group_id", "kind", "a_file_id", "b_file_id",
             "distance"],
    "class_index": ["scan_id", "split", "label", "idx"],
    "stat_group": ["scan_id", "split", "label", "files", "images"],
}
KEEP_ALTERED, MERGE, REUSE, TRUST_MTIME, RESUME, FOLLOW = 1, 2, 4, 8, 16, 32
HEAVY = MERGE | REUSE | RESUME | FOLLOW


def null():
    return bytes([0])


def int8(v):
    return bytes([1, v & 255])


def int64(v):
    return bytes([2]) + struct.pack(">q", v)


def real(v):
    return bytes([4]) + struct.pack(">d", v)


def text(b, blob=False):
    return bytes([5, len(b)]) + b + bytes([1 if blob else 0])


def set_(table, col, value, row=0):
    return (bytes([0, TABLES.index(table), COLS[table].index(col)]) +
            value + bytes([row]))


def delete(table, row=0):
    return bytes([1, TABLES.index(table), 0, row])


def relink(link, target, row=0):
    return bytes([2, link, target >> 8, target & 255, row])


def swap(a, b):
    return bytes([3, a, b])


EVIL = b"\x1b[2J\x1b]0;x\x07<b onmouseover=alert(1)>*_x_*|\xc2\x9b31m\xff"

SEEDS = {
    "intact": bytes([0]),
    "intact-writers": bytes([HEAVY]),
    "intact-trusting": bytes([HEAVY | TRUST_MTIME]),
    "scan-row-nulls": bytes([HEAVY]) + b"".join(
        set_("scan", c, null(), r) for r in (0, 1)
        for c in ("name", "root", "layout", "options", "tool_version",
                  "started_at", "complete", "files")),
    "finding-code-null": bytes([0]) + b"".join(
        set_("finding", "code", null(), r) for r in range(0, 40, 3)),
    "file-nulls": bytes([HEAVY]) + b"".join(
        set_("file", c, null(), r) for r in range(0, 60, 7)
        for c in ("path", "format", "status", "sha256")),
    "evil-strings": bytes([0]) + set_("finding", "code", text(EVIL), 1) +
        set_("finding", "detail", text(EVIL), 2) +
        set_("file", "path", text(EVIL), 3) +
        set_("file", "label", text(EVIL), 4) +
        set_("scan", "name", text(EVIL), 1),
    "out-of-range": bytes([MERGE]) +
        set_("finding", "severity", int8(99), 0) +
        set_("finding", "severity", int8(-5), 1) +
        set_("finding", "severity", text(b"high"), 2) +
        set_("scan", "files", int64(-1), 1) +
        set_("scan", "complete", int8(7), 1) +
        set_("dup_group", "kind", text(b"weird"), 0) +
        set_("leak", "kind", text(b"\xff", blob=True), 0) +
        set_("leak", "distance", real(float("inf")), 0) +
        set_("dup_member", "position", int8(-1), 0),
    "wrong-types": bytes([REUSE | TRUST_MTIME]) +
        set_("file", "width", text(b"wide"), 1) +
        set_("file", "height", text(b"\x00\x01", blob=True), 2) +
        set_("file", "sha256", text(b"0123456789abcdef0123456789abcdef"), 3) +
        set_("file", "path", int64(42), 5) +
        set_("finding", "code", text(b"code", blob=True), 3) +
        set_("class_index", "idx", text(b"i"), 0) +
        set_("stat_group", "files", int64(-(1 << 63)), 0),
    "dangling-ids": bytes([HEAVY]) + b"".join(
        relink(k, 60000 + k, k) for k in range(12)) + relink(8, 1, 1),
    "deleted-rows": bytes([HEAVY]) + b"".join(
        delete(t, r) for t in ("file", "dup_group", "scan")
        for r in (0, 2)),
    "resume-incomplete": bytes([RESUME | REUSE]) +
        set_("scan", "complete", int8(0), 1) +
        set_("file", "status", null(), 60) +
        set_("file", "path", null(), 61),
    "kept-altered": bytes([KEEP_ALTERED | HEAVY]) +
        set_("finding", "code", null(), 0),
    "swapped-schema": bytes([HEAVY]) + swap(0, 5) + swap(7, 2),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "db")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
