"""imgaudit.scan: the same rows as the CLI, progress, the GIL released,
Ctrl-C leaving a resumable scan, and errors as exceptions."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import imgaudit
from conftest import FIXTURES, VALGRIND, cli, cli_json, cli_jsonl

SAMPLE = os.path.join(FIXTURES, "sample")


def export(db, *more):
    return cli_jsonl("export", "--db", db, "--format", "jsonl", *more)


def without_mtime(rows):
    return [{k: v for k, v in r.items() if k != "mtime_ns"} for r in rows]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """fixtures/sample's images 40 times over (about 3,700 files), each
    copy with other bytes (a comment appended after the end of the
    image), so a scan lasts long enough to be interrupted."""
    root = tmp_path_factory.mktemp("big") / "data"
    for k in range(4 if VALGRIND else 40):
        for folder, _, names in os.walk(SAMPLE):
            rel = os.path.relpath(folder, SAMPLE)
            dst = root / rel / f"copy{k:02d}"
            dst.mkdir(parents=True, exist_ok=True)
            for n in names:
                data = open(os.path.join(folder, n), "rb").read()
                (dst / n).write_bytes(data + b"copy %d" % k)
    return str(root)


def test_scan_gives_the_rows_of_the_cli(tmp_path):
    py_db, cli_db = str(tmp_path / "py.db"), str(tmp_path / "cli.db")
    audit = imgaudit.scan(SAMPLE, py_db, jobs=2, progress=False)
    cli("scan", SAMPLE, "--db", cli_db, "-q", "-j", "2")
    assert export(py_db) == export(cli_db)
    assert audit.run["files"] == len(audit.files) > 0
    # files and dataset-level findings apart, as the JSON report counts
    summary = cli_json("report", "--db", py_db, "--format", "json")["summary"]
    apart = [f"{w}_{s}" for w in ("files_with", "dataset_level")
             for s in ("errors", "warnings", "infos")]
    assert {k: audit.run[k] for k in apart} == {k: summary[k] for k in apart}
    assert audit.run["dataset_level_warnings"] == 1   # grayscale
    assert audit.summary["complete"] is True
    assert audit.summary["name"] == "sample"


def test_scan_with_a_progress_bar(tmp_path, capsys):
    audit = imgaudit.scan(SAMPLE, str(tmp_path / "a.db"), progress=True)
    err = capsys.readouterr().err
    n = len(audit.files)
    # tqdm's bar when tqdm is installed, else the package's own line
    assert f"{n}/{n}" in err


def test_scan_without_progress_prints_nothing(tmp_path, capsys):
    imgaudit.scan(SAMPLE, str(tmp_path / "a.db"), progress=False)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_progress_callable(tmp_path, big):
    seen = []
    audit = imgaudit.scan(big, str(tmp_path / "a.db"), jobs=1,
                          progress=seen.append)
    assert seen, "the callable was never called"
    done = [p["files_done"] for p in seen]
    assert done == sorted(done) and done[-1] <= len(audit.files)
    assert set(seen[0]) == {"files_done", "files_seen", "files_total",
                            "errors", "warnings", "seconds"}
    # the count ahead: every file of the tree, once it is known
    totals = {p["files_total"] for p in seen} - {0}
    assert totals <= {len(audit.files)}
    # about ten calls a second, not one per file
    assert len(seen) <= 20 * seen[-1]["seconds"] + 5


@pytest.mark.skipif(VALGRIND, reason="timing")
def test_the_gil_is_released_while_scanning(tmp_path, big):
    done = threading.Event()
    result = {}

    def work():
        result["audit"] = imgaudit.scan(big, str(tmp_path / "g.db"), jobs=1,
                                        progress=False)
        done.set()

    t = threading.Thread(target=work)
    ticks = 0
    t.start()
    time.sleep(0.05)
    running = not done.is_set()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    assert running, "the scan ended too soon to tell"
    # with the GIL held for the whole scan this thread would not have run
    assert ticks > 50, ticks
    assert result["audit"].summary["complete"]


def test_a_progress_callable_that_raises_stops_the_scan(tmp_path, big):
    db = str(tmp_path / "stop.db")

    least = 10 if VALGRIND else 100

    def stop(p):
        if p["files_done"] > least:
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        imgaudit.scan(big, db, jobs=1, progress=stop)
    audit = imgaudit.open(db)
    assert audit.summary["complete"] is False
    assert least < len(audit.files) < len(imgaudit.scan(
        big, str(tmp_path / "all.db"), progress=False).files)


CHILD = r"""
import sys, imgaudit
def progress(p):
    if p["files_done"] >= 200:
        print("scanning", flush=True)
try:
    imgaudit.scan(sys.argv[1], sys.argv[2], jobs=1, progress=progress)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


@pytest.mark.skipif(VALGRIND, reason="timing")
def test_ctrl_c_leaves_a_resumable_scan(tmp_path, big):
    db = str(tmp_path / "int.db")
    child = subprocess.Popen([sys.executable, "-c", CHILD, big, db],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "scanning"
    child.send_signal(signal.SIGINT)
    out = child.stdout.read()
    assert child.wait(60) == 130, out
    assert "KeyboardInterrupt" in out
    stopped = imgaudit.open(db)
    assert stopped.summary["complete"] is False
    kept = len(stopped.files)
    assert 200 <= kept < 3000
    # resumed from Python: the result of an uninterrupted scan
    resumed = imgaudit.scan(big, db, jobs=2, resume=True, progress=False)
    assert resumed.summary["complete"] is True
    full = str(tmp_path / "full.db")
    cli("scan", big, "--db", full, "-q")
    assert without_mtime(export(db)) == without_mtime(export(full))
    assert resumed.summary["errors"] == imgaudit.open(full).summary["errors"]


def test_errors_are_exceptions_with_the_c_message(tmp_path):
    db = str(tmp_path / "e.db")
    with pytest.raises(imgaudit.Error) as e:
        imgaudit.scan(str(tmp_path / "missing"), db, progress=False)
    r = cli("scan", str(tmp_path / "missing"), "--db",
            str(tmp_path / "e2.db"), check=False)
    assert str(e.value) and str(e.value) in r.stderr.decode()
    with pytest.raises(imgaudit.NotFoundError) as e:
        imgaudit.open(str(tmp_path / "none.db"))
    assert isinstance(e.value, LookupError)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(imgaudit.Error):
        imgaudit.open(str(junk))
    audit = imgaudit.scan(SAMPLE, db, progress=False)
    with pytest.raises(imgaudit.NotFoundError, match="no scan named"):
        imgaudit.open(db, scan="nope")
    with pytest.raises(imgaudit.ManifestError):
        bad = tmp_path / "m.csv"
        bad.write_text("nothing,useful\n")
        imgaudit.scan(SAMPLE, db, manifest=str(bad), progress=False)
    assert audit.verdict


@pytest.mark.parametrize("kwargs, exc", [
    (dict(jobs="2"), TypeError), (dict(jobs=0), ValueError),
    (dict(jobs=-1), ValueError), (dict(jobs=10**30), OverflowError),
    (dict(jobs=True), TypeError), (dict(progress=3), TypeError),
    (dict(loader="pytorch"), ValueError), (dict(loader=5), TypeError),
    (dict(loader=["keras", 5]), TypeError), (dict(manifest=5), TypeError),
    (dict(name=b"x"), TypeError), (dict(name="a\0b"), ValueError),
    (dict(resume="yes"), TypeError), (dict(trust_mtime=True), ValueError),
])
def test_bad_arguments_raise(tmp_path, kwargs, exc):
    with pytest.raises(exc):
        imgaudit.scan(SAMPLE, str(tmp_path / "b.db"), **kwargs)


def test_bad_arguments_elsewhere(tmp_path, datasets):
    db = datasets["sample"][1]
    with pytest.raises(TypeError):
        imgaudit.scan(42, str(tmp_path / "b.db"))
    with pytest.raises(ValueError):
        imgaudit.scan("", str(tmp_path / "b.db"))
    with pytest.raises(TypeError):
        imgaudit.open(db, scan=1.5)
    audit = imgaudit.open(db)
    with pytest.raises(ValueError):
        audit.report("pdf")
    with pytest.raises(ValueError):
        audit.table("nope")
    with pytest.raises(ValueError):
        audit.exclude(severity="fatal")
    with pytest.raises(TypeError):
        audit.filter(42)
    with pytest.raises(TypeError):
        audit.filter("one/path.jpg")
    audit.close()
    with pytest.raises(ValueError, match="closed"):
        audit.table("leaks")


def test_a_second_writer_is_refused_with_busy_error(tmp_path, big):
    db = str(tmp_path / "busy.db")
    errors = []

    def second_writer(p):
        if not errors:
            try:
                imgaudit.scan(SAMPLE, db, progress=False)
            except imgaudit.BusyError as e:
                errors.append(e)

    audit = imgaudit.scan(big, db, jobs=1, progress=second_writer)
    assert errors and errors[0].code == 12
    assert audit.summary["complete"] is True


def test_loader_profiles_choose_the_findings_shown(tmp_path):
    """A .jfif among a class's JPEGs: Keras' image_dataset_from_directory
    never lists it (loader_skips), the default Pillow profile does."""
    root = tmp_path / "data"
    shutil.copytree(SAMPLE, root)
    cls = next(p for p in sorted(root.glob("train/*")) if p.is_dir())
    jpg = next(p for p in sorted(cls.iterdir()) if p.suffix == ".jpg")
    shutil.copy(jpg, cls / "extra.jfif")
    rel = os.path.relpath(cls / "extra.jfif", root)

    def skipped(audit):
        return {(f["code"], f["path"]) for f in
                audit.table("findings", frame=False)
                if f["code"] == "loader_skips"}

    keras = imgaudit.scan(str(root), str(tmp_path / "k.db"),
                          loader=["keras"], progress=False)
    assert ("loader_skips", rel) in skipped(keras)
    assert ("loader_skips", rel) in {
        (r["findings"] and "loader_skips", r["path"])
        for r in export(str(tmp_path / "k.db"))
        if "loader_skips" in (r["findings"] or [])}
    pillow = imgaudit.scan(str(root), str(tmp_path / "p.db"),
                           progress=False)
    assert not skipped(pillow)


def test_exclude_leaves_out_what_the_cli_leaves_out(tmp_path):
    """exclude= is --exclude: a glob or a list, on names and paths; an
    excluded folder is not entered; the rows equal the CLI's."""
    db = str(tmp_path / "py.db")
    audit = imgaudit.scan(SAMPLE, db, exclude=["*.png", "train/dog"],
                          progress=False)
    paths = {f["path"] for f in audit.table("files", frame=False)}
    assert paths and not any(p.endswith(".png") for p in paths)
    assert not any(p.startswith("train/dog/") for p in paths)
    assert any(p.startswith("val/dog/") for p in paths)
    cli("scan", SAMPLE, "--db", str(tmp_path / "cli.db"), "-q",
        "--exclude", "*.png", "--exclude", "train/dog")
    assert without_mtime(export(db)) == \
        without_mtime(export(str(tmp_path / "cli.db")))
    one = imgaudit.scan(SAMPLE, str(tmp_path / "one.db"), exclude="*.jpg",
                        progress=False)
    assert not any(f["path"].endswith(".jpg")
                   for f in one.table("files", frame=False))
    for bad in ([1], [""]):
        with pytest.raises(TypeError):
            imgaudit.scan(SAMPLE, str(tmp_path / "bad.db"), exclude=bad,
                          progress=False)
