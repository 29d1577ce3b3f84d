"""BM25 keyword index in pure Python: exact names, numbers and rare words that embeddings blur.

Terms are lowercased and stripped of accents; runs of CJK characters (written without spaces)
become overlapping character pairs. The index is incremental (add and remove chunks) and turns
into plain JSON-able data for storage.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter, defaultdict

STOPWORDS = frozenset("""a an and are as at be but by for from has have he her his i if in into is it its
of on or our she so that the their them there these they this to was we were what when where which who
whom why will with you your""".split())


def _is_unspaced(ch: str) -> bool:
    """Scripts written without spaces between words (CJK ideographs, kana, hangul syllables).

    Wider than the BERT tokenizer's CJK test in tokenizers.py on purpose: that one must match
    the model's training, this one only decides where words end.
    """
    cp = ord(ch)
    return (0x3040 <= cp <= 0x30FF or 0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF
            or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F)


def terms(text: str) -> list[str]:
    """The index terms of `text`, in order."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if unicodedata.category(c) != "Mn")
    out: list[str] = []
    word: list[str] = []
    cjk: list[str] = []

    def flush() -> None:
        if word:
            w = "".join(word)
            if w not in STOPWORDS:
                out.append(w)
            word.clear()
        if cjk:
            out.extend(cjk if len(cjk) == 1 else [a + b for a, b in zip(cjk, cjk[1:])])
            cjk.clear()

    for ch in folded:
        if _is_unspaced(ch):
            if word:
                flush()
            cjk.append(ch)
        elif ch.isalnum():
            if cjk:
                flush()
            word.append(ch)
        else:
            flush()
    flush()
    return out


class KeywordIndex:
    """Okapi BM25 over chunks identified by string ids."""

    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.postings: dict[str, dict[str, int]] = defaultdict(dict)  # term -> chunk id -> count
        self.lengths: dict[str, int] = {}  # chunk id -> number of terms
        self.terms_of: dict[str, list[str]] = {}  # chunk id -> its distinct terms, for removal
        self.total = 0

    def __len__(self) -> int:
        return len(self.lengths)

    def add(self, chunk_id: str, text: str) -> None:
        self.add_counts(chunk_id, Counter(terms(text)))

    def add_counts(self, chunk_id: str, counts: dict[str, int]) -> None:
        """Add a chunk by its term counts (stored with the chunk, so reopening a library skips tokenizing)."""
        if chunk_id in self.lengths:
            self.remove(chunk_id)
        for term, n in counts.items():
            self.postings[term][chunk_id] = n
        self.lengths[chunk_id] = sum(counts.values())
        self.terms_of[chunk_id] = list(counts)
        self.total += self.lengths[chunk_id]

    def remove(self, chunk_id: str) -> None:
        length = self.lengths.pop(chunk_id, None)
        if length is None:
            return
        self.total -= length
        for term in self.terms_of.pop(chunk_id):
            del self.postings[term][chunk_id]
            if not self.postings[term]:
                del self.postings[term]

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """The best `k` chunks for `query`, as (chunk id, score), best first; ties by id."""
        if not self.lengths:
            return []
        n, avg = len(self.lengths), self.total / len(self.lengths) or 1.0
        scores: dict[str, float] = defaultdict(float)
        for term in set(terms(query)):
            docs = self.postings.get(term)
            if not docs:
                continue
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            for chunk_id, tf in docs.items():
                norm = self.k1 * (1 - self.b + self.b * self.lengths[chunk_id] / avg)
                scores[chunk_id] += idf * tf * (self.k1 + 1) / (tf + norm)
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]

    def to_dict(self) -> dict:
        return {"k1": self.k1, "b": self.b, "postings": self.postings, "lengths": self.lengths}

    @classmethod
    def from_dict(cls, data: dict) -> KeywordIndex:
        index = cls(data["k1"], data["b"])
        index.postings = defaultdict(dict, {t: dict(d) for t, d in data["postings"].items()})
        index.lengths = dict(data["lengths"])
        index.total = sum(index.lengths.values())
        index.terms_of = {chunk_id: [] for chunk_id in index.lengths}
        for term, docs in index.postings.items():
            for chunk_id in docs:
                index.terms_of[chunk_id].append(term)
        return index
