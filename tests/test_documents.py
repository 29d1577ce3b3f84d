"""Document parsers on real files built here: every format, every encoding, and hostile input."""

import codecs
import io
import random
import time
import zipfile

import pytest
from pypdf import PdfReader

from quire.documents import Document, DocumentError, Limits, parse
from samples import W, encrypted, make_docx, make_pdf, w_p, word_document


def check_blocks(doc: Document) -> None:
    """Every block is a non-empty, stripped span; blocks are in order, apart, and make up the text."""
    assert doc.blocks
    end = 0
    for block in doc.blocks:
        piece = doc.text[block.start : block.end]
        assert piece and piece == piece.strip()
        assert block.start >= end
        assert (block.kind == "heading") == (block.level > 0)
        end = block.end
    assert doc.text == "\n\n".join(doc.block_text(b) for b in doc.blocks)


def read(name: str, data: bytes, limits: Limits = Limits()) -> Document:
    doc = parse(name, data, limits)
    check_blocks(doc)
    return doc


def refused(name: str, data: bytes, limits: Limits = Limits()) -> str:
    with pytest.raises(DocumentError) as caught:
        parse(name, data, limits)
    assert caught.value.name == name
    return caught.value.reason


def outline(doc: Document) -> list[tuple[str, int, str]]:
    return [(b.kind, b.level, doc.block_text(b)) for b in doc.blocks]


# --- plain text and encodings -----------------------------------------------------------------------

ENCODED = [
    ("utf-8", "Marie Curie was born in Warsaw in 1867. She moved to Paris to study physics.\n\n"
              "Grüße aus Köln, 東京 and Καλημέρα: one file, many scripts."),
    ("latin-1", "café crème, s'il vous plaît. Le garçon apporta l'addition à la fenêtre."),
    ("cp1252", "“Smart quotes” aren’t ASCII — and neither is the euro sign: 5 € per coffee…"),
    ("gb18030", "我们明天早上九点在图书馆门口见面，然后一起去博物馆参观。这次展览介绍了中国古代的科学技术和发明。"),
    ("gbk", "北京是中国的首都，也是一座历史悠久的文化名城。每年都有很多游客来这里旅游。"),
    ("big5", "台灣的夜市非常熱鬧，晚上有很多人來這裡吃小吃。我最喜歡的是蚵仔煎和珍珠奶茶。"),
    ("shift_jis", "今日は天気がとても良いので、友達と一緒に公園へ散歩に行きました。桜の花がきれいに咲いていました。"),
    ("euc_jp", "東京駅から新幹線に乗って京都へ行きます。駅の近くには古いお寺がたくさんあります。"),
    ("iso2022_jp", "日本語の文章をメールで送るときは、昔からこの文字コードがよく使われていました。"),
    ("euc_kr", "오늘은 날씨가 좋아서 친구와 함께 공원에 산책을 갔습니다. 저녁에는 한국 음식을 먹었습니다."),
]

SHORT_CJK = [  # one line of about twenty characters: the least the detector must get right
    ("gb18030", "北京是中国的首都，有很多名胜古迹和博物馆。"),
    ("big5", "這本書的作者是一位很有名的台灣作家。"),
    ("shift_jis", "東京駅から新幹線に乗って京都へ行きます。"),
    ("euc_jp", "今日は天気がとても良いので散歩しました。"),
    ("euc_kr", "서울은 한국의 수도이고 인구가 많은 도시입니다."),
]

BOMS = {
    "utf-8-bom": (codecs.BOM_UTF8, "utf-8"),
    "utf-16-le-bom": (codecs.BOM_UTF16_LE, "utf-16-le"),
    "utf-16-be-bom": (codecs.BOM_UTF16_BE, "utf-16-be"),
    "utf-32-le-bom": (codecs.BOM_UTF32_LE, "utf-32-le"),
    "utf-16-le": (b"", "utf-16-le"),  # no BOM: told by where the NULs fall
    "utf-16-be": (b"", "utf-16-be"),
}


@pytest.mark.parametrize("encoding, text", ENCODED + SHORT_CJK,
                         ids=[e for e, _ in ENCODED] + [f"{e}-short" for e, _ in SHORT_CJK])
def test_text_decodes_each_encoding_exactly(encoding, text):
    assert read("note.txt", text.encode(encoding)).text == text


@pytest.mark.parametrize("bom, encoding", BOMS.values(), ids=BOMS.keys())
def test_text_with_byte_order_marks_and_utf16_without(bom, encoding):
    text = "Chapter one.\n\nIt was a bright cold day in April, and the clocks were striking thirteen. Ünïcödé too."
    doc = read("note.txt", bom + text.encode(encoding))
    assert doc.text == text and doc.format == "text"


def test_text_paragraphs_newlines_and_title():
    data = (b"  A Short History of Tea  \r\nfrom leaf to cup\r\n\r\n \t \r\n"
            b"Tea was first drunk in China.\rIt spread west.\n\n\n")
    doc = read("tea.txt", data)
    assert [doc.block_text(b) for b in doc.blocks] == [
        "A Short History of Tea  \nfrom leaf to cup", "Tea was first drunk in China.\nIt spread west."]
    assert doc.title == "A Short History of Tea"


def test_long_titles_are_shortened():
    doc = read("long.txt", ("word " * 60).encode())
    assert len(doc.title) <= 100 and doc.title.endswith("…")


# --- Markdown ---------------------------------------------------------------------------------------

MARKDOWN = """---
title: front matter is dropped
---
# Field Notes #

Some **bold**, _emphasis_, `code *kept*`, a [link](https://example.org) and ![a heron](heron.png).
snake_case_names and 2 * 3 stay.

Observations
------------

- first item
* second item
  continues here
1. numbered [reference link][r]

> a quoted line
> and another

```python
print("**not markup**")
```

<script>alert(1)</script>

### Level Three
[r]: https://example.org/ref
"""


def test_markdown_structure_and_light_stripping():
    doc = read("notes.md", MARKDOWN.encode())
    assert outline(doc) == [
        ("heading", 1, "Field Notes"),
        ("paragraph", 0, "Some bold, emphasis, code *kept*, a link and a heron.\nsnake_case_names and 2 * 3 stay."),
        ("heading", 2, "Observations"),
        ("paragraph", 0, "first item"),
        ("paragraph", 0, "second item\ncontinues here"),
        ("paragraph", 0, "numbered reference link"),
        ("paragraph", 0, "a quoted line\nand another"),
        ("paragraph", 0, 'print("**not markup**")'),
        ("paragraph", 0, "<script>alert(1)</script>"),
        ("heading", 3, "Level Three"),
    ]
    assert doc.title == "Field Notes" and doc.format == "markdown"


# --- HTML -------------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html><head><meta charset="windows-1252"><title>  Caf\xe9   Guide </title>
<style>p { color: red }</style><script>document.write("<p>never</p>")</script></head>
<body>
<nav hidden>Skip menu</nav>
<h1>Caf\xe9s &amp; Bakeries</h1>
<p onclick="alert(1)">Open   daily
  from 8&nbsp;am &lt;except Mondays&gt; &#8212; &eacute;t&eacute; hours vary.</p>
<span aria-hidden="true">icon</span><div style="display:none">tracking</div>
<h2>Menu</h2><ul><li>Espresso</li><li>Croissant <b>fresh</b> daily</li></ul>
<pre>  price   list
  3.50</pre>
<table><tr><td>Mon</td><td>closed</td></tr></table>
<noscript>Enable JavaScript</noscript><template><p>template text</p></template>
<svg><title>logo</title><text>drawn</text></svg>
</body></html>
"""


def test_html_visible_text_structure_and_title():
    doc = read("guide.html", HTML.encode("cp1252"))
    assert outline(doc) == [
        ("heading", 1, "Cafés & Bakeries"),
        ("paragraph", 0, "Open daily from 8\xa0am <except Mondays> — été hours vary."),
        ("heading", 2, "Menu"),
        ("paragraph", 0, "Espresso"),
        ("paragraph", 0, "Croissant fresh daily"),
        ("paragraph", 0, "price   list\n  3.50"),
        ("paragraph", 0, "Mon"),
        ("paragraph", 0, "closed"),
    ]
    assert doc.title == "Café Guide" and doc.format == "html"


def test_html_encoding_from_bom_meta_or_detection():
    assert read("a.html", '<meta charset="shift_jis"><p>東京の天気</p>'.encode("shift_jis")).text == "東京の天気"
    http_equiv = '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>“Olé”</p>'
    assert read("b.html", http_equiv.encode("cp1252")).text == "“Olé”"  # latin-1 is read as cp1252
    # A meta tag that lies gives way to detection; a BOM overrides the meta tag.
    assert read("c.html", '<meta charset="utf-8"><p>café crème</p>'.encode("cp1252")).text == "café crème"
    assert read("d.html", '<meta charset="cp1252"><p>naïve</p>'.encode("utf-16")).text == "naïve"


def test_html_without_title_uses_first_heading_and_survives_bad_nesting():
    broken = "<p>Intro <div><h2>Deep <i>heading</h2></b></i></span>after" + "<div>" * 20_000 + "bottom"
    doc = read("broken.htm", broken.encode())
    assert outline(doc) == [("paragraph", 0, "Intro"), ("heading", 2, "Deep heading"),
                            ("paragraph", 0, "after"), ("paragraph", 0, "bottom")]
    assert doc.title == "Deep heading"



@pytest.mark.parametrize("name, text", [
    ("unclosed.html", "<p>x" + "<!-- >" * 20_000 + "<![CDATA[ >" * 20_000 + "<a" * 20_000 + "</" * 20_000),
    ("unclosed.md", "[" * 20_000 + "<http:" * 20_000 + "[a](" * 20_000 + "`" * 20_000 + "a"),
])
def test_unclosed_markup_costs_linear_time(name, text):
    """Each unclosed opener must not trigger a search of the rest of the file (quadratic overall)."""
    started = time.perf_counter()
    read(name, text.encode())
    assert time.perf_counter() - started < 2


# --- PDF --------------------------------------------------------------------------------------------

PAGES = [
    ["The orchard grows apples on the north slope, and the",
     "pears ripen in a well-known sec-",
     "ond field by September.",
     "A new paragraph starts here."],
    ["Harvest begins in October (weather permitting)."],
    ["The cider is pressed in November."],
]





def test_pdf_is_valid_for_a_strict_reader():
    assert len(PdfReader(io.BytesIO(make_pdf(PAGES)), strict=True).pages) == 3


def test_pdf_paragraphs_carry_their_page_numbers():
    doc = read("orchard.pdf", make_pdf(PAGES, title="Orchard (2024)"))
    assert [(b.page, doc.block_text(b)) for b in doc.blocks] == [
        (1, "The orchard grows apples on the north slope, and the pears ripen in a well-known second field "
            "by September."),
        (1, "A new paragraph starts here."),
        (2, "Harvest begins in October (weather permitting)."),
        (3, "The cider is pressed in November."),
    ]
    assert doc.title == "Orchard (2024)" and doc.format == "pdf"
    assert read("untitled.pdf", make_pdf(PAGES)).title.startswith("The orchard grows apples")


def test_pdf_encryption():
    assert "password-protected" in refused("secret.pdf", encrypted(make_pdf(PAGES), "secret"))
    # An owner password alone restricts editing, not reading: the empty user password opens it.
    assert "cider" in read("restricted.pdf", encrypted(make_pdf(PAGES), "", "owner")).text


def test_pdf_without_text_limits_and_damage():
    assert refused("scan.pdf", make_pdf([[], []])) == "no text layer (probably a scanned document)"
    assert refused("long.pdf", make_pdf(PAGES), Limits(max_pages=2)) == "too many pages: 3, the limit is 2 (split it into parts)"
    assert "damaged" in refused("cut.pdf", make_pdf(PAGES)[:60])
    assert "damaged" in refused("junk.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 4)


def test_recursion_in_a_pdf_becomes_a_document_error():
    nested = make_pdf(PAGES).replace(b"BT /F1", b"[" * 50_000 + b"]" * 50_000 + b" BT /F1", 1)
    assert "damaged" in refused("nested.pdf", nested)


# --- DOCX -------------------------------------------------------------------------------------------

STYLES = (f'<?xml version="1.0"?><w:styles xmlns:w="{W}">'
          '<w:style w:type="paragraph" w:styleId="Kop2"><w:name w:val="heading 2"/></w:style>'
          '<w:style w:type="paragraph" w:styleId="Titel"><w:name w:val="Title"/></w:style></w:styles>')
CORE = ('<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Quarterly Report</dc:title>'
        '</cp:coreProperties>')
BODY = (w_p("Annual Summary", "Titel") + w_p("Introduction", "Heading1")
        + w_p("Sales grew by 12 % this year & costs fell.", "Normal")
        + '<w:p><w:r><w:t>Name:</w:t><w:tab/><w:t>Ada</w:t><w:br/><w:t>Role:</w:t></w:r>'
          '<w:r><w:delText>removed</w:delText><w:instrText>PAGE</w:instrText></w:r></w:p>'
        + w_p("Regions", "Kop2")
        + f'<w:tbl><w:tr><w:tc>{w_p("North")}</w:tc><w:tc>{w_p("4.2 million")}{w_p("up")}</w:tc></w:tr></w:tbl>'
        + '<w:sectPr/>')


def test_docx_headings_paragraphs_and_tables():
    doc = read("report.docx", make_docx(word_document(BODY), {"word/styles.xml": STYLES, "docProps/core.xml": CORE}))
    assert outline(doc) == [
        ("heading", 1, "Annual Summary"),
        ("heading", 1, "Introduction"),
        ("paragraph", 0, "Sales grew by 12 % this year & costs fell."),
        ("paragraph", 0, "Name:\tAda\nRole:"),
        ("heading", 2, "Regions"),
        ("paragraph", 0, "North"),
        ("paragraph", 0, "4.2 million"),
        ("paragraph", 0, "up"),
    ]
    assert doc.title == "Quarterly Report" and doc.format == "docx"
    # Without styles.xml and core.xml: built-in style ids still make headings; the first is the title.
    bare = read("bare.docx", make_docx(word_document(BODY)))
    assert bare.title == "Introduction" and outline(bare)[4] == ("paragraph", 0, "Regions")


LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))  # 10**9 "lol"s
BILLION_LAUGHS = (f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY lol0 "lol">{LAUGHS}]>'
                  f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>')


def test_docx_entity_bomb_is_refused_fast():
    started = time.perf_counter()
    assert refused("laughs.docx", make_docx(BILLION_LAUGHS)) == "unsafe XML (entity declarations are not allowed)"
    assert time.perf_counter() - started < 1
    internal = make_docx(word_document(w_p("fine")), {"word/styles.xml": '<!DOCTYPE x [<!ENTITY a "b">]><x/>'})
    assert "unsafe XML" in refused("styles.docx", internal)


def test_docx_decompression_limits():
    text = word_document("".join(w_p(f"Paragraph {i} of a long but ordinary document.") for i in range(40_000)))
    reason = refused("big.docx", make_docx(text), Limits(max_decompressed_bytes=1 << 20))
    assert reason.startswith("too large when decompressed (word/document.xml is ") and "the limit is 1 MB" in reason

    zeros = make_docx(b" " * (50 << 20))  # 50 MB of spaces: under the size limit, 1000:1 compressed
    started = time.perf_counter()
    assert refused("bomb.docx", zeros).startswith("looks like a decompression bomb (word/document.xml compresses ")
    assert time.perf_counter() - started < 1

    many = make_docx(word_document(w_p("x")), {f"media/{i}.bin": b"" for i in range(20)})
    assert refused("many.docx", many, Limits(max_zip_members=10)) == "too many files inside: 22, the limit is 10"
    # The end record's count is read before zipfile lists the members; a record that understates is caught after.
    understated = many[:-14] + (3).to_bytes(2, "little") * 2 + many[-10:]  # the two counts in the last 22 bytes
    assert refused("few.docx", understated, Limits(max_zip_members=10)) == "too many files inside: 22, the limit is 10"


def test_docx_whose_header_understates_a_size_is_refused_as_damaged():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("word/document.xml", word_document(w_p("x" * 100) * 10_000))
    data = bytearray(out.getvalue())
    record = data.index(b"PK\x01\x02")  # the central directory entry, where zipfile reads the size
    data[record + 24 : record + 28] = (200).to_bytes(4, "little")
    assert "damaged" in refused("liar.docx", bytes(data))


def test_docx_damaged_or_not_a_docx():
    good = make_docx(word_document(BODY))
    assert refused("cut.docx", good[: len(good) // 2]).startswith("damaged or not a DOCX file")
    assert refused("junk.docx", b"not a zip at all").startswith("damaged or not a DOCX file")
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as package:
        package.writestr("content.xml", "<office/>")
    assert refused("odt.docx", other.getvalue()) == "damaged or not a DOCX file (it has no word/document.xml)"
    assert "damaged DOCX (word/document.xml: " in refused("xml.docx", make_docx("<w:document><unclosed>"))
    assert "password-protected" in refused("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


# --- the entry point --------------------------------------------------------------------------------

def test_format_is_sniffed_when_the_name_does_not_say():
    assert read("scan", make_pdf(PAGES)).format == "pdf"
    assert read("report.bin", make_docx(word_document(BODY))).format == "docx"
    assert read("page", b"\n  <!DOCTYPE html><p>Hello</p>").format == "html"
    assert read("README", "Plain words, naïve café.".encode()).format == "text"
    assert read("LISEZMOI", "Plain words in UTF-16.".encode("utf-16")).format == "text"


def test_unsupported_empty_and_too_large():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(0).randbytes(200)
    assert refused("photo.png", png).startswith("unsupported file type")
    assert refused("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)).startswith("unsupported file type")
    assert refused("archive.zip", make_docx("x").replace(b"word/document.xml", b"word/documenX.xml")).startswith(
        "unsupported file type")
    assert refused("notes.txt", png) == "binary data, not text"
    assert refused("page.html", bytes(range(256))) == "binary data, not HTML"
    assert refused("empty.txt", b"") == "the file is empty"
    assert refused("blank.md", b"  \n\n \t\n") == "no text found (the document is empty)"
    big = b"a" * (3 << 19)  # 1.5 MB
    assert refused("big.txt", big, Limits(max_file_bytes=1 << 20)) == "too large: 1.5 MB, the limit is 1 MB"
    assert refused("big.txt", big + b"a", Limits(max_file_bytes=len(big))) == (
        "too large: 1.6 MB, the limit is 1.5 MB")  # just over a limit never reads as equal to it
    too_much = refused("long.txt", b"word " * 100, Limits(max_text_chars=50))
    assert too_much == "too much text (the limit is 50 characters)"


def samples() -> dict[str, bytes]:
    return {"a.txt": ENCODED[0][1].encode(), "a.md": MARKDOWN.encode(), "a.html": HTML.encode("cp1252"),
            "a.pdf": make_pdf(PAGES, title="T"), "a.docx": make_docx(word_document(BODY), {"word/styles.xml": STYLES})}


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data))
        action = rng.choice(["flip", "cut", "insert", "repeat"])
        if action == "flip":
            data[at] = rng.randrange(256)
        elif action == "cut":
            del data[at : at + rng.randint(1, 64)]
        elif action == "insert":
            data[at:at] = rng.randbytes(rng.randint(1, 16))
        else:
            data[at:at] = data[at : at + 32] * rng.randint(2, 50)
    return bytes(data) or b"\0"


def test_only_document_errors_escape_for_random_and_mutated_input():
    rng = random.Random(0)
    valid = samples()
    names = [*valid, "noext"]
    outcomes = {"parsed": 0, "refused": 0}
    for i in range(400):
        if i % 4 == 0:
            name, data = rng.choice(names), rng.randbytes(rng.randint(1, 2048))
        else:
            name = rng.choice([*valid])
            data = mutate(rng, valid[name])
            name = rng.choice([name, name, rng.choice(names)])  # sometimes under another format's name
        try:
            check_blocks(parse(name, data))
            outcomes["parsed"] += 1
        except DocumentError:
            outcomes["refused"] += 1
    assert outcomes["parsed"] > 50 and outcomes["refused"] > 50, outcomes


def test_pdf_table_of_contents_dot_leaders_are_dropped():
    doc = read("toc.pdf", make_pdf([["Contents", "1 Introduction . . . . . . . . . . 3", "2 Usage.......... 5"]]))
    assert doc.text == "Contents 1 Introduction … 3 2 Usage … 5"


def test_regression_korean_with_syllables_only_cp949_has_is_not_garbled():
    text = "똠방각하 펲시콜라 어릨 탸콰긐 뎌응 흐흐흐 납!! 서울뤄 뎐학 와쒀훀"  # outside EUC-KR's 2,350
    assert read("k.txt", text.encode("cp949")).text == text


def test_regression_unknown_marked_sections_are_comments_not_damage():
    # HTMLParser raised AssertionError on a marked section it does not know; browsers skip it as a comment.
    assert read("odd.html", b"<p>a <![foo[]]> b</p><![ ]><p>c</p>").text == "a b\n\nc"


def test_regression_western_text_with_few_accents_is_not_read_as_cjk():
    # In gb18030 the bytes of "ég" are 間, a common character: a lone accent used to win the CJK vote.
    for text in ["a a ég", "La stratégie régionale", "Café crème brûlée"]:
        assert read("note.txt", text.encode("cp1252")).text == text


def test_regression_a_markdown_file_opening_with_a_thematic_break_keeps_its_text():
    # Its "---" was taken for front matter running to the next "---" line, a setext underline here.
    doc = read("notes.md", b"---\n\nIntro paragraph.\n\nTitle\n---\n\nBody.")
    assert outline(doc) == [("paragraph", 0, "Intro paragraph."), ("heading", 2, "Title"), ("paragraph", 0, "Body.")]


def test_regression_a_markdown_link_around_an_image_reads_as_its_alt_text():
    # A README badge kept its link's brackets and address: "[Build status](https://ci.example/job)".
    doc = read("README.md", b"[![Build status](https://ci.example/badge.svg)](https://ci.example/job) Docs.")
    assert doc.text == "Build status Docs."


def test_regression_a_charset_that_does_not_read_ascii_as_ascii_is_ignored():
    # "undefined" (a codec that always fails) had the page refused as damaged; EBCDIC and UTF-7 garbled it.
    for charset in ["undefined", "cp037", "utf-7"]:
        assert read("page.html", f'<meta charset="{charset}"><p>Plain +AGE- text</p>'.encode()).text == "Plain +AGE- text"
