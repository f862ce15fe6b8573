#!/usr/bin/env python3
"""Checks that the tree is the architecture drawing (docs/internals.md).

Usage: scripts/check-layout.py [BUILDDIR]

1. Every module is a folder src/MODULE/ with its meson.build, whose interface
   is src/MODULE/MODULE.h (scan and compare: include/imgaudit.h). A file of one module includes
   of another module only that interface; src/cli/ includes only the
   public header and its own cli.h.
2. No include cycle between headers.
3. The modules a file includes are among those its module may call (the
   graph below, the same as the *_dep of each src/MODULE/meson.build), and
   that graph has no cycle.
4. With BUILDDIR (a configured and compiled build): no call cycle between
   files. For each object file of a module library, the symbols it defines
   and the ones it needs (nm) give a graph of which file calls which; a
   strongly connected component of more than one file is a cycle. Symbol
   references across modules must also follow the graph.

Prints one line per problem and "layout: N problems"; exits 1 when any.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")

# What each module may call: the *_dep of its meson.build (transitively
# closed below). Keep in step with docs/internals.md.
GRAPH = {
    "core": [],
    "walk": ["core", "read"],
    "read": ["core"],
    "decode": ["core"],
    "measure": ["core"],
    "shard": ["core"],
    "policy": ["core"],
    "store": ["core", "shard"],
    "loader": ["store", "policy"],
    "analyze": ["store", "loader"],
    "annot": ["store"],
    "html": ["core"],
    "report": ["store", "html", "loader", "policy"],
    "compare": ["report", "store", "loader", "policy"],
    "scan": ["decode", "measure", "walk", "read", "store", "loader",
             "policy", "analyze", "annot"],
    "cli": ["scan", "report", "compare"],
}

# Modules no other module includes: their interface is the public header
# (scan, compare) or none (cli, built at the top of meson.build).
NO_HEADER = ("cli", "scan", "compare")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
problems = []


def problem(msg):
    problems.append(msg)
    print("layout: " + msg)


def closure(graph):
    out = {}
    for m in graph:
        seen, todo = set(), list(graph[m])
        while todo:
            d = todo.pop()
            if d not in seen:
                seen.add(d)
                todo.extend(graph[d])
        out[m] = seen
    return out


def sccs(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def source_files():
    for folder, _, names in os.walk(SRC):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(folder, n), SRC)


def module_of(rel):
    return rel.split("/")[0] if "/" in rel else None


def check_includes(allowed):
    header_graph = {}
    for rel in source_files():
        mod = module_of(rel)
        if mod is None:
            problem("%s: a source file outside a module folder" % rel)
            continue
        if mod not in GRAPH:
            problem("%s: folder '%s' is not a module of the graph" % (rel, mod))
            continue
        text = open(os.path.join(SRC, rel), encoding="utf-8").read()
        for inc in INCLUDE.findall(text):
            if rel.endswith(".h"):
                header_graph.setdefault(rel, set()).add(inc)
            if inc == "imgaudit.h":
                continue
            if mod == "cli":
                if inc != "cli.h":
                    problem("%s includes %s: the CLI includes only the "
                            "public header" % (rel, inc))
                continue
            if "/" not in inc:
                problem("%s includes \"%s\": name headers by module folder "
                        "(\"%s/%s\")" % (rel, inc, mod, inc))
                continue
            imod, name = inc.split("/", 1)
            if not os.path.exists(os.path.join(SRC, inc)):
                problem("%s includes %s, which does not exist" % (rel, inc))
            elif imod != mod and name != imod + ".h":
                problem("%s includes %s, a private header of module %s"
                        % (rel, inc, imod))
            elif imod != mod and imod not in allowed[mod]:
                problem("%s (module %s) includes %s: %s may not call %s"
                        % (rel, mod, inc, mod, imod))
    for comp in sccs(header_graph):
        problem("include cycle between " + ", ".join(comp))


def objects(build):
    """(module, file) -> object path for every module library."""
    out = {}
    for mod in GRAPH:
        d = os.path.join(build, "src", mod)
        if not os.path.isdir(d):
            continue
        for folder, _, names in os.walk(d):
            for n in names:
                if n.endswith(".c.o"):
                    out[(mod, n[:-len(".c.o")])] = os.path.join(folder, n)
    return out


def nm(path):
    out = subprocess.run(["nm", path], capture_output=True, text=True,
                         check=True).stdout
    defined, needed = set(), set()
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "TDBRC":
            defined.add(p[2])
        elif len(p) == 2 and p[0] == "U":
            needed.add(p[1])
    return defined, needed


def check_calls(build, allowed):
    objs = objects(build)
    if not objs:
        problem("no object files of the modules under %s/src" % build)
        return
    syms = {k: nm(v) for k, v in objs.items()}
    owner = {}
    for k, (defined, _) in syms.items():
        for s in defined:
            owner[s] = k
    calls = {}
    for k, (_, needed) in syms.items():
        for s in needed:
            o = owner.get(s)
            if o is None or o == k:
                continue
            calls.setdefault(k, set()).add(o)
            if o[0] != k[0] and o[0] not in allowed[k[0]]:
                problem("%s/%s calls %s (%s/%s): %s may not call %s"
                        % (k[0], k[1], s, o[0], o[1], k[0], o[0]))
    for comp in sccs(calls):
        problem("call cycle between files: " +
                ", ".join("%s/%s" % c for c in comp))
    print("layout: %d object files, %d calls between files checked"
          % (len(objs), sum(len(v) for v in calls.values())))


def main():
    for comp in sccs({m: set(d) for m, d in GRAPH.items()}):
        problem("module cycle: " + ", ".join(comp))
    allowed = closure(GRAPH)
    for mod in GRAPH:
        if not os.path.isdir(os.path.join(SRC, mod)):
            problem("module %s has no folder src/%s" % (mod, mod))
        elif mod not in NO_HEADER and not os.path.exists(
                os.path.join(SRC, mod, mod + ".h")):
            problem("module %s has no interface src/%s/%s.h" % (mod, mod, mod))
        if mod != "cli" and not os.path.exists(
                os.path.join(SRC, mod, "meson.build")):
            problem("module %s has no meson.build" % mod)
    check_includes(allowed)
    if len(sys.argv) > 1:
        check_calls(sys.argv[1], allowed)
    print("layout: %d problems" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
