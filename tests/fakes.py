"""Pure-Python stand-ins for the backends, for fast tests of the logic (real backends are tested too).

They obey the protocols in quire.protocols and import nothing outside the standard library and
quire, so the purity test can run the whole pipeline on them with native code blocked.
"""

from __future__ import annotations

import hashlib
import math

from quire.keyword import terms


class HashEmbedder:
    """Bag-of-words vectors: texts sharing words are close. Decodes ids with the tokenizer it is given."""

    batch_size = 4

    def __init__(self, tokenizer, dims: int = 64):
        self.tokenizer, self.dims = tokenizer, dims

    def embed(self, batch: list[list[int]]) -> list[list[float]]:
        out = []
        for ids in batch:
            vec = [0.0] * self.dims
            for term in terms(self.tokenizer.decode(ids)):
                vec[int(hashlib.md5(term.encode()).hexdigest(), 16) % self.dims] += 1.0
            norm = math.sqrt(sum(x * x for x in vec)) or 1.0
            out.append([x / norm for x in vec])
        return out


class ExactIndex:
    """Brute-force cosine search; `save`/`load` keep a copy in memory."""

    def __init__(self):
        self.vectors: dict[int, list[float]] = {}
        self.saved: tuple[str, dict] | None = None

    def __len__(self) -> int:
        return len(self.vectors)

    def add(self, labels, vectors) -> None:
        self.vectors.update((label, list(v)) for label, v in zip(labels, vectors))

    def remove(self, labels) -> None:
        for label in labels:
            self.vectors.pop(label, None)

    def search(self, vector, k: int) -> list[tuple[int, float]]:
        scored = [(label, sum(a * b for a, b in zip(vector, v))) for label, v in self.vectors.items()]
        return sorted(scored, key=lambda s: -s[1])[:k]

    def save(self, tag: str) -> None:
        self.saved = (tag, dict(self.vectors))

    def load(self) -> str | None:
        if self.saved is None:
            return None
        self.vectors = dict(self.saved[1])
        return self.saved[0]


class MemoryStore:
    def __init__(self):
        self.blobs: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.blobs.get(key)

    def commit(self, writes: dict[str, bytes], deletes=()) -> None:
        self.blobs.update(writes)
        for key in deletes:
            self.blobs.pop(key, None)

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.blobs if k.startswith(prefix))

    def clear(self) -> None:
        self.blobs.clear()


class ScriptedGenerator:
    """A 'model' that says `script` and then its end token, whatever the prompt; records what it was fed.

    The prediction after each position depends only on how many tokens follow the prompt there,
    so drafts checked in one pass (speculative decoding) get the answers single steps would.
    """

    def __init__(self, tokenizer, script: str, eos: int, context: int = 2048, vocab: int = 100):
        self.script = tokenizer.encode(script, add_special_tokens=False)
        self.eos, self.context, self.vocab = eos, context, vocab
        self.fed: list[int] = []
        self.passes = 0

    def reset(self) -> None:
        self.fed = []
        self.prompt = None  # the first step's length

    def step(self, ids: list[int], top_k: int, positions: int = 1) -> list[list[tuple[int, float]]]:
        self.passes += 1
        self.prompt = len(ids) if self.prompt is None else self.prompt
        rows = []
        for token in ids:
            self.fed.append(token)
            said = len(self.fed) - self.prompt  # script tokens already in the sequence
            nxt = self.script[said] if 0 <= said < len(self.script) else self.eos
            others = [t for t in range(self.vocab) if t != nxt][: top_k - 1]
            rows.append([(nxt, 10.0)] + [(t, -float(i)) for i, t in enumerate(others)])
        return rows[-positions:]

    def discard(self, count: int) -> None:
        del self.fed[len(self.fed) - count:]
