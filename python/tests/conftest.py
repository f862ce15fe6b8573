"""Shared fixtures of the Python package's tests (docs/python.md).

The CLI (IMGAUDIT_CLI, the binary of the same build) is the oracle: the
package must give what `imgaudit export`, `report --format json` and
`compare --format json` give. meson sets PYTHONPATH to the build folder's
package; run by hand:

    PYTHONPATH=build/python IMGAUDIT_CLI=build/imgaudit \\
        python3 -m pytest python/tests
"""
import json
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("IMGAUDIT_SOURCE",
                        os.path.dirname(os.path.dirname(HERE)))
CLI = os.environ.get("IMGAUDIT_CLI", os.path.join(SOURCE, "build",
                                                  "imgaudit"))
FIXTURES = os.path.join(SOURCE, "fixtures")
# Under valgrind (scripts/ci-extra.sh): long double is computed with 64
# bits there, so reals may differ from the native CLI's in the last
# digits; scans are smaller and the timing tests are left out.
VALGRIND = os.environ.get("IMGAUDIT_TEST_VALGRIND") == "1"


def cli(*args, check=True):
    r = subprocess.run([CLI, *map(str, args)], capture_output=True)
    if check and r.returncode not in (0, 3):
        raise AssertionError(f"imgaudit {' '.join(map(str, args))}: "
                             f"exit {r.returncode}\n{r.stderr.decode()}")
    return r


def cli_json(*args):
    return json.loads(cli(*args).stdout)


def cli_jsonl(*args):
    return [json.loads(line) for line in cli(*args).stdout.splitlines()]


def make_leaky(dst):
    """fixtures/sample with planted copies: a training image copied into
    test (an exact leak) and twice within train (a duplicate group)."""
    shutil.copytree(os.path.join(FIXTURES, "sample"), dst)
    train = os.path.join(dst, "train")
    label = "cat"
    src = os.path.join(train, label, "cat_002.jpg")
    os.makedirs(os.path.join(dst, "test", label), exist_ok=True)
    shutil.copy(src, os.path.join(dst, "test", label, "leaked copy.jpg"))
    shutil.copy(src, os.path.join(train, label, "dup-1.jpg"))
    return dst


@pytest.fixture(scope="session")
def datasets(tmp_path_factory):
    """name -> (root, DB scanned by the CLI) for cases, sample and leaky."""
    tmp = tmp_path_factory.mktemp("data")
    roots = {"cases": os.path.join(FIXTURES, "cases"),
             "sample": os.path.join(FIXTURES, "sample"),
             "leaky": make_leaky(str(tmp / "leaky"))}
    out = {}
    for name, root in roots.items():
        db = str(tmp / f"{name}.db")
        cli("scan", root, "--db", db, "-q", "-j", "2")
        out[name] = (root, db)
    return out
