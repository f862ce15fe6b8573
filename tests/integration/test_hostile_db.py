#!/usr/bin/env python3
"""Integration test: hostile databases (issue 13, docs/security.md).

    test_hostile_db.py IMGAUDIT

A DB handed over for compare, merge or --reuse is written by whoever
made it. These DBs are built with Python's sqlite3 module from real scans
and given to every command (scans, report in all formats, export, compare
both ways, merge, scan --reuse with and without --trust-mtime, and the
writers that read the DB they write: --resume and a rescan following its
own DB):

  - schemas altered with PRAGMA writable_schema (a NOT NULL or a CHECK
    dropped, a column retyped), a trigger or a view added, an index
    dropped: every command refuses the DB with exit 1 and one line naming
    the object ("the DB schema was altered: table finding differs from
    imgaudit's");
  - NULLs in NOT NULL columns behind a schema restored afterwards, text
    and blobs in INTEGER columns, integers in TEXT columns, out-of-range
    severities and kinds, negative counts, dangling ids, deleted rows:
    every command exits 0 (or 3 for a compare verdict) or 1 with one
    clear line (never "out of memory"), with no crash or sanitizer report;
  - a file and a label named with ANSI escapes in the tree, and finding
    codes holding ANSI escapes, HTML and Markdown in the DB: none of the
    raw bytes reach the text or Markdown output of report, compare or
    scans, nor a CLI error message that echoes a path.

Standard library only; one line per check, then "N passed, N failed".
"""
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iatest  # noqa: E402

IMGAUDIT = None
C = iatest.Checks()
SAMPLE = os.path.join(iatest.SOURCE_ROOT, "fixtures", "sample")

ANSI_FILE = b"\x1b[2J\x1b]0;pwned\x07cat.jpg"
ANSI_LABEL = b"\x1b[31mred"
EVIL_CODE = "\x1b[2J\x1b]0;pwned\x07<b onmouseover=alert(1)>*x*|\x9b31m"


def imgaudit(*args, timeout=300):
    return iatest.run(iatest.wrap([IMGAUDIT] + [iatest.b(a) for a in args]),
                      timeout=timeout)


def stderr_lines(res):
    return res.stderr.decode("utf-8", "replace").strip().splitlines()


def crashed(res):
    err = res.stderr.decode("utf-8", "replace")
    return (res.timed_out or res.returncode < 0 or res.returncode > 3 or
            "Sanitizer" in err or "runtime error:" in err)


def clean_exit(res):
    """Exit 0 or 3 (a compare verdict), or 1 (2: no such scan) with one
    line that is not a made-up out of memory; no crash, no sanitizer
    report."""
    if crashed(res):
        return False
    lines = stderr_lines(res)
    if res.returncode in (1, 2):
        return len(lines) == 1 and "out of memory" not in lines[0]
    return True


# ---- the trees and the good DBs --------------------------------------------

def make_trees(tmp):
    """tree: fixtures/sample plus a truncated JPEG named with ANSI escapes
    (a finding quotes its path) and a class folder named with escapes.
    tree2: tree changed so that compare lists the hostile names."""
    tree = os.path.join(tmp, "tree").encode()
    shutil.copytree(SAMPLE.encode(), tree)
    jpeg = iatest.sample_jpeg()
    iatest.write(os.path.join(tree, b"train", b"cat", ANSI_FILE),
                 jpeg[:len(jpeg) // 2])
    iatest.write(os.path.join(tree, b"train", ANSI_LABEL, b"r.jpg"), jpeg)
    tree2 = os.path.join(tmp, "tree2").encode()
    shutil.copytree(tree, tree2)
    os.remove(os.path.join(tree2, b"train", b"cat", ANSI_FILE))
    iatest.write(os.path.join(tree2, b"val", b"dog", ANSI_FILE), jpeg)
    os.rename(os.path.join(tree2, b"train", ANSI_LABEL, b"r.jpg"),
              os.path.join(tree2, b"train", b"cat", b"r.jpg"))
    return tree, tree2


def scan(tree, db, *extra):
    res = imgaudit("scan", tree, "--db", db, "-q", "-j", "2", *extra)
    return C.check(res.returncode == 0, "scan %s %s" % (
        os.path.basename(db), " ".join(extra)), res.why())


# ---- building hostile DBs ----------------------------------------------------

def tables(con):
    return {n: s for n, s in con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table'")}


def set_schema(path, edits):
    """Rewrites CREATE TABLE texts through PRAGMA writable_schema; edits:
    {table: function(sql) -> sql}."""
    con = sqlite3.connect(path)
    try:
        old = tables(con)
        con.execute("PRAGMA writable_schema = ON")
        for t, edit in edits.items():
            con.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?",
                        (edit(old[t]), t))
        con.commit()
    finally:
        con.close()
    return old


def no_constraints(sql):
    sql = sql.replace(" NOT NULL", "")
    return re.sub(r" CHECK \([^()]*(\([^()]*\))?[^()]*\)", "", sql)


def hostile(good, path, statements, keep_altered=False):
    """A copy of good with every constraint dropped, statements run, and
    (unless keep_altered) the original schema put back: rows that break
    it behind a schema that checks out."""
    shutil.copyfile(good, path)
    con = sqlite3.connect(path)
    names = list(tables(con))
    con.close()
    old = set_schema(path, {t: no_constraints for t in names})
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA foreign_keys = OFF")
        for sql in statements:
            con.execute(*sql) if isinstance(sql, tuple) else con.execute(sql)
        con.commit()
    finally:
        con.close()
    if not keep_altered:
        set_schema(path, {t: (lambda _, s=s: s) for t, s in old.items()})
    return path


NULL_SCAN = [
    "UPDATE scan SET name = NULL, root = NULL, layout = NULL,"
    " options = NULL, tool_version = NULL, started_at = NULL,"
    " complete = NULL, files = NULL, decoded = NULL, bytes = NULL,"
    " pixels = NULL",
]

NULL_ROWS = [
    "UPDATE file SET path = NULL, format = NULL, status = NULL,"
    " outside_class = NULL WHERE id % 3 = 0",
    "UPDATE file SET sha256 = NULL, pixels = NULL WHERE id % 5 = 0",
    "UPDATE finding SET code = NULL, severity = NULL, stage = NULL"
    " WHERE id % 2 = 0",
    "UPDATE dup_group SET kind = NULL, size = NULL",
    "UPDATE dup_member SET distance = NULL",
    "UPDATE leak SET kind = NULL, distance = NULL",
    "UPDATE stat_group SET files = NULL, images = NULL, bytes = NULL,"
    " pixels = NULL",
    "UPDATE stat_metric SET metric = NULL, n = NULL",
    "UPDATE class_index SET split = NULL, label = NULL, idx = NULL",
]

TYPES = [
    "UPDATE scan SET name = x'00ff1b', root = 42, files = 'many',"
    " decoded = -7, bytes = -1e300, pixels = x'01', complete = 7,"
    " started_at = 3.5, finished_at = x'ff'",
    "UPDATE file SET width = 'wide', height = x'0102', size = -5,"
    " pixels = 'x', sum_r = -1, sumsq_g = 'a', brightness = 'dark',"
    " jpeg_quality = 1000, sha256 = 'abcdefghijabcdefghijabcdefghij12'"
    " WHERE id % 2 = 0",
    "UPDATE file SET path = CAST('../' || id AS BLOB), split = 7,"
    " label = x'ff', status = 'bogus', format = 99, pixel_hash = 'text',"
    " phash = 'p' WHERE id % 6 = 1",
    "UPDATE file SET path = x'ff00' || id, split_canonical = x'00',"
    " status = x'6f6b', format = 'unknown' WHERE id % 6 = 4",
    "UPDATE finding SET severity = 99 WHERE id % 3 = 0",
    "UPDATE finding SET severity = -4, code = x'ff1b' WHERE id % 3 = 1",
    "UPDATE finding SET severity = 'high', detail = x'00' WHERE id % 3 = 2",
    "UPDATE dup_group SET kind = 'weird', size = -3",
    "UPDATE dup_member SET position = -position - 1, distance = 'far'",
    "UPDATE leak SET kind = x'ff', distance = 1e999",
    "UPDATE stat_group SET files = -9, labels = 'l', share = 'all',"
    " mean_r = x'00'",
    "UPDATE stat_metric SET n = -1, median = 'mid'",
    "UPDATE class_index SET idx = 'i', label = x'ff' || label",
]

DANGLING = [
    "UPDATE finding SET file_id = 999999 WHERE id % 2 = 0",
    "UPDATE finding SET scan_id = 424242 WHERE id % 7 = 0",
    "UPDATE dup_member SET file_id = 888888",
    "UPDATE leak SET a_file_id = 777777, group_id = 666666",
    "DELETE FROM file WHERE id % 4 = 0",
    "INSERT INTO finding(scan_id, file_id, path, code, severity, detail,"
    " stage) SELECT scan_id, NULL, NULL, 'orphan', 2, NULL, 'walk'"
    " FROM finding LIMIT 3",
]

SHARED = [
    "INSERT INTO scan(name, root, layout, options, tool_version,"
    " started_at, complete, same_as) SELECT 'lost', root, layout, options,"
    " tool_version, started_at, 1, 12345 FROM scan",
    "UPDATE scan SET same_as = id WHERE name = 'base'",
]


# ---- the commands ------------------------------------------------------------

def reader_commands(db, good, out):
    cmds = [["scans", "--db", db]]
    for fmt in ("text", "md", "json"):
        cmds.append(["report", "--db", db, "--format", fmt])
    cmds.append(["report", "--db", db, "--format", "html", "-o",
                 os.path.join(out, "r.html")])
    cmds += [["export", "--db", db], ["export", "--db", db, "--format",
                                       "jsonl", "--problems"]]
    cmds += [["compare", db, good], ["compare", good, db, "-f", "md"],
             ["compare", db, db, "-f", "json"],
             ["compare", db, good, "-f", "html", "-o",
              os.path.join(out, "c.html")]]
    return cmds


def writer_commands(db, tree, out):
    """Writers that read db: a scan reusing it, with and without
    --trust-mtime, into new DBs."""
    return [["scan", tree, "--db", os.path.join(out, "reuse1.db"), "-q",
             "--reuse", db],
            ["scan", tree, "--db", os.path.join(out, "reuse2.db"), "-q",
             "--reuse", db, "--trust-mtime"]]


def own_db_commands(db, tree, out):
    """Writers into db itself: a rescan following its own scan, and a
    resume of the scan (marked incomplete first, untouched otherwise)."""
    follow = os.path.join(out, "follow.db")
    resume = os.path.join(out, "resume.db")
    shutil.copyfile(db, follow)
    shutil.copyfile(db, resume)
    con = sqlite3.connect(resume)
    con.execute("UPDATE scan SET complete = 0")
    con.commit()
    con.close()
    return [["scan", tree, "--db", follow, "--name", "base", "-q", "--reuse",
             follow, "--trust-mtime"],
            ["scan", tree, "--db", resume, "--name", "base", "-q",
             "--resume"]]


def run_all(what, cmds, ok):
    bad = []
    for args in cmds:
        res = imgaudit(*args)
        if not ok(res, args):
            bad.append("%s: %s" % (" ".join(str(a) for a in args[:2]),
                                   res.why()))
            continue
        if res.returncode == 0 and "json" in args and "-o" not in args:
            try:
                json.loads(res.stdout.decode("utf-8"))
            except ValueError as e:
                bad.append("%s: invalid JSON: %s" % (args[0], e))
    return C.check(not bad, what, "; ".join(bad))


# ---- cases -------------------------------------------------------------------

def case_altered(tmp, good, shard, tree):
    """Schemas edited by hand are refused before any query trusts them."""
    def retype(sql):
        return sql.replace(" severity INTEGER NOT NULL,",
                           " severity TEXT NOT NULL,")
    variants = [
        ("NOT NULL dropped", "table finding",
         lambda p: set_schema(p, {"finding": no_constraints})),
        ("CHECK dropped", "table dup_group",
         lambda p: set_schema(p, {"dup_group": no_constraints})),
        ("column retyped", "table finding",
         lambda p: set_schema(p, {"finding": retype})),
        ("trigger added", "trigger wipe",
         lambda p: exec_sql(p, "CREATE TRIGGER wipe AFTER INSERT ON file"
                               " BEGIN DELETE FROM scan; END")),
        ("view added", "view v",
         lambda p: exec_sql(p, "CREATE VIEW v AS SELECT 1")),
        ("index dropped", "index finding_code",
         lambda p: exec_sql(p, "DROP INDEX finding_code")),
    ]
    for what, obj, alter in variants:
        d = os.path.join(tmp, re.sub(r"\W", "_", what))
        os.makedirs(d)
        db = os.path.join(d, "altered.db")
        shutil.copyfile(good, db)
        alter(db)
        hshard = os.path.join(d, "shard.db")
        shutil.copyfile(shard, hshard)
        alter(hshard)
        cmds = reader_commands(db, good, d) + writer_commands(db, tree, d)
        cmds += [["scan", tree, "--db", db, "-q"],
                 ["merge", os.path.join(d, "merged.db"), hshard]]

        def refused(res, args, obj=obj):
            lines = stderr_lines(res)
            return (not crashed(res) and res.returncode == 1 and
                    len(lines) == 1 and "schema was altered" in lines[0] and
                    obj in lines[0])
        run_all("altered schema (%s): every command refuses it with one "
                "line naming %s" % (what, obj), cmds, refused)


def exec_sql(path, sql):
    con = sqlite3.connect(path)
    try:
        con.execute(sql)
        con.commit()
    finally:
        con.close()


FILE_INDEXES = ("file_sha256", "file_status", "file_split_label")


def index_rows(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT name, sql FROM sqlite_master WHERE"
                           " type = 'index' AND tbl_name = 'file'"
                           " ORDER BY rowid").fetchall()
    finally:
        con.close()


def case_unindexed(tmp, good, shard, tree):
    """A first scan drops the file table's three secondary indexes and
    builds them at its end (docs/performance.md); one killed before that
    leaves a DB without them. Readers take it as it is, with the same
    output as with them; the next writer builds them again, in schema
    order (the query planner's ties depend on it)."""
    db = os.path.join(tmp, "unindexed.db")
    shutil.copyfile(good, db)
    for name in FILE_INDEXES:
        exec_sql(db, "DROP INDEX %s" % name)
    same = []
    for args in (["report", "--format", "json"], ["export"],
                 ["scans"]):
        a, b = imgaudit(*args, "--db", db), imgaudit(*args, "--db", good)
        if a.returncode != 0 or a.stdout != b.stdout:
            same.append("%s: exit %d, %s" % (args[0], a.returncode,
                                              "same" if a.stdout == b.stdout
                                              else "differs"))
    C.check(not same, "a DB without the file indexes: report, export and"
            " scans print what they print with them", "; ".join(same))
    C.eq([n for n, _ in index_rows(good)],
         ["sqlite_autoindex_file_1"] + list(FILE_INDEXES),
         "the file table's indexes, in the order the schema made them")
    C.eq([n for n, _ in index_rows(db)], ["sqlite_autoindex_file_1"],
         "readers leave the DB as it is (no index built)")
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    for what, args, into in (
            ("a scan into it", [tree, "--name", "again"], db),
            ("a first scan into a new DB", [tree],
             os.path.join(tmp, "fresh.db")),
            ("a scan of an empty folder into a new DB", [empty],
             os.path.join(tmp, "migrated.db"))):
        res = imgaudit("scan", args[0], "--db", into, "-q", *args[1:])
        C.check(res.returncode == 0, what + " exits 0", res.why())
        C.eq(index_rows(into), index_rows(good), what + ": the file"
             " indexes are there, in the order the schema makes them")


def case_rows(tmp, good, shard, tree):
    """Rows that break the schema behind a schema that checks out."""
    for what, stmts in (("NULLs in the scan row", NULL_SCAN),
                        ("NULLs in NOT NULL columns", NULL_ROWS),
                        ("wrong types and out-of-range values", TYPES),
                        ("dangling ids and deleted rows", DANGLING),
                        ("scans sharing missing or their own rows",
                         SHARED)):
        d = os.path.join(tmp, re.sub(r"\W", "_", what))
        os.makedirs(d)
        db = hostile(good, os.path.join(d, "h.db"), stmts)
        hshard = hostile(shard, os.path.join(d, "shard.db"), stmts)
        cmds = reader_commands(db, good, d) + writer_commands(db, tree, d)
        cmds += own_db_commands(db, tree, d)
        cmds.append(["merge", os.path.join(d, "merged.db"), hshard])
        run_all("%s: every command exits cleanly, no crash" % what, cmds,
                lambda res, args: clean_exit(res))


def forbidden_in(data):
    """The characters of output that could drive a terminal: C0 but the
    newline, DEL, C1 (U+0080-U+009F) and bytes that are not UTF-8."""
    text = data.decode("utf-8", "surrogateescape")
    return sorted({"%04x" % ord(c) for c in text
                   if (ord(c) < 0x20 and c != "\n") or
                   0x7f <= ord(c) <= 0x9f or 0xdc80 <= ord(c) <= 0xdcff})


def unescaped_markup(md):
    """Lines of Markdown with a '<' no backslash escapes, other than the
    <br> compare's writer puts between example paths (a name's own '<' is
    escaped, so a raw <br> is always the writer's)."""
    return [l for l in md.splitlines()
            if re.search(rb"(?<!\\)<(?!br>)", l)]


def case_terminal(tmp, good, new, tree):
    """ANSI escapes, HTML and Markdown in names and codes never reach a
    terminal or a Markdown page raw."""
    db = os.path.join(tmp, "evil.db")
    shutil.copyfile(good, db)
    con = sqlite3.connect(db)
    con.execute("UPDATE finding SET code = ? WHERE code = 'truncated'",
                (EVIL_CODE,))
    con.execute("UPDATE scan SET name = ?", ("\x1b[31mbase",))
    con.commit()
    con.close()
    outs = {}
    for fmt in ("text", "md"):
        outs["report " + fmt] = imgaudit("report", "--db", db, "--format",
                                         fmt)
        outs["compare " + fmt] = imgaudit("compare", db, new, "-f", fmt,
                                          "--fail-on", "never")
    outs["scans"] = imgaudit("scans", "--db", db)
    for what, res in outs.items():
        if not C.check(res.returncode == 0, "terminal: %s runs" % what,
                       res.why()):
            continue
        C.check(not forbidden_in(res.stdout),
                "terminal: %s holds no control character and no byte "
                "that is not UTF-8" % what,
                forbidden_in(res.stdout))
    rep = outs["report text"].stdout
    C.check(b"?[2J?]0;pwned?<b onmouseover=alert(1)>*x*|?31m" in rep,
            "terminal: report text shows the code with '?' for controls",
            rep[:300])
    C.check(b"?[2J?]0;pwned?cat.jpg" in rep,
            "terminal: report text shows the ANSI file name sanitised")
    for what in ("report md", "compare md"):
        md = outs[what].stdout
        C.check(outs[what].returncode == 0 and not unescaped_markup(md),
                "markdown: %s has no unescaped '<'" % what,
                unescaped_markup(md)[:2])
    C.check(b"\\<b onmouseover=alert(1)\\>\\*x\\*\\|" in
            outs["report md"].stdout,
            "markdown: report md escapes the code as compare md does")
    cmp_text = outs["compare text"].stdout
    C.check(b"?[31mred" in cmp_text and b"?[2J?]0;pwned?cat.jpg" in
            cmp_text, "terminal: compare text lists the hostile names "
                      "sanitised", cmp_text[-600:])
    html = imgaudit("report", "--db", db, "--format", "html").stdout
    C.check(b"<b onmouseover" not in html and b"\x1b" not in html,
            "html: the code is escaped")
    # CLI messages echo paths and DB strings
    missing = os.path.join(tmp, "\x1b[2Jgone.db")
    errs = [imgaudit("report", "--db", missing),
            imgaudit("compare", missing, db),
            imgaudit("report", "--db", db, "\x1b[2Jnope"),
            imgaudit("scan", os.path.join(tmp, "\x1b[2Jnodir"), "--db",
                     os.path.join(tmp, "x.db"))]
    C.check(all(e.returncode in (1, 2) and not forbidden_in(e.stderr)
                and e.stderr for e in errs),
            "terminal: error messages that echo a path or a scan name hold "
            "no control character", [e.stderr[:120] for e in errs])


def main():
    global IMGAUDIT
    if len(sys.argv) < 2:
        print("usage: test_hostile_db.py IMGAUDIT")
        return 2
    IMGAUDIT = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ia-hostiledb-")
    try:
        tree, tree2 = make_trees(tmp)
        good = os.path.join(tmp, "good.db")
        new = os.path.join(tmp, "new.db")
        shard = os.path.join(tmp, "shard.db")
        if not (scan(tree, good, "--name", "base") and
                scan(tree2, new, "--name", "new") and
                scan(tree, shard, "--shard", "0/1")):
            return C.finish()
        for case, args in ((case_altered, (good, shard, tree)),
                           (case_unindexed, (good, shard, tree)),
                           (case_rows, (good, shard, tree)),
                           (case_terminal, (good, new, tree))):
            d = os.path.join(tmp, case.__name__)
            os.makedirs(d)
            case(d, *args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return C.finish()


if __name__ == "__main__":
    sys.exit(main())
