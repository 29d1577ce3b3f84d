"""Documents full of markup that would run if the page ever treated their text as HTML: script tags,
event-handler attributes, javascript: links, frames, SVG. Quire shows all of it as text, in the
library, the sources, the answer and the passage viewer, and none of it runs.

Every payload would set `window.pwned` or open a dialog; the page's Content-Security-Policy would
also report any attempt, so the test asserts no dialog, no sentinel, no violation, and that the
markup reads literally where the person sees it.
"""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import expect

from browser_app import ANSWER, RECORD_VIOLATIONS, ask, drop, open_app
from quire_build.serve import Background
from quire_build.site import PAGE_POLICY, WORKER_POLICY, build_site
from quire_build.toolchain import chromium
from samples import make_pdf

FACT = "Ottilie Brand keeps the Quokka lighthouse"
QUESTION = "Who keeps the Quokka lighthouse?"

HTML = f"""<html><head><title>&lt;b onmouseover=alert(1)&gt;Lighthouse</title>
<script>window.pwned = "html script"; alert(1)</script>
<meta http-equiv="refresh" content="0; url=javascript:alert(2)">
<style>body {{ background: url(http://127.0.0.1:9/style.png) }}</style></head>
<body onload="window.pwned = 'body onload'">
<h1>Quokka lighthouse</h1>
<p>{FACT}. Her log quotes &lt;script&gt;window.pwned = "escaped script"&lt;/script&gt; and
&lt;img src=x onerror=alert(3)&gt; word for word.</p>
<p><img src=x onerror="window.pwned = 'img onerror'; alert(4)">
<a href="javascript:window.pwned = 'javascript link'">Open the lamp room</a></p>
<iframe src="javascript:parent.pwned = 'iframe src'"></iframe>
<iframe srcdoc="<script>parent.pwned = 'srcdoc'</script>"></iframe>
<svg onload="window.pwned = 'svg onload'"><text>svg text</text></svg>
<object data="http://127.0.0.1:9/object"></object></body></html>""".encode()

MARKDOWN = f"""# Quokka lamp

{FACT} and polishes its lamp. [Open the log](javascript:window.pwned='markdown link') and
![chart](http://127.0.0.1:9/chart.png)

<script>window.pwned = "markdown script"</script>

<img src=x onerror="window.pwned = 'markdown img'"> <svg onload="window.pwned = 'markdown svg'"></svg>
<iframe src="javascript:alert(5)"></iframe>
""".encode()

PDF = make_pdf([[f"{FACT} in winter.",
                 '<script>window.pwned = "pdf script"</script>',  # (a PDF's ' reads back as ’)
                 "<a href=\"javascript:alert(6)\">the keeper's page</a> <img src=x onerror=alert(7)>"]])

MARKUP_NAME = "<img src=x onerror=alert(9)>.txt"  # file names are shown too
TEXT = f"""{FACT} on weekends.
<svg onload="window.pwned = 'text svg'"></svg> <iframe src="javascript:alert(8)"></iframe>
<a href="javascript:window.pwned = 'text link'">more</a>""".encode()

# What each document's text keeps of its markup: the passage viewer must show exactly this, as text.
LITERALLY = {
    "lighthouse.html": ['<script>window.pwned = "escaped script"</script>', "<img src=x onerror=alert(3)>"],
    "lamp.md": ['<script>window.pwned = "markdown script"</script>',
                "<img src=x onerror=\"window.pwned = 'markdown img'\">",
                "<svg onload=\"window.pwned = 'markdown svg'\"></svg>"],
    "winter.pdf": ['<script>window.pwned = "pdf script"</script>', "<img src=x onerror=alert(7)>"],
    MARKUP_NAME: ["<svg onload=\"window.pwned = 'text svg'\"></svg>",
                  "<a href=\"javascript:window.pwned = 'text link'\">more</a>"],
}
FILES = {"lighthouse.html": HTML, "lamp.md": MARKDOWN, "winter.pdf": PDF, MARKUP_NAME: TEXT}

# Elements app.js never makes: any of these inside the page's body came from a document.
FOREIGN_ELEMENTS = "body :is(script, img, iframe, svg, object, embed, a, style, link, meta, base, form:not(#ask-form))"


def test_document_markup_is_shown_as_text_and_never_runs(built_models):
    dist = build_site()
    dialogs: list[str] = []
    policies: dict[str, set] = {}  # path -> the Content-Security-Policy headers it came with
    with chromium() as browser, Background({"/": dist}) as url:
        browser.add_init_script(RECORD_VIOLATIONS)
        browser.on("response", lambda r: policies.setdefault(urlparse(r.url).path, set()).add(
            r.headers.get("content-security-policy")))
        page = browser.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        open_app(page, url)

        # The policy is in force: the page's <meta>, the page's header and the worker's own header
        # (worker.js is also fetched as plain data, for the service worker's cache, with the page's).
        assert page.get_attribute("meta[http-equiv=Content-Security-Policy]", "content") == PAGE_POLICY
        assert policies["/"] == {PAGE_POLICY}
        assert WORKER_POLICY in policies["/worker.js"]

        for name, data in FILES.items():
            drop(page, name, data)
        expect(page.locator("#documents li")).to_have_count(len(FILES), timeout=ANSWER)
        assert page.locator("#ingest li.failed").count() == 0
        assert MARKUP_NAME in page.text_content("#documents")

        ask(page, QUESTION)
        sources = page.locator("#sources li > button.link").all_text_contents()  # "name, page n"
        assert {source.split(",")[0] for source in sources} >= set(FILES)
        assert "Ottilie Brand" in page.text_content("#extractive")

        # Each document's passage, opened in the viewer, reads literally.
        for name, fragments in LITERALLY.items():
            page.locator("#sources li button.link", has_text=name).first.click()
            expect(page.locator("#viewer-title")).to_contain_text(name)
            viewer = page.text_content("#viewer-text")
            for fragment in fragments:
                assert fragment in viewer, (name, fragment, viewer)

        page.wait_for_timeout(1000)  # time for anything that was going to fire
        assert page.eval_on_selector_all(FOREIGN_ELEMENTS, "found => found.map((e) => e.outerHTML)") == []
        assert page.evaluate("window.pwned") is None
        assert dialogs == []
        assert page.evaluate("window.cspViolations") == []
        expect(page.locator("#egress")).not_to_have_class("chip warning")
