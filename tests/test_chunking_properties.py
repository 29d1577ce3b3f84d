"""Properties of the chunker on generated documents, measured with the embedding model's own tokenizer:
exact spans, every word of every paragraph in some chunk, the token budget, the documented overlap,
heading paths and pages."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quire.chunking import Chunk, Chunker, sentence_spans
from quire.documents import Document, DocumentBuilder, Limits
from quire.tokenizers import Tokenizer

# Words of every shape the chunker meets: accents and combining marks, CJK without spaces, emoji,
# abbreviations and numbers whose periods end no sentence, and words longer than any budget.
letters = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéñßΣ\u0301\u0308", min_size=1, max_size=12)
cjk = st.text("東京都北京日本語한국어のはにです中文", min_size=1, max_size=30)
long_words = st.tuples(st.sampled_from(["incomprehensibilities", "x", "日本", "😀", "ab1"]), st.integers(10, 40)).map(
    lambda word_times: word_times[0] * word_times[1])
words = st.one_of(letters, letters, letters, cjk, long_words, st.sampled_from(
    ["Dr.", "e.g.", "U.S.", "No.", "A.", "D.C.", "3.14", "1990.", "…", "「引用」。", "(see)", "—", "👍🏽", "🇺🇸", "'quoted'"]))
spaces = st.sampled_from([" ", " ", " ", " ", "  ", "\t", "\n", " \n ", "\u3000", "\xa0", "\f", " \f "])
endings = st.sampled_from([".", ".", "!", "?", "。", "…", '."', "?)", "", ".\n"])


@st.composite
def sentences(draw) -> str:
    text = "".join(draw(words) + draw(spaces) for _ in range(draw(st.integers(1, 15))))
    return text.rstrip() + draw(endings)


@st.composite
def documents(draw) -> Document:
    """Headings (levels 1-4) and paragraphs of sentences; with pages that only go forward, like a PDF's."""
    paged = draw(st.booleans())
    builder = DocumentBuilder("generated", "pdf" if paged else "markdown", Limits())
    page = 1
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.integers(0, 3)) == 0:
            builder.add(draw(letters) + " " + draw(letters), "heading", draw(st.integers(1, 4)), page if paged else None)
        else:
            paragraph = "".join(draw(sentences()) + draw(spaces) for _ in range(draw(st.integers(1, 5))))
            builder.add(paragraph, page=page if paged else None)
        page += draw(st.integers(0, 2))
    builder.add("Last words.", page=page if paged else None)  # so the document is never empty
    return builder.build()


budgets_and_overlaps = st.tuples(st.integers(16, 120), st.integers(0, 60))


@pytest.fixture(scope="module")
def count(built_models):
    return Tokenizer.from_file(built_models["all-minilm-l6-v2"] / "tokenizer.json").count


def section_of(doc: Document, position: int) -> int:
    """How many headings start before `position`: chunks with the same number share a section."""
    return sum(1 for b in doc.blocks if b.kind == "heading" and b.start < position)


@given(doc=documents(), sizes=budgets_and_overlaps)
def test_chunks_of_any_document(count, doc, sizes):
    """Each property below on the same chunks: chunking is the slow part."""
    budget, overlap = sizes
    chunks = Chunker(count, budget, overlap).chunk(doc, "doc-1")
    assert chunks
    exact_stripped_spans_in_order(doc, chunks)
    every_paragraph_covered_and_no_heading_crossed(doc, chunks)
    within_the_budget_their_heading_path_leaves(count, budget, chunks)
    overlapping_by_at_most_the_overlap_and_moving_forward(count, overlap, doc, chunks)
    heading_paths_and_pages_from_the_blocks(doc, chunks)


def exact_stripped_spans_in_order(doc: Document, chunks: list[Chunk]) -> None:
    for index, c in enumerate(chunks):
        assert (c.doc_id, c.index) == ("doc-1", index)
        assert doc.text[c.start:c.end] == c.text
        assert c.text and c.text == c.text.strip()
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


def every_paragraph_covered_and_no_heading_crossed(doc: Document, chunks: list[Chunk]) -> None:
    covered = [ch.isspace() for ch in doc.text]
    for c in chunks:
        covered[c.start:c.end] = [True] * (c.end - c.start)
    for block in doc.blocks:
        if block.kind == "heading":
            assert all(c.end <= block.start or c.start >= block.end for c in chunks), "a chunk crosses a heading"
        else:
            assert all(covered[block.start:block.end]), "a paragraph's words are in no chunk"


def within_the_budget_their_heading_path_leaves(count, budget: int, chunks: list[Chunk]) -> None:
    for c in chunks:
        heading_cost = count(" > ".join(c.heading)) + 1 if c.heading else 0
        assert c.tokens == count(c.text) <= max(budget - heading_cost, 16)
        if budget - heading_cost >= 16:  # the path left room: the text embedded with it fits the budget
            assert count(c.embedding_text()) <= budget


def overlapping_by_at_most_the_overlap_and_moving_forward(count, overlap: int, doc: Document,
                                                          chunks: list[Chunk]) -> None:
    for a, b in zip(chunks, chunks[1:]):
        if section_of(doc, a.start) != section_of(doc, b.start):
            assert b.start >= a.end, "sections never share text"
            continue
        assert a.start < b.start and a.end < b.end, "each chunk adds text the one before lacks"
        if b.start < a.end:
            assert count(doc.text[b.start:a.end]) <= overlap


def heading_paths_and_pages_from_the_blocks(doc: Document, chunks: list[Chunk]) -> None:
    for c in chunks:
        path: list[tuple[int, str]] = []
        for block in doc.blocks:
            if block.start >= c.start:
                break
            if block.kind == "heading":
                path = [(level, text) for level, text in path if level < block.level]
                path.append((block.level, doc.block_text(block)))
        assert c.heading == tuple(text for _, text in path)
        first_block = next(b for b in doc.blocks if b.start <= c.start < b.end)
        assert c.page == first_block.page


@given(text=st.lists(st.one_of(sentences(), spaces), max_size=12).map("".join), data=st.data())
def test_sentence_spans_are_stripped_ordered_and_cover_the_text(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    spans = sentence_spans(text, start, end)
    previous_end = start
    covered = set()
    for a, b in spans:
        assert previous_end <= a < b <= end
        assert text[a:b] == text[a:b].strip()
        covered.update(range(a, b))
        previous_end = b
    assert all(i in covered for i in range(start, end) if not text[i].isspace())
