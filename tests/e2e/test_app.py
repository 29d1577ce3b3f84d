"""The browser app end to end: Debian's Chromium against dist/ as `build.py serve` serves it.

One session walks what a person does: open the page, drop real files of every format (and a bad
one), ask, open a citation, reload (the library is still there, nothing is embedded again), then
stop the server and ask again offline. Every request of the session is recorded: none may leave
the origin.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
from urllib.parse import urlparse


from quire_build import ROOT
from quire_build.serve import Background
from quire_build.site import build_site
from quire_build.toolchain import chromium
from samples import LIBRARY, make_pdf

BROKEN = ("scan.pdf", make_pdf([[]]))  # dropped on the drop zone, separately
STARTUP = 240_000  # ms: a cold start loads Pyodide and ~200 MB of models on a loaded 2-core machine
ANSWER = 180_000


ARTIFACTS = ROOT / "test-artifacts"


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


def test_add_ask_cite_reload_and_work_offline(built_models, tmp_path):
    for name, data in LIBRARY.items():
        (tmp_path / name).write_bytes(data)
    requests: list[str] = []
    with chromium() as browser:
        browser.on("request", lambda request: requests.append(request.url))
        server = Serve()
        url = server.__enter__()
        page = browser.new_page()
        page.goto(url + "/")
        # Usable at once: the drop zone is there while the runtimes load.
        assert page.is_visible("#dropzone")
        page.wait_for_selector("body.ready", timeout=STARTUP)
        assert "on this device" in page.text_content("#engine")

        page.set_input_files("#picker", [str(tmp_path / name) for name in LIBRARY])
        drop(page, *BROKEN)
        page.wait_for_function("document.querySelectorAll('#documents li').length === 5"
                               " && document.querySelectorAll('#ingest li.failed').length === 1", timeout=ANSWER)
        failed = page.text_content("#ingest li.failed")
        assert "scan.pdf" in failed and "no text layer" in failed
        assert page.locator("#documents li").count() == 5
        assert page.evaluate("window.pwned") is None, "document content never runs"

        ask(page, "Who built the Zorblat bridge?")
        assert "Zorblat" in page.text_content("#extractive")
        assert "bridges.pdf, page 2" in page.text_content("#extractive-source")
        assert "bridges.pdf" in page.text_content("#sources")
        assert "Lindqvist" in page.text_content("#answer")
        page.click("#answer button.cite")
        page.wait_for_selector("#viewer:not([hidden]) mark")
        assert "Hanna Lindqvist" in page.text_content("#viewer mark")
        assert page.text_content("#viewer-title") == "bridges.pdf, page 2"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "answered.png"), full_page=True)

        # A question can be stopped: the answer ends early and says so.
        page.fill("#question", "Describe the orchard, the harvest, the bees and the tea room in detail.")
        page.click("#ask")
        page.wait_for_function("document.getElementById('answer').textContent.length > 0", timeout=ANSWER)
        page.click("#stop")
        page.wait_for_selector("#stop", state="hidden", timeout=ANSWER)
        assert "stopped" in page.text_content("#answer-meta")

        # After a reload the library is there and answers come without embedding anything again.
        page.reload()
        page.wait_for_selector("body.ready", timeout=STARTUP)
        page.wait_for_function("document.querySelectorAll('#documents li').length === 5")
        ask(page, "When does the farm shop open?")
        assert "shop.html" in page.text_content("#sources")
        assert page.locator("#ingest li").count() == 0

        # Removing a document takes it out of the answers.
        page.click("#documents li:has-text('tea.txt') button")
        page.wait_for_function("document.querySelectorAll('#documents li').length === 4")
        ask(page, "What does the tea room serve?")
        assert "tea.txt" not in page.text_content("#sources")

        # Offline: the server is gone; the service worker serves everything.
        server.__exit__(None, None, None)
        page.reload()
        page.wait_for_selector("body.ready", timeout=STARTUP)
        ask(page, "How many hives does the beekeeper keep?")
        assert "bees.docx" in page.text_content("#sources")
        assert "forty" in page.text_content("#extractive")

        page.on("dialog", lambda dialog: dialog.accept())  # "Remove every document…?"
        page.click("#clear")
        page.wait_for_selector("#empty-library", state="visible")
        assert page.locator("#documents li").count() == 0

    origin = urlparse(url).netloc
    strays = [r for r in requests if urlparse(r).scheme in ("http", "https") and urlparse(r).netloc != origin]
    assert not strays, strays


def test_a_plain_static_host_gets_threads_and_a_software_gpu_is_not_used(built_models):
    """The service worker adds COOP/COEP, so onnxruntime runs threads on a host that sends no such
    headers; and a fallback WebGPU adapter (SwiftShader, ~90x slower than WASM) is passed over."""
    dist = build_site()
    with chromium(["--enable-unsafe-webgpu"]) as browser, Background({"/": dist}, isolate=False) as url:
        page = browser.new_page()
        page.goto(url + "/")
        page.wait_for_function("self.crossOriginIsolated === true", timeout=STARTUP)  # after one reload
        page.wait_for_selector("body.ready", timeout=STARTUP)
        adapter = page.evaluate("""async () => {
            const a = await navigator.gpu?.requestAdapter();
            return a ? (a.info?.isFallbackAdapter ?? a.isFallbackAdapter) : null; }""")
        assert adapter is True, "this test needs Chromium's software WebGPU adapter"
        assert page.text_content("#engine").startswith("WASM")
