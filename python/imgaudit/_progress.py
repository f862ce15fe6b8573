"""The progress bar of imgaudit.scan: tqdm when it is installed (its
``tqdm.auto`` draws a widget in a notebook), else one line on stderr
redrawn in place, which terminals and notebooks both show."""
import sys
import time


class TextBar:
    """files done of files found so far, rate and findings."""

    def __init__(self, stream=None, label="scan"):
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.width = 0
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.last = 0.0

    def update(self, p):
        now = time.monotonic()
        if not self.tty and now - self.last < 1.0:
            return
        self.last = now
        done, total = p["files_done"], _total(p)
        frac = min(done / max(total, 1), 1.0)
        bar = "#" * int(frac * 30)
        rate = done / p["seconds"] if p["seconds"] > 0 else 0.0
        line = (f"{self.label} [{bar:<30}] {done}/{total} files, "
                f"{rate:.0f}/s, {p['errors']} errors, "
                f"{p['warnings']} warnings")
        self.stream.write("\r" + line.ljust(self.width))
        self.width = len(line)
        self.stream.flush()

    def close(self, p=None):
        if p is not None:
            self.last = 0.0
            self.update(p)
        self.stream.write("\n")
        self.stream.flush()


def _total(p):
    """The count ahead once it is known (files_total), else the files the
    walk has found so far."""
    return max(p.get("files_total", 0) or p["files_seen"], p["files_done"])


class TqdmBar:
    def __init__(self, tqdm, label="scan"):
        self.bar = tqdm(total=0, unit="file", desc=label, leave=True)

    def update(self, p):
        self.bar.total = _total(p)
        self.bar.n = p["files_done"]
        self.bar.set_postfix(errors=p["errors"], warnings=p["warnings"],
                             refresh=False)
        self.bar.refresh()

    def close(self, p=None):
        if p is not None:
            self.update(p)
        self.bar.close()


def make_bar(label="scan"):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return TextBar(label=label)
    return TqdmBar(tqdm, label=label)
