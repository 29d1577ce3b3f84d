"""Texts -> vectors over an Embedder: tokenize in Python, batch by length, run the model on the backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .protocols import Embedder, Vector
from .tokenizers import Tokenizer


@dataclass
class EmbeddingModel:
    name: str
    embedder: Embedder
    tokenizer: Tokenizer
    dims: int
    batch_size: int

    @classmethod
    def from_facts(cls, model_id: str, facts: dict, tokenizer: Tokenizer, embedder: Embedder) -> EmbeddingModel:
        """From a registry record's id and facts (a ModelRecord in CPython, registry.json in the browser)."""
        return cls(model_id, embedder, tokenizer, facts["dims"], embedder.batch_size)

    def embed(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> list[Vector]:
        """One normalised vector per text, in order.

        Texts are sorted by token length before batching, so each batch pads only to a length
        close to its own (padding is wasted compute, and chunks vary from a heading to a full window).
        """
        encoded = [self.tokenizer.encode(t) for t in texts]  # truncated to the model's window
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        vectors: list[Vector] = [()] * len(texts)
        for at in range(0, len(order), self.batch_size):
            batch = order[at : at + self.batch_size]
            for i, vec in zip(batch, self.embedder.embed([encoded[i] for i in batch])):
                vectors[i] = vec
            if progress:
                progress(min(at + self.batch_size, len(order)), len(order))
        return vectors


def dot(a: Vector, b: Vector) -> float:
    """Cosine similarity of two normalised vectors (for a handful of pairs; bulk search is the index's job)."""
    return sum(x * y for x, y in zip(a, b))
