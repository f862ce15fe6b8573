#!/usr/bin/env python3
"""The measurements of bench/run.sh (docs/performance.md).

    measure.py BUILD CORPUS_NAME DIR [--jobs 1,2] [--repeat N] [--rescan]

For each thread count: the decode ceiling (bench/decode_ceiling) and the
full scan (imgaudit scan into a fresh DB), alternated, REPEAT times each
(the machine is shared: alternating spreads a disturbance over both).
Printed side by side, one line per thread count: the median wall time,
files/s, CPU seconds per 1,000 files and peak RSS of each, and the ratio
ceiling / scan of the medians, by wall time and by CPU time (a busy
machine disturbs CPU time less); the range of the scan's wall times says
how steady the runs were. With --rescan: the rescan of the unchanged tree
with --reuse --trust-mtime and with --reuse alone, against the first
scan's median time, both into the DB reused (an unchanged rescan then
shares its rows) and into a new DB (the rows are copied).
"""
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time


# A child's ru_maxrss starts at its parent's resident size (fork copies
# the address space, exec keeps the high-water mark), so measured from
# here every figure would be at least this Python process (about 16 MB).
# GNU time forks each command from a process of about 2 MB and reports
# the command's own peak.
GNU_TIME = "/usr/bin/time"


def timed(cmd):
    """Wall seconds, CPU seconds, peak RSS (KiB) and stdout of one child,
    from its own rusage (os.wait4; the peak RSS through GNU time when
    there is one)."""
    rss_file = None
    if os.access(GNU_TIME, os.X_OK):
        fd, rss_file = tempfile.mkstemp(prefix="ia-rss-")
        os.close(fd)
        cmd = [GNU_TIME, "-o", rss_file, "-f", "%M"] + cmd
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
    rss = ru.ru_maxrss
    if rss_file:
        with open(rss_file) as f:
            rss = int(f.read().split()[-1])
        os.remove(rss_file)
    return wall, ru.ru_utime + ru.ru_stime, rss, out


def kv(line):
    return dict(x.split("=", 1) for x in line.split() if "=" in x)


def scan_figures(db):
    c = sqlite3.connect(db)
    files, pixels = c.execute(
        "SELECT files, pixels FROM scan ORDER BY id DESC LIMIT 1").fetchone()
    c.close()
    return files, pixels / 1e6


def median_run(runs):
    """The medians of (wall, cpu, rss) over runs."""
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))


def load():
    return "%.1f" % os.getloadavg()[0]


COLUMNS = "%6s %8s %8s %6s" % ("wall s", "files/s", "CPU-s/1k", "RSS MB")
HEADER = ("        | %s | %s | ratio ceiling/scan\n"
          "        | %s | %s |  wall    CPU   (scan wall min-max)" %
          ("decode ceiling".center(len(COLUMNS)),
           "full scan".center(len(COLUMNS)), COLUMNS, COLUMNS))


def side_by_side(j, files, c, s, s_walls):
    """One line: ceiling and scan medians (wall, cpu, rss) of -j j."""
    def half(m):
        return "%6.2f %8.0f %8.3f %6.1f" % (m[0], files / m[0],
                                             1000 * m[1] / files,
                                             m[2] / 1024)
    return ("  -j %d  | %s | %s | %5.2f  %5.2f   (%.2f-%.2f s)" %
            (j, half(c), half(s), c[0] / s[0], c[1] / s[1], min(s_walls),
             max(s_walls)))


def main():
    build, name, tree = sys.argv[1:4]
    args = sys.argv[4:]
    jobs = [1, 2]
    repeat = 3
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
    first_scan = {}
    rates = {}
    lines = []
    load0 = load()
    for j in jobs:
        cruns, sruns = [], []
        for r in range(repeat):
            wall, cpu, rss, out = timed([ceiling, tree, "-j", str(j)])
            c = kv(out)
            cruns.append((wall, cpu, rss))
            db = os.path.join(tmp, "scan-%d-%d.db" % (j, r))
            sruns.append(timed([imgaudit, "scan", tree, "--db", db, "-q",
                                "-j", str(j)])[:3])
        files, mp = scan_figures(db)
        cm, sm = median_run(cruns), median_run(sruns)
        first_scan[j] = (sm[0], db, sm[1])
        rates[j] = (files / cm[0], files / sm[0])
        lines.append(side_by_side(j, files, cm, sm, [r[0] for r in sruns]))
    print("== %s: %s\n   %d files (%s decoded by the ceiling), %.1f MP;"
          " median of %d runs; load average %s before, %s after" %
          (name, tree, files, c["decoded"], mp, repeat, load0, load()))
    print(HEADER)
    for line in lines:
        print(line)
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
        # Written back before the timed run: else the rescan's first
        # fdatasync on it writes the whole copy (about 0.1 s for the
        # small-image corpus' 42 MB), a cost of this copy, not of a
        # rescan of a DB written by an earlier run.
        fd = os.open(out, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
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
            runs = [rescan_once(imgaudit, tree, tmp, j, db, into_same,
                                extra) for _ in range(repeat)]
            med = (statistics.median(r[0] for r in runs),
                    statistics.median(r[1] for r in runs), runs[0][2])
            print("  rescan, unchanged tree, -j %d, into the %s, --reuse %-14s"
                  " %5.2f s (cpu %.2f s, %s): %.1f times faster than the"
                  " first scan (%.2f s; by CPU time %.1f times)" %
                  (j, where, label + ":", med[0], med[1],
                   "rows shared" if med[2] else "rows copied", sw / med[0],
                   sw, scpu / med[1] if med[1] else 0))


if __name__ == "__main__":
    main()
