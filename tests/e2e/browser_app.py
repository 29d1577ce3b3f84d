"""What the end-to-end tests share: the served app and the few things a person does in it.

The page's Content-Security-Policy refuses eval, so Playwright's `wait_for_function` cannot run
there: waits use locators or `wait_until`, which polls through the DevTools protocol (exempt).
"""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time

from playwright.sync_api import Error as PlaywrightError

from quire_build import ROOT

STARTUP = 240_000  # ms: a cold start loads Pyodide and ~200 MB of models on a loaded 2-core machine
ANSWER = 180_000

# Runs before the page's own scripts (as DevTools does, so the policy allows it): records every
# policy violation the page sees (a worker's are its own: the app's worker reports them to the page).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.cspViolations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile }));
"""


class Serve:
    """`python3 build.py serve` in a child process: the command a person runs."""

    def __enter__(self) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port)],
                                        cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for line in self.process.stdout:
            if "Quire is served at" in line:
                return line.split("at ", 1)[1].split()[0].rstrip("/")
        raise RuntimeError(f"build.py serve exited with {self.process.wait()}")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(30)


def wait_until(page, expression: str, timeout: int) -> None:
    """Poll a JavaScript expression until it is truthy; a page reloading meanwhile is waited out."""
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError:  # the execution context went away: a navigation
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{expression!r} still false after {timeout} ms")


def ask(page, question: str) -> None:
    page.fill("#question", question)
    page.click("#ask")
    page.wait_for_selector("#stop", state="hidden", timeout=ANSWER)


def drop(page, name: str, data: bytes) -> None:
    """A real drop event on the drop zone, carrying a file."""
    page.evaluate("""([name, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name));
        document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
    }""", [name, base64.b64encode(data).decode()])


def app_worker(page):
    """The app's module worker (onnxruntime's thread workers are listed too)."""
    return next(w for w in page.workers if w.url.endswith("/worker.js"))
