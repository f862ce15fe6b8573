"""A minimal Chrome DevTools Protocol client for headless Chromium.

Standard library only: Chromium is started with --remote-debugging-pipe,
which speaks CDP as NUL-terminated JSON messages on file descriptors 3
(commands in) and 4 (replies and events out), so no port is opened and no
package (Node, playwright, websockets) is needed.

    with Browser("/usr/bin/chromium") as b:
        page = b.new_page(1280, 900)
        page.goto("file:///tmp/report.html")
        print(page.evaluate("document.title"))
        page.screenshot("/tmp/shot.png")
        print(page.console_errors, page.requests, page.dialogs)

Every page records, from the moment it is created: console messages of
level error (console.error, uncaught exceptions, browser log entries such
as Content-Security-Policy refusals), every network request the page
makes (URL; a request the browser then refuses, e.g. by CSP, is also in
`blocked` with the reason), and every JavaScript dialog that opened
(alert, confirm, prompt; each is dismissed so the page does not hang).
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

# Flags from the environment's documentation: no GPU, no sandbox (we run
# as root in CI), and nothing that talks to the network on its own.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
    "--hide-scrollbars", "--mute-audio", "--no-default-browser-check",
    "--remote-debugging-pipe",
]


class CDPError(Exception):
    pass


_EXEC_WITH_PIPES = """
import os, sys
r, w = int(sys.argv[1]), int(sys.argv[2])
os.dup2(r, 3)
os.dup2(w, 4)
os.close(r)
os.close(w)
os.execv(sys.argv[3], sys.argv[3:])
"""


def _high_pipe():
    """A pipe whose ends are above fd 9, so that moving them to fds 3 and
    4 in the child never closes one of them."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return ends[0], ends[1]


class Browser:
    def __init__(self, executable, timeout=30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="imgaudit-chromium-")
        # our_w -> chromium's fd 3; chromium's fd 4 -> our_r
        cmd_r, self._cmd_w = _high_pipe()
        self._evt_r, evt_w = _high_pipe()
        args = [executable] + CHROMIUM_FLAGS + [
            "--user-data-dir=" + self.profile, "about:blank"]
        # A tiny Python step moves the pipe ends to exactly fds 3 and 4
        # (dash cannot redirect fds above 9) and becomes Chromium.
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _EXEC_WITH_PIPES, str(cmd_r),
             str(evt_w)] + args,
            pass_fds=(cmd_r, evt_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(evt_w)
        self._buf = b""
        self._next_id = 0
        self._pending = []        # events read while waiting for a reply
        self.pages = {}           # sessionId -> Page

    # ---- transport --------------------------------------------------

    def _send(self, method, params=None, session=None):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method,
               "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._cmd_w, data)
            data = data[n:]
        return self._next_id

    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("timed out waiting for Chromium")
            ready, _, _ = select.select([self._evt_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._evt_r, 1 << 20)
            if not chunk:
                raise CDPError("Chromium closed the pipe (exit code %s)"
                               % self.proc.poll())
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _dispatch(self, msg):
        page = self.pages.get(msg.get("sessionId"))
        if page is not None:
            page._event(msg["method"], msg.get("params", {}))

    def call(self, method, params=None, session=None, timeout=None):
        mid = self._send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self._read_message(deadline)
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CDPError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self._dispatch(msg)

    def wait_until(self, done, timeout=None):
        """Handles messages until done() is true (an event may already
        have arrived while a command's reply was awaited)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not done():
            msg = self._read_message(deadline)
            if "method" in msg:
                self._dispatch(msg)

    def pump(self, seconds):
        """Handles events for a while (late console messages, requests)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._dispatch(self._read_message(deadline))
        except CDPError:
            if self.proc.poll() is not None:
                raise

    # ---- pages ------------------------------------------------------

    def new_page(self, width=1280, height=900):
        target = self.call("Target.createTarget", {"url": "about:blank"})
        session = self.call("Target.attachToTarget",
                            {"targetId": target["targetId"],
                             "flatten": True})["sessionId"]
        page = Page(self, session, target["targetId"])
        self.pages[session] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height,
                   "deviceScaleFactor": 1, "mobile": False},
                  session=session)
        return page

    def close(self):
        try:
            if self.proc.poll() is None:
                self._send("Browser.close")
                self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired, CDPError):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._evt_r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Page:
    def __init__(self, browser, session, target_id):
        self.browser = browser
        self.session = session
        self.target_id = target_id
        self.console_errors = []
        self.requests = []        # every URL the page asked for
        self.blocked = []         # (URL, reason) refused by the browser
        self.dialogs = []
        self.loaded = False
        self._urls = {}

    def _event(self, method, p):
        if method == "Runtime.consoleAPICalled" and p.get("type") in (
                "error", "assert"):
            self.console_errors.append(" ".join(
                str(a.get("value", a.get("description", "")))
                for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.console_errors.append(
                d.get("exception", {}).get("description", d.get("text", "")))
        elif method == "Log.entryAdded":
            e = p.get("entry", {})
            if e.get("level") == "error":
                self.console_errors.append(e.get("text", ""))
        elif method == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            self.requests.append(url)
            self._urls[p.get("requestId")] = url
        elif method == "Network.loadingFailed" and p.get("blockedReason"):
            self.blocked.append((self._urls.get(p.get("requestId"), "?"),
                                 p["blockedReason"]))
        elif method == "Page.loadEventFired":
            self.loaded = True
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(p.get("message", ""))
            # Answered without waiting for the reply: we may be inside
            # another call's read loop.
            self.browser._send("Page.handleJavaScriptDialog",
                               {"accept": False}, session=self.session)

    def call(self, method, params=None, timeout=None):
        return self.browser.call(method, params, self.session, timeout)

    def goto(self, url, settle=0.5):
        self.loaded = False
        self.call("Page.navigate", {"url": url})
        self.browser.wait_until(lambda: self.loaded)
        self.browser.pump(settle)

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression,
                                           "returnByValue": True})
        if "exceptionDetails" in r:
            raise CDPError("evaluate: %s" % r["exceptionDetails"])
        return r.get("result", {}).get("value")

    def screenshot(self, path, max_height=None, top=0):
        """PNG of the page from top (CSS pixels) down: the rest of the
        page, or max_height of it."""
        m = self.call("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        h = max(1, size["height"] - top)
        if max_height:
            h = min(h, max_height)
        r = self.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": top, "width": size["width"], "height": h,
                     "scale": 1}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
