#!/usr/bin/env python3
"""Integration test: each loader profile's claims against the real loader.

    test_loaders.py IMGAUDIT

Generates the fixture tree of mkloaderfixtures.py, runs probe.py on it
(the real Pillow 9.4, torchvision 0.14.1 ImageFolder and OpenCV 4.6 of
Debian, under /usr/bin/python3), scans every split of the tree as a
dataset of its own (--follow-symlinks: the loaders follow links) and
asserts, file by file and profile by profile, that what imgaudit says the
loader does is what it did (docs/loaders.md):

- torchvision: every file it says the loader skips is not among
  ImageFolder's samples, and every other file of a class folder is; every
  file it says fails raises; every file it says is damaged loads with
  wrong pixels; every file it decoded itself and says nothing about loads
  intact (as stored when it says loader_orientation); its class index per
  split equals ImageFolder(split).class_to_idx (find_classes when
  ImageFolder raises, and then it says loader_fails).
- pillow: the same claims against Image.open().convert("RGB").
- opencv: the same against cv2.imread, which returns None instead of
  raising, and applies the EXIF orientation.
- keras, tf-data (not packaged by Debian): the documented lists and rules
  of docs/loaders.md, encoded here: Keras lists .bmp .gif .jpeg .jpg
  .png only and no hidden class folder, its class names equal probe.py's
  emulation of index_directory, and TensorFlow refuses any truncated
  JPEG, even one missing only its end marker.

A file imgaudit does not decode (GIF, WebP, TIFF, BMP, PNM, ...) carries
no claim unless it knows the loader cannot open the format at all.

Exit 77 (skipped) with a message when the loaders are not installed for
/usr/bin/python3; under CI (IA_REQUIRE_LOADERS=1, set by .ci/run) a
missing loader fails instead. One line per check, then "N passed, N
failed".
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import matrix  # noqa: E402  (the cells of docs/loaders.md's matrix)

SYSTEM_PYTHON = "/usr/bin/python3"
SKIP = 77
PACKAGES = "python3-pil python3-torchvision python3-opencv"
# The loaders probe.py records per file, by imgaudit profile.
REAL = {"pillow": "pillow", "torchvision": "torchvision",
        "opencv": "opencv"}
KERAS_EXTS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
# Damage no decoder can see: the overwritten scan bytes decode as valid
# codes, libjpeg warns nothing, and every loader (and imgaudit) returns
# the damaged pixels as if they were the image (docs/loaders.md).
UNDETECTABLE = {"files/jpeg/corrupt_scan_bytes.jpg"}


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed += 1
            print("FAIL " + what + (": " + str(detail) if detail else ""))
        return ok


def loaders_missing():
    """None when the loaders import under /usr/bin/python3, else why."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return SYSTEM_PYTHON + " not found"
    r = subprocess.run([SYSTEM_PYTHON, "-c",
                        "import PIL, numpy, torchvision, cv2"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return (r.stderr.strip().splitlines() or ["import failed"])[-1]
    return None


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def real_cell(rec, loader):
    """probe's record as one word: ok, rotated, stored, damaged, fails."""
    out = rec.get(loader)
    if out is None:
        return None
    text = matrix.cell(out, rec).replace(" +w", "")
    if text.startswith("raises") or text == "None":
        return "fails"
    if text.startswith("DAMAGED") or text.startswith("WRONG"):
        return "damaged"
    return {"ok": "ok", "rotated": "rotated",
            "as stored": "stored"}.get(text, text)


class Scan:
    """One split of the tree scanned as a dataset of its own."""

    def __init__(self, exe, root, db):
        run([exe, "scan", root, "--db", db, "-q", "--follow-symlinks",
             "-j", "2"])
        con = sqlite3.connect(db)
        self.rows = {}
        for path, status, facts in con.execute(
                "SELECT path, status, coalesce(loader_facts, '')"
                " FROM file"):
            self.rows[path] = (status, facts)
        self.claims = {}
        self.dataset = {}
        for loader, path, code in con.execute(
                "SELECT loader, path, code FROM finding"
                " WHERE loader IS NOT NULL"):
            if path is None:
                self.dataset.setdefault(loader, set()).add(code)
            else:
                self.claims.setdefault((loader, path), set()).add(code)
        self.classes = {}
        self.listed = {}
        for loader, label, idx, listed in con.execute(
                "SELECT loader, label, idx, listed FROM loader_class"):
            self.classes.setdefault(loader, {})[label] = idx
            self.listed[(loader, label)] = listed
        con.close()

    def decoded(self, path):
        """imgaudit decoded the file (or knows it is no image)."""
        status, facts = self.rows[path]
        if status in ("unsupported", "too_large"):
            return False
        return not (status == "not_image" and facts)

    def claim(self, loader, path):
        """What the profile says: skips, fails, damaged, stored, ok."""
        codes = self.claims.get((loader, path), set())
        for code, word in (("loader_skips", "skips"),
                           ("loader_fails", "fails"),
                           ("loader_damaged", "damaged"),
                           ("loader_orientation", "stored")):
            if code in codes:
                return word
        return "ok"


def check_file(c, scan, split, rec, path, profile):
    real = real_cell(rec, REAL[profile])
    said = scan.claim(profile, path)
    what = "%s: %s/%s" % (profile, split, path)
    if "/" not in path:
        # at the split root: no folder loader lists it, no claim is made
        c.check(said == "ok" and not rec["listed"].get("torchvision"),
                what + ": outside every class folder, nothing said")
        return
    if rec["path"] in UNDETECTABLE:
        c.check(said == "ok" and real == "damaged",
                what + ": damage no decoder sees (documented)")
        return
    if profile == "torchvision":
        listed = rec["listed"].get("torchvision")
        if listed is not None:
            c.check((said == "skips") == (not listed),
                    what + " listed as ImageFolder lists it",
                    "said %s, ImageFolder lists: %s" % (said, listed))
        if said == "skips":
            return
    if real is None:
        return
    if said == "ok" and not scan.decoded(path):
        return  # a format imgaudit does not decode: no claim
    if said == "ok" and real == "rotated":
        real = "ok"   # OpenCV applies the orientation: nothing to say
    c.check(said == real, what + " does what the real loader did",
            "imgaudit says %s, the loader: %s" % (said, real))


def check_split_files(c, scan, split, recs):
    prefix = split + "/"
    for rec in recs:
        if rec.get("is_dir") or not rec["path"].startswith(prefix):
            continue
        path = rec["path"][len(prefix):]
        if path not in scan.rows:
            # dangling symlinks and what only a symlink loop reaches have
            # no file row (docs/loaders.md, "Where they disagree")
            c.check(path.endswith("dangling.jpg") or "/loop/" in path,
                    "%s/%s has a file row" % (split, path))
            continue
        for profile in REAL:
            check_file(c, scan, split, rec, path, profile)
        check_keras(c, scan, split, path)


def check_keras(c, scan, split, path):
    """The documented lists (keras/src/utils/image_dataset_utils.py
    ALLOWLIST_FORMATS; index_directory skips folders named .x)."""
    parts = path.split("/")
    if len(parts) < 2:
        return
    listed = (path.lower().endswith(KERAS_EXTS) and
              not parts[0].startswith("."))
    said = scan.claim("keras", path)
    c.check((said == "skips") == (not listed),
            "keras: %s/%s listed as the documented allowlist says"
            % (split, path), "said %s" % said)
    c.check(scan.claim("tf-data", path) != "skips",
            "tf-data: %s/%s listed (a tf.data pipeline lists what it is "
            "given)" % (split, path))


def check_split_classes(c, scan, split_rec):
    split = split_rec["split"]
    tv = split_rec["torchvision"]
    fc = tv["find_classes"]
    folder = tv["image_folder"]
    want = fc.get("class_to_idx")
    if want is not None:
        c.check(scan.classes.get("torchvision", {}) == want,
                "torchvision: class index of %s is ImageFolder's" % split,
                "%s vs %s" % (scan.classes.get("torchvision"), want))
    raises = not folder["ok"]
    c.check(("loader_fails" in scan.dataset.get("torchvision", set()))
            == raises,
            "torchvision: %s: says ImageFolder raises exactly when it does"
            % split, folder.get("error"))
    if folder["ok"] and split != "symlink_loop":
        # every sample with a file row (a dangling link has none)
        rows = sum(1 for p, _ in folder["samples"]
                   if p[len(split) + 1:] in scan.rows)
        listed = sum(v for (ld, _), v in scan.listed.items()
                     if ld == "torchvision")
        c.check(listed == rows,
                "torchvision: %s: files listed = ImageFolder's samples"
                % split, "%d vs %d" % (listed, rows))
    keras = split_rec.get("keras_emulated", {}).get("class_names")
    if keras is not None:
        got = sorted(scan.classes.get("keras", {}),
                     key=lambda k: scan.classes["keras"][k])
        c.check(got == keras, "keras: class names of %s are "
                "index_directory's" % split, "%s vs %s" % (got, keras))


def check_renumbering(c, exe, tmp, tree):
    """renumber_train and renumber_test as the train and test splits of
    one dataset: fox is 2 in train and 1 in test for every profile."""
    root = os.path.join(tmp, "renumber")
    os.makedirs(root)
    os.symlink(os.path.join(tree, "renumber_train"),
               os.path.join(root, "train"))
    os.symlink(os.path.join(tree, "renumber_test"),
               os.path.join(root, "test"))
    db = os.path.join(tmp, "renumber.db")
    run([exe, "scan", root, "--db", db, "-q", "--follow-symlinks"])
    con = sqlite3.connect(db)
    got = {(ld, sev) for ld, sev in con.execute(
        "SELECT loader, severity FROM finding"
        " WHERE code = 'class_renumbered'")}
    con.close()
    c.check(got == {(p, 2) for p in ("pillow", "torchvision", "keras",
                                     "tf-data", "opencv")},
            "class_renumbered (error) for every profile when test lacks a "
            "class", got)


def check_tf_rules(c, scan):
    """TensorFlow's documented JPEG rule (jpeg_handle.cc): any truncation
    raises, a missing end marker included, where Pillow decodes the
    baseline file intact."""
    path = "jpeg/truncated_no_eoi.jpg"
    if path not in scan.rows:
        return
    for profile in ("keras", "tf-data"):
        c.check(scan.claim(profile, path) == "fails",
                "%s: a JPEG without its end marker fails" % profile)
    c.check(scan.claim("pillow", path) == "ok",
            "pillow: a baseline JPEG without its end marker is intact")
    for path, want, why in TF_FORMAT_RULES:
        if path in scan.rows:
            c.check(scan.claim("tf-data", path) == want,
                    "tf-data: %s %s (%s)" % (path, want, why),
                    "said %s" % scan.claim("tf-data", path))


# TensorFlow's readers of the other formats, as docs/loaders.md cites
# them: DecodeBmpV2 (decode_image_op.cc), gif_io.cc with giflib 5.2,
# DecodeWebP with channels=3.
TF_FORMAT_RULES = (
    ("bmp/rgb24.bmp", "ok", "24-bit, exact size"),
    ("bmp/gray8.bmp", "ok", "8-bit whose palette is the grey ramp"),
    ("bmp/bgra32_v4.bmp", "ok", "32-bit with the masks TF assumes"),
    ("bmp/pal8.bmp", "damaged", "palette ignored: indices as grey"),
    ("bmp/mono1.bmp", "fails", "1-bit: channels 0"),
    ("bmp/rgb565.bmp", "fails", "16-bit: channels 2"),
    ("bmp/rle8.bmp", "fails", "RLE data is not header + raw rows"),
    ("bmp/trailing_bytes.bmp", "fails", "two bytes more than the rows"),
    ("bmp/truncated.bmp", "fails", "fewer bytes than the rows"),
    ("gif/still.gif", "ok", "one frame"),
    ("gif/no_trailer.gif", "ok", "read error logged, frame whole"),
    ("gif/animated_cut2.gif", "ok", "the first frame is whole"),
    ("gif/truncated.gif", "damaged", "read error logged, frame cut"),
    ("webp/lossy.webp", "ok", "RGB WebP"),
    ("webp/alpha.webp", "fails", "alpha with channels=3"),
    ("webp/animated.webp", "fails", "animation with channels=3"),
    ("webp/truncated.webp", "fails", "libwebp refuses it"),
)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    exe = os.path.abspath(sys.argv[1])
    why = loaders_missing()
    if why:
        print("SKIP: the real loaders are not installed for %s (%s): "
              "apt-get install %s (scripts/install-deps.sh does)"
              % (SYSTEM_PYTHON, why, PACKAGES))
        # CI sets IA_REQUIRE_LOADERS: there a missing loader fails.
        return 1 if os.environ.get("IA_REQUIRE_LOADERS") else SKIP
    c = Checks()
    with tempfile.TemporaryDirectory(prefix="imgaudit-loaders-") as tmp:
        tree = os.path.join(tmp, "lf")
        run([SYSTEM_PYTHON, os.path.join(HERE, "mkloaderfixtures.py"), tree],
            stdout=subprocess.DEVNULL)
        observed = os.path.join(tmp, "observed.json")
        run([SYSTEM_PYTHON, os.path.join(HERE, "probe.py"), tree, "-o",
             observed], stderr=subprocess.DEVNULL)
        with open(observed) as f:
            obs = json.load(f)
        for split_rec in obs["splits"]:
            split = split_rec["split"]
            scan = Scan(exe, os.path.join(tree, split),
                        os.path.join(tmp, split + ".db"))
            check_split_files(c, scan, split, obs["files"])
            check_split_classes(c, scan, split_rec)
            if split == "files":
                check_tf_rules(c, scan)
        check_renumbering(c, exe, tmp, tree)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
