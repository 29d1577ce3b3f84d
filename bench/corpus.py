"""The chunk texts the benchmarks embed, made by Quire's own code in CPython.

Two sets: the XQuAD dev articles (one document per article, as `quire eval` adds them) and the
mixed document set that `../shared/scripts/make-docsets.sh` builds (HTML, PDF, DOCX, Markdown,
text...). Each file is parsed with `quire.documents.parse`, cut with the library's `Chunker` and
embedded as `Chunk.embedding_text()`, exactly what `Library.add` embeds. Parsing the mixed set takes
minutes (its PDFs), so the chunks are cached under ~/.cache/quire/bench, keyed by the files' bytes and
the code that made them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from quire.chunking import Chunker
from quire.documents import DocumentError, parse
from quire.evaluation import load_squad
from quire.library import Settings
from quire.tokenizers import Tokenizer
from quire_build.cache import cache_root
from quire_build.docsets import docsets

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
XQUAD = SHARED / "eval" / "xquad-dev" / "xquad.en.dev.json"
TOKENIZER = ROOT / "models" / "out" / "all-minilm-l6-v2" / "tokenizer.json"
PER_DOC = 12  # chunks kept per document when the set is capped
_CODE = ["py/quire/chunking.py", "py/quire/tokenizers.py", "py/quire/evaluation.py",
         *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "py/quire/documents").glob("*.py"))]


@dataclass(frozen=True)
class Doc:
    set: str  # "xquad" | "mixed"
    name: str
    chunks: list[str]  # Chunk.embedding_text(), in document order


@dataclass
class Corpus:
    docs: list[Doc]
    skipped: list[tuple[str, str]]  # (file, why Quire cannot read it)
    total_chunks: dict[str, int]  # per set, before any cap
    sizes: dict[str, int]  # chunks per file, before any cap

    def texts(self) -> list[str]:
        return [t for d in self.docs for t in d.chunks]

    def groups(self) -> list[list[int]]:
        """Indexes into texts(), one list per document: `Library.add` embeds one document at a time."""
        out, at = [], 0
        for d in self.docs:
            out.append(list(range(at, at + len(d.chunks))))
            at += len(d.chunks)
        return out

    def count(self, name: str) -> int:
        return sum(len(d.chunks) for d in self.docs if d.set == name)


def docsets_folder(path: Path | None) -> Path:
    """The `mixed` folder: `path` itself when it holds files, else the sets under it (built when missing)."""
    if path and Path(path).is_dir() and any(p.is_file() for p in Path(path).iterdir()) \
            and not (Path(path) / "MANIFEST.tsv").exists():
        return Path(path)
    return docsets(path) / "mixed"


def _chunk_files(files: list[tuple[str, bytes]], set_name: str, chunker: Chunker) -> tuple[list[Doc], list]:
    docs, skipped = [], []
    for name, data in files:
        try:
            doc = parse(name, data)
        except DocumentError as err:
            skipped.append((name, err.reason))
            continue
        chunks = [c.embedding_text() for c in chunker.chunk(doc, hashlib.sha256(data).hexdigest()[:16])]
        if chunks:
            docs.append(Doc(set_name, name, chunks))
    return docs, skipped


def _key(files: list[tuple[str, bytes]], settings: Settings) -> str:
    h = hashlib.sha256(json.dumps([settings.chunk_tokens, settings.chunk_overlap]).encode())
    for rel in _CODE:
        h.update(rel.encode() + (ROOT / rel).read_bytes())
    h.update(TOKENIZER.read_bytes())
    for name, data in files:
        h.update(name.encode() + hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


def _cached_docs(set_name: str, files: list[tuple[str, bytes]]) -> tuple[list[Doc], list]:
    settings = Settings()
    slot = cache_root() / "bench" / f"chunks-{set_name}-{_key(files, settings)}.json"
    if slot.is_file():
        raw = json.loads(slot.read_text())
        return [Doc(**d) for d in raw["docs"]], [tuple(s) for s in raw["skipped"]]
    print(f"chunking the {set_name} set ({len(files)} files) with Quire's parser and chunker...", flush=True)
    tokenizer = Tokenizer.from_file(TOKENIZER)
    chunker = Chunker(tokenizer.count, settings.chunk_tokens, settings.chunk_overlap)
    docs, skipped = _chunk_files(files, set_name, chunker)
    slot.parent.mkdir(parents=True, exist_ok=True)
    tmp = slot.with_suffix(".partial")
    tmp.write_text(json.dumps({"docs": [d.__dict__ for d in docs], "skipped": skipped}))
    tmp.replace(slot)
    return docs, skipped


def spread(n: int, k: int) -> list[int]:
    """k indexes spread evenly over range(n)."""
    return sorted({int(i * n / k) for i in range(k)}) if n > k else list(range(n))


def cap(docs: list[Doc], limit: int | None, per_doc: int = PER_DOC) -> list[Doc]:
    """At most `limit` chunks. Each document keeps its first `per_doc` chunks (a realistic batch of
    work for one `Library.add`); when that is still too many, the most documents that fit are taken
    evenly spread over the list (the files are sorted by name, so the sources and formats mix)."""
    docs = [Doc(d.set, d.name, d.chunks[:per_doc]) for d in docs]
    if limit is None or sum(len(d.chunks) for d in docs) <= limit:
        return docs
    best = [0]
    for k in range(1, len(docs) + 1):
        picked = spread(len(docs), k)
        if sum(len(docs[i].chunks) for i in picked) <= limit:
            best = picked
    if sum(len(docs[i].chunks) for i in best) > limit:  # one document is already too big
        return [Doc(docs[0].set, docs[0].name, docs[0].chunks[:limit])]
    return [docs[i] for i in best]


def load(docsets: Path | None, xquad: Path = XQUAD, limit: int | None = 128, per_doc: int = PER_DOC) -> Corpus:
    """XQuAD and the mixed set, each capped at `limit` chunks (see `cap`)."""
    squad_files, _ = load_squad(str(xquad))
    mixed = docsets_folder(docsets)
    mixed_files = [(p.name, p.read_bytes()) for p in sorted(mixed.iterdir()) if p.is_file()]
    docs, skipped, totals, sizes = [], [], {}, {}
    for name, files in (("xquad", squad_files), ("mixed", mixed_files)):
        found, bad = _cached_docs(name, files)
        totals[name] = sum(len(d.chunks) for d in found)
        sizes.update({d.name: len(d.chunks) for d in found})
        docs += cap(found, limit, per_doc)
        skipped += bad
    return Corpus(docs, skipped, totals, sizes)
