#!/usr/bin/python3
"""Makes a modified copy of a clothing-style dataset (split/label/file),
for the screenshots in docs/img and for trying compare by hand:

    scripts/modify-clothing.py SRC DEST

- removes one class folder from one split (validation/skirt),
- copies 20 test images into train (leaks),
- re-saves 15 JPEGs at quality 20 and 10 in grayscale,
- truncates 5 files to 45 % of their bytes,
- moves 8 train images to validation (same label).

Deterministic: files are taken in sorted order, so the same SRC gives
the same DEST. Needs Pillow (python3-pil); DEST must not exist.
"""
import os
import shutil
import sys

from PIL import Image


def files(root, split, label=None):
    base = os.path.join(root, split)
    out = []
    for lab in sorted(os.listdir(base)):
        if label and lab != label:
            continue
        d = os.path.join(base, lab)
        out += [os.path.join(split, lab, f) for f in sorted(os.listdir(d))
                if f.lower().endswith((".jpg", ".jpeg"))]
    return out


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, dest = sys.argv[1], sys.argv[2]
    shutil.copytree(src, dest)
    shutil.rmtree(os.path.join(dest, "validation", "skirt"))
    test = files(dest, "test")
    for rel in test[::len(test) // 20][:20]:
        split, label, name = rel.split(os.sep)
        shutil.copyfile(os.path.join(dest, rel),
                        os.path.join(dest, "train", label, "from-test-" +
                                     name))
    train = [f for f in files(dest, "train") if "from-test-" not in f]
    step = len(train) // 60
    picks = train[::step]
    for rel in picks[:15]:
        p = os.path.join(dest, rel)
        Image.open(p).convert("RGB").save(p, "JPEG", quality=20)
    for rel in picks[15:25]:
        p = os.path.join(dest, rel)
        Image.open(p).convert("L").save(p, "JPEG", quality=85)
    for rel in picks[25:30]:
        p = os.path.join(dest, rel)
        os.truncate(p, os.path.getsize(p) * 45 // 100)
    for rel in picks[30:38]:
        split, label, name = rel.split(os.sep)
        os.makedirs(os.path.join(dest, "validation", label), exist_ok=True)
        os.rename(os.path.join(dest, rel),
                  os.path.join(dest, "validation", label, name))
    print("%s: modified copy of %s" % (dest, src))


if __name__ == "__main__":
    main()
