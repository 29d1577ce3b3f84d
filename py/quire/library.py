"""The library: add and remove documents, search them, and answer questions with citations.

It ties the data path together over the four protocols (store, vector index, embedder, generator).
The store is the source of truth and changes in one atomic commit per document: its text, its
chunks (spans, pages, headings, keyword counts) and their vectors. The vector index is a cache of
those vectors; it is saved with the library state it matches and rebuilt from the stored vectors
whenever the two disagree (for example after a crash mid-batch).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .chunking import Chunker
from .citations import Attribution, Passage, Span, answer_scores, attribute, extractive_answer
from .concise import concise
from .documents import Block, Document, DocumentError, Limits, check_size, parse
from .embedding import EmbeddingModel
from .generation import DRAFT, Generation, GenerationModel, Sampling, generate
from .injection import spoken_to_the_model
from .keyword import KeywordIndex, terms
from .prompting import Prompt, PromptSource, build_prompt, focused
from .protocols import Store, Vector, VectorIndex
from .retrieval import reciprocal_rank_fusion

FORMAT_VERSION = 1
Events = Callable[[str, Any], None]


class LibraryError(RuntimeError):
    """The library cannot be opened or used as asked (not a per-file problem)."""


@dataclass(frozen=True)
class Settings:
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    depth: int = 20  # candidates each index contributes to fusion
    passages: int = 4  # passages offered to the generator
    prompt_tokens: int = 1024  # prompt budget: prefill time grows with it, a small model gains little
    # The prompt holds the passages' 6 sentences that best answer the question (with the sentence
    # before each), not the whole passages: measured on XQuAD dev with Qwen2.5-Coder-0.5B, as many
    # answers held the gold answer (0.60 vs 0.625 on 48 questions), citations were right more often
    # (0.88 vs 0.78) and an answer took a quarter of the time (prompts of ~300 tokens, not ~900).
    # 2 and 3 sentences did no better; 0 sends whole passages.
    focus_sentences: int = 6
    # One paragraph: the answer is a sentence, and what a small model adds after a line break is a
    # second answer or a new question.
    sampling: Sampling = Sampling(repetition_penalty=1.1, stop_strings=("\n",))
    draft: int = DRAFT  # tokens guessed from the sources per model run (0: one token per run)


@dataclass(frozen=True)
class ChunkRecord:
    label: int
    doc_id: str
    start: int
    end: int
    page: int | None
    heading: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    """A retrieved passage, as the page and the CLI show it."""

    number: int
    label: int
    doc_id: str
    name: str
    start: int
    end: int
    page: int | None
    heading: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Sentences:
    """The sentences of an answer's passages, as the extractive answer, the prompt and citations use them."""

    spans: list[Span]
    vectors: list[Vector]
    scores: list[float]  # how well each answers the question (quire.citations.answer_scores)


@dataclass(frozen=True)
class FileToAdd:
    """A file of a batch, read only when its turn comes (and not at all when it is too large), so a
    batch holds one file's bytes at a time."""

    name: str
    size: int
    read: Callable[[], bytes]

    @classmethod
    def of(cls, name: str, data: bytes) -> FileToAdd:
        return cls(name, len(data), lambda: data)


@dataclass
class Added:
    name: str
    ok: bool
    reason: str = ""  # why not, when not ok
    doc_id: str = ""
    chunks: int = 0


@dataclass
class Answer:
    question: str
    text: str  # the answer as shown (quire.concise), with verified citation markers
    generated: str  # what the model wrote
    attribution: Attribution
    extractive: Span | None
    sources: list[Hit]
    finish: str
    tokens: int = 0  # generated tokens
    seconds: float = 0.0
    passes: int = 0  # model runs for the generated answer
    drafted: int = 0  # tokens guessed from the sources
    accepted: int = 0  # guesses the model confirmed
    prompt: str = ""  # what the generator was given, chat template and all

    def citations(self) -> list[Span]:
        return self.attribution.citations


class Library:
    def __init__(self, store: Store, index: VectorIndex, embedding: EmbeddingModel,
                 generation: GenerationModel | None = None, settings: Settings = Settings(),
                 limits: Limits = Limits()):
        self.store, self.index, self.embedding, self.generation = store, index, embedding, generation
        self.settings, self.limits = settings, limits
        self.chunker = Chunker(embedding.tokenizer.count, settings.chunk_tokens, settings.chunk_overlap)
        self.keyword = KeywordIndex()
        self.documents: dict[str, dict] = {}
        self.texts: dict[str, str] = {}
        self.page_starts: dict[str, list[tuple[int, int]]] = {}  # doc id -> (position, page) where pages begin
        self.chunks: dict[int, ChunkRecord] = {}
        self.state, self.next_label = 0, 0
        self._query: tuple[str, Vector] | None = None
        self._open()

    # --- persistence ----------------------------------------------------------------------------

    def _meta(self) -> bytes:
        return json.dumps({"version": FORMAT_VERSION, "embedding": self.embedding.name, "state": self.state,
                           "next_label": self.next_label, "documents": list(self.documents.values())}).encode()

    def _open(self) -> None:
        raw = self.store.get("library.json")
        if raw is None:
            return
        meta = json.loads(raw)
        if meta["version"] != FORMAT_VERSION:
            raise LibraryError(f"library format {meta['version']} is not supported (expected {FORMAT_VERSION})")
        if meta["embedding"] != self.embedding.name:
            raise LibraryError(f"this library was built with the embedding model {meta['embedding']}, "
                               f"not {self.embedding.name}: clear it and add the documents again")
        self.state, self.next_label = meta["state"], meta["next_label"]
        self.documents = {d["id"]: d for d in meta["documents"]}
        for doc_id in self.documents:
            stored = json.loads(self.store.get(f"doc/{doc_id}.json"))
            self._remember(doc_id, stored["text"], [Block(*b) for b in stored["blocks"]])
            for c in json.loads(self.store.get(f"chunks/{doc_id}.json")):
                self.chunks[c["label"]] = ChunkRecord(c["label"], doc_id, c["start"], c["end"], c["page"],
                                                      tuple(c["heading"]))
                self.keyword.add_counts(str(c["label"]), c["terms"])
        # The index is saved after the store, so it can lag (a closed tab) or be torn: rebuilt then.
        if self.index.load() != str(self.state) or len(self.index) != len(self.chunks):
            self._rebuild_index()

    def _remember(self, doc_id: str, text: str, blocks: list[Block]) -> None:
        self.texts[doc_id] = text
        self.page_starts[doc_id] = [(b.start, b.page) for b in blocks if b.page is not None]

    def page_at(self, doc_id: str, position: int) -> int | None:
        """The page holding a position of a document (PDFs), else None."""
        starts = self.page_starts[doc_id]
        at = bisect.bisect_right(starts, (position, float("inf"))) - 1
        return starts[at][1] if at >= 0 else None

    def _vectors(self, doc_id: str) -> list[list[float]]:
        flat = array("f")
        flat.frombytes(self.store.get(f"vectors/{doc_id}.f32"))
        dims = self.embedding.dims
        return [flat[i : i + dims].tolist() for i in range(0, len(flat), dims)]

    def _rebuild_index(self) -> None:
        self.index.remove(list(range(self.next_label)))
        for doc_id in self.documents:
            labels = [c.label for c in self.chunks.values() if c.doc_id == doc_id]
            self.index.add(labels, self._vectors(doc_id))
        self.index.save(str(self.state))

    # --- documents ------------------------------------------------------------------------------

    def add(self, name: str, data: bytes, progress: Callable[[str, int, int], None] | None = None) -> Added:
        """Parse, chunk, embed and store one file; a file Quire cannot read changes nothing."""
        report = progress or (lambda step, done, total: None)
        doc_id = hashlib.sha256(data).hexdigest()[:16]
        if doc_id in self.documents:
            return Added(name, True, "already in the library", doc_id, self.documents[doc_id]["chunks"])
        try:
            report("parsing", 0, 1)
            doc = parse(name, data, self.limits)
        except DocumentError as err:
            return Added(name, False, err.reason)
        report("chunking", 0, 1)
        chunks = self.chunker.chunk(doc, doc_id)
        report("embedding", 0, len(chunks))
        vectors = self.embedding.embed([c.embedding_text() for c in chunks],
                                       lambda done, total: report("embedding", done, total))
        labels = list(range(self.next_label, self.next_label + len(chunks)))
        records = [{"label": label, "start": c.start, "end": c.end, "page": c.page, "heading": list(c.heading),
                    "terms": Counter(terms(c.embedding_text()))} for label, c in zip(labels, chunks)]
        flat = array("f")
        for v in vectors:
            flat.extend(v)
        self.documents[doc_id] = {"id": doc_id, "name": name, "format": doc.format, "title": doc.title,
                                  "bytes": len(data), "chunks": len(chunks), "added": time.time(),
                                  "pages": max((b.page or 0 for b in doc.blocks), default=0) or None}
        self.next_label += len(chunks)
        self.state += 1
        report("saving", 0, 1)
        try:
            self.store.commit({f"doc/{doc_id}.json": json.dumps(_doc_json(doc)).encode(),
                               f"chunks/{doc_id}.json": json.dumps(records).encode(),
                               f"vectors/{doc_id}.f32": flat.tobytes(),
                               "library.json": self._meta()})
        except Exception as err:
            del self.documents[doc_id]
            self.next_label -= len(chunks)
            self.state -= 1
            if isinstance(err, OSError):  # storage full or unavailable: this file only, the library is as it was
                return Added(name, False, str(err))
            raise
        self._remember(doc_id, doc.text, doc.blocks)
        for label, c, r in zip(labels, chunks, records):
            self.chunks[label] = ChunkRecord(label, doc_id, c.start, c.end, c.page, c.heading)
            self.keyword.add_counts(str(label), r["terms"])
        self.index.add(labels, vectors)
        return Added(name, True, "", doc_id, len(chunks))

    def add_files(self, files: Sequence[FileToAdd | tuple[str, bytes]],
                  progress: Callable[[str, str, int, int], None] | None = None,
                  on_added: Callable[[Added], None] | None = None) -> list[Added]:
        """Add a batch; each file succeeds or fails on its own, and the index is saved once at the end."""
        results = []
        for file in files:
            file = file if isinstance(file, FileToAdd) else FileToAdd.of(*file)
            report = (lambda step, done, total, name=file.name: progress(name, step, done, total)) if progress else None
            results.append(self._add_file(file, report))
            if on_added:
                on_added(results[-1])
        self.index.save(str(self.state))
        return results

    def _add_file(self, file: FileToAdd, report) -> Added:
        try:
            check_size(file.name, file.size, self.limits)
            data = file.read()
        except DocumentError as err:
            return Added(file.name, False, err.reason)
        except OSError as err:  # gone or unreadable since it was picked
            return Added(file.name, False, f"could not be read ({err.strerror or err})")
        return self.add(file.name, data, report)

    def remove(self, doc_id: str) -> None:
        if doc_id not in self.documents:
            raise LibraryError(f"no document {doc_id} in the library")
        labels = [c.label for c in self.chunks.values() if c.doc_id == doc_id]
        removed = self.documents.pop(doc_id)
        self.state += 1
        try:
            self.store.commit({"library.json": self._meta()},
                              [f"doc/{doc_id}.json", f"chunks/{doc_id}.json", f"vectors/{doc_id}.f32"])
        except Exception:
            self.documents[doc_id] = removed
            self.state -= 1
            raise
        for label in labels:
            del self.chunks[label]
            self.keyword.remove(str(label))
        del self.texts[doc_id], self.page_starts[doc_id]
        self.index.remove(labels)
        self.index.save(str(self.state))

    def clear(self) -> None:
        self.store.clear()
        self.index.remove(list(self.chunks))
        self.keyword = KeywordIndex()
        self.documents, self.texts, self.page_starts, self.chunks = {}, {}, {}, {}
        self.state, self.next_label = 0, 0
        self.index.save(str(self.state))

    def document(self, doc_id: str) -> Document:
        """The stored document, for showing a cited passage in context."""
        raw = json.loads(self.store.get(f"doc/{doc_id}.json"))
        meta = self.documents[doc_id]
        return Document(meta["name"], meta["format"], raw["text"], [Block(*b) for b in raw["blocks"]], meta["title"])

    # --- retrieval ------------------------------------------------------------------------------

    def query_vector(self, question: str) -> Vector:
        """The question's embedding, kept for the next call: search and answer both need it."""
        if self._query is None or self._query[0] != question:
            self._query = (question, self.embedding.embed([question])[0])
        return self._query[1]

    def rankings(self, question: str, depth: int | None = None) -> dict[str, list[int]]:
        """Chunk labels best first, by keyword, by meaning, and fused."""
        depth = depth or self.settings.depth
        keyword = [int(label) for label, _ in self.keyword.search(question, depth)]
        vector = [label for label, _ in self.index.search(self.query_vector(question), depth)]
        hybrid = [int(label) for label, _ in reciprocal_rank_fusion([[str(x) for x in keyword],
                                                                     [str(x) for x in vector]])]
        return {"keyword": keyword, "vector": vector, "hybrid": hybrid[:depth]}

    def hit(self, number: int, label: int) -> Hit:
        c = self.chunks[label]
        return Hit(number, label, c.doc_id, self.documents[c.doc_id]["name"], c.start, c.end, c.page, c.heading,
                   self.texts[c.doc_id][c.start : c.end])

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        labels = self.rankings(question)["hybrid"][: k or self.settings.passages]
        return [self.hit(n, label) for n, label in enumerate(labels, start=1)]

    # --- answering ------------------------------------------------------------------------------

    def sentences(self, question: str, hits: list[Hit]) -> Sentences:
        """The hits' sentences, their vectors, and how well each answers `question`."""
        passages = [Passage(h.number, h.doc_id, h.start, h.text) for h in hits]
        spans = [span for p in passages for span in p.spans(lambda at, d=p.doc_id: self.page_at(d, at))]
        vectors = self.embedding.embed([s.text for s in spans])
        return Sentences(spans, vectors, answer_scores(question, self.query_vector(question), spans, vectors))

    def prompt(self, question: str, hits: list[Hit], sentences: Sentences | None = None) -> Prompt:
        """The generator's prompt: the question and the passages that fit the budget, numbered as
        `hits`; with `Settings.focus_sentences`, only the passages' best sentences. Sentences that
        speak to the model (quire.injection) are left out."""
        sentences = sentences or self.sentences(question, hits)
        spans = sentences.spans
        spoken = _spoken(spans)
        kept = [i for i in range(len(spans)) if i not in spoken]
        passages = []
        for h in hits:
            text = h.text
            if any(spans[i].source == h.number for i in spoken):
                text = " ".join(spans[i].text for i in kept if spans[i].source == h.number)
            passages.append(PromptSource(h.number, _title(h), text))
        if self.settings.focus_sentences:
            passages = focused(passages, [(spans[i].source, spans[i].text) for i in kept],
                               [sentences.scores[i] for i in kept], self.settings.focus_sentences)
        return build_prompt(self.generation.chat, question, passages,
                            self.settings.prompt_tokens - self.settings.sampling.max_new_tokens)

    def ask(self, question: str, on_event: Events | None = None,
            cancelled: Callable[[], bool] | None = None) -> Answer:
        """Retrieve, show the sources and the extractive answer at once, then stream the generated answer.

        Events, in order: ("sources", [Hit]), ("extractive", Span | None), ("token", str)...,
        ("answer", Answer).
        """
        emit = on_event or (lambda kind, payload: None)
        started = time.monotonic()
        hits = self.search(question)
        emit("sources", hits)
        found = self.sentences(question, hits)
        spans, vectors = found.spans, found.vectors
        extractive = extractive_answer(spans, found.scores)
        emit("extractive", extractive)
        generated, prompt = Generation("", finish="none"), None
        if self.generation and hits:
            prompt = self.prompt(question, hits, found)
            generated = generate(self.generation, prompt.ids, self.settings.sampling,
                                 lambda text: emit("token", text), cancelled, self.settings.draft)
            offered = {s.number for s in prompt.sources}
            usable = [(s, v) for s, v in zip(spans, vectors) if s.source in offered]
            spans, span_vectors = [s for s, _ in usable], [v for _, v in usable]
        else:
            span_vectors = vectors
        shown = concise(question, generated.text)
        attribution = attribute(shown, spans, self.embedding.embed, span_vectors, question)
        answer = Answer(question, attribution.text(), generated.text, attribution, extractive, hits,
                        generated.finish, len(generated.ids), time.monotonic() - started,
                        generated.passes, generated.drafted, generated.accepted, prompt.text if prompt else "")
        emit("answer", answer)
        return answer


def _spoken(spans: list[Span]) -> set[int]:
    """Indexes of the `spans` (several passages' sentences) that speak to the model."""
    found: set[int] = set()
    for number in {s.source for s in spans}:
        mine = [i for i, s in enumerate(spans) if s.source == number]
        found |= {mine[j] for j in spoken_to_the_model([spans[i].text for i in mine])}
    return found


def _title(hit: Hit) -> str:
    where = f", page {hit.page}" if hit.page else ""
    return f"{hit.name}{where}" + (f" — {' > '.join(hit.heading)}" if hit.heading else "")


def _doc_json(doc: Document) -> dict:
    return {"text": doc.text, "blocks": [[b.start, b.end, b.kind, b.level, b.page] for b in doc.blocks]}
