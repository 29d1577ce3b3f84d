"""The whole hostile set dropped into the page at once, on a library that already holds a document:
each file is added or refused with its reason (the table in tests/hostile_set.py, shared with the
CLI test), the tab's memory stays bounded, the worker keeps answering, nothing stored is lost, and
the non-UTF-8 files are stored as the text of their UTF-8 twins."""

from __future__ import annotations

from playwright.sync_api import expect

from browser_app import ANSWER, RendererPeak, ask, assert_consistent, drop, listed, open_app, stored_library
from hostile_set import CJK, EXPECTED, hostile_files, utf8_twin, words
from quire_build.serve import Background
from quire_build.site import build_site
from quire_build.toolchain import chromium
from samples import LIBRARY

INGEST = 900_000  # ms: the set holds an 8 MB, 137-page PDF (~830 passages) among its 38 files
# The tab's renderer holds ~1.4 GB once the models are loaded (docs/benchmarks.md, Memory) and grew
# ~120 MB ingesting 1,000 real pages; the 400 MB ratio bomb alone would add 400 MB if it were opened.
MAX_GROWTH_MB = 350


def test_the_whole_hostile_set_in_the_page(built_models):
    files = hostile_files()
    refused = {name: reason for name, reason in EXPECTED.items() if reason is not None}
    added = sorted(name for name, reason in EXPECTED.items() if reason is None)
    with chromium() as browser, Background({"/": build_site()}) as url:
        page = browser.new_page()
        open_app(page, url)
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
        names = listed(page)
        assert sorted(names) == sorted(["bridges.pdf", *added])
        expect(page.locator("#notice")).to_be_hidden()

        # The worker still answers, from the document that was there before.
        ask(page, "Who built the Zorblat bridge?")
        assert "Hanna Lindqvist" in page.text_content("#extractive")

        stored = stored_library(page)
        assert sorted(assert_consistent(stored)) == sorted(names)
        texts = {doc["name"]: stored["json"][f"doc/{doc['id']}.json"]["text"]
                 for doc in stored["json"]["library.json"]["documents"]}
        for encoding in CJK:
            name = f"nonutf8-{encoding}.txt"
            assert words(texts[name]) == words(utf8_twin(name)), name
