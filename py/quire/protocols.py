"""The four seams between the pure-Python core and a runtime (CPython here, the browser's JS there).

Each is small on purpose: a backend moves bytes and runs native code, the logic stays in `quire`.
Vectors cross these seams as plain sequences of floats; the heavy math (model runs, nearest
neighbours, the top of a logits row) happens on the backend side, where it is fast.
"""

from __future__ import annotations

from typing import Protocol, Sequence

Vector = Sequence[float]


class Embedder(Protocol):
    batch_size: int  # texts per call that run fastest on this runtime (bench/ingest.py measures it)

    def embed(self, batch: list[list[int]]) -> list[Vector]:
        """Token id lists (with the model's specials) -> one L2-normalised vector each."""


class VectorIndex(Protocol):
    """Cosine nearest neighbours over integer labels."""

    def __len__(self) -> int:
        """Vectors held."""

    def add(self, labels: list[int], vectors: list[Vector]) -> None: ...

    def remove(self, labels: list[int]) -> None: ...

    def search(self, vector: Vector, k: int) -> list[tuple[int, float]]:
        """Up to `k` (label, cosine similarity), most similar first."""

    def save(self, tag: str) -> None:
        """Persist the index, remembering `tag` (the library state it matches)."""

    def load(self) -> str | None:
        """Restore the persisted index; returns its tag, or None when there is none."""


class Generator(Protocol):
    """A causal language model with a KV cache."""

    context: int  # tokens the model can attend to

    def reset(self) -> None:
        """Forget the cache."""

    def step(self, ids: list[int], top_k: int, positions: int = 1) -> list[list[tuple[int, float]]]:
        """Append `ids` to the cache; for each of the last `positions` of them, the `top_k`
        (token id, logit) that could follow, best first.

        Returning the top of a few rows rather than whole rows keeps a 49k-float copy per token out
        of Python; sampling and penalties work on these candidates. More than one position serves
        drafts that are checked in one pass (speculative decoding).
        """

    def discard(self, count: int) -> None:
        """Forget the last `count` tokens appended (drafts that turned out wrong)."""


class Store(Protocol):
    """Named byte blobs, changed only in atomic batches: after a crash each batch is all there or absent."""

    def get(self, key: str) -> bytes | None: ...

    def commit(self, writes: dict[str, bytes], deletes: Sequence[str] = ()) -> None: ...

    def keys(self, prefix: str = "") -> list[str]: ...

    def clear(self) -> None: ...
