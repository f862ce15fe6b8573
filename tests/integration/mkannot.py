#!/usr/bin/env python3
"""Writes the annotation fixtures (issue 17, docs/annotations.md).

    mkannot.py OUT    writes OUT/coco, OUT/yolo, OUT/clean and prints the
                      expected findings as JSON

- coco/: val/ and train/ PNGs, instances_val.json and instances_train.json
  (outside the tree) with one planted fault of each COCO kind;
- yolo/: images/ and labels/ with data.yaml, one fault of each YOLO kind;
- clean/: a YOLO set that yields no annotation finding.

EXPECTED maps (set, code) to the subjects (paths) each must name.
Standard library only (PNGs made with zlib).
"""
import json
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402


def png(w, h, seed):
    rows = []
    for y in range(h):
        row = b"".join(bytes(((x * 7 + y * 3 + seed * 31) & 255,
                              (seed * 50) & 255, (x + y) & 255))
                       for x in range(w))
        rows.append(b"\x00" + row)
    return iatest.png_bytes(w, h, rows=rows)


def put(path, data):
    iatest.write(path, data if isinstance(data, bytes) else data.encode())


def coco(out):
    d = os.path.join(out, "coco")
    a = png(40, 30, 1)
    for name, data in (("a.png", a), ("b.png", png(40, 30, 2)),
                       ("c.png", png(40, 30, 3)),
                       ("d.png", png(40, 30, 4)[:60]),
                       ("e.png", png(40, 30, 5)), ("f.png", a)):
        put(os.path.join(d, "val", name), data)
    put(os.path.join(d, "train", "g.png"), png(40, 30, 7))
    with open(os.path.join(iatest.SOURCE_ROOT, "fixtures", "cases", "train",
                           "jpeg", "exif_orientation6.jpg"), "rb") as f:
        put(os.path.join(d, "val", "rot.jpg"), f.read())    # 64x48, EXIF 6
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"},
            {"id": 3, "name": "bird"}]
    imgs = [{"id": 1, "file_name": "a.png", "width": 40, "height": 30},
            {"id": 2, "file_name": "b.png", "width": 40, "height": 30},
            {"id": 3, "file_name": "missing.png", "width": 40, "height": 30},
            {"id": 4, "file_name": "d.png", "width": 40, "height": 30},
            {"id": 5, "file_name": "e.png", "width": 50, "height": 30},
            {"id": 6, "file_name": "f.png", "width": 40, "height": 30},
            {"id": 7, "file_name": "val/rot.jpg", "width": 48, "height": 64}]
    anns = [(1, 1, 1, [5, 5, 10, 10]), (2, 1, 1, [5.1, 5, 10, 10]),
            (3, 2, 2, [0, 0, 0, 10]), (4, 2, 2, [35, 25, 20, 20]),
            (5, 2, 1, [30, 5, 12, 10]), (6, 99, 1, [1, 1, 5, 5]),
            (7, 1, 7, [1, 1, 5, 5]), (8, 6, 2, [1, 1, 5, 5]),
            (9, 5, 1, [1, 1, 5, 5]), (10, 7, 2, [4, 4, 20, 30])]
    val = {"images": imgs, "categories": cats,
           "annotations": [{"id": i, "image_id": im, "category_id": c,
                            "bbox": bb, "area": bb[2] * bb[3],
                            "iscrowd": 0,
                            "segmentation": [[bb[0], bb[1], bb[0] + bb[2],
                                              bb[1], bb[0], bb[1] + bb[3]]]}
                           for i, im, c, bb in anns]}
    train = {"images": [{"id": 1, "file_name": "g.png", "width": 40,
                         "height": 30}],
             "categories": cats,
             "annotations": [{"id": 1, "image_id": 1, "category_id": c,
                              "bbox": [2 + 8 * c, 2, 6, 6], "iscrowd": 0}
                             for c in (1, 2, 3)]}
    put(os.path.join(out, "instances_val.json"), json.dumps(val))
    put(os.path.join(out, "instances_train.json"), json.dumps(train))
    return {
        "annot_image_missing": ["missing.png"],
        "annot_image_undecodable": ["val/d.png"],
        "unannotated_image": ["val/c.png"],
        "annot_unknown_image": ["instances_val.json"],
        "annot_unknown_category": ["instances_val.json"],
        "box_degenerate": ["val/b.png"],
        "box_mostly_outside": ["val/b.png"],
        "box_outside_image": ["val/b.png"],
        "duplicate_box": ["val/a.png"],
        "annot_size_mismatch": ["val/e.png"],
        "annot_size_rotated": ["val/rot.jpg"],
        "annot_conflict": ["val/f.png"],
        "category_missing_from_split": [None],
        "exact_duplicate": ["val/f.png"],
        "truncated": ["val/d.png"],
        "exif_rotated": ["val/rot.jpg"],
    }


def yolo(out):
    d = os.path.join(out, "yolo")
    labels = {
        "train/p": "0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n",
        "train/q": "5 0.5 0.5 0.2 0.2\n",
        "train/r": "1 20 20 10 10\n",
        "train/s": "",
        "train/u": "0 0.5 0.5 0 0.1\n1 0.98 0.5 0.2 0.2\n"
                   "0 0.99 0.99 0.5 0.5\n",
        "train/ghost": "0 0.5 0.5 0.1 0.1\n",
        "val/v": "abc def\n0 0.5 0.5 0.3 0.3\n",
    }
    for i, n in enumerate(("train/p", "train/q", "train/r", "train/s",
                           "train/t", "train/u", "val/v")):
        put(os.path.join(d, "images", n + ".png"), png(40, 40, 10 + i))
    for n, text in labels.items():
        put(os.path.join(d, "labels", n + ".txt"), text)
    put(os.path.join(d, "data.yaml"),
        "path: .\ntrain: images/train\nval: images/val\nnc: 2\n"
        "names: [cat, dog]\n")
    return {
        "duplicate_box": ["images/train/p.png"],
        "yolo_class_out_of_range": ["images/train/q.png"],
        "box_not_normalized": ["images/train/r.png"],
        "empty_label_file": ["images/train/s.png"],
        "unannotated_image": ["images/train/t.png"],
        "box_degenerate": ["images/train/u.png"],
        "box_outside_image": ["images/train/u.png"],
        "box_mostly_outside": ["images/train/u.png"],
        "annot_image_missing": ["labels/train/ghost.txt"],
        "yolo_bad_line": ["labels/val/v.txt"],
        "category_missing_from_split": [None],
    }


def clean(out):
    d = os.path.join(out, "clean")
    for i, (n, box) in enumerate((("train/a", "0 0.5 0.5 0.2 0.2\n"
                                   "1 0.2 0.2 0.1 0.1\n"),
                                  ("val/b", "0 0.4 0.4 0.2 0.2\n"
                                   "1 0.7 0.7 0.1 0.2\n"))):
        put(os.path.join(d, "images", n + ".png"), png(32, 24, 40 + i))
        put(os.path.join(d, "labels", n + ".txt"), box)
    put(os.path.join(d, "data.yaml"), "names:\n  0: cat\n  1: dog\n")


def drifted(out, name, boxes):
    """A YOLO set of 30 64x64 train images, each with the given lines, for
    compare: the same images, other boxes."""
    d = os.path.join(out, name)
    for i in range(30):
        put(os.path.join(d, "images", "train", "%02d.png" % i),
            png(64, 64, 60 + i))
        put(os.path.join(d, "labels", "train", "%02d.txt" % i), boxes)
    put(os.path.join(d, "data.yaml"), "names: [cat, dog]\n")


def main():
    out = sys.argv[1]
    expected = {"coco": coco(out), "yolo": yolo(out)}
    clean(out)
    json.dump(expected, sys.stdout, indent=1)
    return expected


if __name__ == "__main__":
    main()
