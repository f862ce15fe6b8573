"""imgaudit from Python: audit an image dataset, get the results as
DataFrames, drop what the audit condemned from a training set, compare two
versions of a dataset (docs/python.md).

    import imgaudit
    audit = imgaudit.scan("data/", "data.db")     # progress bar, Ctrl-C safe
    audit.verdict                                 # 'pass', 'warn' or 'fail'
    audit.files                                   # one row per file
    audit.findings[audit.findings.severity == "error"]
    train = audit.filter(torchvision.datasets.ImageFolder("data/train"))
    imgaudit.compare("good.db", "data.db").changes

The work is done by the C library (include/imgaudit.h) through the
_imgaudit extension; a scan from Python runs the same code as the CLI.
"""
import html as _html
import json as _json
import os as _os
import tempfile as _tempfile

from . import _filter, _frames, _progress
from . import _imgaudit as _c
from ._imgaudit import (ArgumentError, BusyError, DatabaseError, Error,
                        ImgauditIOError, ManifestError, NotADatabaseError,
                        NotFoundError)

__version__ = _c.C_VERSION
__all__ = ["scan", "open", "compare", "Audit", "Comparison", "Error",
           "ArgumentError", "NotFoundError", "ImgauditIOError",
           "DatabaseError", "NotADatabaseError", "BusyError",
           "ManifestError", "DEFAULT_DB"]

#: The database a scan writes when given none, as the CLI's default.
DEFAULT_DB = "imgaudit.db"

_SEVERITY = {"info": 0, "warning": 1, "error": 2}
_FORMATS = ("text", "md", "json", "html", "csv", "jsonl")


def _path(value, what):
    if isinstance(value, (str, bytes, _os.PathLike)):
        return _os.fsdecode(value)
    raise TypeError(f"{what} must be a path (str or os.PathLike), not "
                    f"{type(value).__name__}")


def _write_atomic(path, data):
    """data to path through a temporary file in the same folder, renamed
    once complete, as the CLI writes its reports."""
    path = _path(path, "path")
    folder = _os.path.dirname(_os.path.abspath(path))
    fd, tmp = _tempfile.mkstemp(prefix=".imgaudit-", dir=folder)
    try:
        with _os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            _os.fsync(f.fileno())
        _os.replace(tmp, path)
    except BaseException:
        try:
            _os.unlink(tmp)
        except OSError:
            pass
        raise


def _progress_callback(progress):
    if progress is True:
        bar = _progress.make_bar()
        return bar, bar.update
    if progress is False or progress is None:
        return None, None
    if callable(progress):
        return None, progress
    raise TypeError("progress must be True, False or a callable taking a "
                    "dict")


def scan(path, db=None, *, jobs=None, manifest=None, loader=None,
         reuse=None, progress=True, name=None, resume=False,
         trust_mtime=False, follow_symlinks=False, exclude=None):
    """Scans the dataset at path into db (default ``imgaudit.db``) as a new
    scan, as ``imgaudit scan`` does, and returns its Audit.

    jobs: worker threads (default: every CPU). manifest: a CSV of
    ``path,label[,split]``. reuse: a DB whose results are reused for
    unchanged files (``--reuse``; with trust_mtime, ``--trust-mtime``).
    resume: finish the interrupted scan of this name (``--resume``).
    progress: True draws a progress bar (tqdm when installed), False
    none, a callable is called with a dict (files_done, files_seen,
    files_total: the count ahead, 0 until known; errors, warnings,
    seconds) about ten times a second.
    loader: the training loader profiles whose findings the scan's
    summary and reports show (``--loader``, docs/loaders.md): a name
    (``"torchvision"``), several comma-separated, or a list of names;
    None: ``"pillow"``. An unknown name raises ArgumentError.
    exclude: a glob or a list of globs (``--exclude``, docs/cli.md): files
    and folders whose path under the root, or whose name, matches are
    left out; an excluded folder is not entered.

    The GIL is released while scanning. Ctrl-C stops the scan as it stops
    the CLI: what was stored stays, the scan is left incomplete and
    ``scan(..., resume=True)`` finishes it; KeyboardInterrupt is raised.
    An exception raised by a progress callable stops it the same way.
    """
    if isinstance(loader, (list, tuple)):
        if not all(isinstance(x, str) for x in loader):
            raise TypeError("loader must be a str, a list of str or None")
        loader = ",".join(loader)
    for flag, what in ((resume, "resume"), (trust_mtime, "trust_mtime"),
                       (follow_symlinks, "follow_symlinks")):
        if not isinstance(flag, bool):
            raise TypeError(f"{what} must be a bool")
    if isinstance(exclude, str):
        exclude = (exclude,)
    elif exclude is not None:
        exclude = tuple(exclude)
        if not all(isinstance(g, str) for g in exclude):
            raise TypeError("exclude must be a str, a list of str or None")
    if trust_mtime and reuse is None:
        raise ValueError("trust_mtime needs reuse")
    db = DEFAULT_DB if db is None else _path(db, "db")
    path = _path(path, "path")
    bar, callback = _progress_callback(progress)
    try:
        run = _c.scan(db, path, name=name, manifest=manifest, jobs=jobs,
                      reuse=reuse, trust_mtime=trust_mtime, resume=resume,
                      follow_symlinks=follow_symlinks, progress=callback,
                      loader=loader, exclude=exclude)
    except BaseException:
        if bar:
            bar.close()
        raise
    if bar:
        bar.close({"files_done": run["files"], "files_seen": run["files"],
                   "files_total": run["files"],
                   "errors": run["errors"], "warnings": run["warnings"],
                   "seconds": run["seconds"]})
    return Audit(db, run["scan_id"], _run=run)


def open(db, scan=None):  # noqa: A001 - imgaudit.open, as sqlite3.connect
    """The Audit of a scan in db: scan is a name or id, None the latest
    complete scan (as ``imgaudit report``). The DB is opened read-only."""
    return Audit(db, scan)


class Audit:
    """One scan of a dataset in an imgaudit database, read-only.

    Tables (DataFrames with pandas, lists of dicts without; read once and
    kept): files, problems, findings, duplicates, leaks, splits. Their
    columns are the export's and the JSON report's (docs/python.md).
    """

    def __init__(self, db, scan=None, *, _run=None):
        self.db = _path(db, "db")
        if isinstance(scan, bool) or not (scan is None or
                                          isinstance(scan, (str, int))):
            raise TypeError("scan must be a name (str), an id (int) or None")
        self._cache = {}
        if not _os.path.exists(self.db):
            # as `imgaudit compare`: a read never creates a DB
            raise NotFoundError(f"'{self.db}': no such database file")
        self._h = _c.Db(self.db)
        self.scan_id = self._h.resolve(None if scan is None else str(scan))
        self._ref = str(self.scan_id)
        #: What scan() returned (files, seconds, ...); None when opened.
        self.run = _run

    # -- tables -----------------------------------------------------------

    _TABLES = {"files": _c.ROWS_FILES, "problems": _c.ROWS_PROBLEMS,
               "findings": _c.ROWS_FINDINGS,
               "duplicates": _c.ROWS_DUPLICATES, "leaks": _c.ROWS_LEAKS,
               "splits": _c.ROWS_SPLITS}

    def table(self, name, *, frame=True):
        """The table name ('files', 'problems', 'findings', 'duplicates',
        'leaks', 'splits') as a DataFrame, or as a list of dicts when
        frame is False or pandas is missing."""
        if name not in self._TABLES:
            raise ValueError(f"no table {name!r}: one of "
                             f"{', '.join(self._TABLES)}")
        key = (name, bool(frame))
        if key not in self._cache:
            t = self._TABLES[name]
            rows = self._h.rows(t, self._ref)
            self._cache[key] = _frames.table(_c.columns("scan", t), rows,
                                             frame)
        return self._cache[key]

    files = property(lambda self: self.table("files"),
                     doc="One row per file, as `imgaudit export`.")
    problems = property(lambda self: self.table("problems"),
                        doc="The files with a problem (`export "
                            "--problems`).")
    findings = property(lambda self: self.table("findings"),
                        doc="Every finding, errors first.")
    duplicates = property(lambda self: self.table("duplicates"),
                          doc="One row per duplicate group.")
    leaks = property(lambda self: self.table("leaks"),
                     doc="One row per file leaking across splits.")
    splits = property(lambda self: self.table("splits"),
                      doc="One row per split: images, labels, channel "
                          "statistics.")

    # -- summary ----------------------------------------------------------

    def _report_json(self):
        if "json" not in self._cache:
            self._cache["json"] = _json.loads(self.report("json"))
        return self._cache["json"]

    @property
    def summary(self):
        """The scan (name, root, times, complete, counts), files per
        status, findings per severity and the verdict, as a dict."""
        r = self._report_json()
        out = dict(r["scan"])
        out["scan_id"] = self.scan_id
        out["status_counts"] = dict(r["status_counts"])
        out["errors"] = r["summary"]["errors"]
        out["warnings"] = r["summary"]["warnings"]
        out["verdict"] = self.verdict
        return out

    @property
    def verdict(self):
        """'fail' with a finding of severity error, else 'warn' with a
        warning, else 'pass' (the HTML report's verdict)."""
        s = self._report_json()["summary"]
        return ("fail" if s["errors"] else "warn" if s["warnings"]
                else "pass")

    def report(self, format="html", path=None):
        """The report (text, md, json, html) or the export (csv, jsonl)
        as the CLI writes it: a str, or written to path (atomically) and
        None returned."""
        if format not in _FORMATS:
            raise ValueError(f"format must be one of {', '.join(_FORMATS)}")
        data = self._h.report(self._ref, format)
        if path is None:
            return data.decode("utf-8", "surrogateescape")
        _write_atomic(path, data)
        return None

    # -- what to leave out of training ------------------------------------

    def exclude(self, codes=None, *, severity=None):
        """Absolute paths of the files the audit condemns, sorted.

        With no argument: every file with a finding of severity error
        (truncated, corrupt, not_image, empty, unreadable, too_large, an
        exact or pixel split_leak or label_conflict, ...). codes: only
        findings with these codes (a status counts as a code), of any
        severity unless severity ('info', 'warning', 'error') sets the
        least one."""
        if isinstance(codes, str):
            codes = (codes,)
        if codes is not None:
            codes = set(codes)
            if not all(isinstance(c, str) for c in codes):
                raise TypeError("codes must be strings")
        if severity is None:
            severity = "error" if codes is None else "info"
        if severity not in _SEVERITY:
            raise ValueError("severity must be 'info', 'warning' or 'error'")
        least = _SEVERITY[severity]
        root = self._report_json()["scan"]["root"] or ""
        out = set()
        for f in self.table("findings", frame=False):
            if f["path"] is None or _SEVERITY.get(f["severity"], 0) < least:
                continue
            if codes is None or f["code"] in codes:
                out.add(_os.path.join(root, f["path"]))
        return sorted(out)

    def filter(self, data, codes=None, *, severity=None):
        """data without the files exclude() names: a list of paths (a new
        list, order kept), or a torchvision ImageFolder / DatasetFolder (a
        copy whose samples, imgs and targets leave them out; classes and
        class indices unchanged)."""
        return _filter.apply(data, self.exclude(codes, severity=severity))

    # -- display ----------------------------------------------------------

    def _repr_html_(self):
        s = self.summary
        esc = _html.escape
        colour = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}
        head = (f"<b>imgaudit</b> scan <b>{esc(str(s['name']))}</b> "
                f"({esc(str(s['root']))}): {s['files']} files, "
                f"{s['decoded']} decoded, "
                f"<b style='color:{colour[s['verdict']]}'>"
                f"{s['verdict'].upper()}</b> "
                f"({s['errors']} errors, {s['warnings']} warnings)")
        if not s["complete"]:
            head += " <b>(incomplete scan)</b>"
        statuses = ", ".join(f"{esc(k)} {v}" for k, v in
                             s["status_counts"].items() if v)
        rows = []
        for f in self.table("findings", frame=False)[:10]:
            rows.append("<tr>" + "".join(
                f"<td>{esc(str(f[k]) if f[k] is not None else '')}</td>"
                for k in ("severity", "code", "path", "detail")) + "</tr>")
        table = ""
        if rows:
            table = ("<table><tr><th>severity</th><th>code</th><th>path</th>"
                     "<th>detail</th></tr>" + "".join(rows) + "</table>")
        return (f"<div>{head}<br>files per status: {statuses}"
                f"{table}</div>")

    def __repr__(self):
        r = self._report_json()["scan"]
        return (f"<imgaudit.Audit {self.db!r} scan {self.scan_id} "
                f"{r['name']!r}: {r['files']} files, {self.verdict}>")

    def close(self):
        self._h.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _compare_ref(x, what):
    if isinstance(x, Audit):
        return f"{x.db}:{x.scan_id}"
    return _path(x, what)


def compare(base, new, policy=None, *, fail_on="error", db=None):
    """Compares two scans, as ``imgaudit compare BASE NEW``: base and new
    are Audits, DB files (their latest complete scan), "FILE:SCAN", or
    scan names in db. policy: a policy file (JSON, docs/compare.md).
    Both databases are only read."""
    return Comparison(_c.Compare(_compare_ref(base, "base"),
                                 _compare_ref(new, "new"), db=db,
                                 policy=policy, fail_on=fail_on))


class Comparison:
    """A comparison of two scans: verdict, summary, and the findings,
    changes and drift tables (DataFrames with pandas)."""

    _TABLES = {"findings": _c.CMP_FINDINGS, "changes": _c.CMP_CHANGES,
               "drift": _c.CMP_DRIFT}

    def __init__(self, handle):
        self._h = handle
        self._cache = {}

    def table(self, name, *, frame=True):
        if name not in self._TABLES:
            raise ValueError(f"no table {name!r}: one of "
                             f"{', '.join(self._TABLES)}")
        key = (name, bool(frame))
        if key not in self._cache:
            t = self._TABLES[name]
            self._cache[key] = _frames.table(_c.columns("compare", t),
                                             self._h.rows(t), frame)
        return self._cache[key]

    findings = property(lambda self: self.table("findings"),
                        doc="Every finding, most severe first.")
    changes = property(lambda self: self.table("changes"),
                       doc="One row per file added, removed, modified, "
                           "moved, relabeled or renamed.")
    drift = property(lambda self: self.table("drift"),
                     doc="Every measure taken, flagged or not.")

    @property
    def summary(self):
        """errors, warnings, infos and fail (a finding reached
        fail_on)."""
        return self._h.summary()

    @property
    def verdict(self):
        """'fail' when a finding reached fail_on, else 'pass'."""
        return "fail" if self._h.summary()["fail"] else "pass"

    def report(self, format="text", path=None):
        """The comparison as text, md, json or html: a str, or written to
        path and None returned."""
        if format not in ("text", "md", "json", "html"):
            raise ValueError("format must be text, md, json or html")
        data = self._h.write(format)
        if path is None:
            return data.decode("utf-8", "surrogateescape")
        _write_atomic(path, data)
        return None

    def _repr_html_(self):
        s = self.summary
        esc = _html.escape
        rows = "".join(
            "<tr>" + "".join(f"<td>{esc(str(f[k] or ''))}</td>" for k in
                             ("severity", "code", "split", "detail"))
            + "</tr>" for f in self.table("findings", frame=False)[:10])
        return (f"<div><b>imgaudit compare</b>: <b>{self.verdict.upper()}"
                f"</b> ({s['errors']} errors, {s['warnings']} warnings, "
                f"{s['infos']} info)<table>{rows}</table></div>")

    def __repr__(self):
        s = self.summary
        return (f"<imgaudit.Comparison {self.verdict}: {s['errors']} "
                f"errors, {s['warnings']} warnings>")
