#!/usr/bin/env python3
"""Integration test of `imgaudit compare` (issue 5, docs/compare.md).

    test_compare.py IMGAUDIT MKVARIANT

On a synthetic dataset (`mkvariant synth`: 3 splits x 5 classes, 2600
JPEGs), and again on ../shared/datasets/clothing-small when it is present
(a skip message otherwise):

1. No change: the dataset against a fresh scan of itself, and against a
   copy whose files were only renamed: no drift, verdict pass, exit 0;
   the renamed copy shows renames and nothing else.
2. The failure story: a "new but similar" copy in which this script
   (a) removes one class from train, (b) truncates 2% of the files,
   (c) converts 3% to CMYK, (d) copies 20 test images into train,
   (e) darkens one class's images fourfold, (f) re-encodes 10% at JPEG
   quality 30 (the pixel edits by mkvariant, with libjpeg). compare must
   name each change with its numbers and exit 3.
3. The baseline DB is byte-identical before and after every compare.
4. Options and failures: --fail-on, --policy (and a bad one), -o, md,
   bad references.
5. Why a modified file stopped decoding: a JPEG of fixtures/sample cut in
   half in a copy; the modified file's reason in JSON (status_detail,
   reason), text, Markdown and HTML says "after N of M rows", N and M
   those of the new scan's finding (sqlite3), M the JPEG's height (read
   from its SOF marker here), 0 < N < M.

Standard library only. One line per check, then "N passed, N failed".
"""
import hashlib
import html
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iatest import Checks, short, capture  # noqa: E402

run = capture  # the tests' name for it

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
CLOTHING = os.path.join(SOURCE_ROOT, "..", "shared", "datasets",
                        "clothing-small")


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def image_files(root):
    out = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith((".jpg", ".jpeg")):
                out.append(os.path.relpath(os.path.join(folder, name),
                                           root).replace(os.sep, "/"))
    return out


class Compare:
    """imgaudit and mkvariant, with the baseline's hash watched."""

    def __init__(self, c, imgaudit, mkvariant, tmp):
        self.c = c
        self.imgaudit = imgaudit
        self.mkvariant = mkvariant
        self.tmp = tmp

    def scan(self, root, db, name):
        p = run([self.imgaudit, "scan", root, "--db", db, "--name", name,
                 "-q", "-j", "2"])
        self.c.check(p.returncode == 0 and os.path.exists(db),
                     "scan %s" % name, short(p))
        return p.returncode == 0

    def compare(self, base, new, *args):
        """Runs compare --format json; returns (exit code, document)."""
        p = run([self.imgaudit, "compare", base, new, "--format", "json"] +
                list(args))
        try:
            doc = json.loads(p.stdout.decode("utf-8"))
        except ValueError:
            doc = None
        return p, doc

    def mk(self, *args):
        p = run([self.mkvariant] + [str(a) for a in args])
        self.c.check(p.returncode == 0, "mkvariant %s" % args[0], short(p))


# ---- helpers on a compare document ---------------------------------------

def findings(doc, code=None, split=None, label=None, metric=None):
    out = []
    for f in doc["findings"]:
        if code is not None and f["code"] != code:
            continue
        if split is not None and f["split"] != split:
            continue
        if label is not None and f["label"] != label:
            continue
        if metric is not None and f["metric"] != metric:
            continue
        out.append(f)
    return out


def flagged_drift(doc):
    return [d for d in doc["drift"] if d["severity"] is not None]


def one(c, doc, what, needles, severity=None, **kw):
    """Exactly one finding matching kw, whose detail holds every needle."""
    fs = findings(doc, **kw)
    if not c.check(len(fs) == 1, what + ": one finding",
                   "%d findings %s" % (len(fs), kw)):
        return None
    f = fs[0]
    missing = [n for n in needles if n not in f["detail"]]
    c.check(not missing, what + ": numbers in the detail",
            "missing %s in %r" % (missing, f["detail"]))
    if severity:
        c.check(f["severity"] == severity, what + ": severity " + severity,
                f["severity"])
    return f


# ---- 1. no change ---------------------------------------------------------

def check_clean(c, cmp, base_db, root, tag):
    same_db = os.path.join(cmp.tmp, tag + "-same.db")
    if not cmp.scan(root, same_db, tag + "-again"):
        return
    p, doc = cmp.compare(base_db, same_db)
    if not c.check(p.returncode == 0 and doc, tag + ": self compare exits 0",
                   short(p)):
        return
    c.check(doc["verdict"] == "pass", tag + ": self compare passes")
    c.check(doc["findings"] == [], tag + ": self compare has no finding",
            str([f["code"] for f in doc["findings"]][:5]))
    c.check(flagged_drift(doc) == [], tag + ": self compare has no drift")
    n = doc["files"]["base"]
    c.check(doc["files"]["unchanged"] == n == doc["files"]["new"],
            tag + ": every file unchanged", str(doc["files"]["unchanged"]))
    ks = [d for d in doc["drift"] if d["p_value"] is not None and
          d["metric"] in ("brightness", "jpeg_quality", "bytes")]
    c.check(ks and all(d["statistic"] == 0 and d["p_value"] == 1
                       for d in ks),
            tag + ": KS statistics 0 with p 1 on identical data")

    # The same file twice, by FILE:NAME and by --db NAME.
    p, doc = cmp.compare(base_db + ":" + tag, tag, "--db", base_db)
    c.check(p.returncode == 0 and doc and doc["findings"] == [] and
            doc["base"]["id"] == doc["new"]["id"],
            tag + ": FILE:NAME against --db NAME, one scan", short(p))

    # A copy with every file renamed (same folders, new names).
    ren = os.path.join(cmp.tmp, tag + "-renamed")
    for folder, dirs, names in os.walk(root):
        rel = os.path.relpath(folder, root)
        os.makedirs(os.path.join(ren, rel), exist_ok=True)
        for name in names:
            shutil.copyfile(os.path.join(folder, name),
                            os.path.join(ren, rel, "r_" + name))
    ren_db = os.path.join(cmp.tmp, tag + "-renamed.db")
    if not cmp.scan(ren, ren_db, tag + "-renamed"):
        return
    p, doc = cmp.compare(base_db, ren_db, "--fail-on", "warning")
    if not c.check(p.returncode == 0 and doc,
                   tag + ": renamed copy exits 0 even at --fail-on warning",
                   short(p)):
        return
    files = doc["files"]
    c.check(files["renamed"]["count"] == files["base"] == files["new"],
            tag + ": every file renamed",
            "%d of %d" % (files["renamed"]["count"], files["base"]))
    others = {k: files[k]["count"] for k in
              ("added", "removed", "modified", "moved", "relabeled")}
    c.check(others == {"added": 0, "removed": 0, "modified": 0, "moved": 0,
                       "relabeled": 0}, tag + ": renames only", str(others))
    codes = sorted({f["code"] for f in doc["findings"]})
    c.check(codes == ["renamed"], tag + ": renamed copy: one finding",
            str(codes))
    c.check(flagged_drift(doc) == [], tag + ": renamed copy has no drift",
            str([(d["code"], d["split"], d["label"]) for d in
                 flagged_drift(doc)][:5]))
    r = files["renamed"]["files"][0]
    c.check(r["path"].split("/")[-1] == "r_" + r["base_path"].split("/")[-1],
            tag + ": renamed pairs name the old and new path", str(r))


# ---- 2. the failure story -------------------------------------------------

def plant(cmp, root, new, removed_class, dark_class, rng):
    """Copies root to new and plants the six changes; returns the facts."""
    shutil.copytree(root, new)
    facts = {}
    train = [p for p in image_files(new) if p.startswith("train/")]
    # (a) one class removed from train
    gone = [p for p in train if p.split("/")[1] == removed_class]
    shutil.rmtree(os.path.join(new, "train", removed_class))
    facts["removed"] = len(gone)
    # (d) 20 test images copied into train (same class folder); never one
    # of the classes edited below, so they stay byte copies
    test = [p for p in image_files(new) if p.startswith("test/") and
            p.split("/")[1] not in (removed_class, dark_class)]
    copied = rng.sample(test, 20)
    copies = []
    for p in copied:
        label, name = p.split("/")[1:3]
        copies.append("train/%s/from_test_%s" % (label, name))
        shutil.copyfile(os.path.join(new, p), os.path.join(new, copies[-1]))
    facts["copied"] = len(copied)
    everything = image_files(new)
    facts["total"] = len(everything)
    # (e) one class darkened fourfold, in every split
    dark = [p for p in everything if p.split("/")[1] == dark_class]
    facts["dark"] = len(dark)
    facts["dark_train"] = len([p for p in dark if p.startswith("train/")])
    # (b), (c), (f) on disjoint sets of the other files
    keep = set(copied) | set(copies)
    pool = [p for p in everything
            if p.split("/")[1] != dark_class and p not in keep]
    rng.shuffle(pool)
    n = len(everything)
    k_trunc, k_cmyk, k_q = round(0.02 * n), round(0.03 * n), round(0.10 * n)
    trunc = sorted(pool[:k_trunc])
    cmyk = sorted(pool[k_trunc:k_trunc + k_cmyk])
    q30 = sorted(pool[k_trunc + k_cmyk:k_trunc + k_cmyk + k_q])
    facts.update(truncated=k_trunc, cmyk=k_cmyk, q30=k_q)
    facts["q30_train"] = len([p for p in q30 if p.startswith("train/")])
    for chunk in range(0, len(dark), 200):
        cmp.mk("darken", 4, *[os.path.join(new, p)
                              for p in dark[chunk:chunk + 200]])
    for chunk in range(0, len(cmyk), 200):
        cmp.mk("cmyk", *[os.path.join(new, p) for p in cmyk[chunk:chunk + 200]])
    for chunk in range(0, len(q30), 200):
        cmp.mk("quality", 30, *[os.path.join(new, p)
                                for p in q30[chunk:chunk + 200]])
    for p in trunc:
        full = os.path.join(new, p)
        size = os.path.getsize(full)
        with open(full, "r+b") as f:
            f.truncate(size // 2)
    return facts


def base_count(db, code):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute("SELECT count(DISTINCT file_id) FROM finding"
                           " WHERE code = ?", (code,)).fetchone()[0]
    finally:
        con.close()


def check_story(c, cmp, base_db, root, tag, removed_class, dark_class,
                base_quality):
    new = os.path.join(cmp.tmp, tag + "-new")
    facts = plant(cmp, root, new, removed_class, dark_class,
                  random.Random(5))
    new_db = os.path.join(cmp.tmp, tag + "-new.db")
    if not cmp.scan(new, new_db, tag + "-new"):
        return
    p, doc = cmp.compare(base_db, new_db)
    if not c.check(p.returncode == 3 and doc, tag + ": story exits 3",
                   short(p)):
        return
    c.check(doc["verdict"] == "fail", tag + ": verdict fail")
    files = doc["files"]
    n = facts

    # (a) a class removed from train: the files, the label, the indices
    c.check(files["removed"]["count"] == n["removed"],
            tag + ": %d files removed" % n["removed"],
            str(files["removed"]["count"]))
    one(c, doc, tag + ": (a) label_removed", ["'%s'" % removed_class,
                                              "%d files" % n["removed"]],
        "error", code="label_removed", split="train", label=removed_class)
    f = one(c, doc, tag + ": (a) class_renumbered", ["shift"], "error",
            code="class_renumbered", split="train")
    idx = doc["labels"]["train"]["class_index"]
    c.check(removed_class in idx["base"] and removed_class not in idx["new"],
            tag + ": class index of both versions", str(idx))
    one(c, doc, tag + ": (a) removed summary", ["%d files removed" %
                                               n["removed"]],
        code="removed")

    # (b) truncated files
    one(c, doc, tag + ": (b) truncated", ["truncated: 0 → %d files" %
                                         n["truncated"]], "error",
        code="health_regression", metric="truncated")

    # (c) CMYK
    one(c, doc, tag + ": (c) cmyk regression",
        ["cmyk: 0 → %d files" % n["cmyk"]], "warning",
        code="health_regression", metric="cmyk")
    fs = findings(doc, code="format_drift", metric="color_space")
    c.check(fs and all("new cmyk" in f["detail"] for f in fs) and
            sum(int(f["detail"].split("new cmyk: ")[1].split()[0])
                for f in fs) == n["cmyk"],
            tag + ": (c) format_drift names %d new cmyk files" % n["cmyk"],
            str([f["detail"] for f in fs]))

    # (d) test images copied into train
    base_leaks = base_count(base_db, "split_leak")
    one(c, doc, tag + ": (d) added copies",
        ["%d files added" % n["copied"],
         "%d of them are byte copies of files in another split" %
         n["copied"]], code="added")
    c.check(files["added"]["count"] == n["copied"], tag + ": 20 added")
    # each copy leaks on both sides: the test file and its train copy
    one(c, doc, tag + ": (d) split_leak regression",
        ["split_leak: %d → %d files" % (base_leaks, base_leaks +
                                        2 * n["copied"])], "error",
        code="health_regression", metric="split_leak")

    # (e) a class darkened fourfold
    for split in ("train", "val" if "val" in doc["labels"] else "validation",
                  "test"):
        pf = findings(doc, code="pixel_drift", split=split, label=dark_class)
        c.check(len(pf) == 1 and pf[0]["severity"] == "error" and
                pf[0]["examples"],
                tag + ": (e) pixel_drift error for %s/%s" % (split, dark_class),
                str([f["detail"] for f in pf]))
    others = [f for f in findings(doc, code="pixel_drift")
              if f["label"] not in (None, dark_class)]
    c.check(others == [], tag + ": (e) no pixel_drift in other classes",
            str([(f["split"], f["label"]) for f in others]))
    mod = one(c, doc, tag + ": (b)(c)(e)(f) modified summary",
              ["%d files changed in place" %
               (n["truncated"] + n["cmyk"] + n["dark"] + n["q30"]),
               "ok→truncated %d" % n["truncated"],
               "ycbcr→cmyk %d" % n["cmyk"],
               "JPEG quality lowered in %d (median %d → 30)" %
               (n["q30"], base_quality),
               "darker in %d" % n["dark"]], code="modified")
    summary = files["modified"]["summary"]
    c.check(summary["quality_lowered"]["files"] == n["q30"] and
            summary["darker"]["files"] == n["dark"],
            tag + ": modified summary in JSON", str(summary)[:200])

    # (f) re-encoded at quality 30: the train split's distribution
    f = one(c, doc, tag + ": (f) quality_drift", ["JPEG quality", "KS D"],
            "warning", code="quality_drift", split="train")
    if f:
        d = [x for x in doc["drift"] if x["code"] == "quality_drift" and
             x["split"] == "train"][0]
        train_n = d["new"]["n"]
        share = n["q30_train"] / train_n
        c.check(abs(d["statistic"] - share) < 0.02 and d["p_value"] < 1e-6,
                tag + ": (f) KS D %.3f near the re-encoded share %.3f" %
                (d["statistic"], share), str(d))

    # Text: ranked, with numbers and examples, and a verdict last.
    p = run([cmp.imgaudit, "compare", base_db, new_db])
    text = p.stdout.decode("utf-8", "replace")
    lines = text.rstrip("\n").splitlines()
    c.check(p.returncode == 3 and lines and
            lines[-1].startswith("verdict: FAIL"),
            tag + ": text ends with the verdict", lines[-1] if lines else "")
    sev = [l.split()[0] for l in lines if l.startswith("  error ") or
           l.startswith("  warning ") or l.startswith("  info ")]
    rank = {"error": 0, "warning": 1, "info": 2}
    c.check(sev and sev == sorted(sev, key=rank.get),
            tag + ": text ranks errors, warnings, info", str(sev[:8]))
    c.check("e.g." in text and "truncated: 0 → %d" % n["truncated"] in text,
            tag + ": text has numbers and example paths")
    return new_db


# ---- 3, 4. options, failures ---------------------------------------------

def check_options(c, cmp, base_db, new_db):
    p, doc = cmp.compare(base_db, new_db, "--fail-on", "never")
    c.check(p.returncode == 0 and doc and doc["verdict"] == "pass",
            "--fail-on never: exit 0, pass", short(p))

    policy = os.path.join(cmp.tmp, "policy.json")
    with open(policy, "w") as f:
        json.dump({"version": 1,
                   "severity": {"label_removed": "warning",
                                "class_renumbered": "off",
                                "pixel_drift": "warning",
                                "health_regression": "warning"},
                   "health": {"cmyk": "error"},
                   "thresholds": {"ks_statistic": 0.5}}, f)
    p, doc = cmp.compare(base_db, new_db, "--policy", policy)
    if c.check(doc is not None, "policy: compare runs", short(p)):
        codes = {(f["code"], f["metric"]): f["severity"]
                 for f in doc["findings"]}
        c.check(not findings(doc, code="class_renumbered"),
                "policy: a code turned off")
        c.check(codes.get(("health_regression", "cmyk")) == "error" and
                codes.get(("health_regression", "truncated")) == "warning",
                "policy: per-code health severities", str(codes))
        c.check(not findings(doc, code="quality_drift"),
                "policy: a KS threshold raised")
        errors = [f for f in doc["findings"] if f["severity"] == "error"]
        c.check(p.returncode == 3 and
                [f["metric"] for f in errors] == ["cmyk"],
                "policy: only the cmyk regression is an error",
                str([(f["code"], f["metric"]) for f in errors]))

    bad = os.path.join(cmp.tmp, "bad.json")
    for text, needle in (('{"severity": {"label_removd": "error"}}',
                          "label_removd"),
                         ('{"thresholds": {"ks_p_value": 2}}', "ks_p_value"),
                         ('{"severity": {"added": "fatal"}}', "added"),
                         ('{"thresholds": {', "line")):
        with open(bad, "w") as f:
            f.write(text)
        p = run([cmp.imgaudit, "compare", base_db, new_db, "--policy", bad])
        err = p.stderr.decode()
        c.check(p.returncode == 2 and needle in err and not p.stdout,
                "bad policy %s: exit 2 naming it" % text[:30], short(p))

    out = os.path.join(cmp.tmp, "out.md")
    p = run([cmp.imgaudit, "compare", base_db, new_db, "-f", "md", "-o",
             out])
    md = open(out, encoding="utf-8").read() if os.path.exists(out) else ""
    c.check(p.returncode == 3 and md.startswith("# imgaudit compare") and
            "| error | label_removed |" in md and "**Verdict: FAIL" in md,
            "md to -o FILE", short(p))

    for args, what in (([base_db], "one reference"),
                       ([base_db, os.path.join(cmp.tmp, "nope.db")],
                        "a missing DB file"),
                       ([base_db + ":nosuchscan", new_db], "an unknown scan"),
                       ([base_db, new_db, "--format", "pdf"],
                        "an unknown format"),
                       (["nosuchname", new_db, "--db",
                         os.path.join(cmp.tmp, "none.db")],
                        "a name without a DB")):
        p = run([cmp.imgaudit, "compare"] + args)
        c.check(p.returncode == 2 and not p.stdout and p.stderr,
                "usage: %s exits 2" % what, short(p))
    p = run([cmp.imgaudit, "compare", "--help"])
    c.check(p.returncode == 0 and b"--policy" in p.stdout, "compare --help")


def jpeg_height(path):
    """The height in a JPEG's SOF marker (baseline, extended or
    progressive), read with the standard library only."""
    with open(path, "rb") as f:
        data = f.read()
    i = 2
    while i + 9 < len(data) and data[i] == 0xFF:
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + length
    return None


def check_truncated_reason(c, cmp):
    """A JPEG cut in half: the modified file's reason names the rows."""
    sample = os.path.join(SOURCE_ROOT, "fixtures", "sample")
    rel = "train/cat/cat_001.jpg"
    new = os.path.join(cmp.tmp, "trunc-new")
    shutil.copytree(sample, new)
    full = os.path.join(new, rel)
    height = jpeg_height(full)
    with open(full, "r+b") as f:
        f.truncate(os.path.getsize(full) // 2)
    base_db = os.path.join(cmp.tmp, "trunc-base.db")
    new_db = os.path.join(cmp.tmp, "trunc-new.db")
    if not (cmp.scan(sample, base_db, "sample") and
            cmp.scan(new, new_db, "sample-cut")):
        return
    con = sqlite3.connect("file:%s?mode=ro" % new_db, uri=True)
    row = con.execute("SELECT g.detail FROM finding g JOIN file f"
                      " ON f.id = g.file_id WHERE f.path = ?"
                      " AND g.code = 'truncated'", (rel,)).fetchone()
    con.close()
    m = re.search(r"after (\d+) of (\d+) rows", row[0] if row else "")
    if not c.check(m and int(m.group(2)) == height and
                   0 < int(m.group(1)) < height,
                   "truncated: the scan's detail says after N of %s rows"
                   % height, str(row)):
        return
    rows = m.group(0)
    p, doc = cmp.compare(base_db, new_db)
    mods = {f["path"]: f for f in
            (doc or {}).get("files", {}).get("modified", {}).get("files", [])}
    got = mods.get(rel, {})
    c.check(got.get("status_detail") == row[0] and
            rows in (got.get("reason") or "") and
            (got.get("reason") or "").startswith("ok \u2192 truncated"),
            "truncated: json status_detail and reason say '%s'" % rows,
            str(got))
    text = run([cmp.imgaudit, "compare", base_db, new_db]).stdout.decode()
    c.check(re.search(r"^  %s: ok -> truncated \(.*%s\)$"
                      % (re.escape(rel), rows), text, re.M),
            "truncated: text reason says '%s'" % rows, text[-600:])
    md = run([cmp.imgaudit, "compare", base_db, new_db, "--format",
              "md"]).stdout.decode()
    c.check(re.search(r"^- `%s`: ok -.*truncated \(.*%s\)$"
                      % (re.escape(rel), rows), md, re.M),
            "truncated: markdown reason says '%s'" % rows, md[-600:])
    page = os.path.join(cmp.tmp, "trunc.html")
    run([cmp.imgaudit, "compare", base_db, new_db, "--format", "html", "-o",
         page])
    with open(page, encoding="utf-8") as f:
        why = [html.unescape(w) for w in
               re.findall(r'<b class="why">([^<]*)</b>', f.read())]
    c.check(len(why) == 1 and why[0].startswith("ok \u2192 truncated") and
            rows in why[0],
            "truncated: html card's reason says '%s'" % rows, str(why))


def story(c, cmp, root, tag, removed_class, dark_class, base_quality):
    base_db = os.path.join(cmp.tmp, tag + "-base.db")
    if not cmp.scan(root, base_db, tag):
        return None, None
    before = sha256_file(base_db)
    check_clean(c, cmp, base_db, root, tag)
    new_db = check_story(c, cmp, base_db, root, tag, removed_class,
                         dark_class, base_quality)
    return base_db, (before, new_db)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    imgaudit, mkvariant = (os.path.abspath(a) for a in sys.argv[1:3])
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="ia_compare_") as tmp:
        cmp = Compare(c, imgaudit, mkvariant, tmp)
        check_truncated_reason(c, cmp)
        synth = os.path.join(tmp, "synth")
        cmp.mk("synth", synth)
        base_db, (before, new_db) = story(c, cmp, synth, "synth", "bee",
                                          "dog", 90)
        if new_db:
            check_options(c, cmp, base_db, new_db)
        if base_db:
            c.check(sha256_file(base_db) == before,
                    "synth: the baseline DB is byte-identical after every "
                    "compare")
        if os.path.isdir(CLOTHING):
            base_db, (before, _) = story(c, cmp, CLOTHING, "clothing", "hat",
                                         "shoes", 70)
            if base_db:
                c.check(sha256_file(base_db) == before,
                        "clothing: the baseline DB is byte-identical after "
                        "every compare")
        else:
            print("skip clothing-small: %s not found" %
                  os.path.normpath(CLOTHING))
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
