"""What the end-to-end tests share: the served app and the few things a person does in it.

The page's Content-Security-Policy refuses eval, so Playwright's `wait_for_function` cannot run
there: waits use locators or `wait_until`, which polls through the DevTools protocol (exempt).
"""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import threading
import time

import psutil

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

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


def open_app(page, url: str):
    """The app at `url` in `page`, once its models have loaded and it lists the library."""
    page.goto(url + "/")
    page.wait_for_selector("body.ready", timeout=STARTUP)
    expect(page.locator("#empty-library, #documents li").first).to_be_visible(timeout=ANSWER)
    return page


def listed(page) -> list[str]:
    """The names of the documents the page lists."""
    return page.locator("#documents li .name").all_text_contents()


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


def onnx_worker(page):
    """The worker the app's worker starts to hold the models (web/onnx-worker.js)."""
    return next(w for w in page.workers if w.url.endswith("/onnx-worker.js"))


# The app's IndexedDB (web/idb-store.js: database "quire", object store "blobs"), read directly:
# every key with its size, and the JSON values parsed (library.json, doc/*.json, chunks/*.json).
READ_LIBRARY = """async () => {
    const done = (req) => new Promise((resolve, reject) => {
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
    const db = await done(indexedDB.open("quire"));
    const store = db.transaction("blobs").objectStore("blobs");
    const [keys, values] = await Promise.all([done(store.getAllKeys()), done(store.getAll())]);
    db.close();
    const sizes = {}, json = {};
    keys.forEach((key, i) => {
        sizes[key] = values[i].byteLength;
        if (key.endsWith(".json")) json[key] = JSON.parse(new TextDecoder().decode(values[i]));
    });
    return { sizes, json };
}"""


def stored_library(page) -> dict:
    """What the app's store holds: {"sizes": {key: bytes}, "json": {key: parsed value}}."""
    return page.evaluate(READ_LIBRARY)


def assert_consistent(stored: dict, dims: int = 384) -> list[str]:
    """Each listed document wholly there (text, passages, one vector per passage) and nothing else
    stored; returns the listed documents' names."""
    listed = stored["json"].get("library.json", {"documents": []})["documents"]
    expected = {"library.json"}
    for doc in listed:
        keys = [f"doc/{doc['id']}.json", f"chunks/{doc['id']}.json", f"vectors/{doc['id']}.f32"]
        expected.update(keys)
        assert all(key in stored["sizes"] for key in keys), (doc["name"], "partly stored")
        assert len(stored["json"][keys[1]]) == doc["chunks"]
        assert stored["sizes"][keys[2]] == doc["chunks"] * dims * 4
    assert set(stored["sizes"]) == expected if listed else set(stored["sizes"]) <= expected, \
        f"stored but not listed: {sorted(set(stored['sizes']) - expected)}"
    return [doc["name"] for doc in listed]


class RendererPeak:
    """The highest RSS of any Chromium renderer process (the tab's holds the page, its worker and
    their WebAssembly memory), sampled every 0.2 s in a thread."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def now(self) -> int:
        rss = []
        for p in psutil.Process().children(recursive=True):
            try:
                if "--type=renderer" in p.cmdline():
                    rss.append(p.memory_info().rss)
            except psutil.Error:
                continue
        return max(rss, default=0)

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> RendererPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
