"""The tables of an Audit equal the CLI's export and JSON report, value
for value, with the documented dtypes (docs/python.md)."""
import math
import sqlite3
import shutil

import numpy as np
import pandas as pd
import pytest

import imgaudit
from conftest import VALGRIND, cli, cli_json, cli_jsonl

INT_COLUMNS = {
    "width", "height", "channels", "bytes", "jpeg_quality", "outside_class",
    "mtime_ns", "bit_depth", "rows_decoded", "rows_total", "progressive",
    "exif_orientation", "icc", "interlaced", "palette", "has_alpha",
    "animated", "frames", "pixels", "sum_r", "sum_g", "sum_b", "sumsq_r",
    "sumsq_g", "sumsq_b", "min_r", "min_g", "min_b", "max_r", "max_g",
    "max_b", "is_constant", "alpha_used", "hash_uniform"}
REAL_COLUMNS = {"brightness", "contrast", "sharpness", "entropy",
                "frac_black", "frac_white"}
ARRAY_COLUMNS = {"channel_mean", "channel_std"}


def same(got, want):
    """A DataFrame cell against a JSON value: NA/NaN/None for null, numpy
    arrays for lists, exact numbers (the JSON has the shortest repr that
    reads back as the same double)."""
    if want is None:
        return got is None or got is pd.NA or (
            isinstance(got, float) and math.isnan(got))
    if isinstance(want, list):
        return isinstance(got, np.ndarray) and len(got) == len(want) and \
            all(same(g, w) for g, w in zip(got, want))
    if isinstance(want, dict):
        return got == want
    if VALGRIND and isinstance(want, float):
        return got == pytest.approx(want, rel=1e-12, abs=1e-12)
    return got == want and type(want)(got) == want


def assert_frame_equals_json(df, rows, columns=None):
    assert len(df) == len(rows)
    cols = columns or (list(rows[0]) if rows else list(df.columns))
    assert list(df.columns) == cols
    for i, want in enumerate(rows):
        for c in cols:
            got = df[c].iloc[i]
            assert same(got, want[c]), (i, c, got, want[c])


@pytest.mark.parametrize("name", ["cases", "sample", "leaky"])
@pytest.mark.parametrize("problems", [False, True])
def test_files_equal_the_export(datasets, name, problems):
    root, db = datasets[name]
    flag = ["--problems"] if problems else []
    rows = cli_jsonl("export", "--db", db, "--format", "jsonl", *flag)
    audit = imgaudit.open(db)
    df = audit.problems if problems else audit.files
    assert_frame_equals_json(df, rows)
    assert len(rows) > 0


def test_files_columns_are_the_csv_header(datasets):
    _, db = datasets["cases"]
    header = cli("export", "--db", db).stdout.decode().splitlines()[0]
    csv_cols = [c.strip('"') for c in header.split(",")]
    want = []
    for c in imgaudit.open(db).files.columns:
        want += [c + s for s in ("_r", "_g", "_b")] if c in ARRAY_COLUMNS \
            else [c]
    assert csv_cols == want


def test_files_dtypes(datasets):
    df = imgaudit.open(datasets["cases"][1]).files
    for c in df.columns:
        if c in INT_COLUMNS:
            assert str(df[c].dtype) == "Int64", c
        elif c in REAL_COLUMNS:
            assert df[c].dtype == np.float64, c
        else:
            assert df[c].dtype == object, c
    ok = df[df.status == "ok"].iloc[0]
    assert isinstance(ok.channel_mean, np.ndarray)
    assert ok.channel_mean.dtype == np.float64 and ok.channel_mean.shape == (3,)
    assert isinstance(ok.findings, np.ndarray)
    assert len(ok.sha256) == 64 and int(ok.sha256, 16) >= 0
    assert len(ok.phash) == 16 and len(ok.pixel_hash) == 32


@pytest.mark.parametrize("name", ["cases", "sample", "leaky"])
def test_tables_equal_the_json_report(datasets, name):
    _, db = datasets[name]
    report = cli_json("report", "--db", db, "--format", "json")
    audit = imgaudit.open(db)
    # the JSON report leaves out loader, group and partners where a
    # finding has none; the table has every column
    findings = [dict({"loader": None, "group": None, "partners": []}, **f)
                for f in report["findings"]]
    assert_frame_equals_json(audit.findings, findings,
                             ["code", "severity", "path", "detail",
                              "loader", "group", "partners"])
    if name == "leaky":   # both sides of a leak name each other
        assert any(len(p) for p in audit.findings.partners)
    if name == "sample":  # the default profile's loader_fails
        assert (audit.findings.loader == "pillow").any()
    assert_frame_equals_json(audit.duplicates, report["duplicate_groups"],
                             ["kind", "paths", "distances", "splits",
                              "labels"])
    assert_frame_equals_json(audit.leaks, report["leaks"],
                             ["kind", "a", "b", "a_split", "b_split",
                              "distance"])
    splits = [dict(split=k, **v) for k, v in report["splits"].items()]
    assert_frame_equals_json(audit.splits, splits,
                             ["split", "canonical", "images", "labels",
                              "channel_mean", "channel_std"])
    assert audit.summary["errors"] == report["summary"]["errors"]
    assert audit.summary["status_counts"] == report["status_counts"]


def test_leaky_has_what_was_planted(datasets):
    audit = imgaudit.open(datasets["leaky"][1])
    assert (audit.leaks.kind == "exact").any()
    assert any(p.endswith("leaked copy.jpg") for p in audit.leaks.b)
    assert (audit.duplicates.kind == "exact").any()


def test_lists_of_dicts_without_frames(datasets):
    audit = imgaudit.open(datasets["sample"][1])
    rows = audit.table("files", frame=False)
    df = audit.files
    assert isinstance(rows, list) and len(rows) == len(df)
    assert list(rows[0]) == list(df.columns)
    r = rows[0]
    assert r["path"] == df.path.iloc[0] and r["width"] == df.width.iloc[0]
    assert r["brightness"] is None or isinstance(r["brightness"], float)


@pytest.mark.skipif(VALGRIND, reason="byte equality of reals (long double)")
def test_report_formats_equal_the_cli(datasets, tmp_path):
    _, db = datasets["cases"]
    audit = imgaudit.open(db)
    for fmt in ("text", "md", "json"):
        want = cli("report", "--db", db, "--format", fmt).stdout.decode()
        assert audit.report(fmt) == want, fmt
    want = cli("export", "--db", db, "--format", "csv").stdout.decode()
    assert audit.report("csv") == want
    out = tmp_path / "r.html"
    assert audit.report("html", path=out) is None
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page


def test_summary_verdict_and_repr(datasets):
    audit = imgaudit.open(datasets["cases"][1])
    s = audit.summary
    assert s["verdict"] == audit.verdict == "fail"
    assert s["files"] == len(audit.files) and s["complete"] is True
    page = audit._repr_html_()
    assert "FAIL" in page and "truncated" in page
    # names from the dataset are escaped
    assert "quote\" é" not in page or "&quot;" in page
    assert "<script" not in page
    sample = imgaudit.open(datasets["sample"][1])
    assert sample.verdict in ("pass", "warn", "fail")
    assert repr(sample).startswith("<imgaudit.Audit")


def test_open_by_name_and_id(datasets, tmp_path):
    root, db = datasets["sample"]
    copy = str(tmp_path / "two.db")
    shutil.copy(db, copy)
    cli("scan", datasets["cases"][0], "--db", copy, "-q")
    latest = imgaudit.open(copy)
    assert latest.summary["name"] == "cases"
    first = imgaudit.open(copy, scan="sample")
    assert first.summary["name"] == "sample"
    assert imgaudit.open(copy, scan=first.scan_id).scan_id == first.scan_id
    # an Audit keeps reading its scan whatever is added later
    cli("scan", root, "--db", copy, "-q", "--name", "third")
    assert latest.summary["name"] == "cases"
    assert len(latest.files) == len(imgaudit.open(copy, "cases").files)


def test_hostile_values_are_null_not_a_crash(datasets, tmp_path):
    """Text where the schema has numbers (a DB someone edited): the
    binding gets NULL for the mistyped value, never a crash or a value of
    another type."""
    db = str(tmp_path / "hostile.db")
    shutil.copy(datasets["cases"][1], db)
    con = sqlite3.connect(db)
    con.execute("UPDATE file SET width = 'wide', brightness = 'dim', "
                "sha256 = 'not a blob', phash = 'x' WHERE id % 2 = 0")
    con.execute("UPDATE file SET path = path || x'ff' WHERE id % 3 = 0")
    con.commit()
    con.close()
    audit = imgaudit.open(db)
    df = audit.files
    assert str(df.width.dtype) == "Int64"
    assert df.width.isna().sum() >= len(df) // 2
    assert all(isinstance(p, str) for p in df.path)
    # a name that is not UTF-8 keeps its bytes (os.fsencode gives them back)
    odd = [p for p in df.path if "\udcff" in p]
    assert odd and all(__import__("os").fsencode(p).endswith(b"\xff")
                       for p in odd)
    for t in ("findings", "duplicates", "leaks", "splits", "problems"):
        audit.table(t)
