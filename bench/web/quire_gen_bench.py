"""Quire's decode loop with its model runs timed: imported by bench/generation.py in CPython and run
inside Pyodide by bench/web/quire-gen-worker.js, so both engines are measured by the same code."""

import json
import time

from quire.generation import GenerationModel, Sampling, generate


class TimedGenerator:
    """A Generator that records (tokens fed, rows returned, seconds) for each model run."""

    def __init__(self, inner):
        self.inner, self.context, self.runs = inner, inner.context, []

    def reset(self):
        self.inner.reset()
        self.runs = []

    def discard(self, count):
        self.inner.discard(count)

    def step(self, ids, top_k, positions=1):
        t0 = time.perf_counter()
        rows = self.inner.step(ids, top_k, positions)
        self.runs.append((len(ids), positions, time.perf_counter() - t0))
        return rows


def answer(model: GenerationModel, prompt: list[int], max_new_tokens: int, draft: int) -> dict:
    """Greedy, no penalty, no stop strings: the settings a peer's plain `generate` can match exactly."""
    timed = TimedGenerator(model.generator)
    model.generator = timed
    try:
        t0 = time.perf_counter()
        out = generate(model, prompt, Sampling(max_new_tokens=max_new_tokens), draft=draft)
        seconds = time.perf_counter() - t0
    finally:
        model.generator = timed.inner
    return {"ids": out.ids, "text": out.text, "seconds": seconds, "prefill": timed.runs[0][2],
            "runs": timed.runs, "drafted": out.drafted, "accepted": out.accepted, "prompt": len(prompt)}


class GenBench:
    """The Pyodide side: a generator (its registry.json record) over BrowserGenerator -> web/candidates.js
    -> onnx-bridge.js."""

    def __init__(self, record_json, tokenizer_json, js_generator):
        from quire.backends.browser import BrowserGenerator
        from quire.tokenizers import Tokenizer

        record = json.loads(record_json)
        self.model = GenerationModel.from_facts(record["id"], record["facts"], Tokenizer.from_json(tokenizer_json),
                                                BrowserGenerator(js_generator, record["facts"]["context"]))

    def run(self, spec_json):
        spec = json.loads(spec_json)
        return json.dumps(answer(self.model, spec["prompt"], spec["max_new_tokens"], spec["draft"]))
