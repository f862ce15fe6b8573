#!/usr/bin/env python3
"""Every option and every finding code is documented.

    test_docs.py IMGAUDIT MKFIXTURES

- Options: for each command listed by `imgaudit --help`, every long option
  in `imgaudit CMD --help` must appear in docs/cli.md (as `--name`).
- Finding codes: the fixture tree and the sample dataset are scanned and
  every finding code stored must be named in docs/findings.md (as
  `code`), as must every code the sources pass as a string literal to the
  finding APIs.
- The README names the two commands and they exist.
- Synopses: every usage line of a command in README.md and docs/*.md
  (`    imgaudit CMD ... [--opt ...]`) names only options CMD --help has;
  those of README.md, docs/cli.md and docs/compare.md name every one, and
  the --format values --help lists.
- Links: every relative link and image in README.md and docs/*.md points
  at a file of the repository, and every #anchor at a heading there; no
  document points outside the repository.

Standard library only; one line per check, then "N passed, N failed".
"""
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iatest import Checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def commands(imgaudit):
    out = subprocess.run([imgaudit, "--help"], capture_output=True,
                         text=True, check=True).stdout
    block = out.split("Commands:", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.strip().splitlines()]


def check_options(c, imgaudit):
    cli_doc = read("docs/cli.md")
    for cmd in commands(imgaudit):
        c.check(("## " + cmd) in cli_doc, "docs/cli.md has a section for "
                + cmd)
        r = subprocess.run([imgaudit, cmd, "--help"], capture_output=True,
                           text=True)
        c.check(r.returncode == 0 and r.stdout, cmd + " --help exits 0")
        for opt in sorted(set(re.findall(r"--[a-z][a-z0-9-]+", r.stdout))):
            if opt == "--help":
                continue
            c.check(opt in cli_doc, "docs/cli.md documents %s %s" % (cmd, opt))


def source_codes(c):
    """String literals passed as the code of a finding in src/."""
    codes = set()
    pats = [r'ia_result_add\([^,]+,\s*"([a-z_]+)"',
            r'\{IA_ENT_[A-Z_]+,\s*"([a-z_]+)"',
            r'"[a-z]+",\s*"([a-z_]+)",\s*IA_SEV_']
    srcdir = os.path.join(ROOT, "src")
    for folder, _, names in os.walk(srcdir):
        for name in names:
            if name.endswith(".c"):
                text = read(os.path.relpath(os.path.join(folder, name), ROOT))
                for p in pats:
                    codes.update(re.findall(p, text))
    c.check(len(codes) > 10, "finding codes found in src/ (%d)" % len(codes))
    return codes


def check_codes(c, imgaudit, mkfixtures):
    doc = read("docs/findings.md")
    stored = set()
    with tempfile.TemporaryDirectory() as tmp:
        cases = os.path.join(tmp, "cases")
        subprocess.run([mkfixtures, cases], check=True,
                       stdout=subprocess.DEVNULL)
        for i, tree in enumerate([cases, os.path.join(ROOT, "fixtures",
                                                      "sample")]):
            db = os.path.join(tmp, "t%d.db" % i)
            subprocess.run([imgaudit, "scan", tree, "--db", db, "-q"],
                           check=True)
            con = sqlite3.connect(db)
            stored.update(r[0] for r in
                          con.execute("SELECT DISTINCT code FROM finding"))
            con.close()
    c.check(len(stored) >= 10, "the fixture scans produce findings",
            str(sorted(stored)))
    for code in sorted(stored | source_codes(c)):
        c.check("`%s`" % code in doc, "docs/findings.md documents " + code)


def check_readme(c):
    readme = read("README.md")
    c.check("scripts/install-deps.sh" in readme and
            os.access(os.path.join(ROOT, "scripts/install-deps.sh"), os.X_OK),
            "README command 1 uses scripts/install-deps.sh")
    c.check("scripts/test.sh" in readme and
            os.access(os.path.join(ROOT, "scripts/test.sh"), os.X_OK),
            "README command 2 is scripts/test.sh")
    c.check("fixtures/sample" in readme and
            os.path.isdir(os.path.join(ROOT, "fixtures/sample")),
            "README audits the bundled sample dataset")


def help_options(imgaudit, cmd):
    """(options, format values) of CMD --help: each option a set of its
    spellings ({"-j", "--jobs"}), from the lines of its Options block."""
    out = subprocess.run([imgaudit, cmd, "--help"], capture_output=True,
                         text=True).stdout
    opts = []
    for m in re.finditer(r"^  (?:(-[a-zA-Z]), )?(--[a-z][a-z0-9-]+)", out,
                         re.M):
        if m.group(2) != "--help":
            opts.append({x for x in m.groups() if x})
    fmt = re.search(r"--format FORMAT\s+(.*?)\n\s*(?:-|\n)", out, re.S)
    values = set(re.findall(r"\b(text|md|json|html|csv|jsonl)\b",
                            fmt.group(1))) if fmt else set()
    return opts, values


def synopses(path):
    """(command, text) of each usage line of a document, continuation
    lines (deeper indented, starting with '[') joined."""
    lines = read(path).split("\n")
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"    imgaudit ([a-z]+)\b(.*)$", line)
        if not m or "[" not in line:
            continue
        text = m.group(2)
        for nxt in lines[i + 1:]:
            if re.match(r"\s{10,}\[", nxt):
                text += " " + nxt.strip()
            else:
                break
        out.append((m.group(1), text))
    return out


def check_synopses(c, imgaudit):
    cmds = commands(imgaudit)
    docs = ["README.md"] + ["docs/" + n for n in
                            sorted(os.listdir(os.path.join(ROOT, "docs")))
                            if n.endswith(".md")]
    complete = {"README.md", "docs/cli.md", "docs/compare.md"}
    seen = set()
    for doc in docs:
        for cmd, text in synopses(doc):
            where = "%s: imgaudit %s" % (doc, cmd)
            if not c.check(cmd in cmds, where + " is a command"):
                continue
            opts, values = help_options(imgaudit, cmd)
            known = set().union(*opts) if opts else set()
            named = set(re.findall(r"(?<![\w-])--?[a-zA-Z][a-z0-9-]*\b",
                                   text))
            c.check(named <= known, where + ": every option named exists",
                    str(sorted(named - known)))
            if doc not in complete:
                continue
            seen.add((doc, cmd))
            missing = sorted(min(o) for o in opts if not o & named)
            c.check(not missing, where + ": names every option of --help",
                    str(missing))
            fmt = re.search(r"--format ([a-z|]+)", text)
            if values:
                c.check(fmt is not None and
                        set(fmt.group(1).split("|")) == values,
                        where + ": --format lists " + "|".join(sorted(values)),
                        fmt.group(1) if fmt else "no --format")
    for cmd in cmds:
        for doc in ("README.md", "docs/cli.md"):
            c.check((doc, cmd) in seen, "%s has a synopsis of %s" % (doc, cmd))


def slug(heading):
    """GitHub's anchor of a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    text = re.sub(r"```.*?```", "", read(path), flags=re.S)
    return {slug(h) for h in re.findall(r"^#+ (.*)$", text, re.M)}


def check_links(c):
    docs = ["README.md", "fixtures/README.md"] + [
        "docs/" + n for n in sorted(os.listdir(os.path.join(ROOT, "docs")))
        if n.endswith(".md")]
    for doc in docs:
        text = re.sub(r"```.*?```", "", read(doc), flags=re.S)
        base = os.path.dirname(doc)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(base, path)) if path else doc
            inside = not full.startswith("..") and not os.path.isabs(full)
            ok = inside and os.path.exists(os.path.join(ROOT, full))
            if ok and anchor and full.endswith(".md"):
                ok = anchor in anchors(full)
            c.check(ok, "%s links to %s" % (doc, target))
        if doc in ("README.md", "docs/cli.md", "docs/reports.md",
                   "docs/compare.md"):
            c.check("../shared" not in read(doc),
                    doc + " names no path outside the repository")


def main():
    imgaudit, mkfixtures = sys.argv[1], sys.argv[2]
    c = Checks()
    check_options(c, imgaudit)
    check_codes(c, imgaudit, mkfixtures)
    check_readme(c)
    check_synopses(c, imgaudit)
    check_links(c)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
