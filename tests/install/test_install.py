#!/usr/bin/env python3
"""`meson install` gives a library a user can link (issue 14).

Usage: test_install.py BUILDDIR SOURCEROOT CC SANITIZE

Installs the build into a temporary DESTDIR, then, through the installed
imgaudit.pc (PKG_CONFIG_SYSROOT_DIR points pkg-config at the DESTDIR):
  - builds tests/install/tiny.c against the shared library and runs it on
    fixtures/sample;
  - builds it again against the static library (libimgaudit.a and
    `pkg-config --static`'s private libraries) and runs it;
  - checks that the shared library exports exactly the functions declared
    in the installed imgaudit.h, and that the header is the source's.
"""
import filecmp
import os
import re
import shlex
import subprocess
import sys
import tempfile

BUILD, ROOT, CC, SANITIZE = sys.argv[1:5]
passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what)
    if ok:
        passed += 1
    else:
        failed += 1
    return ok


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print("$ " + " ".join(shlex.quote(c) for c in cmd))
        print(r.stdout + r.stderr)
    return r


def find(top, name):
    for folder, _, names in os.walk(top):
        if name in names:
            return os.path.join(folder, name)
    return None


def pkg(env, *args):
    r = run(["pkg-config", *args, "imgaudit"], env)
    return shlex.split(r.stdout) if r.returncode == 0 else None


def header_functions(path):
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return set(re.findall(r"^[a-z][\w \*]*?\b(ia_\w+)\s*\(", text, re.M))


def exported(so):
    r = run(["nm", "-D", "--defined-only", so])
    names = set()
    for line in r.stdout.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "TDBRW" and p[2].startswith("ia_"):
            names.add(p[2].split("@")[0])
    return names


def build_and_run(tmp, name, cflags, libs, env, what):
    exe = os.path.join(tmp, name)
    san = ["-fsanitize=" + SANITIZE] if SANITIZE not in ("", "none") else []
    r = run([CC, "-std=c17", "-Wall", "-Werror", *san,
             os.path.join(ROOT, "tests", "install", "tiny.c"), "-o", exe,
             *cflags, *libs])
    if not check(r.returncode == 0, what + ": tiny.c builds"):
        return None
    r = run([exe, os.path.join(ROOT, "fixtures", "sample"),
             os.path.join(tmp, name + ".db")], env)
    check(r.returncode == 0 and r.stdout.startswith("files "),
          what + ": tiny runs a scan and a report (%s)" % r.stdout.strip())
    return exe


def main():
    with tempfile.TemporaryDirectory() as tmp:
        dest = os.path.join(tmp, "dest")
        r = run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet",
                 "--destdir", dest])
        if not check(r.returncode == 0, "meson install into a DESTDIR"):
            return 1
        pc = find(dest, "imgaudit.pc")
        header = find(dest, "imgaudit.h")
        so = find(dest, "libimgaudit.so")
        ar = find(dest, "libimgaudit.a")
        check(pc is not None, "imgaudit.pc installed")
        check(header is not None and filecmp.cmp(
            header, os.path.join(ROOT, "include", "imgaudit.h"),
            shallow=False), "include/imgaudit.h installed as is")
        check(so is not None and ar is not None,
              "libimgaudit.so and libimgaudit.a installed")
        if None in (pc, header, so, ar):
            return 1
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc),
                   PKG_CONFIG_SYSROOT_DIR=dest,
                   LD_LIBRARY_PATH=os.path.dirname(so))
        cflags, libs = pkg(env, "--cflags"), pkg(env, "--libs")
        check(cflags is not None and libs is not None and
              "-limgaudit" in libs, "pkg-config --cflags --libs imgaudit")
        if cflags is None or libs is None:
            return 1
        exe = build_and_run(tmp, "tiny-shared", cflags, libs, env, "shared")
        if exe:
            ldd = run(["ldd", exe], env).stdout
            check(so.rsplit("/", 1)[0] in ldd,
                  "shared: tiny loads the installed libimgaudit.so")
        static = pkg(env, "--static", "--libs")
        if check(static is not None, "pkg-config --static --libs imgaudit"):
            static = [ar if a == "-limgaudit" else a for a in static]
            exe = build_and_run(tmp, "tiny-static", cflags, static, env,
                                "static")
            if exe:
                check("libimgaudit" not in run(["ldd", exe], env).stdout,
                      "static: tiny does not load libimgaudit.so")
        want, have = header_functions(header), exported(so)
        check(len(want) > 10 and want == have,
              "libimgaudit.so exports exactly the %d functions of "
              "imgaudit.h (missing: %s; extra: %s)"
              % (len(want), sorted(want - have) or "none",
                 sorted(have - want)[:10] or "none"))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
