"""The Python half of web/worker.js: the library on the browser backends, one method per request.

worker.js loads the runtimes and models, then creates a `Session` and calls its methods (through
`callPromising`, so the backends can wait on JavaScript promises). Results go back as JSON strings
through `post(kind, json)`; the worker relays them to the page unchanged.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Callable

from .backends.browser import BrowserEmbedder, BrowserGenerator, BrowserIndex, BrowserStore, read_file
from .embedding import EmbeddingModel
from .generation import GenerationModel
from .library import Added, FileToAdd, Library
from .tokenizers import Tokenizer

Post = Callable[[str, str], None]


def _json(payload: Any) -> str:
    if isinstance(payload, list):
        return json.dumps([asdict(p) if hasattr(p, "__dataclass_fields__") else p for p in payload])
    if hasattr(payload, "__dataclass_fields__"):
        return json.dumps(asdict(payload))
    return json.dumps(payload)


class Session:
    def __init__(self, registry_json: str, tokenizers_json: str, js: Any, generator_id: str):
        """`tokenizers_json`: model id -> tokenizer.json text; `js`: the worker's store, index, embedder,
        generator; `generator_id`: the generation model `js.generator` runs (the page's choice)."""
        registry = json.loads(registry_json)
        self.records = {r["id"]: r for r in registry["models"]}
        tokenizers = json.loads(tokenizers_json)
        emb = self.records[registry["defaults"]["embedding"]]
        embedding = EmbeddingModel.from_facts(emb["id"], emb["facts"], Tokenizer.from_json(tokenizers[emb["id"]]),
                                              BrowserEmbedder(js.embedder, emb["facts"]["dims"]))
        generation = self._generation(generator_id, tokenizers[generator_id], js.generator)
        self.library = Library(BrowserStore(js.store), BrowserIndex(js.index), embedding, generation)

    def _generation(self, model_id: str, tokenizer_json: str, js_generator: Any) -> GenerationModel:
        facts = self.records[model_id]["facts"]
        return GenerationModel.from_facts(model_id, facts, Tokenizer.from_json(tokenizer_json),
                                          BrowserGenerator(js_generator, facts["context"]))

    def use_generator(self, model_id: str, tokenizer_json: str, js_generator: Any) -> None:
        """Answer with another generation model from the next question on (the page's model picker)."""
        self.library.generation = self._generation(model_id, tokenizer_json, js_generator)

    def documents(self) -> str:
        return json.dumps(sorted(self.library.documents.values(), key=lambda d: d["added"]))

    def add(self, files: Any, post: Post) -> None:
        """`files`: a JS array of File objects, each read when its turn comes. Posts progress, then
        each file's outcome."""
        batch = [FileToAdd(f.name, f.size, lambda f=f: read_file(f)) for f in files]
        try:
            self.library.add_files(
                batch,
                progress=lambda name, step, done, total: post("file", json.dumps(
                    {"name": name, "step": step, "done": done, "total": total})),
                on_added=lambda result: self._added(result, post))
        finally:  # an index that could not be saved is rebuilt on the next visit: the list is still right
            post("library", self.documents())

    def _added(self, result: Added, post: Post) -> None:
        post("added", _json(result))
        if result.ok:  # the library list grows as each document lands, not at the end of the batch
            post("library", self.documents())

    def remove(self, doc_id: str, post: Post) -> None:
        self.library.remove(doc_id)
        post("library", self.documents())

    def clear(self, post: Post) -> None:
        self.library.clear()
        post("library", self.documents())

    def document(self, doc_id: str, post: Post) -> None:
        doc = self.library.document(doc_id)
        post("document", json.dumps({"id": doc_id, "name": doc.name, "format": doc.format, "text": doc.text,
                                     "pages": [[b.start, b.page] for b in doc.blocks if b.page is not None]}))

    def ask(self, question: str, post: Post, cancelled: Callable[[], bool]) -> None:
        def on_event(kind: str, payload: Any) -> None:
            if kind == "token":
                post("token", json.dumps(payload))
            elif kind == "answer":
                post("answer", json.dumps({"text": payload.text, "generated": payload.generated,
                                           "sentences": [asdict(s) for s in payload.attribution.sentences],
                                           "citations": [asdict(c) for c in payload.citations()],
                                           "finish": payload.finish, "tokens": payload.tokens,
                                           "seconds": payload.seconds, "model": self.library.generation.name,
                                           "prompt": payload.prompt}))
            else:
                post(kind, _json(payload))
        self.library.ask(question, on_event, lambda: bool(cancelled()))
