"""DOCX with the standard library: zipfile for the package, expat for its XML.

A DOCX is attacker-shaped input twice over: the zip is checked (member count, declared sizes,
compression ratio, and a bounded read) before anything is inflated, and the XML is refused if it
declares a DTD, so no entity is ever expanded.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from xml.parsers import expat

from . import Document, DocumentBuilder, DocumentError, Limits, describe, size

WORD = {"http://schemas.openxmlformats.org/wordprocessingml/2006/main",  # transitional
        "http://purl.oclc.org/ooxml/wordprocessingml/main"}  # strict
DC_TITLE = "http://purl.org/dc/elements/1.1/ title"
NOT_DOCX = "damaged or not a DOCX file"
HEADING_STYLE = re.compile(r"heading\s*([1-9])", re.I)


def _open(name: str, data: bytes, limits: Limits) -> zipfile.ZipFile:
    """The zip, refused with too many members before zipfile builds an object for each one."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))  # end record: 22 bytes + a comment
    declared = int.from_bytes(data[end + 10 : end + 12], "little") if end >= 0 else 0
    try:
        archive = zipfile.ZipFile(io.BytesIO(data)) if declared <= limits.max_zip_members else None
    except zipfile.BadZipFile as exc:
        raise DocumentError(name, f"{NOT_DOCX} ({describe(exc)})") from exc
    members = len(archive.infolist()) if archive else declared  # the end record can understate
    if members > limits.max_zip_members:
        raise DocumentError(name, f"too many files inside: {members:,}, the limit is {limits.max_zip_members:,}")
    return archive


def _read(archive: zipfile.ZipFile, name: str, member: str, limits: Limits) -> bytes | None:
    """A member's bytes, refused before inflating when its header promises too much."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        return None
    limit, packed = limits.max_decompressed_bytes, max(info.compress_size, 1)
    if info.file_size > limit:
        raise DocumentError(name, f"too large when decompressed ({member} is {size(info.file_size)}, "
                                  f"the limit is {size(limit)})")
    if info.file_size > limits.max_compression_ratio * packed:
        raise DocumentError(name, f"looks like a decompression bomb ({member} compresses "
                                  f"{info.file_size // packed:,} to 1)")
    with archive.open(info) as stream:
        # zipfile itself stops at the declared size; this bound holds without relying on that.
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise DocumentError(name, f"too large when decompressed ({member} is over the {size(limit)} limit)")
    return data


class _Reader:
    """Streams one XML member through expat, handing on elements as (namespace uri, local tag)."""

    def walk(self, name: str, member: str, xml: bytes) -> None:
        def refuse(*_):
            raise DocumentError(name, "unsafe XML (entity declarations are not allowed)")

        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = refuse  # before any entity is defined
        parser.StartElementHandler = lambda tag, attrs: self.start(*tag.rpartition(" ")[::2], attrs)
        parser.EndElementHandler = lambda tag: self.end(*tag.rpartition(" ")[::2])
        parser.CharacterDataHandler = self.text
        try:
            parser.Parse(xml, True)
        except expat.ExpatError as exc:
            raise DocumentError(name, f"damaged DOCX ({member}: {describe(exc)})") from exc

    def start(self, uri: str, tag: str, attrs: dict[str, str]) -> None: ...

    def end(self, uri: str, tag: str) -> None: ...

    def text(self, chars: str) -> None: ...


class _HeadingStyles(_Reader):
    """Paragraph style id -> heading level. Ids are often localised ("Kop1"), names are not."""

    def __init__(self):
        self.levels = {**{f"Heading{n}": n for n in range(1, 10)}, "Title": 1}
        self.style = ""

    def start(self, uri, tag, attrs):
        if uri not in WORD:
            return
        if tag == "style":
            self.style = attrs.get(f"{uri} styleId", "")
        elif tag == "name" and self.style:
            value = attrs.get(f"{uri} val", "").strip()
            if m := HEADING_STYLE.fullmatch(value):
                self.levels[self.style] = int(m[1])
            elif value.lower() == "title":
                self.levels[self.style] = 1


class _CoreTitle(_Reader):
    def __init__(self):
        self.parts: list[str] = []
        self.inside = False

    def start(self, uri, tag, attrs):
        self.inside = f"{uri} {tag}" == DC_TITLE

    def end(self, uri, tag):
        self.inside = False

    def text(self, chars):
        if self.inside:
            self.parts.append(chars)


@dataclass
class _Paragraph:
    pieces: list[str] = field(default_factory=list)
    style: str = ""


class _Body(_Reader):
    """Each w:p becomes a block: its w:t text, w:tab and w:br; its style says if it is a heading."""

    def __init__(self, builder: DocumentBuilder, levels: dict[str, int]):
        self.builder, self.levels = builder, levels
        self.paragraphs: list[_Paragraph] = []  # open w:p: a text box puts paragraphs inside a paragraph
        self.runs = 0  # open w:r: w:tab counts only inside a run (w:tabs in the properties holds w:tab too)
        self.reading = False  # inside a w:t

    def start(self, uri, tag, attrs):
        if uri not in WORD:
            return
        if tag == "p":
            self.paragraphs.append(_Paragraph())
        elif tag == "r":
            self.runs += 1
        elif tag == "t":
            self.reading = True
        elif tag == "pStyle" and self.paragraphs:
            self.paragraphs[-1].style = attrs.get(f"{uri} val", "")
        elif tag in ("tab", "br", "cr") and self.runs and self.paragraphs:
            self.paragraphs[-1].pieces.append("\t" if tag == "tab" else "\n")

    def end(self, uri, tag):
        if uri not in WORD:
            return
        if tag == "p" and self.paragraphs:
            paragraph = self.paragraphs.pop()
            level = self.levels.get(paragraph.style, 0)
            self.builder.add("".join(paragraph.pieces), "heading" if level else "paragraph", level)
        elif tag == "r":
            self.runs -= 1
        elif tag == "t":
            self.reading = False

    def text(self, chars):
        if self.reading and self.paragraphs:
            self.paragraphs[-1].pieces.append(chars)


def parse(name: str, data: bytes, limits: Limits) -> Document:
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE file: Word's encryption wraps the zip in one
        raise DocumentError(name, "password-protected, or an old .doc file (save it as .docx without a password)")
    archive = _open(name, data, limits)
    document = _read(archive, name, "word/document.xml", limits)
    if document is None:
        raise DocumentError(name, f"{NOT_DOCX} (it has no word/document.xml)")

    styles, core = _HeadingStyles(), _CoreTitle()
    for reader, member in ((styles, "word/styles.xml"), (core, "docProps/core.xml")):
        if (xml := _read(archive, name, member, limits)) is not None:
            reader.walk(name, member, xml)
    builder = DocumentBuilder(name, "docx", limits)
    _Body(builder, styles.levels).walk(name, "word/document.xml", document)
    return builder.build(title="".join(core.parts))
