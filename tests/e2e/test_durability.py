"""A library that survives faults: a reload or a closed tab while documents are going in, and a full
storage quota. Each document is wholly stored or absent, the store holds nothing the library does
not list, the page lists what is stored, and the app keeps working and answering."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from browser_app import ANSWER, STARTUP, ask, assert_consistent, drop, listed, open_app, stored_library
from quire_build.docsets import docsets
from quire_build.serve import Background
from quire_build.site import build_site
from quire_build.toolchain import chromium
from samples import LIBRARY

# Real documents of 30-110 KB (each ~20-100 passages, a few seconds to embed).
BATCH = ["python-tutorial-venv.html", "python-howto-sorting.html", "nodejs-url.md", "nodejs-events.md",
         "python-tutorial-errors.html", "python-howto-unicode.html"]
STORAGE_FULL = "not added: saving the library: storage is full: free space or remove documents (QuotaExceededError)"


def wait_mid_add(page, documents: int, step: str = "embedding", timeout: float = 600) -> None:
    """Until the page lists `documents` documents and a later file of the batch is at `step`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        steps = page.locator("#ingest li .what").all_text_contents()
        if len(listed(page)) >= documents and step in steps:
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"never {documents} documents listed with a file at {step!r}")


def assert_lists_what_is_stored(page) -> list[str]:
    """The page lists exactly the stored documents, each one whole; returns their names."""
    stored = assert_consistent(stored_library(page))
    assert sorted(listed(page)) == sorted(stored)
    return stored


def test_a_reload_or_a_closed_tab_mid_add_leaves_whole_documents(built_models):
    mixed = docsets() / "mixed"
    batch = [str(mixed / name) for name in BATCH]
    with chromium() as browser, Background({"/": build_site()}) as url:
        page = open_app(browser.new_page(), url)
        drop(page, "bridges.pdf", LIBRARY["bridges.pdf"])
        expect(page.locator("#documents li")).to_have_count(1, timeout=ANSWER)

        # A reload while the third file of the batch is being embedded.
        page.set_input_files("#picker", batch)
        wait_mid_add(page, 3)
        page.reload()
        page.wait_for_selector("body.ready", timeout=STARTUP)
        expect(page.locator("#documents li")).not_to_have_count(0, timeout=ANSWER)
        after_reload = assert_lists_what_is_stored(page)
        assert after_reload[:3] == ["bridges.pdf", *BATCH[:2]] and len(after_reload) < 1 + len(BATCH)
        assert page.locator("#ingest li").count() == 0, "no file is shown as still going in"

        # A closed tab while a file is being saved or embedded, then the app in a new tab.
        page.set_input_files("#picker", batch)
        wait_mid_add(page, len(after_reload) + 1)
        page.close()
        page = open_app(browser.new_page(), url)
        after_close = assert_lists_what_is_stored(page)
        assert after_close[: len(after_reload) + 1] == [*after_reload, BATCH[len(after_reload) - 1]]

        # The same batch again: what is there says so, the rest goes in, and every document answers.
        page.set_input_files("#picker", batch)
        expect(page.locator("#documents li")).to_have_count(1 + len(BATCH), timeout=600_000)
        assert sorted(assert_lists_what_is_stored(page)) == sorted(["bridges.pdf", *BATCH])
        ask(page, "Who built the Zorblat bridge?")
        assert "Hanna Lindqvist" in page.text_content("#extractive")
        ask(page, "How do I create a virtual environment?")
        assert "python-tutorial-venv.html" in page.text_content("#sources")


def test_a_full_storage_quota_refuses_the_file_and_keeps_the_library(built_models):
    document = docsets() / "mixed" / "python-howto-unicode.html"  # 82 KB of HTML, 65 passages
    with chromium() as browser, Background({"/": build_site()}) as url:
        page = open_app(browser.new_page(), url)
        # Room for a few KB more than the app itself (its files in the service worker's cache): the
        # first document's (~5 KB stored) fits, the next one's text, passages and vectors (~190 KB)
        # do not. Chromium applies the override only before the origin's first write to IndexedDB, and
        # navigator.storage.estimate() keeps reporting the real quota.
        usage = page.evaluate("navigator.storage.estimate()")["usage"]
        cdp = browser.new_cdp_session(page)
        cdp.send("Storage.overrideQuotaForOrigin", {"origin": url, "quotaSize": usage + 50_000})
        drop(page, "bridges.pdf", LIBRARY["bridges.pdf"])
        expect(page.locator("#documents li")).to_have_count(1, timeout=ANSWER)

        page.set_input_files("#picker", [str(document)])
        failed = page.locator("#ingest li.failed .what")
        expect(failed).to_have_text(STORAGE_FULL, timeout=ANSWER)
        assert assert_lists_what_is_stored(page) == ["bridges.pdf"]
        expect(page.locator("#notice")).not_to_contain_text("Traceback")
        ask(page, "Who built the Zorblat bridge?")
        assert "Hanna Lindqvist" in page.text_content("#extractive")

        # Space again: the same file goes in, and the library survives a reload.
        cdp.send("Storage.overrideQuotaForOrigin", {"origin": url})
        page.set_input_files("#picker", [str(document)])
        expect(page.locator("#documents li")).to_have_count(2, timeout=ANSWER)
        page.reload()
        page.wait_for_selector("body.ready", timeout=STARTUP)
        expect(page.locator("#documents li")).to_have_count(2, timeout=ANSWER)
        assert sorted(assert_lists_what_is_stored(page)) == ["bridges.pdf", document.name]


def test_a_second_tab_waits_for_the_first_to_close_and_loses_nothing(built_models):
    # Two tabs each holding the library would each save their own list, the later dropping the other's.
    with chromium() as browser, Background({"/": build_site()}) as url:
        first = open_app(browser.new_page(), url)
        drop(first, "bridges.pdf", LIBRARY["bridges.pdf"])
        expect(first.locator("#documents li")).to_have_count(1, timeout=ANSWER)
        second = browser.new_page()
        second.goto(url + "/")
        expect(second.locator("#steps")).to_contain_text("open in another tab", timeout=STARTUP)
        second.wait_for_timeout(2000)
        assert "ready" not in (second.get_attribute("body", "class") or "")

        first.close()
        second.wait_for_selector("body.ready", timeout=STARTUP)
        expect(second.locator("#documents li")).to_have_count(1, timeout=ANSWER)
        drop(second, "orchard.md", LIBRARY["orchard.md"])
        expect(second.locator("#documents li")).to_have_count(2, timeout=ANSWER)
        second.reload()
        second.wait_for_selector("body.ready", timeout=STARTUP)
        expect(second.locator("#documents li")).to_have_count(2, timeout=ANSWER)
        assert sorted(assert_lists_what_is_stored(second)) == ["bridges.pdf", "orchard.md"]
