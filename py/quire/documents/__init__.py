"""File bytes -> Document: one module per format, one entry point, `parse`.

A Document is its plain text plus the structure chunking and citations need: blocks (headings and
paragraphs) with exact character spans into that text, and the page each block came from (PDF).
Every failure a user can cause raises DocumentError with a reason written for that user; nothing
else escapes `parse`.
"""

from __future__ import annotations

import importlib
import io
import math
import os
import zipfile
from dataclasses import dataclass, field


class DocumentError(ValueError):
    """A file Quire cannot read, with the reason to show next to its name."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


@dataclass(frozen=True)
class Limits:
    """Bounds checked before the work they guard, so a hostile file cannot exhaust memory or time."""

    max_file_bytes: int = 100 * 1024 * 1024
    # Per document, like NotebookLM's 500,000 words per source: a 1,000-page PDF is ~5,000 passages,
    # ~7 minutes of embedding in the browser on 2 cores (docs/benchmarks.md, Memory).
    max_pages: int = 1000
    max_text_chars: int = 20_000_000
    max_decompressed_bytes: int = 64 * 1024 * 1024  # per zip member read (DOCX)
    max_zip_members: int = 10_000
    max_compression_ratio: int = 200  # a zip member's size over its compressed size


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph: text[start:end] of its Document."""

    start: int
    end: int
    kind: str = "paragraph"  # "heading" | "paragraph"
    level: int = 0  # heading level, 1 = top; 0 for paragraphs
    page: int | None = None  # 1-based page number (PDF only)


@dataclass
class Document:
    name: str
    format: str  # "text" | "markdown" | "html" | "pdf" | "docx"
    text: str
    blocks: list[Block] = field(default_factory=list)
    title: str = ""

    def block_text(self, block: Block) -> str:
        return self.text[block.start : block.end]


class DocumentBuilder:
    """Assembles a Document block by block, so every parser gets exact spans the same way.

    Blocks are joined by a blank line; whitespace inside a block is normalised by the caller.
    """

    def __init__(self, name: str, format: str, limits: Limits):
        self.name, self.format, self.limits = name, format, limits
        self.parts: list[str] = []
        self.blocks: list[Block] = []
        self.length = 0

    def add(self, text: str, kind: str = "paragraph", level: int = 0, page: int | None = None) -> None:
        text = text.strip()
        if not text:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        if self.length + len(text) > self.limits.max_text_chars:
            raise DocumentError(self.name, f"too much text (the limit is {self.limits.max_text_chars:,} characters)")
        self.blocks.append(Block(self.length, self.length + len(text), kind, level, page))
        self.parts.append(text)
        self.length += len(text)

    def build(self, title: str = "") -> Document:
        """The Document; without a `title`, its first heading (or first block) stands in."""
        text = "".join(self.parts)
        if not text.strip():
            raise DocumentError(self.name, "no text found (the document is empty)")
        if not title.strip():
            first = next((b for b in self.blocks if b.kind == "heading"), self.blocks[0])
            title = text[first.start : first.end]
        return Document(self.name, self.format, text, self.blocks, shorten(title))


# The parser module for each format, and how its name reads in a message.
FORMATS = {"text": "text", "markdown": "Markdown", "html": "HTML", "pdf": "PDF", "docx": "DOCX"}
EXTENSIONS = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
              ".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf", ".docx": "docx"}


def check_size(name: str, nbytes: int, limits: Limits = Limits()) -> None:
    """Before a file is even read: one over the size limit is refused."""
    if nbytes > limits.max_file_bytes:
        raise DocumentError(name, f"too large: {size(nbytes)}, the limit is {size(limits.max_file_bytes)}")


def parse(name: str, data: bytes, limits: Limits = Limits()) -> Document:
    """Read one file; raises DocumentError (and nothing else) when it cannot."""
    check_size(name, len(data), limits)
    if not data:
        raise DocumentError(name, "the file is empty")
    fmt = None
    try:
        named = EXTENSIONS.get(os.path.splitext(name)[1].lower())
        fmt = detect(named, data)
        if fmt is None:
            raise DocumentError(name, f"binary data, not {FORMATS[named]}" if named else
                                "unsupported file type (Quire reads .txt, .md, .html, .pdf and .docx files)")
        # Imported on first use: a text-only session never pays for pypdf.
        module = importlib.import_module(f"{__name__}.{fmt}")
        return module.parse(name, data, limits)
    except DocumentError:
        raise
    except Exception as exc:  # MemoryError and RecursionError too: a bad file must not take the app down
        raise DocumentError(name, f"damaged or unreadable {FORMATS.get(fmt, 'unknown')} file ({describe(exc)})") from exc


def detect(named: str | None, data: bytes) -> str | None:
    """The format to read `data` as: the one its name gave, else sniffed from its first bytes.

    None for binary data, including binary data named as one of the text formats.
    """
    from .text import decode_text, looks_like_text  # here, not at the top: text imports this module

    if named in ("pdf", "docx"):
        return named  # their parsers say precisely what is wrong with a file that is not one
    head = data[:4096]
    if named is None and b"%PDF-" in head[:1024]:  # the spec tolerates a little junk before the header
        return "pdf"
    if named is None and head.startswith(b"PK\x03\x04"):
        try:
            return "docx" if "word/document.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist() else None
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
    if not looks_like_text(head):
        return None
    if named:
        return named
    start = decode_text(head).lstrip().lower()
    return "html" if start.startswith("<!doctype html") or "<html" in start[:1024] else "text"


def describe(exc: BaseException) -> str:
    """An exception in a few words, for the parenthesis after a reason."""
    return shorten(str(exc), 80) or type(exc).__name__


def size(n: int) -> str:
    """A byte count for people, rounded up so a file just over a limit never reads as equal to it."""
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{math.ceil(n * 10 / scale) / 10:g} {unit}"
    return f"{n} bytes"


def shorten(text: str, limit: int = 100) -> str:
    """The first line of `text`, whitespace collapsed, cut at a word boundary to fit `limit`."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"
