#!/usr/bin/env python3
"""Reads valgrind logs of a Python process (scripts/ci-extra.sh) and
fails on what is ours: any memory error (invalid read or write, use of
uninitialised memory, bad free), and any definite leak whose stack passes
through the imgaudit extension or library. CPython and numpy keep memory
at exit; those leaks are not ours to judge.

Usage: valgrind-ours.py LOG...   Exit 1 when something was found.
"""
import re
import sys

OURS = re.compile(r"_imgaudit|libimgaudit|\bia_\w+")


def records(path):
    """Blocks of a log: lines of one error or leak, split at blank ones."""
    block = []
    for line in open(path, errors="replace"):
        text = re.sub(r"^==\d+== ?", "", line.rstrip("\n"))
        if text.strip():
            block.append(text)
        elif block:
            yield block
            block = []
    if block:
        yield block


def main(paths):
    bad = 0
    for path in paths:
        for rec in records(path):
            head = rec[0]
            leak = "definitely lost" in head or "indirectly lost" in head
            if leak and not any(OURS.search(l) for l in rec):
                continue
            if not leak and not re.match(r"(Invalid|Conditional|Use of "
                                         r"uninitialised|Syscall param|"
                                         r"Mismatched|Source and dest)",
                                         head):
                continue
            bad += 1
            print("\n".join(rec[:30]))
            print()
    print(f"valgrind-ours: {bad} finding(s) in {len(paths)} log(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
