"""HTML: the text a reader would see, split into blocks where the layout breaks lines.

The standard library's HTMLParser is forgiving of any input; the element stack below is a list,
not recursion, so deep or unbalanced nesting costs memory in proportion to the file and no more.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from html.parser import HTMLParser

from . import Document, DocumentBuilder, Limits
from .text import decode_text

# Never shown (head: its <title> is read separately); canvas/audio/video: fallback text only.
INVISIBLE = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas", "audio", "video"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
BLOCK = {"address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl", "dt",
         "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
         "hr", "legend", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul"}
HEADINGS = {f"h{n}": n for n in range(1, 7)}
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
WHITESPACE = re.compile(r"[ \t\n\r\f]+")  # HTML's whitespace; a no-break space is text
ASCII = bytes(range(0x20, 0x7F)) + b"\t\n\r"
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# Openers HTMLParser searches a particular end for: a comment, a marked section (<![CDATA[, <![if).
CLOSED_BY = {"<!--": re.compile(r"--\s*>"), "<![": re.compile(r"]\s*>")}


class _TextExtractor(HTMLParser):
    def __init__(self, builder: DocumentBuilder):
        super().__init__(convert_charrefs=True)
        self.builder = builder
        self.stack: list[tuple[str, bool]] = []  # open elements, and whether each hides its content
        self.open = Counter()  # tag -> how many are open, so a stray end tag costs O(1)
        self.hidden = 0  # open elements that hide their content
        self.pre = 0
        self.heading = 0  # level of the heading being read
        self.pieces: list[str] = []
        self.title: list[str] | None = None  # collecting <title> text while not None
        self.title_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self.title_text and not self.open["svg"]:  # svg has titles too
            self.title = []
        if tag in BLOCK:
            self.flush()
        self.heading = HEADINGS.get(tag, self.heading)
        if tag == "pre":
            self.pre += 1
        if tag in VOID:
            return
        values = dict(attrs)
        hides = (tag in INVISIBLE or "hidden" in values or values.get("aria-hidden") == "true"
                 or bool(HIDDEN_STYLE.search(values.get("style") or "")))
        self.stack.append((tag, hides))
        self.open[tag] += 1
        self.hidden += hides

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.title is not None:
            self.title_text, self.title = " ".join("".join(self.title).split()), None
        if tag in BLOCK:
            self.flush()
        if tag in HEADINGS:
            self.heading = 0
        if tag == "pre" and self.pre:
            self.pre -= 1
        if not self.open[tag]:
            return  # an end tag with no start: browsers ignore it too
        while self.stack:  # close everything left open inside it
            open_tag, hides = self.stack.pop()
            self.open[open_tag] -= 1
            self.hidden -= hides
            if open_tag == tag:
                break

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        """A marked section HTMLParser does not know ("<![foo[", "<![ ]>") is a bogus comment up to the
        next '>', as browsers read it. Older Pythons' HTMLParser raises AssertionError there; newer
        ones (Pyodide's) read it this way already and never call this."""
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            return self.parse_bogus_comment(i, report)

    def handle_data(self, data: str) -> None:
        if self.title is not None:
            self.title.append(data)
        elif not self.hidden:
            self.pieces.append(data)

    def flush(self) -> None:
        text = "".join(self.pieces)
        kind = "heading" if self.heading else "paragraph"
        self.builder.add(text if self.pre else WHITESPACE.sub(" ", text), kind, self.heading)
        self.pieces.clear()


def declared_encoding(data: bytes) -> str | None:
    """The encoding a <meta charset> names, as browsers take it."""
    m = META_CHARSET.search(data[:4096])
    if not m:
        return None
    try:
        encoding = codecs.lookup(m[1].decode("ascii")).name
        # A meta tag readable as ASCII rules out an encoding that reads ASCII otherwise (UTF-16/32,
        # EBCDIC, UTF-7) and a codec that is no text encoding at all ("undefined", "base64").
        if ASCII.decode(encoding) != ASCII.decode("ascii"):
            return None
    except (LookupError, UnicodeError):
        return None
    return "cp1252" if encoding in ("iso8859-1", "ascii") else encoding  # as browsers read them


def defuse(text: str) -> str:
    """Escape the '<' of constructs that can never close.

    For each one, HTMLParser searches the rest of the input for its end before giving up and
    reading it as text, so a file of unclosed '<a' or '<!--' would take quadratic time. Escaped,
    they read as the same text. (Giving up, HTMLParser also takes what follows up to the next '>'
    as text; escaped, a tag there still counts as a tag.)
    """
    end = text.rfind(">") + 1  # nothing opened after the last '>' closes
    head, tail = text[:end], text[end:].replace("<", "&lt;")
    for opener, close in CLOSED_BY.items():  # nor anything opened after the last end of its kind
        last = max((m.start() for m in close.finditer(head)), default=0)
        head = head[:last] + head[last:].replace(opener, "&lt;" + opener[1:])
    return head + tail


def parse(name: str, data: bytes, limits: Limits) -> Document:
    text = decode_text(data, declared_encoding(data))
    builder = DocumentBuilder(name, "html", limits)
    extractor = _TextExtractor(builder)
    extractor.feed(defuse(text))
    extractor.close()
    extractor.flush()
    return builder.build(title=extractor.title_text)
