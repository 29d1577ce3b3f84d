"""PDF through pypdf: each page's text layer, cut into paragraphs that remember their page."""

from __future__ import annotations

import io
import logging
import re
import warnings
from contextlib import contextmanager

from pypdf import PdfReader
from pypdf.errors import DependencyError, PyPdfError

from . import Document, DocumentBuilder, DocumentError, Limits, describe

SENTENCE_END = tuple(".!?:;\"')”’。！？")
# Dot leaders of tables of contents (". . . . . 12"): noise for search and for reading.
_LEADER = re.compile(r"(?:\s*\.){4,}\s*")


@contextmanager
def _quiet():
    """pypdf logs and warns about every oddity it repairs; the user only needs the outcome."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def paragraphs(page_text: str) -> list[str]:
    """Paragraphs of one page: split at blank lines, and after a short line that ends a sentence.

    pypdf gives one line per text line with no paragraph marks, so a line ending in a full stop
    well short of the longest line is taken as the last line of its paragraph. A word hyphenated
    across lines is rejoined when the next line starts in lower case.
    """
    out: list[str] = []
    for chunk in re.split(r"\n\s*\n", page_text):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        width = max(map(len, lines), default=0)
        current = ""
        for line in lines:
            if current.endswith("-") and current[-2:-1].isalpha() and line[:1].islower():
                current = current[:-1] + line
            else:
                current = f"{current} {line}" if current else line
            if line.endswith(SENTENCE_END) and len(line) < 0.8 * width:
                out.append(current)
                current = ""
        out.append(current)
    return [_LEADER.sub(" … ", p).strip() for p in out if p]


def parse(name: str, data: bytes, limits: Limits) -> Document:
    with _quiet():
        try:
            return _read(name, data, limits)
        except DependencyError as exc:  # AES needs a native crypto library, which Pyodide cannot load here
            raise DocumentError(name, "encrypted with AES, which Quire cannot decrypt yet "
                                      "(save a copy without encryption and add that)") from exc
        except PyPdfError as exc:
            raise DocumentError(name, f"damaged PDF ({describe(exc)})") from exc


def _read(name: str, data: bytes, limits: Limits) -> Document:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise DocumentError(name, "password-protected (remove the password and add it again)")
    pages = len(reader.pages)
    if pages > limits.max_pages:
        raise DocumentError(name, f"too many pages: {pages:,}, the limit is {limits.max_pages:,} "
                                  "(split it into parts)")
    builder = DocumentBuilder(name, "pdf", limits)
    for number, page in enumerate(reader.pages, start=1):
        for paragraph in paragraphs(page.extract_text()):
            builder.add(paragraph, page=number)
    if not builder.blocks:
        raise DocumentError(name, "no text layer (probably a scanned document)")
    title = reader.metadata.title if reader.metadata else None
    return builder.build(title=title if isinstance(title, str) else "")
