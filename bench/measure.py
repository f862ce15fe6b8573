#!/usr/bin/env python3
"""The measurements of bench/run.sh (docs/performance.md).

    measure.py BUILD CORPUS_NAME DIR [--jobs 1,2] [--repeat N] [--rescan]

For each thread count: the decode ceiling (bench/decode_ceiling) and the
full scan (imgaudit scan into a fresh DB), alternated, REPEAT times each;
the best wall time of each is kept (the machine is shared: the best run is
the one least disturbed) and both are printed with files/s, megapixels/s,
peak RSS, CPU time, and the ratio ceiling time / scan time of the same
round. With --rescan: the rescan of the unchanged tree with --reuse
--trust-mtime and with --reuse alone, against the first scan's time, both
into the DB reused (an unchanged rescan then shares its rows) and into a
new DB (the rows are copied).
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time


def timed(cmd):
    """Wall seconds, CPU seconds, peak RSS (KiB) and stdout of one child,
    from its own rusage (os.wait4)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("measure.py: %s failed (%d): %s" % (" ".join(cmd),
                                                     p.returncode, err))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, out


def kv(line):
    return dict(x.split("=", 1) for x in line.split() if "=" in x)


def scan_figures(db):
    c = sqlite3.connect(db)
    files, pixels = c.execute(
        "SELECT files, pixels FROM scan ORDER BY id DESC LIMIT 1").fetchone()
    c.close()
    return files, pixels / 1e6


def main():
    build, name, tree = sys.argv[1:4]
    args = sys.argv[4:]
    jobs = [1, 2]
    repeat = 2
    rescan = False
    i = 0
    while i < len(args):
        if args[i] == "--jobs":
            jobs = [int(x) for x in args[i + 1].split(",")]
            i += 1
        elif args[i] == "--repeat":
            repeat = int(args[i + 1])
            i += 1
        elif args[i] == "--rescan":
            rescan = True
        i += 1
    imgaudit = os.path.join(build, "imgaudit")
    ceiling = os.path.join(build, "bench", "decode_ceiling")
    tmp = tempfile.mkdtemp(prefix="ia-bench-")
    print("== %s: %s" % (name, tree))
    first_scan = {}
    rates = {}
    for j in jobs:
        best_c = best_s = None
        for r in range(repeat):
            wall, cpu, _, out = timed([ceiling, tree, "-j", str(j)])
            c = kv(out)
            if best_c is None or wall < best_c[0]:
                best_c = (wall, cpu, c)
            db = os.path.join(tmp, "scan-%d-%d.db" % (j, r))
            wall, cpu, rss, _ = timed([imgaudit, "scan", tree, "--db", db,
                                       "-q", "-j", str(j)])
            if best_s is None or wall < best_s[0]:
                best_s = (wall, cpu, db, rss)
        files, mp = scan_figures(best_s[2])
        cw, ccpu, c = best_c
        sw, scpu, db, rss = best_s
        first_scan[j] = (sw, db, scpu)
        rates[j] = (float(c["files"]) / cw, files / sw)
        print("  -j %d  ceiling: %7.0f files/s %7.1f MP/s  %6.2f s (cpu %.2f s)"
              "  peak RSS %6.1f MB" %
              (j, float(c["files"]) / cw, float(c["megapixels"]) / cw, cw,
               ccpu, int(c["peak_rss_kb"]) / 1024))
        print("  -j %d  scan:    %7.0f files/s %7.1f MP/s  %6.2f s (cpu %.2f s)"
              "  peak RSS %6.1f MB" %
              (j, files / sw, mp / sw, sw, scpu, rss / 1024))
        print("  -j %d  ratio scan/ceiling (throughput): %.2f   by CPU time: "
              "%.2f" % (j, cw / sw, ccpu / scpu if scpu else 0))
    if 1 in rates and 2 in rates:
        print("  -j 2 / -j 1 speed-up: scan %.2f, ceiling %.2f" %
              (rates[2][1] / rates[1][1], rates[2][0] / rates[1][0]))
    if rescan:
        rescans(imgaudit, tree, tmp, max(jobs), first_scan[max(jobs)],
                repeat)
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)


def rescan_once(imgaudit, tree, tmp, j, db, into_same, extra):
    """One rescan of the unchanged tree: into a copy of the first scan's
    DB reusing itself (the new scan shares the rows), or into a new DB
    reusing the first (the rows are copied). (wall, cpu, shared)."""
    out = os.path.join(tmp, "rescan.db")
    if os.path.exists(out):
        os.remove(out)
    if into_same:
        shutil.copy(db, out)
    wall, cpu, _, _ = timed([imgaudit, "scan", tree, "--db", out, "-q",
                             "-j", str(j), "--reuse", out if into_same else db]
                            + extra)
    c = sqlite3.connect(out)
    shared = c.execute("SELECT same_as IS NOT NULL FROM scan"
                       " ORDER BY id DESC LIMIT 1").fetchone()[0]
    c.close()
    return wall, cpu, shared


def rescans(imgaudit, tree, tmp, j, first, repeat):
    sw, db, scpu = first
    for into_same, where in ((True, "same DB"), (False, "new DB")):
        for label, extra in (("--trust-mtime", ["--trust-mtime"]),
                             ("", [])):
            best = None
            for _ in range(repeat):
                got = rescan_once(imgaudit, tree, tmp, j, db, into_same,
                                  extra)
                if best is None or got[0] < best[0]:
                    best = got
            print("  rescan, unchanged tree, -j %d, into the %s, --reuse %-14s"
                  " %5.2f s (cpu %.2f s, %s): %.1f times faster than the"
                  " first scan (%.2f s; by CPU time %.1f times)" %
                  (j, where, label + ":", best[0], best[1],
                   "rows shared" if best[2] else "rows copied", sw / best[0],
                   sw, scpu / best[1] if best[1] else 0))


if __name__ == "__main__":
    main()
