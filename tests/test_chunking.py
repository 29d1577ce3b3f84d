import json
from pathlib import Path

import pytest

from quire.chunking import Chunker, sentence_spans
from quire.documents import DocumentBuilder, Limits
from quire.tokenizers import Tokenizer

XQUAD = Path(__file__).resolve().parents[1].parent / "shared/eval/xquad-dev/xquad.en.dev.json"


@pytest.fixture(scope="module")
def tokenizer(built_models):
    return Tokenizer.from_file(built_models["all-minilm-l6-v2"] / "tokenizer.json")


def build(blocks):
    b = DocumentBuilder("t.md", "markdown", Limits())
    for block in blocks:
        b.add(*block) if isinstance(block, tuple) else b.add(block)
    return b.build()


def test_sentences_split_at_ends_but_not_at_abbreviations():
    text = "Dr. Smith moved to Washington, D.C. in 1990. He met Mr. Jones! Was it fun? 東京です。次の文。"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Dr. Smith moved to Washington, D.C. in 1990.", "He met Mr. Jones!", "Was it fun?", "東京です。", "次の文。"]


def test_xquad_articles_chunk_within_budget_with_exact_spans(tokenizer):
    chunker = Chunker(tokenizer.count, budget=200, overlap=40)
    for article in json.loads(XQUAD.read_text())["data"]:
        doc = build([(article["title"], "heading", 1)] + [p["context"] for p in article["paragraphs"]])
        chunks = chunker.chunk(doc, "d")
        assert chunks
        for c in chunks:
            assert doc.text[c.start:c.end] == c.text
            assert c.tokens == tokenizer.count(c.text) <= 200
            assert len(tokenizer.encode(c.embedding_text())) <= 256  # fits the model's window, specials included
            assert c.heading == (article["title"],)
        # Every character of the article's paragraphs is in some chunk, but the spaces between them.
        covered = [ch.isspace() for ch in doc.text]
        for c in chunks:
            covered[c.start:c.end] = [True] * (c.end - c.start)
        for block in doc.blocks[1:]:
            assert all(covered[block.start:block.end])


def test_overlap_repeats_the_last_sentences_of_the_previous_chunk(tokenizer):
    sentences = [f"Sentence number {i} talks about the topic of item {i} at some length." for i in range(60)]
    doc = build([" ".join(sentences)])
    chunks = Chunker(tokenizer.count, budget=100, overlap=30).chunk(doc, "d")
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, "consecutive chunks overlap"
        assert b.start > a.start, "and always move forward"
        assert tokenizer.count(doc.text[b.start:a.end]) <= 30


def test_headings_make_paths_and_short_sections_stay_under_their_heading(tokenizer):
    long = " ".join(f"The engine part {i} is described here in detail." for i in range(30))
    doc = build([("Manual", "heading", 1), ("Engine", "heading", 2), long, ("Wheels", "heading", 2),
                 "Wheels are round.", ("Brakes", "heading", 2), long.replace("engine", "brake")])
    chunks = Chunker(tokenizer.count, budget=120, overlap=20).chunk(doc, "d")
    paths = {c.heading for c in chunks}
    assert paths == {("Manual", "Engine"), ("Manual", "Wheels"), ("Manual", "Brakes")}
    wheel = [c for c in chunks if "Wheels are round." in c.text]
    assert len(wheel) == 1 and wheel[0].text == "Wheels are round." and wheel[0].heading == ("Manual", "Wheels")
    assert all("brake" not in c.text for c in chunks if c.heading[-1] == "Engine")


def test_a_sentence_longer_than_the_budget_is_cut_at_spaces(tokenizer):
    doc = build([" ".join(["incomprehensibilities"] * 400)])
    chunks = Chunker(tokenizer.count, budget=64, overlap=0).chunk(doc, "d")
    assert len(chunks) > 5
    for c in chunks:
        assert c.tokens <= 64 and doc.text[c.start:c.end] == c.text
        assert not c.text.startswith(" ") and "incomprehensibilities".startswith(c.text.split()[0])


def test_pages_follow_the_blocks(tokenizer):
    b = DocumentBuilder("p.pdf", "pdf", Limits())
    b.add("First page text. " * 30, page=1)
    b.add("Second page text. " * 30, page=2)
    doc = b.build()
    chunks = Chunker(tokenizer.count, budget=60, overlap=0).chunk(doc, "d")
    assert {c.page for c in chunks} == {1, 2}
    for c in chunks:
        assert ("First" in c.text.split(".")[0]) == (c.page == 1)


def test_regression_a_cut_at_a_run_of_spaces_leaves_no_space_at_the_end(tokenizer):
    doc = build(["  ".join(["word"] * 60)])  # one sentence, over the budget, words two spaces apart
    chunks = Chunker(tokenizer.count, budget=16, overlap=0).chunk(doc, "d")
    assert len(chunks) > 2 and all(c.text == c.text.strip() for c in chunks)


def test_regression_overlap_never_makes_a_chunk_of_repeated_sentences_only(tokenizer):
    # 8, 5 and 14 tokens: the third does not fit beside the carried second, so nothing is carried.
    sentences = ["One two three four five six seven.", "Alpha beta gamma delta.",
                 "This sentence has exactly fourteen tokens in it when counted with care."]
    assert [tokenizer.count(s) for s in sentences] == [8, 5, 14]
    chunks = Chunker(tokenizer.count, budget=16, overlap=12).chunk(build([" ".join(sentences)]), "d")
    assert [c.text for c in chunks] == [" ".join(sentences[:2]), sentences[2]]


def test_regression_a_long_text_without_full_stops_is_cut_in_linear_time(tokenizer):
    tokenized = 0

    def count(text: str) -> int:
        nonlocal tokenized
        tokenized += len(text)
        return tokenizer.count(text)

    work = []
    for n in (300, 1200):
        text = " ".join(f"value{i} = compute(x{i}, y{i})" for i in range(n))  # one sentence: no full stop
        tokenized = 0
        Chunker(count).chunk(build([text]), "d")
        work.append(tokenized / len(text))
    assert work[1] < 1.5 * work[0], work  # characters tokenized per character: constant, not growing
