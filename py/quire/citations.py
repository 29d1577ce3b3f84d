"""Tie answers to the exact source spans that support them.

A 135M model cannot be trusted to cite: measured, it named the right source alone in 0 of 10
answers. So every answer sentence is matched against the sentences of the passages it was given,
by word overlap (does the source say these words?) and embedding similarity (does it mean this?).
A citation is shown only where that match holds; the model's own [n] survives only when source n
holds a supporting sentence. The extractive answer, the source sentence that best answers the
question, needs no model at all and is ready before generation starts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

from .chunking import sentence_spans
from .embedding import dot
from .keyword import terms
from .protocols import Vector

_MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_UNKNOWN = re.compile(r"\b(?:don'?t|do not|doesn'?t|does not|cannot|can'?t) (?:know|say|contain|mention)|\bno information\b",
                      re.IGNORECASE)

# Support thresholds, tuned on XQuAD dev (see docs/quality.md): a sentence that repeats most of its
# words from one source sentence is supported; one that shares fewer must also mean the same.
LEXICAL_ALONE = 0.6
LEXICAL_WITH_MEANING, MEANING = 0.3, 0.6


@dataclass(frozen=True)
class Span:
    """One sentence of a passage: doc.text[start:end] of the document `doc_id`."""

    source: int  # the passage's number in the prompt
    doc_id: str
    start: int
    end: int
    text: str
    page: int | None = None


@dataclass(frozen=True)
class Passage:
    number: int
    doc_id: str
    start: int  # of the passage text in its document
    text: str

    def spans(self, page_at: Callable[[int], int | None] = lambda position: None) -> list[Span]:
        """The passage's sentences; `page_at` gives the page of a document position (a passage may cross pages)."""
        return [Span(self.number, self.doc_id, self.start + a, self.start + b, self.text[a:b], page_at(self.start + a))
                for a, b in sentence_spans(self.text)]


@dataclass
class AnswerSentence:
    text: str  # without the model's markers
    citations: list[int] = field(default_factory=list)  # indexes into Answer.citations, from 1


@dataclass
class Attribution:
    sentences: list[AnswerSentence]
    citations: list[Span]

    def text(self) -> str:
        """The answer with our markers: [n] refers to citations[n - 1]."""
        parts = []
        for s in self.sentences:
            marks = "".join(f"[{n}]" for n in s.citations)
            parts.append(s.text + (" " + marks if marks else ""))
        return " ".join(parts)


def _stem(word: str) -> str:
    """A light suffix strip, so "worked" meets "work" and "cities" meets "city"."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + keep
    return word


def words(text: str) -> set[str]:
    return {_stem(t) for t in terms(text)}


def _weights(span_words: list[set[str]]) -> Callable[[str], float]:
    """Inverse document frequency over the candidate sentences: rare words count for more."""
    df: dict[str, int] = {}
    for ws in span_words:
        for w in ws:
            df[w] = df.get(w, 0) + 1
    n = len(span_words)
    return lambda w: math.log(1 + (n + 1) / (df.get(w, 0) + 0.5))


def _coverage(wanted: set[str], found: set[str], weight: Callable[[str], float], nearby: set[str] = frozenset()) -> float:
    """Weighted share of `wanted` words in `found`; words only in `nearby` count half."""
    total = sum(weight(w) for w in wanted)
    got = sum(weight(w) * (1.0 if w in found else 0.5 if w in nearby else 0.0) for w in wanted)
    return got / total if total else 0.0


def _plain(text: str) -> list[str]:
    """Lowercase words and numbers, punctuation dropped: to see a question quoted inside a sentence."""
    return re.findall(r"\w+", text.lower())


def answer_scores(question: str, question_vector: Vector, spans: list[Span], vectors: list[Vector]) -> list[float]:
    """How well each source sentence answers `question`: close in meaning and sharing its rare words.

    The sentence before counts a little too, since answers often sit in a sentence that says "he"
    where the one before says who. A sentence that only restates the question (a FAQ's heading, or a
    planted "notes on the question ...") answers nothing and comes last.
    """
    span_words = [words(s.text) for s in spans]
    weight = _weights(span_words)
    asked = words(question)
    verbatim = f" {' '.join(_plain(question))} "

    def score(i: int) -> float:
        before = span_words[i - 1] if i and spans[i - 1].source == spans[i].source else set()
        restates = verbatim in f" {' '.join(_plain(spans[i].text))} "
        return (dot(question_vector, vectors[i]) + 0.5 * _coverage(asked, span_words[i], weight, before)
                - 0.01 * spans[i].source - 2.0 * restates)
    return [score(i) for i in range(len(spans))]


def extractive_answer(spans: list[Span], scores: list[float]) -> Span | None:
    """The source sentence that best answers the question (`scores` from `answer_scores`)."""
    return spans[max(range(len(spans)), key=scores.__getitem__)] if spans else None


def without_markers(text: str) -> str:
    """The answer's words without citation markers such as [1] or [1, 2]."""
    return " ".join(_MARKER.sub("", text).split())


def split_answer(text: str) -> list[tuple[str, set[int]]]:
    """Answer sentences without markers, each with the source numbers the model cited in it."""
    out = []
    for a, b in sentence_spans(text):
        sentence = text[a:b]
        cited = {int(n) for group in _MARKER.findall(sentence) for n in group.split(",")}
        clean = " ".join(_MARKER.sub("", sentence).split())
        if clean and not re.fullmatch(r"[\W_]+", clean):
            out.append((clean, cited))
    return out


def attribute(answer: str, spans: list[Span], embed: Callable[[list[str]], list[Vector]],
              span_vectors: list[Vector], question: str = "") -> Attribution:
    """Cite each answer sentence with the source sentence that supports it, or not at all.

    Among supporting sentences the one that also shares the question's words wins: a short answer
    ("Denver Broncos") is said by several sentences, and the one that answers the question is the
    citation a reader wants.
    """
    sentences = split_answer(answer)
    if not sentences or not spans:
        return Attribution([AnswerSentence(s) for s, _ in sentences], [])
    span_words = [words(s.text) for s in spans]
    weight = _weights(span_words)
    asked = words(question)
    vectors = embed([s for s, _ in sentences])
    citations: list[Span] = []
    result = []
    for (sentence, cited), vector in zip(sentences, vectors):
        said = words(sentence)
        supporting = []
        if said and not _UNKNOWN.search(sentence):
            for i, span in enumerate(spans):
                lexical = _coverage(said, span_words[i], weight)
                meaning = dot(vector, span_vectors[i])
                if lexical >= LEXICAL_ALONE or (lexical >= LEXICAL_WITH_MEANING and meaning >= MEANING):
                    supporting.append((lexical + meaning + 0.5 * _coverage(asked, span_words[i], weight), i))
        chosen: list[int] = []
        if supporting:
            best = max(supporting)[1]
            chosen.append(best)
            # The model's own [n] stays where source n also supports the sentence.
            for number in sorted(cited):
                agreeing = [(score, i) for score, i in supporting if spans[i].source == number]
                if agreeing and spans[best].source != number:
                    chosen.append(max(agreeing)[1])
        marks = []
        for i in chosen:
            if spans[i] not in citations:
                citations.append(spans[i])
            marks.append(citations.index(spans[i]) + 1)
        result.append(AnswerSentence(sentence, marks))
    return Attribution(result, citations)
