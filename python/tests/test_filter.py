"""Audit.exclude and Audit.filter: a training script drops exactly the
files the audit condemned, from a torchvision ImageFolder or a list of
paths. The condemned files are taken from the CLI's JSON report."""
import os

import pytest
import torchvision

import imgaudit
from conftest import cli_json


def condemned(db, codes=None, least="error"):
    report = cli_json("report", "--db", db, "--format", "json")
    rank = {"info": 0, "warning": 1, "error": 2}
    root = report["scan"]["root"]
    return {os.path.join(root, f["path"]) for f in report["findings"]
            if f["path"] and rank[f["severity"]] >= rank[least]
            and (codes is None or f["code"] in codes)}


@pytest.mark.parametrize("name, split", [("cases", "test"),
                                          ("cases", "train"),
                                          ("leaky", "test")])
def test_imagefolder_loses_exactly_the_condemned(datasets, name, split):
    root, db = datasets[name]
    audit = imgaudit.open(db)
    bad = condemned(db)
    assert set(audit.exclude()) == bad
    ds = torchvision.datasets.ImageFolder(os.path.join(root, split))
    kept = audit.filter(ds)
    want = [s for s in ds.samples if os.path.abspath(s[0]) not in bad]
    assert kept.samples == want
    assert kept.imgs == want and kept.targets == [t for _, t in want]
    assert kept.classes == ds.classes
    assert kept.class_to_idx == ds.class_to_idx
    removed = {s[0] for s in ds.samples} - {s[0] for s in kept.samples}
    assert removed == {p for p in bad if p.startswith(
        os.path.join(root, split) + os.sep)}
    # cases/train holds no broken file; the test splits do
    assert bool(removed) == (split == "test")
    assert len(ds.samples) == len(kept.samples) + len(removed)
    for path, _ in kept.samples[:3]:
        kept.loader(path)           # what is left loads


def test_codes_and_severity(datasets):
    root, db = datasets["cases"]
    audit = imgaudit.open(db)
    trunc = audit.exclude(("truncated", "corrupt"))
    assert set(trunc) == condemned(db, {"truncated", "corrupt"}, "info")
    assert trunc and all(os.path.isabs(p) for p in trunc)
    gray = audit.exclude("grayscale")
    assert set(gray) == condemned(db, {"grayscale"}, "info") and gray
    assert audit.exclude("grayscale", severity="error") == []


def test_list_of_paths(datasets):
    root, db = datasets["leaky"]
    audit = imgaudit.open(db)
    paths = []
    for folder, _, names in os.walk(root):
        paths += sorted(os.path.join(folder, n) for n in names)
    kept = audit.filter(paths)
    bad = condemned(db)
    assert kept == [p for p in paths if p not in bad]
    assert len(kept) < len(paths)
    leaks = audit.filter(paths, "split_leak")
    assert not any(p.endswith("leaked copy.jpg") for p in leaks)
    # relative paths are taken from the current folder
    rel = [os.path.relpath(p) for p in paths]
    assert len(audit.filter(rel)) == len(kept)
