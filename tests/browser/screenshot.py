#!/usr/bin/env python3
"""Makes the README's screenshot of an HTML report.

    screenshot.py IMGAUDIT DATASET OUT.png [HEIGHT]

Scans DATASET into a temporary DB, writes its HTML report and saves a
1280-pixel-wide screenshot of the top HEIGHT pixels of the page (default
1800) taken by headless Chromium (cdp.py). docs/reports.md says how the
committed docs/report-clothing-small.png was made with it.
"""
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402


def main():
    if len(sys.argv) not in (4, 5):
        raise SystemExit(__doc__)
    exe, dataset, out = sys.argv[1:4]
    height = int(sys.argv[4]) if len(sys.argv) == 5 else 1800
    with tempfile.TemporaryDirectory(prefix="imgaudit-shot-") as tmp:
        db = os.path.join(tmp, "scan.db")
        page = os.path.join(tmp, "report.html")
        subprocess.run([exe, "scan", dataset, "--db", db, "-q"], check=True)
        subprocess.run([exe, "report", "--db", db, "--format", "html",
                        "-o", page], check=True)
        with cdp.Browser("/usr/bin/chromium") as b:
            p = b.new_page(1280, 900)
            p.goto("file://" + page)
            if p.console_errors or p.dialogs:
                raise SystemExit("the page misbehaved: %s %s"
                                 % (p.console_errors, p.dialogs))
            p.screenshot(os.path.abspath(out), height)
    print("wrote", out)


if __name__ == "__main__":
    main()
