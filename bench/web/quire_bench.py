"""Runs inside Pyodide (bench/web/quire-worker.js): Quire's embedding path over the browser backend.

`run` is timed from JavaScript. It embeds each group with `EmbeddingModel.embed` (tokenize in
Python, sort by length, batch, BrowserEmbedder -> onnx-bridge.js), the call `Library.add` makes,
or, with sort off, the same batches in document order.
"""

import json

from quire.backends.browser import BrowserEmbedder
from quire.embedding import EmbeddingModel
from quire.tokenizers import Tokenizer


class Bench:
    def __init__(self, registry_json, tokenizer_json, js_embedder, js_fixed_width, texts_json):
        record = next(r for r in json.loads(registry_json)["models"] if r["role"] == "embedding")
        dims = record["facts"]["dims"]
        tokenizer = Tokenizer.from_json(tokenizer_json)
        self.model = EmbeddingModel.from_facts(record["id"], record["facts"], tokenizer,
                                               BrowserEmbedder(js_embedder, dims))
        # The same model with every batch padded to the window (the "no dynamic padding" row).
        self.fixed = EmbeddingModel.from_facts(record["id"], record["facts"], tokenizer,
                                               BrowserEmbedder(js_fixed_width, dims))
        self.texts = json.loads(texts_json)

    def warm_up(self):
        self.model.embed(self.texts[:8])

    def run(self, spec_json):
        spec = json.loads(spec_json)
        keep = set(spec.get("keep", ()))
        model = self.fixed if spec.get("fixed") else self.model
        model.batch_size = spec.get("batch") or model.embedder.batch_size  # none given: the app's
        kept = {}
        for group in spec["groups"]:
            texts = [self.texts[i] for i in group]
            if spec.get("tokenizeOnly"):
                for t in texts:
                    model.tokenizer.encode(t)
                continue
            vectors = model.embed(texts) if spec.get("sort", True) else in_order(model, texts)
            for i, v in zip(group, vectors):
                if i in keep:
                    kept[i] = list(v)
        return json.dumps(kept)


def in_order(model, texts):
    """EmbeddingModel.embed without the length sort: batches in document order."""
    encoded = [model.tokenizer.encode(t) for t in texts]
    vectors = []
    for at in range(0, len(encoded), model.batch_size):
        vectors.extend(model.embedder.embed(encoded[at : at + model.batch_size]))
    return vectors
