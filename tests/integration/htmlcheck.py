"""Shared by the HTML report tests (test_html.py without a browser,
tests/browser/test_browser.py in Chromium): the hostile dataset and a
structure checker for report pages built on Python's html.parser.

Standard library only.
"""
import base64
import collections
import os
import shutil
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE_DIR = os.path.join(SOURCE_ROOT, "fixtures", "sample")
CASES_DIR = os.path.join(SOURCE_ROOT, "fixtures", "cases")

# A file name and a label folder full of HTML metacharacters: if either
# reached a page unescaped, the browser would run alert().
HOSTILE_NAME = "<img src=x onerror=alert(1)>.jpg"
HOSTILE_LABEL = "<b onmouseover=alert(2)>&\"x'"
HOSTILE_SCAN = "<script>alert(3)</script>"
# The hostile files, relative to the dataset root, and what they copy
# from the sample: an exact copy of a cat under another label (a label
# conflict and a duplicate group) and a copy of the truncated dog (a
# truncated finding).
HOSTILE_FILES = {
    "train/" + HOSTILE_LABEL + "/" + HOSTILE_NAME: "train/cat/cat_001.jpg",
    "train/cat/" + HOSTILE_NAME: "train/dog/dog_007.jpg",
}

SECTIONS = ["verdict", "summary", "findings", "labels", "distributions",
            "duplicates", "leaks", "flagged"]
COMPARE_SECTIONS = ["verdict", "summary", "changes", "labels",
                    "distributions", "files"]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}
FORBIDDEN = {"script", "iframe", "frame", "object", "embed", "link", "base",
             "form", "audio", "video", "source", "applet"}
URL_ATTRS = {"src", "href", "action", "formaction", "poster", "data",
             "xlink:href", "srcset", "background", "cite", "longdesc"}


def make_hostile_dataset(dest):
    """Copies the sample dataset to dest and adds the hostile files."""
    shutil.copytree(SAMPLE_DIR, dest)
    for rel, src in HOSTILE_FILES.items():
        path = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copyfile(os.path.join(SAMPLE_DIR, src), path)
    return dest


def make_variant_dataset(dest):
    """The hostile dataset with the changes a compare should see against
    the sample: the hostile files added, one file removed, one modified
    (another image's bytes under its name), one moved to another split,
    one relabelled. Returns what was changed, relative paths."""
    make_hostile_dataset(dest)
    changes = {
        "removed": "train/bird/bird_001.jpg",
        "modified": "train/cat/cat_002.jpg",
        "moved": ("test/dog/dog_026.jpg", "val/dog/dog_026.jpg"),
        "relabeled": ("train/bird/bird_002.jpg", "train/dog/bird_002.jpg"),
    }
    os.remove(os.path.join(dest, changes["removed"]))
    shutil.copyfile(os.path.join(SAMPLE_DIR, "train/cat/cat_003.jpg"),
                    os.path.join(dest, changes["modified"]))
    for old, new in (changes["moved"], changes["relabeled"]):
        os.rename(os.path.join(dest, old), os.path.join(dest, new))
    return changes


class Page(HTMLParser):
    """Parses a report page and records what the checks need."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []           # (tag, attrs dict)
        self.problems = []
        self.tags = collections.Counter()
        self.ids = set()
        self.hrefs = []
        self.imgs = []            # attrs dicts
        self.text = []
        self.figures = []         # {"path", "img", "ph", "code", "note"}
        self.csp = None
        self.title = ""

    # ---- parser callbacks --------------------------------------------

    def _attrs(self, tag, attrs):
        a = {}
        for k, v in attrs:
            v = v or ""
            a[k] = v
            if k.startswith("on"):
                self.problems.append("event handler attribute %s on <%s>"
                                     % (k, tag))
            if k in URL_ATTRS:
                ok = (k == "href" and v.startswith("#")) or (
                    k == "src" and v.startswith("data:image/"))
                if not ok:
                    self.problems.append("external reference %s=%r on <%s>"
                                         % (k, v[:80], tag))
            if k == "style" and ("url(" in v or "@import" in v):
                self.problems.append("url() in a style attribute")
        return a

    def _open(self, tag, a):
        self.tags[tag] += 1
        if tag in FORBIDDEN:
            self.problems.append("forbidden element <%s>" % tag)
        if "id" in a:
            if a["id"] in self.ids:
                self.problems.append("duplicate id %r" % a["id"])
            self.ids.add(a["id"])
        if tag == "a":
            self.hrefs.append(a.get("href", ""))
        if tag == "meta" and a.get("http-equiv", "").lower() == \
                "content-security-policy":
            self.csp = a.get("content", "")
        if tag == "figure" and "th" in a.get("class", "").split():
            self.figures.append({"path": None, "img": None, "ph": None,
                                 "note": [], "code": self._code()})
        if tag == "img":
            self.imgs.append(a)
            if self.figures and self._inside("figure"):
                self.figures[-1]["img"] = a

    def handle_starttag(self, tag, attrs):
        a = self._attrs(tag, attrs)
        self._open(tag, a)
        if tag not in VOID:
            self.stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):
        self._open(tag, self._attrs(tag, attrs))

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append("end tag for void element </%s>" % tag)
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.problems.append("unbalanced </%s> at line %d (open: %s)" % (
                tag, self.getpos()[0],
                self.stack[-1][0] if self.stack else "nothing"))
            return
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "style":
            if "url(" in data or "@import" in data:
                self.problems.append("url() or @import in the style sheet")
            return
        self.text.append(data)
        if not self.stack:
            return
        tag, a = self.stack[-1]
        if tag == "title" and len(self.stack) >= 2 and \
                self.stack[-2][0] == "head":
            self.title += data
        if self.figures and self._inside("figure"):
            cls = a.get("class", "").split()
            f = self.figures[-1]
            if tag == "span" and "path" in cls:
                f["path"] = (f["path"] or "") + data
            elif tag == "div" and "ph" in cls:
                f["ph"] = (f["ph"] or "") + data
            elif tag == "span" and "note" in cls:
                f["note"].append(data)

    # ---- helpers -----------------------------------------------------

    def _inside(self, tag):
        return any(t == tag for t, _ in self.stack)

    def _code(self):
        for _, a in reversed(self.stack):
            if "data-code" in a:
                return a["data-code"]
        return None

    def all_text(self):
        return "".join(self.text)


def parse(html):
    p = Page()
    p.feed(html)
    p.close()
    if p.stack:
        p.problems.append("unclosed elements at the end: %s"
                          % [t for t, _ in p.stack])
    return p


def structure_problems(html):
    """Every problem of a report page that needs no browser: balanced
    tags, every <img> with alt text and a valid inline JPEG, no script and
    no reference outside the page, a CSP, fragment links that resolve."""
    p = parse(html)
    problems = list(p.problems)
    if "url(" in html:
        problems.append("url( somewhere in the page")
    if not p.csp or "default-src 'none'" not in p.csp:
        problems.append("no Content-Security-Policy forbidding fetches")
    for a in p.imgs:
        if not a.get("alt", "").strip():
            problems.append("img without alt text")
        src = a.get("src", "")
        prefix = "data:image/jpeg;base64,"
        if not src.startswith(prefix):
            problems.append("img source is not an inline JPEG")
            continue
        try:
            data = base64.b64decode(src[len(prefix):], validate=True)
        except ValueError:
            problems.append("img with invalid base64")
            continue
        if data[:2] != b"\xff\xd8" or data[-2:] != b"\xff\xd9":
            problems.append("img data is not a whole JPEG")
        w, h = int(a.get("width", "0")), int(a.get("height", "0"))
        if not (0 < w <= 128 and 0 < h <= 128):
            problems.append("thumbnail of %sx%s" % (w, h))
    for href in p.hrefs:
        if href.startswith("#") and href[1:] not in p.ids:
            problems.append("link to a missing section %s" % href)
    return problems, p
