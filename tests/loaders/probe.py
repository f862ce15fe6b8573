#!/usr/bin/env python3
"""Runs the real training loaders on a fixture tree and says what each did.

Usage: probe.py ROOT [--split NAME]... [--jsonl] [-o OUT]

ROOT holds splits (its folders whose names do not start with "_"), each laid
out split/class/file as folder loaders expect; mkloaderfixtures.py writes
such a tree, with ROOT/manifest.json telling what each file is. For each
split the probe records torchvision's class table (find_classes) and what
ImageFolder(split) does (the samples it lists, or the exception it raises),
and Keras' listing as dataset_utils.index_directory would make it
(EMULATED from the cited source: Keras is not packaged here). For each file
it runs, where installed:

  pillow       Image.open, .load(), .convert("RGB")  (Pillow's own path)
  pillow_truncated_ok  the same with ImageFile.LOAD_TRUNCATED_IMAGES = True
  torchvision  torchvision.datasets.folder.default_loader (pil_loader)
  opencv       cv2.imread(path)  (IMREAD_COLOR, the default)

and records whether it was listed, whether it raised (type and message),
Pillow warnings, what the C libraries wrote on stderr, the mode and shape,
and how the pixels compare with the same loader's decode of the undamaged
original (manifest "pristine") and with the intended RGB8 pixels
(manifest "expected"), and for files with an EXIF orientation whether the
loader applied it.

The loaders live in Debian's python3-pil, python3-torchvision and
python3-opencv, installed for /usr/bin/python3; under another interpreter
without them the probe runs itself again with /usr/bin/python3.

Output: one JSON document (sorted keys, paths relative to ROOT, ROOT in
messages written as <root>), or with --jsonl one record a line.
"""
import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import re
import sys
import tempfile
import warnings

SYSTEM_PYTHON = "/usr/bin/python3"


def reexec_with_system_python():
    if importlib.util.find_spec("PIL") is not None:
        return
    if (os.path.exists(SYSTEM_PYTHON)
            and os.path.realpath(sys.executable)
            != os.path.realpath(SYSTEM_PYTHON)
            and not os.environ.get("PROBE_REEXEC")):
        os.environ["PROBE_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    sys.exit("probe.py: Pillow is not installed (python3-pil)")


reexec_with_system_python()

import numpy as np  # noqa: E402
from PIL import Image, ImageFile  # noqa: E402

try:
    import cv2
except ImportError:
    cv2 = None
try:
    import torchvision
    from torchvision.datasets import folder as tv_folder
except ImportError:
    torchvision = None
    tv_folder = None

# keras/src/utils/image_dataset_utils.py (ALLOWLIST_FORMATS); docs/loaders.md
KERAS_ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
             4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
             6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}


class Probe:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        path = os.path.join(self.root, "manifest.json")
        self.manifest = {}
        if os.path.exists(path):
            with open(path) as f:
                self.manifest = json.load(f)
        self.cache = {}

    # ------------------------------------------------------------ helpers

    def rel(self, path):
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def clean(self, text):
        """ROOT written <root>; no OpenCV log timestamp ([ WARN:0@1.2])."""
        text = str(text).replace(self.root, "<root>")
        return re.sub(r"\[ ?(WARN|ERROR|INFO):\d+@[\d.]+\]", r"[\1]", text)

    def error(self, exc):
        return {"type": type(exc).__name__, "message": self.clean(exc)}

    # ------------------------------------------------------------ loaders

    def pillow(self, path):
        out = {"ok": False, "stage": "open"}
        with captured_stderr() as err, warnings.catch_warnings(record=True) \
                as caught:
            warnings.simplefilter("always")
            try:
                with Image.open(path) as im:
                    out.update(format=im.format, mode=im.mode,
                               size=list(im.size),
                               n_frames=getattr(im, "n_frames", 1))
                    out["stage"] = "load"
                    im.load()
                    out["stage"] = "convert"
                    rgb = im.convert("RGB")
                    out.update(ok=True, stage=None)
                    exif_orientation(im, out)
                arr = np.asarray(rgb)
            except Exception as exc:  # every failure is data here
                out["error"] = self.error(exc)
                arr = None
        self.notes(out, err, caught)
        return out, arr

    def pillow_truncated_ok(self, path):
        """The same with ImageFile.LOAD_TRUNCATED_IMAGES = True, the switch
        training code often sets to stop truncated files from raising."""
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            return self.pillow(path)
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = False

    def torchvision(self, path):
        out = {"ok": False}
        with captured_stderr() as err, warnings.catch_warnings(record=True) \
                as caught:
            warnings.simplefilter("always")
            try:
                arr = np.asarray(tv_folder.default_loader(path))
                out["ok"] = True
            except Exception as exc:
                out["error"] = self.error(exc)
                arr = None
        self.notes(out, err, caught)
        return out, arr

    def opencv(self, path):
        out = {"ok": False}
        with captured_stderr() as err:
            try:
                bgr = cv2.imread(path)
            except Exception as exc:  # cv2.error on some inputs
                out["error"] = self.error(exc)
                bgr = None
        arr = None
        if bgr is not None:
            out.update(ok=True, dtype=str(bgr.dtype))
            arr = bgr[:, :, ::-1] if bgr.ndim == 3 else bgr
        elif "error" not in out:
            out["returned"] = "None"
        self.notes(out, err, [])
        return out, arr

    def notes(self, out, err, caught):
        lines = [self.clean(x) for x in err.text().splitlines() if x.strip()]
        if lines:
            out["stderr"] = lines
        if caught:
            out["warnings"] = ["%s: %s" % (w.category.__name__,
                                           self.clean(w.message))
                               for w in caught]

    # ------------------------------------------------------------ comparisons

    def decode(self, loader, rel):
        key = (loader, rel)
        if key not in self.cache:
            fn = getattr(self, loader)
            self.cache[key] = fn(os.path.join(self.root, rel))[1]
        return self.cache[key]

    def expected(self, rel):
        with Image.open(os.path.join(self.root, rel)) as im:
            return im.convert("RGB")

    def compare(self, out, arr, loader, entry):
        if arr is None:
            return
        out["shape"] = list(arr.shape)
        out["sha256"] = hashlib.sha256(np.ascontiguousarray(arr)).hexdigest()
        if "pristine" in entry:
            out["vs_pristine"] = diff(arr, self.decode(loader,
                                                       entry["pristine"]))
        if "expected" in entry:
            exp = self.expected(entry["expected"])
            out["vs_expected"] = diff(arr, np.asarray(exp))
            value = entry.get("exif_orientation")
            if value in TRANSPOSE:
                out["orientation"] = orientation(arr, exp, value)

    # ------------------------------------------------------------ per file

    def file_record(self, rel, listings):
        path = os.path.join(self.root, rel)
        entry = self.manifest.get(rel, {})
        rec = {"path": rel, "kind": entry.get("kind")}
        if os.path.islink(path):
            rec["symlink_to"] = os.readlink(path)
        for key in ("lossy", "alpha", "frames", "exif_orientation"):
            if key in entry:
                rec[key] = entry[key]
        rec["listed"] = listings
        if os.path.isdir(path):
            rec["is_dir"] = True
            return rec
        loaders = ["pillow", "pillow_truncated_ok"]
        if tv_folder is not None:
            loaders.append("torchvision")
        if cv2 is not None:
            loaders.append("opencv")
        for loader in loaders:
            out, arr = getattr(self, loader)(path)
            self.compare(out, arr, loader, entry)
            rec[loader] = out
            del arr
        return rec

    # ------------------------------------------------------------ per split

    def split_record(self, split):
        top = os.path.join(self.root, split)
        rec = {"split": split}
        if tv_folder is not None:
            rec["torchvision"] = self.image_folder(top)
        rec["keras_emulated"] = keras_index(top, self.rel)
        return rec

    def image_folder(self, top):
        out = {}
        try:
            classes, class_to_idx = tv_folder.find_classes(top)
            out["find_classes"] = {"classes": classes,
                                   "class_to_idx": class_to_idx}
        except Exception as exc:
            out["find_classes"] = {"error": self.error(exc)}
        try:
            ds = torchvision.datasets.ImageFolder(top)
            out["image_folder"] = {
                "ok": True, "class_to_idx": ds.class_to_idx,
                "samples": [[self.rel(p), t] for p, t in ds.samples]}
        except Exception as exc:
            out["image_folder"] = {"ok": False, "error": self.error(exc)}
        return out

    def splits(self):
        return sorted(n for n in os.listdir(self.root)
                      if not n.startswith("_")
                      and os.path.isdir(os.path.join(self.root, n)))

    def run(self, only):
        names = only or self.splits()
        splits = [self.split_record(s) for s in names]
        index = listing_index(splits)
        listed = set()
        for have_tv, tv_paths, keras in index.values():
            listed |= (tv_paths or set()) | keras
        paths = set()
        for s in names:
            paths.update(walk_files(os.path.join(self.root, s), self.rel))
        # Files a loader reached through a symlinked folder get a record of
        # their own unless they are a file already recorded (a link loop).
        real = {os.path.realpath(os.path.join(self.root, p)) for p in paths}
        for p in sorted(listed):
            r = os.path.realpath(os.path.join(self.root, p))
            if r not in real:
                paths.add(p)
                real.add(r)
        files = [self.file_record(p, listed_by(index, p))
                 for p in sorted(paths)]
        return {"versions": versions(), "splits": splits, "files": files}


# ---------------------------------------------------------------- listings

def keras_index(top, rel):
    """dataset_utils.index_directory(labels="inferred", follow_links=False)
    for a local directory, Keras 3 (keras/src/utils/dataset_utils.py):
    class folders are the sorted entries of `top` that are directories and
    do not start with "."; files come from os.walk(class_dir) (links to
    folders not followed), sorted by folder then name, kept when
    name.lower() ends with an allowed extension."""
    if not os.path.isdir(top):
        return {"error": "not a directory"}
    classes = [d for d in sorted(os.listdir(top))
               if os.path.isdir(os.path.join(top, d))
               and not d.startswith(".")]
    samples = []
    for idx, cls in enumerate(classes):
        walk = os.walk(os.path.join(top, cls))
        for root, _, files in sorted(walk, key=lambda x: x[0]):
            for name in sorted(files):
                if name.lower().endswith(KERAS_ALLOWLIST_FORMATS):
                    samples.append([rel(os.path.join(root, name)), idx])
    return {"class_names": classes, "samples": samples}


def listing_index(splits):
    """split name -> (torchvision paths or None when ImageFolder raised,
    emulated Keras paths)."""
    out = {}
    for s in splits:
        tv = s.get("torchvision", {}).get("image_folder")
        tv_paths = None
        if tv is not None and tv["ok"]:
            tv_paths = {p for p, _ in tv["samples"]}
        keras = {p for p, _ in s["keras_emulated"].get("samples", [])}
        out[s["split"]] = (tv is not None, tv_paths, keras)
    return out


def listed_by(index, rel):
    """{"torchvision": True/False, or None when ImageFolder raised for the
    split, "keras_emulated": True/False} for one file."""
    have_tv, tv_paths, keras = index[rel.split("/")[0]]
    out = {"keras_emulated": rel in keras}
    if have_tv:
        out["torchvision"] = None if tv_paths is None else rel in tv_paths
    return out


def walk_files(top, rel):
    """Every file and symlink under top, links not followed."""
    found = []
    for root, dirs, files in os.walk(top):
        for name in files:
            found.append(rel(os.path.join(root, name)))
        for name in dirs:
            p = os.path.join(root, name)
            if os.path.islink(p):
                found.append(rel(p))
    return found


# ---------------------------------------------------------------- pixels

def exif_orientation(im, out):
    """The EXIF Orientation tag, read after load (a PNG's getexif() would
    load the image) and apart from the loader's outcome (a multi-page
    TIFF's getexif() fails once its file is closed by load())."""
    try:
        value = im.getexif().get(0x0112)
    except Exception as exc:
        out["exif_error"] = type(exc).__name__
        return
    if value is not None:
        out["exif_orientation"] = value


def diff(a, b):
    if b is None:
        return {"other_failed": True}
    if a.shape != b.shape:
        return {"shape_differs": [list(a.shape), list(b.shape)]}
    d = np.abs(a.astype(np.int32) - b.astype(np.int32))
    return {"equal": bool((d == 0).all()), "max_abs_diff": int(d.max()),
            "mean_abs_diff": round(float(d.mean()), 3)}


def orientation(arr, exp, value):
    """Which of the stored and the EXIF-rotated pictures the loader gave."""
    stored = np.asarray(exp)
    rotated = np.asarray(exp.transpose(TRANSPOSE[value]))
    scores = {}
    for name, cand in (("ignored", stored), ("applied", rotated)):
        if cand.shape == arr.shape:
            scores[name] = float(np.abs(cand.astype(np.int32)
                                        - arr.astype(np.int32)).mean())
    if not scores:
        return "neither"
    return min(scores, key=scores.get)


# ---------------------------------------------------------------- plumbing

class _Captured:
    value = ""

    def text(self):
        return self.value


@contextlib.contextmanager
def captured_stderr():
    """What C libraries write on fd 2 (libjpeg and libpng warnings, OpenCV's
    messages), which Python's sys.stderr does not see; text() has it once
    the block is left."""
    sys.stderr.flush()
    saved = os.dup(2)
    got = _Captured()
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 2)
        try:
            yield got
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            f.seek(0)
            got.value = f.read().decode("utf-8", "replace")


def versions():
    import PIL
    from PIL import features
    v = {"python": platform.python_version(), "pillow": PIL.__version__,
         "numpy": np.__version__}
    for name in ("libjpeg_turbo", "zlib", "webp", "libtiff", "jpg_2000"):
        v["pillow_" + name] = features.version(name)
    if torchvision is not None:
        import torch
        v["torchvision"] = torchvision.__version__
        v["torch"] = torch.__version__
    if cv2 is not None:
        v["opencv"] = cv2.__version__
        for line in cv2.getBuildInformation().splitlines():
            key = line.strip().split(":")[0].strip()
            if key in ("JPEG", "PNG", "WEBP", "TIFF", "JPEG 2000"):
                v["opencv_" + key.lower().replace(" ", "")] = \
                    line.split(":", 1)[1].strip()
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root")
    ap.add_argument("--split", action="append", default=[])
    ap.add_argument("--jsonl", action="store_true")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    result = Probe(args.root).run(args.split)
    out = open(args.output, "w") if args.output else sys.stdout
    with out:
        if args.jsonl:
            out.write(json.dumps({"versions": result["versions"]},
                                 sort_keys=True) + "\n")
            for rec in result["splits"] + result["files"]:
                out.write(json.dumps(rec, sort_keys=True,
                                     ensure_ascii=False) + "\n")
        else:
            json.dump(result, out, indent=1, sort_keys=True,
                      ensure_ascii=False)
            out.write("\n")


if __name__ == "__main__":
    main()
