"""imgaudit.compare on two versions of the sample dataset: the tables,
verdict and summary of `imgaudit compare --format json`."""
import json
import os
import shutil

import numpy as np
import pytest

import imgaudit
from conftest import FIXTURES, VALGRIND, cli, cli_json
from test_tables import same


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """v1 = fixtures/sample; v2 with one file of each kind of change."""
    tmp = tmp_path_factory.mktemp("versions")
    v1, v2 = str(tmp / "v1"), str(tmp / "v2")
    shutil.copytree(os.path.join(FIXTURES, "sample"), v1)
    shutil.copytree(v1, v2)
    cat = os.path.join(v2, "train", "cat")
    os.remove(os.path.join(cat, "cat_003.jpg"))                     # removed
    shutil.copy(os.path.join(v2, "test", "cat", "cat_030.jpg"),
                os.path.join(cat, "added.jpg"))                     # added
    data = open(os.path.join(cat, "cat_005.jpg"), "rb").read()
    open(os.path.join(cat, "cat_005.jpg"), "wb").write(
        data[:len(data) // 2])                                      # modified
    os.rename(os.path.join(cat, "cat_006.jpg"),
              os.path.join(cat, "renamed.jpg"))                     # renamed
    os.makedirs(os.path.join(v2, "val", "cat"), exist_ok=True)
    os.rename(os.path.join(cat, "cat_007.jpg"),
              os.path.join(v2, "val", "cat", "cat_007.jpg"))        # moved
    dog = os.path.join(v2, "train", "dog")
    os.rename(os.path.join(cat, "cat_008.jpg"),
              os.path.join(dog, "cat_008.jpg"))                     # relabeled
    dbs = []
    for v in (v1, v2):
        db = v + ".db"
        cli("scan", v, "--db", db, "-q")
        dbs.append(db)
    return dbs


def frame_equals(df, rows, cols):
    assert len(df) == len(rows)
    for i, want in enumerate(rows):
        for c in cols:
            assert same(df[c].iloc[i], want[c]), (i, c, df[c].iloc[i],
                                                  want[c])


def expected_changes(files):
    rows = []
    for p in files["added"]["paths"]:
        rows.append(dict(kind="added", path=p, base_path=None))
    for p in files["removed"]["paths"]:
        rows.append(dict(kind="removed", path=None, base_path=p))
    for f in files["modified"]["files"]:
        rows.append(dict(kind="modified", path=f["path"],
                         base_path=f["path"],
                         pixels_changed=None if f["pixels_changed"] is None
                         else int(f["pixels_changed"]),
                         status_detail=f["status_detail"]))
    for kind in ("moved", "relabeled", "renamed"):
        for f in files[kind]["files"]:
            r = dict(kind=kind, path=f["path"], base_path=f["base_path"],
                     recoded=int(f["recoded"]))
            for k in ("split", "base_split", "label", "base_label"):
                if k in f:
                    r[k] = f[k]
            rows.append(r)
    return rows


def close(got, want):
    """Equal, or under valgrind (64-bit long double) equal to 1e-12."""
    if VALGRIND and isinstance(want, float):
        return got == pytest.approx(want, rel=1e-12, abs=1e-12)
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(map(close, got, want))
    if isinstance(want, dict) and isinstance(got, dict):
        return got.keys() == want.keys() and all(close(got[k], want[k])
                                                 for k in want)
    return got == want


def test_compare_equals_the_cli(versions):
    base, new = versions
    want = cli_json("compare", base, new, "--format", "json")
    c = imgaudit.compare(base, new)
    assert c.verdict == want["verdict"]
    s = c.summary
    assert (s["errors"], s["warnings"], s["infos"]) == (
        want["summary"]["errors"], want["summary"]["warnings"],
        want["summary"]["infos"])
    frame_equals(c.findings, want["findings"],
                 ["code", "severity", "split", "label", "metric", "detail",
                  "examples"])
    changes = expected_changes(want["files"])
    assert len(c.changes) == len(changes)
    for i, row in enumerate(changes):
        for k, v in row.items():
            assert same(c.changes[k].iloc[i], v), (i, k)
    kinds = set(c.changes.kind)
    assert kinds == {"added", "removed", "modified", "moved", "relabeled",
                     "renamed"}
    assert len(c.drift) == len(want["drift"])
    for i, d in enumerate(want["drift"]):
        row = c.drift.iloc[i]
        for k in ("code", "split", "label", "metric", "statistic",
                  "p_value", "severity"):
            assert same(row[k], d[k]), (i, k)
        for k in ("base", "new"):
            got = row[k]
            if isinstance(got, np.ndarray):
                got = got.tolist()
            assert close(got, d[k]), (i, k)
    if not VALGRIND:
        assert c.report("json") == cli("compare", base, new, "--format",
                                       "json").stdout.decode()


def test_compare_audits_and_options(versions, tmp_path):
    base, new = versions
    a, b = imgaudit.open(base), imgaudit.open(new)
    c = imgaudit.compare(a, b, fail_on="never")
    assert c.verdict == "pass"
    assert imgaudit.compare(a, a).verdict == "pass"
    assert len(imgaudit.compare(a, a).changes) == 0
    assert "imgaudit compare" in c._repr_html_()
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"severity": {"modified": "error"}}))
    strict = imgaudit.compare(base, new, str(policy))
    assert strict.verdict == "fail"
    assert "error" in set(strict.findings[strict.findings.code ==
                                          "modified"].severity)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"thresholds": {"no_such_key": 1}}))
    with pytest.raises(imgaudit.ArgumentError, match="no_such_key"):
        imgaudit.compare(base, new, str(bad))
    with pytest.raises(ValueError):
        imgaudit.compare(base, new, fail_on="sometimes")
    with pytest.raises(imgaudit.NotFoundError):
        imgaudit.compare(base, str(tmp_path / "missing.db"))
    with pytest.raises(TypeError):
        imgaudit.compare(base, 3)
    out = tmp_path / "c.md"
    c.report("md", path=out)
    assert out.read_text() == cli("compare", base, new, "--format", "md",
                                  "--fail-on", "never").stdout.decode()
