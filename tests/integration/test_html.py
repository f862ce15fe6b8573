#!/usr/bin/env python3
"""Integration test of the HTML and Markdown reports, without a browser.

    test_html.py IMGAUDIT COMPARE_HTML

1. The hostile dataset (htmlcheck.py: the sample plus files and a label
   folder named with HTML metacharacters, scanned under a hostile scan
   name) and the fixture cases are scanned; `report --format html -o`
   writes each page atomically (no temporary file left, mode 0644 under
   umask 022).
2. Structure, as parsed by html.parser: balanced tags, every <img> with
   alt text and a whole inline JPEG, no script and nothing outside the
   page, every section present, the hostile names shown as text only.
3. Content: the planted problems appear in their galleries, duplicate
   groups and leaks with thumbnails; a file deleted after the scan gets a
   placeholder and the report still succeeds. Files changed after the
   scan (docs/security.md, "Thumbnails in HTML reports"): one replaced by
   a symlink to a JPEG outside the dataset, one whose bytes changed (same
   size): each gets its placeholder ("now a symlink", "changed since the
   scan") and no thumbnail of bytes the scan did not read is embedded.
4. The same DB and files give the same bytes; the DB is not modified;
   a report to an unwritable place fails with exit 1 and leaves nothing.
5. Markdown: verdict, top findings with counts, labels per split, links
   with percent-encoded relative paths, hostile names escaped.
6. The compare page of the sample against a changed copy (hostile files
   added, files removed, modified, moved, relabelled): the same structure
   checks, every section, each change shown with thumbnails; then, as in
   3, a shown file of the new scan replaced by a symlink and another
   rewritten get their placeholders. It is made with `imgaudit compare
   --format html` when the CLI offers it, else with COMPARE_HTML
   (tests/browser/compare_html.c, the same renderer).

Standard library only. One line per check, then "N passed, N failed".
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iatest import Checks  # noqa: E402
import htmlcheck  # noqa: E402
from htmlcheck import HOSTILE_LABEL, HOSTILE_NAME, HOSTILE_SCAN  # noqa

# A report of the sample stays far below this (bytes): it shows about a
# dozen thumbnails of ~4 KB each.
SAMPLE_MAX_BYTES = 200_000


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def scan(exe, folder, db, name=None):
    args = [exe, "scan", folder, "--db", db, "-q", "-j", "2"]
    if name:
        args += ["--name", name]
    r = run(args)
    if r.returncode != 0:
        raise SystemExit("scan of %s failed (%d): %s" % (folder, r.returncode,
                                                         r.stderr))


def figures_of(page, code):
    return [f for f in page.figures if f["code"] == code]


def check_page(c, html, label):
    problems, page = htmlcheck.structure_problems(html)
    c.check(not problems, label + ": structure (tags, alt, no external "
            "reference)", problems[:5])
    missing = [s for s in htmlcheck.SECTIONS if s not in page.ids]
    c.check(not missing, label + ": every section present", missing)
    return page


def check_hostile(c, exe, tmp):
    ds = htmlcheck.make_hostile_dataset(os.path.join(tmp, "hostile"))
    db = os.path.join(tmp, "hostile.db")
    scan(exe, ds, db, HOSTILE_SCAN)
    out_dir = os.path.join(tmp, "out")
    os.makedirs(out_dir)
    out = os.path.join(out_dir, "report.html")
    db_hash = sha256(db)
    old_umask = os.umask(0o022)
    r = run([exe, "report", "--db", db, "--format", "html", "-o", out])
    os.umask(old_umask)
    c.check(r.returncode == 0, "hostile: report exits 0", r.stderr)
    c.check(r.stdout == "" and r.stderr == "",
            "hostile: nothing on stdout or stderr with -o (not a terminal)",
            (r.stdout[:100], r.stderr[:200]))
    c.check(os.listdir(out_dir) == ["report.html"],
            "hostile: no temporary file left", os.listdir(out_dir))
    c.check(os.stat(out).st_mode & 0o777 == 0o644,
            "hostile: report mode 0644 under umask 022",
            oct(os.stat(out).st_mode & 0o777))
    with open(out, encoding="utf-8") as f:
        html = f.read()
    page = check_page(c, html, "hostile")

    # The names are in the page as text, never as markup.
    text = page.all_text()
    c.check(HOSTILE_NAME in text, "hostile: file name shown as text")
    c.check(HOSTILE_LABEL in text, "hostile: label shown as text")
    c.check(HOSTILE_SCAN in text and HOSTILE_SCAN in page.title,
            "hostile: scan name shown as text (heading and title)")
    c.check(page.tags["img"] == len(page.imgs) and
            all(a.get("src", "").startswith("data:") for a in page.imgs),
            "hostile: no <img src=x> element")
    c.check("<img src=x" not in html and "<b onmouseover" not in html and
            "<script" not in html, "hostile: no raw hostile markup in the "
            "bytes")

    # Planted problems, with thumbnails.
    relabelled = "train/" + HOSTILE_LABEL + "/" + HOSTILE_NAME
    conflict = [f for f in figures_of(page, "label_conflict")
                if f["path"] == "train/cat/cat_001.jpg"]
    c.check(len(conflict) == 1 and conflict[0]["img"] is not None and
            relabelled in "".join(conflict[0]["note"]),
            "hostile: label_conflict gallery names the relabelled copy",
            figures_of(page, "label_conflict"))
    copies = [f for f in page.figures if f["path"] == relabelled]
    c.check(copies and all(f["img"] is not None and f["img"].get("alt") ==
                           "thumbnail of " + relabelled for f in copies),
            "hostile: the relabelled copy shown in its duplicate group, "
            "alt text naming it", copies)
    trunc = {f["path"]: f for f in figures_of(page, "truncated")}
    c.check(set(trunc) == {"train/dog/dog_007.jpg",
                           "train/cat/" + HOSTILE_NAME},
            "hostile: truncated gallery holds both truncated files",
            sorted(trunc))
    c.check(all(f["img"] is not None for f in trunc.values()),
            "hostile: truncated files have (partial) thumbnails")
    dup_paths = {f["path"] for f in page.figures if f["code"] is None}
    c.check({"train/cat/cat_004.jpg", "test/cat/cat_030.jpg",
             "train/cat/cat_001.jpg"} <= dup_paths,
            "hostile: duplicate group and leak shown as thumbnails",
            sorted(dup_paths))
    nonimg = figures_of(page, "not_image")
    c.check(len(nonimg) == 2 and all(f["img"] is None and
                                     f["ph"] == "not JPEG or PNG"
                                     for f in nonimg),
            "hostile: not_image files get a placeholder", nonimg)
    c.check(page.all_text().count("Fail") >= 1 and
            "v-fail" in html, "hostile: verdict banner says Fail")

    # Same inputs, same bytes; the DB untouched.
    out2 = os.path.join(tmp, "report2.html")
    r = run([exe, "report", "--db", db, "--format", "html", "-o", out2])
    c.check(r.returncode == 0 and sha256(out) == sha256(out2),
            "hostile: a second report is byte-identical")
    c.check(sha256(db) == db_hash, "hostile: the DB is not modified")
    r = run([exe, "report", "--db", db, "--format", "html"])
    c.check(r.returncode == 0 and r.stdout == html,
            "hostile: stdout gets the same page")

    # A file gone since the scan: placeholder, success.
    os.remove(os.path.join(ds, "train/dog/dog_007.jpg"))
    out3 = os.path.join(tmp, "report3.html")
    r = run([exe, "report", "--db", db, "--format", "html", "-o", out3])
    c.check(r.returncode == 0, "missing file: report exits 0", r.stderr)
    with open(out3, encoding="utf-8") as f:
        p3 = htmlcheck.parse(f.read())
    gone = [f for f in p3.figures if f["path"] == "train/dog/dog_007.jpg"]
    c.check(gone and all(f["ph"] == "file missing" and f["img"] is None
                         for f in gone),
            "missing file: placeholder 'file missing'", gone)

    # A FIFO where an image was: refused without blocking the report.
    os.mkfifo(os.path.join(ds, "train/dog/dog_007.jpg"))
    r = run([exe, "report", "--db", db, "--format", "html", "-o", out3],
            timeout=60)
    with open(out3, encoding="utf-8") as f:
        p3 = htmlcheck.parse(f.read())
    fifo = [f for f in p3.figures if f["path"] == "train/dog/dog_007.jpg"]
    c.check(r.returncode == 0 and fifo and
            all(f["ph"] == "unreadable" for f in fifo),
            "FIFO in place of a file: placeholder 'unreadable', no hang",
            fifo)

    # Unwritable destination: exit 1, nothing written.
    bad = os.path.join(tmp, "no", "such", "dir", "r.html")
    r = run([exe, "report", "--db", db, "--format", "html", "-o", bad])
    c.check(r.returncode == 1 and not os.path.exists(os.path.dirname(bad)),
            "unwritable -o: exit 1, nothing created",
            (r.returncode, r.stderr))

    check_markdown(c, exe, db)


def thumbs_of(page):
    return {a.get("src") for a in page.imgs}


def html_page(c, exe, db, out, what):
    r = run([exe, "report", "--db", db, "--format", "html", "-o", out])
    c.check(r.returncode == 0, what + ": report exits 0", r.stderr)
    with open(out, encoding="utf-8") as f:
        return htmlcheck.parse(f.read())


def sample_not_shown(page):
    """A sample image no figure of page shows: the JPEG put outside the
    dataset, whose thumbnail is none of the page's."""
    shown = {f["path"] for f in page.figures}
    for folder, _, names in sorted(os.walk(htmlcheck.SAMPLE_DIR)):
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(folder, n), htmlcheck.SAMPLE_DIR)
            if n.endswith(".jpg") and rel not in shown:
                return os.path.join(folder, n)
    raise SystemExit("every sample image is shown")


def tamper(ds, link_rel, changed_rel, outside):
    """link_rel becomes a symlink to outside; changed_rel keeps its size,
    32 bytes in its middle zeroed (still a JPEG, other pixels)."""
    os.remove(os.path.join(ds, link_rel))
    os.symlink(outside, os.path.join(ds, link_rel))
    path = os.path.join(ds, changed_rel)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    mid = len(data) // 2
    data[mid:mid + 32] = bytes(32)
    with open(path, "wb") as f:
        f.write(data)


def check_tampered(c, page, before, link_rel, changed_rel, what):
    for rel, ph in ((link_rel, "now a symlink"),
                    (changed_rel, "changed since the scan")):
        figs = [f for f in page.figures if f["path"] == rel]
        c.check(figs and all(f["img"] is None and f["ph"] == ph
                             for f in figs),
                "%s: %s gets the placeholder '%s'" % (what, rel, ph),
                figs)
    c.check(thumbs_of(page) <= thumbs_of(before),
            what + ": no thumbnail of bytes the scan did not read",
            len(thumbs_of(page) - thumbs_of(before)))


def check_replaced(c, exe, tmp):
    ds = htmlcheck.make_hostile_dataset(os.path.join(tmp, "replaced"))
    db = os.path.join(tmp, "replaced.db")
    scan(exe, ds, db)
    before = html_page(c, exe, db, os.path.join(tmp, "replaced1.html"),
                       "files changed after the scan")
    shown = sorted({f["path"] for f in before.figures
                    if f["img"] is not None and os.path.isfile(
                        os.path.join(ds, f["path"]))})
    outside = os.path.join(tmp, "outside.jpg")
    with open(sample_not_shown(before), "rb") as f, open(outside, "wb") as g:
        g.write(f.read())
    tamper(ds, shown[0], shown[1], outside)
    after = html_page(c, exe, db, os.path.join(tmp, "replaced2.html"),
                      "files changed after the scan")
    check_tampered(c, after, before, shown[0], shown[1],
                   "files changed after the scan")


def check_markdown(c, exe, db):
    r = run([exe, "report", "--db", db, "--format", "md"])
    md = r.stdout
    c.check(r.returncode == 0, "md: exits 0", r.stderr)
    c.check("**Verdict: fail**" in md, "md: verdict line")
    m = re.search(r"^\| error \| truncated \| (\d+) \| (.*) \|$", md, re.M)
    c.check(m is not None and m.group(1) == "2",
            "md: top findings row for truncated with its count",
            m.group(0) if m else md[:400])
    c.check("### Labels per split" in md and
            re.search(r"^\| cat \| 5 \| 20 \| 5 \|$", md, re.M) and
            "| \\<b onmouseover=alert(2)\\>&\"x' | 0 | 1 | 0 |" in md,
            "md: labels per split table (train has the hostile copy)")
    # Paths are code spans, never links (a job summary is not beside the
    # dataset): the hostile name is inert inside one.
    code = "`train/cat/<img src=x onerror=alert(1)>.jpg`"
    c.check(code in md, "md: hostile path as a code span",
            [l for l in md.splitlines() if "truncated" in l])
    c.check("](" not in md, "md: no links at all")
    raw = [l for l in md.splitlines()
           if re.search(r"(?<!\\)<", re.sub(r"`[^`]*`", "", l))]
    c.check(not raw, "md: no unescaped '<' outside code spans", raw[:3])
    c.check("![" not in md, "md: links, not images")


def check_cases(c, exe, tmp):
    db = os.path.join(tmp, "cases.db")
    scan(exe, htmlcheck.CASES_DIR, db)
    out = os.path.join(tmp, "cases.html")
    r = run([exe, "report", "--db", db, "--format", "html", "-o", out])
    c.check(r.returncode == 0, "cases: report exits 0", r.stderr)
    with open(out, encoding="utf-8") as f:
        html = f.read()
    page = check_page(c, html, "cases")
    by_path = {f["path"]: f for f in page.figures}
    for path, want in [
            ("test/png/too_large_60000x60000.png", "too large"),
            ("test/other/empty.jpg", "not JPEG or PNG"),
            ("test/other/notes.jpg", "not JPEG or PNG")]:
        f = by_path.get(path)
        c.check(f is not None and f["ph"] == want,
                "cases: %s placeholder '%s'" % (path, want),
                f and f["ph"])
    for path in ["test/jpeg/truncated_50pct.jpg",
                 "test/png/truncated_in_idat.png"]:
        f = by_path.get(path)
        c.check(f is not None and f["img"] is not None,
                "cases: %s has a partial thumbnail" % path, f)


def check_progress(c, exe, tmp):
    """On a terminal, a progress line while thumbnails are made, erased at
    the end (stderr a pty)."""
    db = os.path.join(tmp, "sample.db")
    master, slave = os.openpty()
    r = subprocess.run([exe, "report", "--db", db, "--format", "html", "-o",
                        os.path.join(tmp, "tty.html")],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=slave)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    m = re.findall(rb"\rthumbnails (\d+)/(\d+) ", data)
    c.check(r.returncode == 0 and m and m[-1][0] == m[-1][1] and
            data.endswith(b"\r\x1b[K"),
            "progress: 'thumbnails N/M' on a terminal, erased at the end",
            data[-80:])


def check_sample_size(c, exe, tmp):
    db = os.path.join(tmp, "sample.db")
    scan(exe, htmlcheck.SAMPLE_DIR, db)
    out = os.path.join(tmp, "sample.html")
    r = run([exe, "report", "--db", db, "--format", "html", "-o", out])
    size = os.path.getsize(out) if os.path.exists(out) else -1
    c.check(r.returncode == 0 and 0 < size < SAMPLE_MAX_BYTES,
            "sample: report of %d bytes (< %d)" % (size, SAMPLE_MAX_BYTES))


def compare_page(exe, tool, base_db, new_db, out):
    """Writes the compare page; returns how ("cli" or "tool")."""
    r = run([exe, "compare", "--help"])
    if r.returncode == 0 and "html" in r.stdout:
        r = run([exe, "compare", base_db, new_db, "--format", "html",
                 "--fail-on", "never", "-o", out])
        how = "cli"
    else:
        r = run([tool, base_db, new_db, out])
        how = "tool"
    return how, r


def check_compare(c, exe, tool, tmp):
    base_db = os.path.join(tmp, "cmp-base.db")
    scan(exe, htmlcheck.SAMPLE_DIR, base_db, "base")
    ds = os.path.join(tmp, "variant")
    changes = htmlcheck.make_variant_dataset(ds)
    new_db = os.path.join(tmp, "cmp-new.db")
    scan(exe, ds, new_db, HOSTILE_SCAN)
    out = os.path.join(tmp, "compare.html")
    how, r = compare_page(exe, tool, base_db, new_db, out)
    if not c.check(r.returncode == 0, "compare (%s): page written" % how,
                   r.stderr[-2000:]):
        return
    with open(out, encoding="utf-8") as f:
        html = f.read()
    problems, page = htmlcheck.structure_problems(html)
    c.check(not problems, "compare (%s): structure" % how, problems[:5])
    missing = [s for s in htmlcheck.COMPARE_SECTIONS if s not in page.ids]
    c.check(not missing, "compare: every section present", missing)
    c.check(HOSTILE_SCAN in page.title and HOSTILE_NAME in page.all_text()
            and "<img src=x" not in html and "<script" not in html,
            "compare: hostile names shown as text only")
    shown = {}
    for f in page.figures:
        shown.setdefault(f["code"], []).append(f)
    added = {f["path"] for f in shown.get("added", [])}
    c.check(added == set(htmlcheck.HOSTILE_FILES),
            "compare: added files shown", sorted(added))
    removed = shown.get("removed", [])
    c.check([f["path"] for f in removed] == [changes["removed"]] and
            removed[0]["img"] is not None,
            "compare: removed file shown from the base root", removed)
    modified = shown.get("modified", [])
    cards = pair_cards(html)
    c.check(len(modified) == 2 and all(f["img"] is not None and
                                       f["path"] is None
                                       for f in modified) and
            modified[0]["img"]["src"] != modified[1]["img"]["src"] and
            [p for p, _, _ in cards] == [changes["modified"]],
            "compare: modified file as a base | new pair of different "
            "thumbnails, its path once on the card", (modified, cards))
    for kind in ("moved", "relabeled"):
        got = [f["path"] for f in shown.get(kind, [])]
        c.check(got == [changes[kind][1]], "compare: %s file shown" % kind,
                got)
    charts = html.count("<figure class=\"chart")
    c.check(charts >= 3 + 4 and "k1" in html,
            "compare: label charts per split and overlaid histograms "
            "with two series", charts)

    # Files of the new scan changed since: placeholders.
    link_rel = sorted(added)[0]
    changed_rel = changes["moved"][1]
    outside = os.path.join(tmp, "cmp-outside.jpg")
    with open(sample_not_shown(page), "rb") as f, open(outside, "wb") as g:
        g.write(f.read())
    tamper(ds, link_rel, changed_rel, outside)
    out2 = os.path.join(tmp, "compare2.html")
    how, r = compare_page(exe, tool, base_db, new_db, out2)
    if c.check(r.returncode == 0, "compare after changes: page written",
               r.stderr[-2000:]):
        with open(out2, encoding="utf-8") as f:
            after = htmlcheck.parse(f.read())
        check_tampered(c, after, page, link_rel, changed_rel,
                       "compare after changes")


PAIR = re.compile(r'<div class="group pair"><div class="gh">'
                  r'<span class="path">(.*?)</span><br><b class="why">'
                  r'(.*?)</b></div>(.*?)</div>\n</div>', re.S)


def pair_cards(html):
    """The modified pairs of a compare page, in order: (path, reason,
    paths shown in the figures)."""
    return [(p.replace("<wbr>", ""), why,
             re.findall(r'class="path"', rest))
            for p, why, rest in PAIR.findall(html)]


def check_compare_order(c, exe, tool, tmp):
    """13 files re-encoded with other pixels early in path order and one
    truncated late: the truncated file is the first pair, with its
    reason, though the page shows 12 pairs (issue 19)."""
    base_db = os.path.join(tmp, "order-base.db")
    scan(exe, htmlcheck.SAMPLE_DIR, base_db, "base")
    ds = os.path.join(tmp, "order")
    shutil.copytree(htmlcheck.SAMPLE_DIR, ds)
    for i in range(1, 14):
        shutil.copyfile(os.path.join(ds, "train/cat/cat_%03d.jpg" % i),
                        os.path.join(ds, "train/bird/bird_%03d.jpg" % i))
    cut = "train/dog/dog_005.jpg"
    size = os.path.getsize(os.path.join(ds, cut))
    os.truncate(os.path.join(ds, cut), size // 2)
    new_db = os.path.join(tmp, "order-new.db")
    scan(exe, ds, new_db, "order")
    out = os.path.join(tmp, "order.html")
    how, r = compare_page(exe, tool, base_db, new_db, out)
    if not c.check(r.returncode == 0, "order (%s): page written" % how,
                   r.stderr[-2000:]):
        return
    with open(out, encoding="utf-8") as f:
        cards = pair_cards(f.read())
    c.check(len(cards) == 12 and cards[0][0] == cut and
            re.fullmatch("ok \u2192 truncated \\(premature end of JPEG data "
                         "after \\d+ of \\d+ rows\\)", cards[0][1]) and
            all(why.endswith("pixels changed") for _, why, _ in cards[1:]),
            "order: the truncated file first, with its reason, then the "
            "re-encoded ones", cards[:3])
    c.check(cards and all(not paths for _, _, paths in cards),
            "order: each card names its path once (not in the figures)",
            cards[:1])


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    exe, tool = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="imgaudit-html-") as tmp:
        check_hostile(c, exe, tmp)
        check_replaced(c, exe, tmp)
        check_cases(c, exe, tmp)
        check_sample_size(c, exe, tmp)
        check_progress(c, exe, tmp)
        check_compare(c, exe, tool, tmp)
        check_compare_order(c, exe, tool, tmp)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
