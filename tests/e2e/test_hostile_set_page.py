"""The whole hostile set dropped into the page at once, on a library that already holds a document:
each file is added or refused with its reason (the table in tests/hostile_set.py, shared with the
CLI test), the tab's memory stays bounded, the worker keeps answering, nothing stored is lost, and
the non-UTF-8 files are stored as the text of their UTF-8 twins."""

from __future__ import annotations

import threading

import psutil
from playwright.sync_api import expect

from browser_app import ANSWER, STARTUP, ask, assert_consistent, drop, stored_library
from hostile_set import CJK, EXPECTED, hostile_files, utf8_twin, words
from quire_build.serve import Background
from quire_build.site import build_site
from quire_build.toolchain import chromium
from samples import LIBRARY

INGEST = 900_000  # ms: the set holds an 8 MB, 137-page PDF (~830 passages) among its 38 files
# The tab's renderer holds ~2 GB once the models are loaded (docs/benchmarks.md, Memory) and grew
# ~120 MB ingesting 1,000 real pages; the 400 MB ratio bomb alone would add 400 MB if it were opened.
MAX_GROWTH_MB = 350


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


def test_the_whole_hostile_set_in_the_page(built_models):
    files = hostile_files()
    refused = {name: reason for name, reason in EXPECTED.items() if reason is not None}
    added = sorted(name for name, reason in EXPECTED.items() if reason is None)
    with chromium() as browser, Background({"/": build_site()}) as url:
        page = browser.new_page()
        page.goto(url + "/")
        page.wait_for_selector("body.ready", timeout=STARTUP)
        drop(page, "bridges.pdf", LIBRARY["bridges.pdf"])
        expect(page.locator("#documents li")).to_have_count(1, timeout=ANSWER)
        meter = RendererPeak()
        before = meter.now()

        with meter:
            page.set_input_files("#picker", [str(f) for f in files])
            expect(page.locator("#documents li")).to_have_count(1 + len(added), timeout=INGEST)
            expect(page.locator("#ingest li.failed")).to_have_count(len(refused), timeout=INGEST)
        growth_mb = (meter.peak - before) / 2**20
        print(f"\nthe tab's renderer: {before / 2**20:.0f} MB before the set, peak {meter.peak / 2**20:.0f} MB")
        assert growth_mb < MAX_GROWTH_MB

        shown = dict(zip(page.locator("#ingest li.failed .name").all_text_contents(),
                         page.locator("#ingest li.failed .what").all_text_contents()))
        assert sorted(shown) == sorted(refused)
        for name, reason in refused.items():
            assert shown[name].startswith(f"not added: {reason}"), (name, shown[name])
        listed = page.locator("#documents li .name").all_text_contents()
        assert sorted(listed) == sorted(["bridges.pdf", *added])
        expect(page.locator("#notice")).to_be_hidden()

        # The worker still answers, from the document that was there before.
        ask(page, "Who built the Zorblat bridge?")
        assert "Hanna Lindqvist" in page.text_content("#extractive")

        stored = stored_library(page)
        assert sorted(assert_consistent(stored)) == sorted(listed)
        texts = {doc["name"]: stored["json"][f"doc/{doc['id']}.json"]["text"]
                 for doc in stored["json"]["library.json"]["documents"]}
        for encoding in CJK:
            name = f"nonutf8-{encoding}.txt"
            assert words(texts[name]) == words(utf8_twin(name)), name
