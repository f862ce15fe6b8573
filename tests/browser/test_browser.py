#!/usr/bin/env python3
"""The HTML reports in a real browser: headless Chromium over CDP.

    test_browser.py IMGAUDIT COMPARE_HTML CHROMIUM OUTDIR

For each report of the fixture datasets (the hostile dataset of
tests/integration/htmlcheck.py, fixtures/sample, fixtures/cases, and the
compare page of the sample against a changed copy with hostile names,
made by `imgaudit compare --format html` or, while the CLI lacks it, by
COMPARE_HTML with the same renderer) the page is loaded from
a file: URL and must show no console error, make no network request
(data: images aside), open no dialog, have every expected section, and
display every thumbnail (decoded by the browser: naturalWidth > 0). The
hostile names must be in the DOM as text and no element may carry an
event handler. A screenshot of each page is saved to OUTDIR.

The checks must be able to fail, so a canary page that does everything
forbidden (alert, a fetch, console.error) is loaded first and must trip
every detector; and the hostile report is loaded twice more: without its
Content-Security-Policy (escaping alone must hold) and with the hostile
name injected raw (the CSP alone must stop it, and say so in the console).

Exit 77 (skipped) when Chromium is missing, 1 when IA_REQUIRE_BROWSER is
set (CI). Standard library only.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import cdp  # noqa: E402
import htmlcheck  # noqa: E402
from htmlcheck import HOSTILE_LABEL, HOSTILE_NAME, HOSTILE_SCAN  # noqa

SKIP = 77
SHOT_HEIGHT = 2400   # screenshots: the top of each page

# What the page reports about itself, as JSON.
PROBE = r"""
(() => {
  const imgs = [...document.images];
  return JSON.stringify({
    title: document.title,
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    external: imgs.filter(i => !i.src.startsWith('data:')).length,
    handlers: document.querySelectorAll(
      '[onerror],[onload],[onmouseover],[onclick]').length,
    scripts: document.scripts.length,
    text: document.body.textContent,
  });
})()
"""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed += 1
            print("FAIL " + what + (": " + str(detail)[:600] if detail else ""))
        sys.stdout.flush()
        return ok


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(args[:2]),
                                                r.returncode, r.stderr))
    return r


def load(browser, path):
    page = browser.new_page(1280, 900)
    page.goto("file://" + path)
    probe = json.loads(page.evaluate(PROBE))
    others = [u for u in page.requests
              if not u.startswith("data:") and u != "file://" + path]
    return page, probe, others


def check_canary(c, browser, tmp):
    path = os.path.join(tmp, "canary.html")
    with open(path, "w") as f:
        f.write("<!DOCTYPE html><title>canary</title>"
                "<img src=\"x\" onerror=\"alert(1)\" alt=\"x\">"
                "<script>console.error('canary')</script>")
    page, _, others = load(browser, path)
    c.check(page.dialogs == ["1"], "canary: a dialog is detected",
            page.dialogs)
    c.check(any(u.endswith("/x") for u in others),
            "canary: a request is detected", others)
    c.check(any("canary" in e for e in page.console_errors),
            "canary: a console error is detected", page.console_errors)


def check_report(c, browser, path, label, outdir, sections):
    page, probe, others = load(browser, path)
    c.check(not page.console_errors, label + ": no console errors",
            page.console_errors)
    c.check(not others, label + ": no network requests", others)
    c.check(not page.dialogs, label + ": no dialog", page.dialogs)
    missing = [s for s in sections if s not in probe["ids"]]
    c.check(not missing, label + ": expected sections", missing)
    c.check(probe["images"] > 0 and probe["broken"] == 0 and
            probe["external"] == 0,
            label + ": %d thumbnails, all decoded by the browser"
            % probe["images"], probe)
    c.check(probe["handlers"] == 0 and probe["scripts"] == 0,
            label + ": no script, no event handler", probe)
    shot = os.path.join(outdir, label + ".png")
    page.screenshot(shot, SHOT_HEIGHT)
    c.check(os.path.getsize(shot) > 10000, label + ": screenshot " + shot)
    return page, probe


def check_hostile(c, browser, exe, tmp, outdir):
    ds = htmlcheck.make_hostile_dataset(os.path.join(tmp, "hostile"))
    db = os.path.join(tmp, "hostile.db")
    run([exe, "scan", ds, "--db", db, "-q", "--name", HOSTILE_SCAN])
    html_path = os.path.join(tmp, "hostile.html")
    run([exe, "report", "--db", db, "--format", "html", "-o", html_path])
    _, probe = check_report(c, browser, html_path, "hostile", outdir,
                            htmlcheck.SECTIONS)
    for what, s in (("file name", HOSTILE_NAME), ("label", HOSTILE_LABEL),
                    ("scan name", HOSTILE_SCAN)):
        c.check(s in probe["text"], "hostile: %s is text in the DOM" % what)
    c.check(probe["title"] == "imgaudit report: " + HOSTILE_SCAN,
            "hostile: title is the literal scan name", probe["title"])

    with open(html_path, encoding="utf-8") as f:
        html = f.read()
    # Wall 1 alone: escaping, without the CSP.
    no_csp = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "",
                    html)
    c.check(no_csp != html, "hostile: CSP removed for the escaping test")
    path = os.path.join(tmp, "hostile-nocsp.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(no_csp)
    page, probe, others = load(browser, path)
    c.check(not page.dialogs and not page.console_errors and not others and
            probe["handlers"] == 0 and HOSTILE_NAME in probe["text"],
            "hostile without CSP: escaping alone keeps the names inert",
            (page.dialogs, page.console_errors, others))

    # Wall 2 alone: the CSP stops markup that escaped the escaping.
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    raw = html.replace(escaped, "<img src=x onerror=alert(1)>", 1)
    c.check(raw != html, "hostile: raw markup injected for the CSP test")
    path = os.path.join(tmp, "hostile-raw.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(raw)
    page, probe, others = load(browser, path)
    c.check(not page.dialogs, "injected markup with CSP: no dialog",
            page.dialogs)
    c.check(others and all((u, "csp") in page.blocked for u in others),
            "injected markup with CSP: its request is blocked by the CSP",
            (others, page.blocked))
    c.check(any("Content Security Policy" in e for e in page.console_errors),
            "injected markup with CSP: the browser reports the refusal",
            page.console_errors)


def check_fixture(c, browser, exe, tmp, outdir, name, folder):
    db = os.path.join(tmp, name + ".db")
    run([exe, "scan", folder, "--db", db, "-q", "--name",
         "base" if name == "sample" else name])
    path = os.path.join(tmp, name + ".html")
    run([exe, "report", "--db", db, "--format", "html", "-o", path])
    check_report(c, browser, path, name, outdir, htmlcheck.SECTIONS)
    return db


def check_compare(c, browser, exe, tool, tmp, outdir, base_db):
    ds = os.path.join(tmp, "variant")
    htmlcheck.make_variant_dataset(ds)
    new_db = os.path.join(tmp, "variant.db")
    run([exe, "scan", ds, "--db", new_db, "-q", "--name", HOSTILE_SCAN])
    path = os.path.join(tmp, "compare.html")
    r = subprocess.run([exe, "compare", "--help"], capture_output=True,
                       text=True)
    if r.returncode == 0 and "html" in r.stdout:
        args = [exe, "compare", base_db, new_db, "--format", "html",
                "--fail-on", "never", "-o", path]
    else:
        print("note: imgaudit compare has no --format html yet: the page "
              "is made by compare_html (same renderer)")
        args = [tool, base_db, new_db, path]
    r = subprocess.run(args, capture_output=True, text=True)
    if not c.check(r.returncode == 0, "compare: page written",
                   r.stderr[-1500:]):
        return
    _, probe = check_report(c, browser, path, "compare", outdir,
                            htmlcheck.COMPARE_SECTIONS)
    c.check(HOSTILE_NAME in probe["text"] and HOSTILE_LABEL in probe["text"]
            and probe["title"] == "imgaudit compare: base \u2192 " +
            HOSTILE_SCAN, "compare: hostile names are text in the DOM",
            probe["title"])


# Duplicate and leak cards: where they are and how tall (issue 19).
MEASURE = r"""
(() => {
  const h = id => {
    const e = document.getElementById(id);
    return e ? e.getBoundingClientRect().height : 0;
  };
  const paths = [...document.querySelectorAll(
    '#duplicates .path, #leaks .path')].map(e => e.textContent);
  return JSON.stringify({
    sections: h('duplicates') + h('leaks'),
    page: document.documentElement.scrollHeight,
    cards: document.querySelectorAll('#duplicates .group, #leaks .group')
      .length,
    paths: paths,
  });
})()
"""
LEAKS = 20
MAX_PX_PER_LEAK = 110   # one full-width box per pair was ~350 px


def check_leak_cards(c, browser, exe, tmp, outdir):
    """20 train images copied into test: 20 leaks, each shown once, in
    compact cards several to a row (a page of 14,000 px before)."""
    ds = os.path.join(tmp, "leaky")
    shutil.copytree(os.path.join(htmlcheck.SAMPLE_DIR, "train"),
                    os.path.join(ds, "train"))
    leaked = []
    for label in sorted(os.listdir(os.path.join(ds, "train"))):
        os.makedirs(os.path.join(ds, "test", label))
        for name in sorted(os.listdir(os.path.join(ds, "train", label))):
            if (len(leaked) < LEAKS and name.endswith(".jpg") and
                    not name.startswith(".")):
                shutil.copy(os.path.join(ds, "train", label, name),
                            os.path.join(ds, "test", label, "copy-" + name))
                leaked.append("test/%s/copy-%s" % (label, name))
    db = os.path.join(tmp, "leaky.db")
    subprocess.run([exe, "scan", ds, "--db", db, "-q"], capture_output=True)
    path = os.path.join(tmp, "leaky.html")
    run([exe, "report", "--db", db, "--format", "html", "-o", path])
    page, _ = check_report(c, browser, path, "leaky", outdir,
                           htmlcheck.SECTIONS)
    m = json.loads(page.evaluate(MEASURE))
    per = m["sections"] / len(leaked)
    c.check(len(leaked) == LEAKS and per <= MAX_PX_PER_LEAK,
            "leaky: %d leaks take %.0f px each (at most %d; page %d px, "
            "%d cards)" % (len(leaked), per, MAX_PX_PER_LEAK, m["page"],
                           m["cards"]))
    twice = [p for p in leaked
             if sum(1 for q in m["paths"] if q.replace("\u200b", "") == p)
             != 1]
    c.check(not twice, "leaky: each leaked file is shown once", twice[:5])


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    exe, tool = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    chromium, outdir = sys.argv[3], os.path.abspath(sys.argv[4])
    chromium = shutil.which(chromium) or chromium
    if not os.access(chromium, os.X_OK):
        print("SKIP: Chromium not found at %r: install Debian's chromium "
              "package (.ci/run does)" % chromium)
        # CI sets IA_REQUIRE_BROWSER: there a missing browser fails.
        return 1 if os.environ.get("IA_REQUIRE_BROWSER") else SKIP
    os.makedirs(outdir, exist_ok=True)
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="imgaudit-browser-") as tmp, \
            cdp.Browser(chromium) as browser:
        check_canary(c, browser, tmp)
        check_hostile(c, browser, exe, tmp, outdir)
        sample_db = check_fixture(c, browser, exe, tmp, outdir, "sample",
                                  htmlcheck.SAMPLE_DIR)
        check_fixture(c, browser, exe, tmp, outdir, "cases",
                      htmlcheck.CASES_DIR)
        check_compare(c, browser, exe, tool, tmp, outdir, sample_db)
        check_leak_cards(c, browser, exe, tmp, outdir)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
