#!/usr/bin/env python3
"""Renders probe.py's output as the Markdown matrix of docs/loaders.md.

Usage: matrix.py OBSERVED.json [IMGAUDIT_EXPORT.jsonl]

One row a file of the fixture tree: whether torchvision's ImageFolder and
(emulated) Keras list it, then one cell per real loader: "ok", "DAMAGED"
(no error, but the pixels differ from the same loader's decode of the
undamaged original), "WRONG" (no error, but a lossless file's pixels are
far from the intended ones), "raises T" or "None" (cv2.imread), with
"rotated"/"as stored" for EXIF-oriented files and "+w" when the loader
warned (Python warning or C library message on stderr). With an imgaudit
export (export -f jsonl) of a scan of files/ with every profile, a last
column gives imgaudit's status, findings and each profile's claim for
the same file. Standard library only.
"""
import json
import sys

LOADERS = (("pillow", "Pillow"), ("pillow_truncated_ok", "Pillow, LTI"),
           ("torchvision", "torchvision loader"), ("opencv", "cv2.imread"))
# Mean absolute difference (0..255) above which pixels are "far" from the
# intended ones: lossless files decode exactly or not at all, lossy ones
# (JPEG q90, WebP q90, RGB565) stay within a few levels here.
FAR = {False: 2.0, True: 6.0}


def cell(out, rec):
    if out is None:
        return ""
    if not out["ok"]:
        text = ("raises " + out["error"]["type"]) if "error" in out \
            else "None"
    else:
        text = "ok"
        vp = out.get("vs_pristine", {})
        ve = out.get("vs_expected", {})
        if vp.get("equal") is False or "shape_differs" in vp:
            text = "DAMAGED"
        elif "orientation" in out:
            text = "rotated" if out["orientation"] == "applied" \
                else "as stored"
        elif ve.get("mean_abs_diff", 0) > FAR[bool(rec.get("lossy"))]:
            text = "WRONG (%.0f)" % ve["mean_abs_diff"]
    if out.get("warnings") or out.get("stderr"):
        text += " +w"
    return text


def listed(value):
    return {True: "yes", False: "no", None: "(raises)"}.get(value, "")


def imgaudit_cell(row):
    """Status, the file's codes, then each profile's claim ("tf-data
    fails") from the export's finding_details."""
    if row is None:
        return ""
    codes = sorted({f["code"] if isinstance(f, dict) else str(f)
                    for f in (row.get("findings") or [])
                    if not str(f).startswith("loader_")})
    claims = {}
    for line in (row.get("finding_details") or "").splitlines():
        code, _, rest = line.partition(": ")
        if code.startswith("loader_"):
            profile = rest.partition(":")[0]
            claims.setdefault(code[len("loader_"):], []).append(profile)
    text = row["status"] + (": " + ", ".join(codes) if codes else "")
    for what in sorted(claims):
        text += "; %s %s" % ("/".join(sorted(claims[what])), what)
    return text


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        observed = json.load(f)
    audit = {}
    if len(sys.argv) == 3:
        with open(sys.argv[2]) as f:
            for line in f:
                row = json.loads(line)
                audit[row["path"]] = row
    head = ["file", "ImageFolder lists", "Keras lists"]
    head += [name for _, name in LOADERS]
    if audit:
        head.append("imgaudit")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for rec in observed["files"]:
        if rec.get("is_dir") or not rec["path"].startswith("files/"):
            continue
        row = ["`%s`" % rec["path"][len("files/"):],
               listed(rec["listed"].get("torchvision")),
               listed(rec["listed"].get("keras_emulated"))]
        row += [cell(rec.get(key), rec) for key, _ in LOADERS]
        if audit:
            # the export of a scan of files/ itself, or of the whole tree
            row.append(imgaudit_cell(
                audit.get(rec["path"]) or
                audit.get(rec["path"][len("files/"):])))
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
