#!/usr/bin/env python3
"""Integration test of the loader profiles and severities on the command
line (issue 18, docs/loaders.md, docs/findings.md, docs/cli.md).

    test_loader_cli.py IMGAUDIT

On a small copy of ../shared/datasets/clothing-small (8 images per class
and split; a skip message when the dataset is absent):

1. One class folder removed from train: class_missing and
   class_renumbered are errors within one scan, the JSON report's class
   table numbers train's classes without it, its verdict is "fail" and
   --fail-on error exits 3.
2. WebP files dropped into class folders (a whole class converted, two
   files added to another): `--loader keras` says loader_skips (an error
   for the emptied class, with a dataset-level error naming it);
   torchvision lists .webp, so `report --loader torchvision` on the same
   DB shows none; an unknown profile exits 2 on scan, report and compare.
3. A test photo resized into train: split_leak (error, the same photo)
   on both files, each naming the other as partner with the same group,
   in the JSON report and in export CSV and JSONL --problems.
4. --policy on scan and report moves severities; a bad policy exits 2.

The WebP files and the resized copy are made with Pillow under
/usr/bin/python3 (python3-pil, scripts/install-deps.sh).
"""
import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

from iatest import Checks

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
CLOTHING = os.path.join(SOURCE_ROOT, "..", "shared", "datasets",
                        "clothing-small")
SYSTEM_PYTHON = "/usr/bin/python3"
SKIP = 77
PER_CLASS = 8


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=300, universal_newlines=True)


def pil(script, *args):
    subprocess.run([SYSTEM_PYTHON, "-c", script] + list(args), check=True)


def copy_subset(dst):
    for split in ("train", "test"):
        for label in sorted(os.listdir(os.path.join(CLOTHING, split))):
            src = os.path.join(CLOTHING, split, label)
            names = sorted(os.listdir(src))[:PER_CLASS]
            os.makedirs(os.path.join(dst, split, label))
            for n in names:
                shutil.copy(os.path.join(src, n),
                            os.path.join(dst, split, label, n))


def report_json(exe, db, *extra):
    p = run([exe, "report", "--db", db, "--format", "json"] + list(extra))
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {}


def findings(doc, code, loader=None):
    return [f for f in doc.get("findings", []) if f["code"] == code
            and (loader is None or f.get("loader") == loader)]


def check_class_missing(c, exe, tmp, tree):
    root = os.path.join(tmp, "missing")
    shutil.copytree(tree, root)
    labels = sorted(os.listdir(os.path.join(root, "train")))
    gone = labels[1]
    shutil.rmtree(os.path.join(root, "train", gone))
    db = os.path.join(tmp, "missing.db")
    p = run([exe, "scan", root, "--db", db, "-q", "--fail-on", "error"])
    c.check(p.returncode == 3, "a class missing from train: scan --fail-on "
            "error exits 3", p.returncode)
    doc = report_json(exe, db)
    miss = findings(doc, "class_missing")
    c.check(miss and all(f["severity"] == "error" for f in miss),
            "class_missing is an error", miss)
    ren = findings(doc, "class_renumbered", "pillow")
    c.check(ren and all(f["severity"] == "error" for f in ren),
            "class_renumbered (pillow) is an error within one scan", ren)
    table = doc.get("loader_classes", {}).get("pillow", {})
    want_train = {l: i for i, l in enumerate(x for x in labels if x != gone)}
    got_train = {l: v["index"] for l, v in table.get("train", {}).items()}
    c.check(got_train == want_train, "train's class table skips the "
            "missing class and renumbers the later ones", got_train)
    got_test = {l: v["index"] for l, v in table.get("test", {}).items()}
    c.check(got_test == {l: i for i, l in enumerate(labels)},
            "test's class table numbers every class", got_test)
    c.check(doc.get("verdict") == "fail", "JSON verdict: fail",
            doc.get("verdict"))
    summ = doc.get("summary", {})
    c.check(isinstance(summ.get("infos"), int) and summ.get("errors", 0) >= 2,
            "JSON summary has errors and infos counts", summ)
    c.check(doc.get("loaders") == ["pillow"], "the default profile is "
            "pillow", doc.get("loaders"))


WEBP = """
import os, sys
from PIL import Image
for path in sys.argv[1:]:
    Image.open(path).convert("RGB").save(os.path.splitext(path)[0] + ".webp")
"""


def check_webp(c, exe, tmp, tree):
    root = os.path.join(tmp, "webp")
    shutil.copytree(tree, root)
    labels = sorted(os.listdir(os.path.join(root, "train")))
    whole = os.path.join(root, "train", labels[-1])
    files = [os.path.join(whole, n) for n in sorted(os.listdir(whole))]
    pil(WEBP, *files)
    for f in files:
        os.remove(f)
    part = os.path.join(root, "train", labels[0])
    pil(WEBP, *[os.path.join(part, n) for n in sorted(os.listdir(part))[:2]])
    db = os.path.join(tmp, "webp.db")
    p = run([exe, "scan", root, "--db", db, "-q", "--loader", "keras"])
    c.check(p.returncode == 0, "scan --loader keras exits 0", p.stderr)
    doc = report_json(exe, db)
    c.check(doc.get("loaders") == ["keras"], "the report shows the scan's "
            "profile (keras)", doc.get("loaders"))
    skips = findings(doc, "loader_skips", "keras")
    per_file = {f["path"]: f["severity"] for f in skips if f.get("path")}
    want = {os.path.relpath(os.path.splitext(f)[0] + ".webp", root): "error"
            for f in files}
    c.check({k: v for k, v in per_file.items() if k in want} == want,
            "keras: every WebP of the converted class is loader_skips, an "
            "error (the class is emptied)", per_file)
    added = [k for k in per_file if k.startswith("train/" + labels[0] + "/")]
    c.check(len(added) == 2 and all(per_file[k] == "warning" for k in added),
            "keras: WebP files among JPEGs are loader_skips warnings",
            added)
    ds = [f for f in skips if not f.get("path")]
    c.check(len(ds) == 1 and ds[0]["severity"] == "error" and
            labels[-1] in ds[0]["detail"], "keras: one dataset-level "
            "loader_skips error names the emptied class", ds)
    tv = report_json(exe, db, "--loader", "torchvision")
    c.check(doc and tv and not findings(tv, "loader_skips") and
            tv.get("loaders") == ["torchvision"],
            "report --loader torchvision on the same DB: torchvision lists "
            ".webp, no loader_skips", findings(tv, "loader_skips")[:2])
    both = report_json(exe, db, "--loader", "keras,torchvision")
    c.check(both.get("loaders") == ["keras", "torchvision"] and
            set(both.get("loader_classes", {})) == {"keras", "torchvision"},
            "two profiles named: both class tables", both.get("loaders"))
    for cmd in (["scan", root, "--db", os.path.join(tmp, "x.db"), "-q"],
                ["report", "--db", db], ["compare", db, db]):
        p = run([exe] + cmd + ["--loader", "pytorch"])
        c.check(p.returncode == 2 and "pytorch" in p.stderr,
                "%s --loader pytorch exits 2 naming it" % cmd[0],
                (p.returncode, p.stderr))
    p = run([exe, "compare", db, db, "--loader", "torchvision", "-f",
             "json"])
    c.check(p.returncode == 0, "compare --loader torchvision of a scan with "
            "itself passes", p.stderr)


RESIZE = """
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
im.resize((im.width * 9 // 10, im.height * 9 // 10)).save(sys.argv[2],
                                                          quality=90)
"""


def check_leak(c, exe, tmp, tree):
    root = os.path.join(tmp, "leak")
    shutil.copytree(tree, root)
    label = sorted(os.listdir(os.path.join(root, "test")))[0]
    name = sorted(os.listdir(os.path.join(root, "test", label)))[0]
    test_path = "test/%s/%s" % (label, name)
    train_path = "train/%s/resized_copy.jpg" % label
    pil(RESIZE, os.path.join(root, test_path), os.path.join(root, train_path))
    db = os.path.join(tmp, "leak.db")
    run([exe, "scan", root, "--db", db, "-q"])
    doc = report_json(exe, db)
    leaks = {f["path"]: f for f in findings(doc, "split_leak")
             if f.get("path") in (test_path, train_path)}
    c.check(set(leaks) == {test_path, train_path}, "split_leak on both "
            "sides: the test file and its resized train copy", list(leaks))
    if len(leaks) == 2:
        a, b = leaks[test_path], leaks[train_path]
        c.check(a["severity"] == "error" and b["severity"] == "error",
                "a resized copy (the same photo) is an error leak",
                (a["severity"], b["severity"]))
        c.check(a["group"] == b["group"] and
                train_path in a["partners"] and test_path in b["partners"],
                "each names the other as partner, with the same group",
                (a, b))
    p = run([exe, "export", "--db", db, "--problems"])
    rows = {r["path"]: r for r in csv.DictReader(io.StringIO(p.stdout))}
    c.check(train_path in rows and test_path in rows and
            (rows[train_path].get("partners") or "").split(";").count(
                test_path) == 1 and
            (rows[test_path].get("partners") or "").split(";").count(
                train_path) == 1 and
            rows[train_path].get("groups") ==
            rows[test_path].get("groups") not in ("", None),
            "export --problems CSV lists the train copy to remove with its "
            "partner and group", {k: (rows[k].get("groups"),
                                       rows[k].get("partners"))
                                   for k in rows if k in leaks})
    p = run([exe, "export", "--db", db, "--problems", "-f", "jsonl"])
    rows = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        rows[r["path"]] = r
    c.check(rows.get(train_path, {}).get("partners") == [test_path] or
            test_path in rows.get(train_path, {}).get("partners", []),
            "export JSONL: partners is a list of paths",
            rows.get(train_path, {}).get("partners"))
    return root, db


def check_policy(c, exe, tmp, tree):
    root = os.path.join(tmp, "policy")
    shutil.copytree(tree, root)
    shutil.rmtree(os.path.join(root, "train",
                               sorted(os.listdir(os.path.join(root,
                                                              "train")))[1]))
    pol = os.path.join(tmp, "policy.json")
    with open(pol, "w") as f:
        json.dump({"severity": {"class_missing": "warning",
                                "class_renumbered": "off"}}, f)
    db = os.path.join(tmp, "policy.db")
    p = run([exe, "scan", root, "--db", db, "-q", "--policy", pol,
             "--fail-on", "error"])
    doc = report_json(exe, db)
    miss = findings(doc, "class_missing")
    c.check(miss and all(f["severity"] == "warning" for f in miss) and
            not findings(doc, "class_renumbered"),
            "scan --policy: its reports read class_missing as a warning and "
            "hide class_renumbered", [f["severity"] for f in miss])
    strict = os.path.join(tmp, "strict.json")
    with open(strict, "w") as f:
        json.dump({"severity": {"class_missing": "error"}}, f)
    doc = report_json(exe, db, "--policy", strict)
    miss = findings(doc, "class_missing")
    c.check(miss and all(f["severity"] == "error" for f in miss) and
            findings(doc, "class_renumbered"),
            "report --policy overrides the scan's policy",
            [f["severity"] for f in miss])
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        json.dump({"severity": {"class_missing": "fatal"}}, f)
    for cmd in (["scan", root, "--db", os.path.join(tmp, "y.db"), "-q"],
                ["report", "--db", db]):
        p = run([exe] + cmd + ["--policy", bad])
        c.check(p.returncode == 2 and "class_missing" in p.stderr,
                "%s with a bad policy exits 2 naming the key" % cmd[0],
                (p.returncode, p.stderr))
    c.check(not os.path.exists(os.path.join(tmp, "y.db")) or
            sqlite3.connect(os.path.join(tmp, "y.db")).execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'scan'"
            ).fetchone()[0] == 0 or
            sqlite3.connect(os.path.join(tmp, "y.db")).execute(
                "SELECT count(*) FROM scan").fetchone()[0] == 0,
            "a bad policy writes no scan")


def class_rows(text, header):
    """{label: (marked, [cells])} of the first class table after header
    in a text report."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(header))
    rows = {}
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        if line.startswith(("    class", "    ...")) or \
                not line.startswith(("  * ", "    ")):
            if rows:
                break
            continue
        words = line.split()
        marked = words[0] == "*"
        words = words[1:] if marked else words
        cells = " ".join(words[1:]).replace(" (", "(").split()
        rows[words[0]] = (marked, cells)
    return rows


def check_class_table(c, exe, tmp):
    """The text and Markdown reports print each profile's class index
    table (fixtures/sample with test/bird removed: test numbers cat 0 and
    dog 1 where train has them at 1 and 2)."""
    root = os.path.join(tmp, "sample")
    shutil.copytree(os.path.join(SOURCE_ROOT, "fixtures", "sample"), root)
    shutil.rmtree(os.path.join(root, "test", "bird"))
    db = os.path.join(tmp, "sample.db")
    run([exe, "scan", root, "--db", db, "-q", "--loader", "pillow,keras"])
    text = run([exe, "report", "--db", db]).stdout
    rows = class_rows(text, "  keras")
    # keras lists ._bird_003.jpg (a .jpg name) but not dog's .DS_Store
    c.check(rows.get("bird") == (True, ["-", "0(21)", "0(5)"]),
            "text class table: bird missing from test, marked", rows)
    c.check(rows.get("cat") == (True, ["0(5)", "1(20)", "1(5)"]) and
            rows.get("dog") == (True, ["1(5)", "2(20)", "2(5)"]),
            "text class table: test numbers cat 0 and dog 1, train 1 "
            "and 2, each marked", rows)
    rows = class_rows(text, "  pillow")
    c.check(rows.get("dog") == (True, ["1(5)", "2(21)", "2(5)"]),
            "pillow's own table: it lists every file, .DS_Store too", rows)
    doc = report_json(exe, db)
    table = doc.get("loader_classes", {}).get("keras", {})
    c.check({l: v["index"] for l, v in table.get("test", {}).items()} ==
            {"cat": 0, "dog": 1}, "the text table is the JSON's", table)
    md = run([exe, "report", "--db", db, "-f", "md"]).stdout
    c.check("### Class indices" in md and
            "| `cat` (differs) | 0 (5) | 1 (20) | 1 (5) |" in md,
            "Markdown class table", md[md.find("### Class"):][:400])
    check_long_table(c, exe, tmp)
    check_hostile_split(c, exe, tmp)
    ok = run([exe, "scan", os.path.join(SOURCE_ROOT, "fixtures", "sample"),
              "--db", os.path.join(tmp, "whole.db"), "-q"])
    whole = run([exe, "report", "--db", os.path.join(tmp, "whole.db")]).stdout
    rows = class_rows(whole, "  pillow")
    c.check(ok.returncode in (0, 3) and rows and
            not any(m for m, _ in rows.values()),
            "the whole sample: one table, no class marked", rows)


def check_hostile_split(c, exe, tmp):
    """A split's name is the dataset's: escaped as a Markdown column head
    (a '|' would add a column), cleaned in text."""
    root = os.path.join(tmp, "hostile")
    jpg = os.path.join(SOURCE_ROOT, "fixtures", "sample", "train", "cat",
                       "cat_001.jpg")
    for split in ("tr|ai*n", "test"):
        os.makedirs(os.path.join(root, split, "cat"))
        shutil.copy(jpg, os.path.join(root, split, "cat", "a.jpg"))
    db = os.path.join(tmp, "hostile.db")
    run([exe, "scan", root, "--db", db, "-q"])
    md = run([exe, "report", "--db", db, "-f", "md"]).stdout
    c.check("| class | test | tr\\|ai\\*n |" in md,
            "Markdown class table escapes a split's name",
            md[md.find("| class"):][:200])


def check_long_table(c, exe, tmp):
    """Past 40 classes only the unusual rows are printed, the rest
    counted: 45 classes, the last one missing from test."""
    root = os.path.join(tmp, "many")
    jpg = os.path.join(SOURCE_ROOT, "fixtures", "sample", "train", "cat",
                       "cat_001.jpg")
    for split in ("train", "test"):
        for i in range(45 if split == "train" else 44):
            os.makedirs(os.path.join(root, split, "c%02d" % i))
            shutil.copy(jpg, os.path.join(root, split, "c%02d" % i, "a.jpg"))
    db = os.path.join(tmp, "many.db")
    run([exe, "scan", root, "--db", db, "-q"])
    text = run([exe, "report", "--db", db]).stdout
    rows = class_rows(text, "  pillow")
    c.check(rows == {"c44": (True, ["-", "44(1)"])} and
            "... 44 more classes, the same index in every split" in text,
            "a 45-class table shows the one unusual class, counts the rest",
            rows)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    exe = os.path.abspath(sys.argv[1])
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="imgaudit-loadercli-") as tmp:
        check_class_table(c, exe, tmp)
    if not os.path.isdir(CLOTHING):
        print("SKIP: the clothing part: %s is absent" % CLOTHING)
        return c.finish()
    if run([SYSTEM_PYTHON, "-c", "import PIL"]).returncode != 0:
        print("SKIP: %s has no Pillow (apt-get install python3-pil)"
              % SYSTEM_PYTHON)
        return 1 if os.environ.get("IA_REQUIRE_LOADERS") else SKIP
    with tempfile.TemporaryDirectory(prefix="imgaudit-loadercli-") as tmp:
        tree = os.path.join(tmp, "clothing")
        copy_subset(tree)
        check_class_missing(c, exe, tmp, tree)
        check_webp(c, exe, tmp, tree)
        check_leak(c, exe, tmp, tree)
        check_policy(c, exe, tmp, tree)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
