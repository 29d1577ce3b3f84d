"""Document -> Chunks: passages sized for the embedding model, each an exact span of the document.

Sentences are the unit: a chunk is a run of whole sentences from one section (the text under one
heading) that fits a token budget measured with the embedding model's own tokenizer, and the next
chunk repeats the last sentences of the one before (overlap) so a fact on a boundary is whole in
one of them. A sentence longer than the budget is cut at spaces. Spans are exact:
`doc.text[chunk.start:chunk.end] == chunk.text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .documents import Block, Document

# A sentence ends at . ! ? (and closing quotes/brackets) before whitespace, or at CJK full stops.
_SENTENCE_END = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s)|[。！？]+[」』”’）]*""")
# Abbreviations whose period does not end a sentence: titles, "e.g.", single initials, "No. 5".
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|vs|etc|No|Vol|Fig|Inc|Ltd|Co|Corp|approx|ca)"
                           r"|\b(?:e\.g|i\.e|U\.S|U\.K|a\.m|p\.m)|(?:^|\s)[A-Z])\.$")

# ...and a period followed by a lowercase word ("D.C. in 1990") did not end one either.
_LOWER_NEXT = re.compile(r"\s+[a-z]")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of the sentences in text[start:end], stripped of surrounding whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        if match.group().startswith(".") and (_ABBREVIATION.search(text, max(begin, stop - 12), stop)
                                              or _LOWER_NEXT.match(text, stop, end)):
            continue
        spans.append((begin, stop))
        begin = stop
    spans.append((begin, end))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    index: int  # position in its document
    start: int
    end: int
    text: str
    page: int | None  # page of the chunk's first sentence (PDF), else None
    heading: tuple[str, ...]  # heading path, outermost first
    tokens: int  # embedding tokens of `text`, without specials

    def embedding_text(self) -> str:
        """What gets embedded: the heading path gives a passage its topic when its text omits it."""
        return " > ".join(self.heading) + "\n" + self.text if self.heading else self.text


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    tokens: int
    page: int | None


def _cut(text: str, start: int, end: int, budget: int, count: Callable[[str], int]) -> list[tuple[int, int]]:
    """Cut an over-long sentence into spans of at most `budget` tokens, at spaces where there are any."""
    out = []
    while start < end:
        # The longest prefix that fits, by bisection on character positions. The range doubles from a
        # few characters a token until it holds more than the budget, so a cut costs time in proportion
        # to its piece, not to the rest of the sentence (a long text without full stops was quadratic).
        lo, hi = start + 1, min(end, start + 4 * budget)
        while hi < end and count(text[start:hi]) <= budget:
            lo, hi = hi, min(end, 2 * hi - start)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[start:mid]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        stop = lo
        if stop < end:
            space = text.rfind(" ", start + 1, stop + 1)
            if space > start:
                stop = space
        piece_end = stop  # without the rest of a whitespace run before the space cut at
        while text[piece_end - 1].isspace():
            piece_end -= 1
        out.append((start, piece_end))
        start = stop
        while start < end and text[start].isspace():
            start += 1
    return out


class Chunker:
    def __init__(self, count: Callable[[str], int], budget: int = 200, overlap: int = 40):
        """`count` measures text in the embedding model's tokens; `budget` must leave room in its
        window for the specials."""
        self.count, self.budget, self.overlap = count, budget, overlap

    def _pieces(self, doc: Document, block: Block, budget: int) -> list[_Piece]:
        pieces = []
        for a, b in sentence_spans(doc.text, block.start, block.end):
            n = self.count(doc.text[a:b])
            spans = [(a, b)] if n <= budget else _cut(doc.text, a, b, budget, self.count)
            for x, y in spans:
                pieces.append(_Piece(x, y, n if len(spans) == 1 else self.count(doc.text[x:y]), block.page))
        return pieces

    def sections(self, doc: Document) -> list[tuple[tuple[str, ...], list[_Piece]]]:
        """(heading path, sentences) per section. A short section stays its own chunk: merged into a
        neighbour, its words would be found under the wrong heading."""
        sections: list[tuple[tuple[str, ...], list[_Piece]]] = [((), [])]
        path: list[tuple[int, str]] = []
        for block in doc.blocks:
            if block.kind == "heading":
                path = [(lvl, t) for lvl, t in path if lvl < block.level] + [(block.level, doc.block_text(block))]
                sections.append((tuple(t for _, t in path), []))
                continue
            heading, pieces = sections[-1]
            pieces.extend(self._pieces(doc, block, self._budget(heading)))
        return [s for s in sections if s[1]]

    def _budget(self, heading: tuple[str, ...]) -> int:
        """Tokens left for text once the heading path is prepended for embedding."""
        return max(self.budget - (self.count(" > ".join(heading)) + 1 if heading else 0), 16)

    def chunk(self, doc: Document, doc_id: str) -> list[Chunk]:
        chunks: list[Chunk] = []
        for heading, pieces in self.sections(doc):
            budget = self._budget(heading)
            first = 0
            while first < len(pieces):
                last, used = first, pieces[first].tokens
                while last + 1 < len(pieces) and used + pieces[last + 1].tokens <= budget:
                    last += 1
                    used += pieces[last].tokens
                start, end = pieces[first].start, pieces[last].end
                text = doc.text[start:end]
                chunks.append(Chunk(doc_id, len(chunks), start, end, text, pieces[first].page, heading,
                                    self.count(text)))
                if last + 1 >= len(pieces):
                    break
                # Step back over trailing sentences worth at most `overlap` tokens, always moving forward,
                # and leaving room for the next sentence: a chunk of repeated sentences only is a duplicate.
                nxt, carried = last + 1, 0
                room = min(self.overlap, budget - pieces[last + 1].tokens)
                while nxt - 1 > first and carried + pieces[nxt - 1].tokens <= room:
                    nxt -= 1
                    carried += pieces[nxt].tokens
                first = nxt
        return chunks
