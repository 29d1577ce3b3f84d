"""Properties of the document parsers on generated and damaged files.

`parse` lets only DocumentError escape, and never because Quire's own code failed: when the catch-all
in `parse` turns an unexpected exception into a DocumentError, that exception must come from a
library reading a damaged PDF or zip, and never from text, Markdown or HTML, which have no invalid
input. Every Document that comes back keeps its invariants and its limits, and for generated files
whose content is known, it holds exactly that content.
"""

import codecs
import encodings
import encodings.aliases
import html
import io
import pkgutil
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
import quire
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from quire.documents import EXTENSIONS, Document, DocumentError, Limits, detect, parse, shorten
from quire.documents.text import HANGUL, HANZI, KANA, KANJI
from samples import LIBRARY, W, make_docx, make_pdf, w_p, word_document

QUIRE = Path(quire.__file__).parent
NAMES = ["notes.txt", "notes.md", "page.html", "paper.pdf", "report.docx", "README", "data.bin"]
TEXT_FORMATS = {"text", "markdown", "html"}


# --- what every parse must satisfy ------------------------------------------------------------------

def read_or_refuse(name: str, data: bytes, limits: Limits = Limits()) -> Document | None:
    """The Document, checked; None when refused, after checking the refusal is one `parse` documents."""
    try:
        doc = parse(name, data, limits)
    except DocumentError as refusal:
        assert refusal.name == name and refusal.reason
        check_refusal(refusal, name, data)
        return None
    check_document(doc, name, limits)
    return doc


def check_refusal(refusal: DocumentError, name: str, data: bytes) -> None:
    cause = refusal.__cause__
    if not refusal.reason.startswith("damaged or unreadable") or cause is None:
        return  # a reason the parsers give on purpose
    fmt = detect(EXTENSIONS.get(Path(name).suffix.lower()), data)
    assert fmt not in TEXT_FORMATS, f"{fmt} has no invalid input, yet {cause!r} escaped its parser"
    assert not raised_in_quire(cause), f"Quire's own code failed: {cause!r}"


def raised_in_quire(exc: BaseException) -> bool:
    """Whether the innermost frame of the exception's traceback is in Quire's code, not a library's."""
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and Path(frame.tb_frame.f_code.co_filename).is_relative_to(QUIRE)


def check_document(doc: Document, name: str, limits: Limits) -> None:
    """Blocks are non-empty stripped spans, in order, joined by blank lines into the whole text."""
    assert doc.name == name and doc.format in TEXT_FORMATS | {"pdf", "docx"}
    assert doc.blocks and doc.text == "\n\n".join(doc.block_text(b) for b in doc.blocks)
    assert len(doc.text) <= limits.max_text_chars
    end, page = 0, 1
    for block in doc.blocks:
        piece = doc.block_text(block)
        assert end <= block.start < block.end <= len(doc.text) and piece == piece.strip()
        assert block.kind in ("heading", "paragraph") and (block.kind == "heading") == (block.level > 0)
        assert block.level <= (9 if doc.format == "docx" else 6)
        if doc.format == "pdf":
            assert page <= block.page <= limits.max_pages, "pages start at 1 and only go forward"
            page = block.page
        else:
            assert block.page is None
        end = block.end
    assert doc.title and len(doc.title) <= 100 and "\n" not in doc.title and doc.title == doc.title.strip()


# --- any bytes, and real files damaged --------------------------------------------------------------

@st.composite
def damaged(draw, data: bytes) -> bytes:
    """`data` with a few bytes flipped, runs cut, junk inserted, runs repeated, or the end cut off."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "repeat":
            data[at:at] = data[at:at + 32] * draw(st.integers(2, 20))
        elif action == "truncate":
            del data[at:]
    return bytes(data)


SAMPLES = {**LIBRARY,
           "long.pdf": make_pdf([["Page one, line one.", "Line two (with parentheses)."], [], ["Page three."]], "T"),
           "styled.docx": make_docx(word_document(w_p("Title", "Heading1") + w_p("Body text.") + w_p("", "Heading2")),
                                    {"word/styles.xml": f'<w:styles xmlns:w="{W}"/>'})}


@given(name=st.sampled_from(NAMES), data=st.binary(min_size=1, max_size=2048))
def test_any_bytes_are_read_or_refused(name, data):
    read_or_refuse(name, data)


@given(sample=st.sampled_from(sorted(SAMPLES)), data=st.data())
@settings(max_examples=150)
def test_damaged_files_are_read_or_refused(sample, data):
    damaged_bytes = data.draw(damaged(SAMPLES[sample]), label="damaged")
    name = data.draw(st.sampled_from([sample, sample, *NAMES]), label="name")  # sometimes under another name
    read_or_refuse(name, damaged_bytes)


@given(sample=st.sampled_from(sorted(SAMPLES)), limits=st.builds(
    Limits, max_file_bytes=st.integers(1, 4096), max_pages=st.integers(1, 3), max_text_chars=st.integers(1, 200),
    max_decompressed_bytes=st.integers(1, 4096), max_zip_members=st.integers(1, 4), max_compression_ratio=st.integers(1, 50)))
def test_limits_hold_or_the_file_is_refused(sample, limits):
    read_or_refuse(sample, SAMPLES[sample], limits)


# --- text in every encoding the detector reads ------------------------------------------------------

# Text a person could have written: no control characters but tabs, newlines and form feeds.
written = st.text(st.characters(codec="utf-8", exclude_categories=["Cc"], include_characters="\t\n\r\x0c"),
                  max_size=200).filter(lambda text: text.strip())


def assert_words_kept(name: str, data: bytes, text: str) -> None:
    doc = parse(name, data)
    check_document(doc, name, Limits())
    assert doc.text.split() == text.split()


@given(text=written, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be-bom", "utf-32"]))
def test_unicode_text_keeps_every_word(text, encoding):
    """Any text comes back word for word in UTF-8, and in UTF-16/32 with a byte-order mark."""
    if encoding == "utf-8":
        assume(not text.startswith("\ufeff"))  # encoded, that is the UTF-8 byte-order mark
    data = codecs.BOM_UTF16_BE + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    assert_words_kept("notes.txt", data, text)


@given(text=st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_categories=["Cc"])
                    | st.sampled_from("\t\n"), min_size=1, max_size=200).filter(lambda text: text.strip()),
       encoding=st.sampled_from(["utf-16-le", "utf-16-be"]))
def test_latin_text_in_utf16_without_a_byte_order_mark_keeps_every_word(text, encoding):
    assert_words_kept("notes.txt", text.encode(encoding), text)


ascii_letters = st.text("bcdfghjklmnpqrstvwxyzaeiouBCDFGLMNPRST", min_size=1, max_size=4)
accented = st.sampled_from("éèêëàâäçîïôöùûüñóíáúßæœÉÀÇÖÜÑ")
WESTERN_WORDS = ["informação", "Größe", "façade", "naïve", "Ærø", "Søren", "ações", "São", "Zürich", "Ça", "État", "Mädchen",
                 "años", "garçon", "crème brûlée", "Œuvre", "«Bonjour»", "5 €", "l’été", "“quoted”", "—", "stratégie", "régime"]


@st.composite
def western_words(draw) -> str:
    """A made-up word of a Western European language: accented letters between plain ones."""
    parts = [draw(ascii_letters)]
    for _ in range(draw(st.integers(0, 3))):
        parts += [draw(accented), draw(ascii_letters)]
    return "".join(parts) + (draw(accented) if draw(st.booleans()) else "")


@given(text=st.lists(st.one_of(western_words(), st.sampled_from(WESTERN_WORDS)), min_size=1, max_size=15).map(" ".join),
       encoding=st.sampled_from(["cp1252", "latin-1"]))
def test_western_text_in_a_legacy_encoding_is_decoded_exactly(text, encoding):
    assume(all(ord(ch) < 256 for ch in text) or encoding == "cp1252")
    assert parse("notes.txt", text.encode(encoding)).text == text


def language_text(encoding: str, characters: str, punctuation: str) -> st.SearchStrategy[str]:
    """At least twenty of the language's common characters, in phrases with punctuation and spaces."""
    usable = "".join(ch for ch in characters if ch.encode(encoding, "ignore"))
    phrase = st.tuples(st.text(st.sampled_from(usable), min_size=1, max_size=8), st.sampled_from(["", " ", *punctuation]))
    return (st.lists(phrase.map("".join), min_size=1, max_size=12).map("".join)
            .filter(lambda text: sum(ch in usable for ch in text) >= 20))


LEGACY = {"gb18030": (HANZI[:500], "，。"), "big5": (HANZI[500:], "，。"), "cp950": (HANZI[500:], "，。"),
          "shift_jis": (KANA[:83] + KANJI, "、。"), "cp932": (KANA[:83] + KANJI, "、。"), "euc_jp": (KANA[:83] + KANJI, "、。"),
          "euc_kr": (HANGUL, ". "), "cp949": (HANGUL, ", ")}


@given(data=st.data(), encoding=st.sampled_from(sorted(LEGACY)))
def test_cjk_text_in_a_legacy_encoding_is_decoded_exactly(data, encoding):
    text = data.draw(language_text(encoding, *LEGACY[encoding]), label="text")
    assert parse("notes.txt", text.encode(encoding)).text == text.strip()


# --- Markdown and HTML generated with known content -------------------------------------------------

word = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéßжλ東京語😀0123456789", min_size=1, max_size=10).filter(
    lambda w: not w[0].isdigit())  # "1." or "1)" opening a line would make a list item
words = st.lists(word, min_size=1, max_size=8).map(" ".join)
# Inline markup, nested, and what it reads as. As in real documents, emphasis wraps text that does not
# itself start or end with a marker, and a link's text holds no link, though it may be an image (a badge).
inline_leaf = st.one_of(word.map(lambda w: (w, w)), word.map(lambda w: (f"`{w}`", w)), st.just(("\\*", "*")),
                        word.map(lambda w: (f"![{w}](a.png)", w)),
                        word.map(lambda w: (f"<https://example.org/{w}>", f"https://example.org/{w}")))


def inline_around(inner: st.SearchStrategy) -> st.SearchStrategy:
    bare = inner.filter(lambda pair: pair[0][0] not in "*_~\\" and pair[0][-1] not in "*_~")
    linkless = inner.filter(lambda pair: "[" not in pair[0] or pair[0].startswith("![") and pair[0].count("[") == 1)
    return st.one_of(*(bare.map(lambda pair, m=marker: (f"{m}{pair[0]}{m}", pair[1])) for marker in ["**", "_", "*", "~~"]),
                     linkless.map(lambda pair: (f"[{pair[0]}](https://example.org/)", pair[1])),
                     linkless.map(lambda pair: (f"[{pair[0]}][ref]", pair[1])),
                     st.lists(inner, min_size=2, max_size=3).map(
                         lambda pairs: (" ".join(m for m, _ in pairs), " ".join(t for _, t in pairs))))


inline = st.recursive(inline_leaf, inline_around, max_leaves=4)
markdown_line = st.lists(inline, min_size=1, max_size=6).map(
    lambda pairs: (" ".join(m for m, _ in pairs), " ".join(t for _, t in pairs)))
code_line = st.text("abc xyz*_#[]()<>`|-=>!\\", max_size=20).filter(lambda line: "```" not in line)


@st.composite
def markdown_blocks(draw) -> tuple[str, tuple[str, int, str]]:
    """One Markdown block and the (kind, level, text) it must read as."""
    kind = draw(st.sampled_from(["atx", "setext", "paragraph", "item", "quote", "code", "break"]))
    if kind == "break":
        return draw(st.sampled_from(["---", "***", "___", "- - -", " * * *"])), ("paragraph", 0, "")
    if kind == "atx":
        level, text = draw(st.integers(1, 6)), draw(words)
        closing = draw(st.sampled_from(["", " #", " " + "#" * level]))
        return f"{'#' * level} {text}{closing}", ("heading", level, text)
    if kind == "setext":
        level, text = draw(st.integers(1, 2)), draw(words)
        return f"{text}\n{'=-'[level - 1] * draw(st.integers(1, 8))}", ("heading", level, text)
    if kind == "code":
        lines = draw(st.lists(code_line, min_size=1, max_size=4))
        return "```\n" + "\n".join(lines) + "\n```", ("paragraph", 0, "\n".join(lines).strip())
    lines = draw(st.lists(markdown_line, min_size=1, max_size=3))
    marker = {"paragraph": "", "item": draw(st.sampled_from(["- ", "* ", "+ ", "1. ", "2) "])), "quote": "> "}[kind]
    source = marker + "\n".join(m for m, _ in lines)
    return source, ("paragraph", 0, "\n".join(t for _, t in lines))


@given(blocks=st.lists(markdown_blocks(), min_size=1, max_size=10))
def test_markdown_reads_as_the_blocks_it_was_made_of(blocks):
    source = "\n\n".join(markdown for markdown, _ in blocks)
    expected = [block for _, block in blocks if block[2]]
    doc = read_or_refuse("notes.md", source.encode())
    if not expected:
        assert doc is None
        return
    assert [(b.kind, b.level, doc.block_text(b)) for b in doc.blocks] == expected


# An HTML tree: (source, the words a reader sees). Hidden elements keep their words from the reader.
text_chars = st.text("abcdeéß東 <>&\"'\n\t\xa0", min_size=1, max_size=12)


@st.composite
def html_text(draw) -> tuple[str, str]:
    """Text with some characters written as entities, as pages do."""
    text = draw(text_chars)
    source = "".join(draw(st.sampled_from([html.escape(ch), f"&#{ord(ch)};", f"&#x{ord(ch):x};"])) for ch in text)
    return source, text


def element(children: st.SearchStrategy) -> st.SearchStrategy[tuple[str, str]]:
    @st.composite
    def build(draw) -> tuple[str, str]:
        tag = draw(st.sampled_from(["p", "div", "h1", "h3", "li", "section", "b", "i", "span", "a", "pre", "td",
                                    "script", "style", "template", "noscript", "svg"]))
        hidden = draw(st.sampled_from(["", "", "", " hidden", ' aria-hidden="true"', ' style="display: none"']))
        parts = draw(st.lists(children, max_size=4))
        if tag in ("script", "style"):  # raw text: what is inside is never markup
            inner = draw(st.text("abc <p>&amp; if (a < b) {}", max_size=20))
            return f"<{tag}{hidden}>{inner}</{tag}>", ""
        source = f"<{tag}{hidden} title={quoteattr('x > y')}>{''.join(s for s, _ in parts)}</{tag}>"
        shown = "" if hidden or tag in ("template", "noscript", "svg") else " ".join(t for _, t in parts)
        return source, shown
    return build()


leaves = st.one_of(html_text(), st.just(("<br>", " ")), st.just(("<img src='a.png' alt='no'>", "")),
                   st.text("abc -", max_size=10).map(lambda c: (f"<!--{c}-->", "")))
html_trees = st.recursive(leaves, element, max_leaves=25)


@given(tree=st.lists(html_trees, min_size=1, max_size=4), title=st.one_of(st.none(), words))
def test_html_shows_exactly_the_visible_words(tree, title):
    head = f"<head><title>{escape(title)}</title></head>" if title else ""
    source = f"<!DOCTYPE html><html>{head}<body>{''.join(s for s, _ in tree)}</body></html>"
    visible = "".join("".join(t for _, t in tree).split())
    doc = read_or_refuse("page.html", source.encode())
    assert ("".join(doc.text.split()) if doc else "") == visible
    if doc and title:
        assert doc.title == " ".join(title.split())


# Every codec name Python knows, which is what a <meta charset> is looked up in.
CODEC_NAMES = sorted({module.name for module in pkgutil.iter_modules(encodings.__path__)} | set(encodings.aliases.aliases))


@given(charset=st.sampled_from(CODEC_NAMES) | st.text("abcdefiklmnorstuw0123456789_.:-", min_size=1, max_size=12),
       body=st.text("abcdefghij XYZ0123456789.,;:!?()+-~'", min_size=1, max_size=40).filter(str.strip))
def test_an_ascii_page_reads_the_same_whatever_charset_it_declares(charset, body):
    """Whatever it names, a charset that reads the meta tag itself otherwise (UTF-16, EBCDIC, UTF-7) or
    is no text encoding at all ("undefined", "base64") is not the page's, as in browsers."""
    doc = read_or_refuse("page.html", f'<meta charset="{charset}"><p>{body}</p>'.encode("ascii"))
    assert doc.text == " ".join(body.split())


markup_soup = st.lists(st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<h2>", "</h2>", "<pre>", "</pre>", "<script>", "</script>", "<title>", "</title>",
    "<!--", "-->", "--!>", "<![CDATA[", "]]>", "<![if x]>", "<![endif]>", "<![foo[", "]>", "<![", "<!DOCTYPE html>", "<!x>",
    "<?php ?>", "<a href='x'>", "</a>", "<", ">", "</", "<!", "<b", "&amp;", "&#x41;", "&#", "&", ";", "=", "'", '"',
    " ", "\n", "word", "éß", "東京", "<svg>", "</svg>", "<span hidden>", "</span>", "<xmp>", "</xmp>", "<br/>"]),
    max_size=30).map("".join)


@given(source=markup_soup)
@settings(max_examples=400)  # cheap, and the broken constructs need several tokens in the right order
def test_any_markup_soup_is_read_as_html_or_markdown(source):
    """Broken, unclosed and unknown markup never makes either parser fail: browsers show any text."""
    for name in ("page.html", "notes.md"):
        read_or_refuse(name, source.encode())


# --- DOCX and PDF generated with known content ------------------------------------------------------

xml_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"], exclude_characters="\ufffe\uffff")
                   | st.sampled_from("\t\n "), max_size=30)


@st.composite
def docx_paragraphs(draw) -> tuple[str, tuple[str, int, str]]:
    """A w:p of runs, tabs and breaks (sometimes in a table cell), and the block it must read as."""
    runs = draw(st.lists(st.tuples(xml_text, st.sampled_from(["", "<w:tab/>", "<w:br/>"])), min_size=1, max_size=4))
    style, level = draw(st.sampled_from([(None, 0), ("Normal", 0), ("Heading1", 1), ("Heading3", 3), ("Heading9", 9),
                                         ("Title", 1), ("Kop2", 2)]))
    props = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    body = "".join(f'<w:r><w:t xml:space="preserve">{escape(t)}</w:t>{extra}</w:r>' for t, extra in runs)
    paragraph = f"<w:p>{props}{body}</w:p>"
    if draw(st.booleans()):
        paragraph = f"<w:tbl><w:tr><w:tc>{paragraph}</w:tc></w:tr></w:tbl>"
    text = "".join(t + {"": "", "<w:tab/>": "\t", "<w:br/>": "\n"}[extra] for t, extra in runs).strip()
    return paragraph, ("heading" if level else "paragraph", level, text)


KOP2_STYLES = (f'<?xml version="1.0"?><w:styles xmlns:w="{W}"><w:style w:type="paragraph" w:styleId="Kop2">'
               '<w:name w:val="heading 2"/></w:style></w:styles>')


@given(paragraphs=st.lists(docx_paragraphs(), min_size=1, max_size=8), title=xml_text)
def test_docx_reads_as_the_paragraphs_it_was_made_of(paragraphs, title):
    core = ('<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{escape(title)}</dc:title></cp:coreProperties>')
    data = make_docx(word_document("".join(p for p, _ in paragraphs)),
                     {"word/styles.xml": KOP2_STYLES, "docProps/core.xml": core})
    expected = [block for _, block in paragraphs if block[2]]
    doc = read_or_refuse("report.docx", data)
    if not expected:
        assert doc is None
        return
    assert [(b.kind, b.level, doc.block_text(b)) for b in doc.blocks] == expected
    if title.strip():
        assert doc.title == shorten(title)


MEMBERS = ["word/document.xml", "word/styles.xml", "docProps/core.xml", "[Content_Types].xml", "word/media/x.bin"]
member_content = st.one_of(
    st.binary(max_size=300),
    docx_paragraphs().map(lambda p: word_document(p[0]).encode()),
    st.just(f'<!DOCTYPE w:document [<!ENTITY e "x">]><w:document xmlns:w="{W}"/>'.encode()),
    st.just(KOP2_STYLES.encode()), st.just(b"<w:document><unclosed>"))


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile's, writing a member twice: hostile on purpose
@given(members=st.lists(st.tuples(st.sampled_from(MEMBERS), member_content,
                                  st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])), max_size=5))
def test_zips_with_any_members_are_read_or_refused_as_docx(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for member, content, compression in members:
            package.writestr(zipfile.ZipInfo(member), content, compress_type=compression)
    read_or_refuse("report.docx", out.getvalue())


# Helvetica in its standard encoding: printable ASCII, but the quotes it draws curly (' and `) and the
# hyphens and dot runs the parser rejoins and drops on purpose.
pdf_word = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789()\\,;:!?\"/&%$#@*+=<>[]{}",
                   min_size=1, max_size=10).map(lambda w: w + "." if len(w) % 3 == 0 else w)
pdf_line = st.lists(pdf_word, min_size=1, max_size=8).map(" ".join)


@given(pages=st.lists(st.lists(pdf_line, max_size=5), min_size=1, max_size=4))
@settings(max_examples=50)
def test_pdf_pages_keep_their_words_on_their_page(pages):
    doc = read_or_refuse("paper.pdf", make_pdf(pages))
    if not any(pages):
        assert doc is None  # no text layer
        return
    for number, lines in enumerate(pages, start=1):
        on_page = " ".join(doc.block_text(b) for b in doc.blocks if b.page == number)
        assert on_page.split() == " ".join(lines).split()
