"""Part `ingest`: chunks/s of Quire's in-browser embedding path vs Transformers.js and CPython.

All three embed the same chunk texts (bench/corpus.py) with the same model file, the default int8
all-MiniLM-L6-v2 (`models/all-minilm-l6-v2/onnx/model_quantized.onnx` of the built site):

- Quire in the browser: a module worker (bench/web/quire-worker.js) loads Pyodide and the quire
  wheel as web/worker.js does and calls `EmbeddingModel.embed` (Python tokenizer, length-sorted
  batches of `BrowserEmbedder.batch_size`) over `BrowserEmbedder` -> onnx-bridge.js -> onnxruntime-web, threads as
  `configureOrt` sets them; one `embed` call per document, as `Library.add` makes it.
- Transformers.js 4.3.1 in a module worker of the same page (bench/web/tjs-worker.js):
  `pipeline("feature-extraction", ..., {dtype: "q8"})`, called with `{pooling: "mean", normalize:
  true}` on each document's chunks in batches of 32, in document order.
- CPython: `EmbeddingModel` over `quire.backends.cpython.OnnxEmbedder` (onnxruntime), one process,
  in batches of `OnnxEmbedder.batch_size`.

Then single changes to Quire's configuration, on a sample of the chunks embedded as one list, give
each technique's share. Every engine is loaded first (load times are reported apart), and embeds a
few chunks untimed; then one job runs at a time, the engines taking turns (the headline in rounds of
documents), so a change in the machine's load falls on all of them alike.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import corpus as corpus_mod
from machine import ForeignCpu, bench_page, fmt, peer_mounts, table
from quire.backends.browser import BrowserEmbedder
from quire.backends.cpython import OnnxEmbedder
from quire.embedding import EmbeddingModel
from quire.tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[1]
BENCH_WEB = Path(__file__).resolve().parent / "web"
BATCH = 32  # Transformers.js's batches, and the technique rows' reference
KEEP = 64  # vectors compared across the three engines
ROUNDS = 3  # the headline runs in this many interleaved rounds of documents
TECHNIQUE_ROUNDS = 2  # and the technique runs in this many, each on a part of the sample


# ----------------------------------------------------------------------------------------- batches

def batches(group: list[int], lengths: list[int], batch: int, sort: bool) -> list[list[int]]:
    """The batches EmbeddingModel.embed makes of one group (sort=True), or document-order ones."""
    order = sorted(group, key=lambda i: lengths[i]) if sort else list(group)
    return [order[at : at + batch] for at in range(0, len(order), batch)]


def padding(groups: list[list[int]], lengths: list[int], batch: int, sort: bool) -> float:
    """Tokens the model computes (each batch padded to its longest) over the real tokens."""
    real = sum(lengths[i] for g in groups for i in g)
    computed = sum(len(b) * max(lengths[i] for i in b) for g in groups for b in batches(g, lengths, batch, sort))
    return computed / real


def chunks_of(spec: dict) -> int:
    return sum(len(b) for b in spec["batches"]) if "batches" in spec else sum(len(g) for g in spec["groups"])


def min_cosine(a: dict, b: dict) -> float:
    keys = sorted(set(a) & set(b))
    if not keys:
        return float("nan")
    x = np.asarray([a[k] for k in keys], dtype=np.float64)
    y = np.asarray([b[k] for k in keys], dtype=np.float64)
    return float(((x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))).min())


# ----------------------------------------------------------------------------------------- CPython

def _embedding_record():
    from quire.registry import load_registry

    return next(r for r in load_registry(ROOT / "models" / "registry.toml").values()
                if r.role == "embedding" and r.default)


class CPython:
    """The native limit: Quire's own EmbeddingModel over onnxruntime, same file, this process."""

    def __init__(self, model_dir: Path, file: str, texts: list[str]):
        record = _embedding_record()
        t0 = time.perf_counter()
        self.embedder = OnnxEmbedder(model_dir, file)
        self.load = time.perf_counter() - t0
        self.model = EmbeddingModel.from_facts(record.id, record.facts,
                                               Tokenizer.from_file(model_dir / "tokenizer.json"), self.embedder)
        self.texts = texts
        self.model.embed(texts[:8])  # warm-up, as the workers do

    def job(self, spec: dict) -> dict:
        keep, kept = set(spec.get("keep", ())), {}
        self.model.batch_size = spec["batch"] or self.embedder.batch_size  # none given: the app's
        t0 = time.perf_counter()
        for group in spec["groups"]:
            texts = [self.texts[i] for i in group]
            if spec.get("tokenizeOnly"):
                for t in texts:
                    self.model.tokenizer.encode(t)
                continue
            if spec["sort"]:
                vectors = self.model.embed(texts)
            else:  # as bench/web/quire_bench.py's in_order
                encoded = [self.model.tokenizer.encode(t) for t in texts]
                vectors = [v for at in range(0, len(encoded), spec["batch"])
                           for v in self.embedder.embed(encoded[at : at + spec["batch"]])]
            kept.update({i: [float(x) for x in v] for i, v in zip(group, vectors) if i in keep})
        return {"seconds": time.perf_counter() - t0, "vectors": kept}


def unchanged_file(model_dir: Path, file: str, name: str, data: bytes) -> dict:
    """Adding a file the library already holds: Library.add hashes the bytes and returns at once."""
    from quire.backends.cpython import FileStore, HnswIndex
    from quire.library import Library
    from quire.registry import load_index_params

    record = _embedding_record()
    model = EmbeddingModel.from_facts(record.id, record.facts, Tokenizer.from_file(model_dir / "tokenizer.json"),
                                      OnnxEmbedder(model_dir, file))
    with tempfile.TemporaryDirectory(prefix="quire-bench-lib-") as tmp:
        index = HnswIndex(record.facts["dims"], Path(tmp) / "v.hnsw",
                          **load_index_params(ROOT / "models" / "registry.toml").to_dict())
        library = Library(FileStore(Path(tmp) / "store"), index, model)
        t0 = time.perf_counter()
        first = library.add(name, data)
        t1 = time.perf_counter()
        again = library.add(name, data)
        t2 = time.perf_counter()
    return {"name": name, "chunks": first.chunks, "first": t1 - t0, "again": t2 - t1, "reason": again.reason}


# ----------------------------------------------------------------------------------------- browser

def measure(site: Path, texts: list[str], workers: list[tuple[str, str, dict]], cpython: CPython,
            jobs: list[tuple[str, str, dict]]) -> tuple[dict, dict]:
    """Starts the workers one by one, then runs `jobs` ((engine, row, spec), engine "cpython" or a
    worker key) one at a time. Returns (worker infos, {engine: {row: {seconds, chunks, vectors}}})."""
    infos: dict = {}
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="quire-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "data").mkdir()
        (tmp / "data" / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        mounts = {"/": site, "/bench": BENCH_WEB, "/bench-data": tmp / "data", **peer_mounts(tmp)}
        with bench_page(mounts) as browser:
            for key, kind, options in workers:
                if options.get("threads") == "same":  # the count Quire's configureOrt chose
                    options = {**options, "threads": infos["quire"]["threads"]}
                infos[key] = browser(f"starting {key}", "([k, w, o]) => bench.start(k, w, o)",
                                     [key, kind, {"texts": "/bench-data/texts.json", **options}])
                print(f"  {key} loaded: {json.dumps(_short(infos[key]))}", flush=True)
            meter = ForeignCpu()
            for n, (engine, row, spec) in enumerate(jobs, 1):
                meter.start()
                got = cpython.job(spec) if engine == "cpython" else \
                    browser(f"{engine} {row}", "([k, s]) => bench.job(k, s)", [engine, spec])
                foreign = meter.stop()
                slot = results.setdefault(engine, {}).setdefault(row, {"seconds": 0.0, "chunks": 0, "vectors": {},
                                                                       "runs": []})
                slot["runs"].append({"chunks": chunks_of(spec), "seconds": got["seconds"], "foreign": foreign})
                slot["seconds"] += got["seconds"]
                slot["chunks"] += chunks_of(spec)
                slot["vectors"].update({int(k): v for k, v in got["vectors"].items()})
                print(f"  [{n}/{len(jobs)}] {engine:9} {row:13} {chunks_of(spec) / got['seconds']:6.1f} chunks/s "
                      f"({chunks_of(spec)} in {got['seconds']:.1f} s; other processes used "
                      f"{fmt(foreign, 2)} cores)", flush=True)
            for key, _, _ in workers:
                browser(f"stopping {key}", "(k) => bench.stop(k)", key)
    return infos, results


def _short(info: dict) -> dict:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in info.items()}


# ----------------------------------------------------------------------------------------- the part

def run(args) -> dict:
    """Measures everything; returns what report() needs."""
    from quire_build.cache import cache_root
    from quire_build.site import build_site

    t_start = time.time()
    corpus = corpus_mod.load(args.docsets, Path(args.xquad), args.limit_chunks)
    texts, groups = corpus.texts(), corpus.groups()
    tokenizer = Tokenizer.from_file(corpus_mod.TOKENIZER)
    lengths = [len(tokenizer.encode(t)) for t in texts]
    print(f"ingest: {len(texts)} chunks ({corpus.count('xquad')} XQuAD, {corpus.count('mixed')} mixed) "
          f"in {len(groups)} documents", flush=True)

    # The site the app ships, built into the bench's own folder (dist/ is left alone).
    site = build_site(dist=cache_root() / "bench" / "site")
    registry = json.loads((site / "models" / "registry.json").read_text())
    record = next(m for m in registry["models"] if m["role"] == "embedding")
    model_dir = site / "models" / record["id"]

    keep = corpus_mod.spread(len(texts), KEEP)
    sample = corpus_mod.spread(len(texts), min(args.sample, len(texts)))
    sample_parts = [sample[r::TECHNIQUE_ROUNDS] for r in range(TECHNIQUE_ROUNDS)]

    def q(groups_, batch=None, sort=True, **extra):  # a Quire run: one EmbeddingModel.embed per group
        return {"groups": groups_, "batch": batch, "sort": sort, **extra}

    def peer(groups_, sort=False, keep_=()):  # a Transformers.js run: explicit batches of 32
        return {"batches": [b for g in groups_ for b in batches(g, lengths, BATCH, sort)], "keep": list(keep_)}

    workers = [("quire", "quire", {}), ("quire-1t", "quire", {"threads": 1}),
               ("tjs", "tjs", {"model": record["id"]}), ("tjs-same", "tjs", {"model": record["id"], "threads": "same"})]
    jobs: list[tuple[str, str, dict]] = []
    # The headline: every engine on the whole input, one call per document, in rounds of documents,
    # the order turning each round; and Quire with each round's documents in a single call.
    for r in range(ROUNDS):
        part = groups[r::ROUNDS]
        turn = [("quire", "app", q(part, keep=keep)), ("tjs", "app", peer(part, keep_=keep)),
                ("cpython", "app", q(part, keep=keep)), ("quire", "one-call", q([[i for g in part for i in g]]))]
        jobs += turn[r:] + turn[:r]
    jobs += [("quire", "tokenize", q(groups, tokenizeOnly=True)), ("cpython", "tokenize", q(groups, tokenizeOnly=True))]
    # The techniques: one change at a time on the sample, in two rounds (half the sample each, as
    # one list), the second in reverse order, so a drift in the machine's load cancels out.
    for r, part in enumerate(sample_parts):
        turn = [("quire", "sorted-32", q([part], BATCH, keep=part[:8])),
                ("quire", "unsorted-32", q([part], BATCH, sort=False)),
                ("quire-1t", "unsorted-32", q([part], BATCH, sort=False)), ("tjs", "unsorted-32", peer([part])),
                ("tjs-same", "unsorted-32", peer([part])), ("quire", "sorted-8", q([part], 8)),
                ("quire", "sorted-1", q([part], 1)), ("quire", "padded-256", q([part], BATCH, fixed=True, keep=part[:8])),
                ("cpython", "sorted-32", q([part], BATCH)),
                ("cpython", "unsorted-32", q([part], BATCH, sort=False))]
        jobs += turn if r % 2 == 0 else turn[::-1]
    if args.quick:
        jobs = [j for j in jobs if j[1] in ("app", "tokenize", "sorted-32", "unsorted-32") and j[0] != "tjs-same"]
        workers = workers[:3]

    print("ingest: loading CPython onnxruntime and the browser workers", flush=True)
    cpython = CPython(model_dir, record["file"], texts)
    infos, results = measure(site, texts, workers, cpython, jobs)

    # A file of 10-30 chunks from the input, added twice to a CPython library.
    mixed_dir = corpus_mod.docsets_folder(args.docsets)
    fits = sorted((corpus.sizes[d.name], d.name) for d in corpus.docs
                  if d.set == "mixed" and 10 <= corpus.sizes[d.name] <= 30 and (mixed_dir / d.name).is_file())
    unchanged = unchanged_file(model_dir, record["file"], fits[0][1], (mixed_dir / fits[0][1]).read_bytes()) \
        if fits else None
    return {"corpus": corpus, "lengths": lengths, "groups": groups, "sample": sample, "sample_parts": sample_parts,
            "infos": infos, "results": results, "cpython_load": cpython.load, "unchanged": unchanged,
            "record": record, "seconds": time.time() - t_start}


# ----------------------------------------------------------------------------------------- report

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def report(m: dict) -> tuple[str, str]:
    """(what the terminal shows, the Markdown section for docs/benchmarks.md)."""
    from machine import command, machine, versions

    corpus, lengths, groups, sample = m["corpus"], m["lengths"], m["groups"], m["sample"]
    res, infos = m["results"], m["infos"]
    n_all, one = len(lengths), m["sample_parts"]

    def rate(engine: str, row: str, at: int | None = None) -> float | None:
        """chunks/s of a row: over all its jobs, or of its job in round `at`."""
        got = res.get(engine, {}).get(row)
        if not got:
            return None
        if at is not None:
            run = got["runs"][at] if at < len(got["runs"]) else None
            return run["chunks"] / run["seconds"] if run and run["seconds"] > 0 else None
        return got["chunks"] / got["seconds"] if got["seconds"] > 0 else None

    def foreign(keys: list[tuple[str, str]], at: int) -> float | None:
        """Mean CPU (cores) other processes used during round `at` of these rows."""
        seen = [res[e][r]["runs"][at]["foreign"] for e, r in keys
                if r in res.get(e, {}) and at < len(res[e][r]["runs"]) and res[e][r]["runs"][at]["foreign"] is not None]
        return sum(seen) / len(seen) if seen else None

    def ratio(x, y):
        return x / y if x and y else None

    quire, peer, native = rate("quire", "app"), rate("tjs", "app"), rate("cpython", "app")
    tq, tp = infos["quire"]["threads"], infos["tjs"]["threads"]
    vs_peer, vs_native = ratio(quire, peer), ratio(quire, native)
    targets = (f"Quire in the browser embedded **{fmt(vs_peer, 2)}x** the chunks per second of Transformers.js "
               f"(target ≥ 2x: {'met' if (vs_peer or 0) >= 2 else 'not met'}) and **{fmt(vs_native, 2)}x** those "
               f"of CPython onnxruntime (target ≥ 0.4x: {'met' if (vs_native or 0) >= 0.4 else 'not met'}).")
    headline = table(
        ["engine, one call per document as `Library.add` makes it", "chunks/s", "Quire in the browser ÷ this",
         "padded ÷ real tokens"],
        [[f"Quire in the browser: Pyodide + onnxruntime-web, {_plural(tq, 'thread')}, "
          f"batches of {BrowserEmbedder.batch_size}", fmt(quire), "1.00",
          fmt(padding(groups, lengths, BrowserEmbedder.batch_size, True), 2)],
         [f"Transformers.js `feature-extraction`, {_plural(tp, 'thread')} (onnxruntime-web's default)", fmt(peer),
          f"{fmt(vs_peer, 2)} (target ≥ 2)", fmt(padding(groups, lengths, BATCH, False), 2)],
         [f"CPython onnxruntime, same file and Quire code (the native limit), batches of {OnnxEmbedder.batch_size}",
          fmt(native), f"{fmt(vs_native, 2)} (target ≥ 0.4)",
          fmt(padding(groups, lengths, OnnxEmbedder.batch_size, True), 2)],
         ["*not the app:* Quire in the browser, each round's documents in one `embed` call (sorted across "
          "documents)", fmt(rate("quire", "one-call")), fmt(ratio(quire, rate("quire", "one-call")), 2),
          fmt(padding([[i for g in groups[r::ROUNDS] for i in g] for r in range(ROUNDS)], lengths,
                      BrowserEmbedder.batch_size, True), 2)]])
    head_keys = [("quire", "app"), ("tjs", "app"), ("cpython", "app"), ("quire", "one-call")]
    per_round = table(
        ["round", "chunks", "Quire", "Transformers.js", "CPython", "Quire ÷ Transformers.js", "Quire ÷ CPython",
         "other processes' CPU, cores"],
        [[str(r + 1), str(res["quire"]["app"]["runs"][r]["chunks"]), fmt(rate("quire", "app", r)),
          fmt(rate("tjs", "app", r)), fmt(rate("cpython", "app", r)),
          fmt(ratio(rate("quire", "app", r), rate("tjs", "app", r)), 2),
          fmt(ratio(rate("quire", "app", r), rate("cpython", "app", r)), 2), fmt(foreign(head_keys, r), 2)]
         for r in range(len(res["quire"]["app"]["runs"]))])

    ts = infos.get("tjs-same", {}).get("threads")
    n_rounds = len(one)
    spec_rows = [
        ("quire", "sorted-32", f"Quire: sorted by length, batches of 32, {_plural(tq, 'thread')}",
         padding(one, lengths, 32, True)),
        ("quire", "unsorted-32", "… document order (no length sorting)", padding(one, lengths, 32, False)),
        ("quire", "padded-256", "… every batch padded to the 256-token window (no dynamic padding)",
         sum(len(p) for p in one) * 256 / sum(lengths[i] for p in one for i in p)),
        ("quire", "sorted-8", "… batches of 8", padding(one, lengths, 8, True)),
        ("quire", "sorted-1", "… batches of 1 (no padding at all)", 1.0),
        ("quire-1t", "unsorted-32", "… document order and 1 thread", padding(one, lengths, 32, False)),
        ("tjs", "unsorted-32", f"Transformers.js: document order, {_plural(tp, 'thread')} (its default)",
         padding(one, lengths, 32, False)),
        ("tjs-same", "unsorted-32", f"Transformers.js: document order, {_plural(ts or 0, 'thread')} (as Quire)",
         padding(one, lengths, 32, False)),
        ("cpython", "sorted-32", "CPython: sorted, batches of 32", padding(one, lengths, 32, True)),
        ("cpython", "unsorted-32", "CPython: document order", padding(one, lengths, 32, False)),
    ]
    ref = rate("quire", "sorted-32")
    rows = [[label, *(fmt(rate(e, r, at)) for at in range(n_rounds)), fmt(rate(e, r)),
             fmt(ratio(rate(e, r), ref), 2), fmt(pad, 2)]
            for e, r, label, pad in spec_rows if rate(e, r)]
    tech_keys = [(e, r) for e, r, _, _ in spec_rows]
    rows.append(["*other processes' CPU during the round, cores*",
                 *(fmt(foreign(tech_keys, at), 2) for at in range(n_rounds)), "", "", ""])
    techniques = table([f"configuration ({len(sample)} chunks, as {n_rounds} lists of {len(one[0])})",
                         *(f"round {at + 1}" for at in range(n_rounds)), "chunks/s", "÷ first row",
                         "padded ÷ real tokens"], rows)

    # Quire (all of it) ÷ the peer (its default), as a product of single changes on the sample.
    chain = [("quire", "sorted-32"), ("quire", "unsorted-32"), ("quire-1t", "unsorted-32"), ("tjs", "unsorted-32")]
    labels = ["length sorting: sorted ÷ document order", f"threads: {tq} ÷ 1, document order",
              "the rest: Quire ÷ Transformers.js, both 1 thread and document order (Python tokenizer, "
              "onnxruntime-web build, Pyodide round trips, output handling)"]

    def factor(a, b, at=None):
        return ratio(rate(*a, at), rate(*b, at))

    total = factor(chain[0], chain[-1])
    share_rows = []
    for (a, b), label in zip(zip(chain, chain[1:]), labels):
        f = factor(a, b)
        share = math.log(f) / math.log(total) * 100 if f and total and abs(math.log(total)) > 0.01 else None
        share_rows.append([label, *(fmt(factor(a, b, at), 2) for at in range(n_rounds)), fmt(f, 2),
                           f"{fmt(share, 0)} %" if share is not None else "n/a"])
    share_rows.append(["product: Quire (all of it) ÷ Transformers.js (its default)",
                       *(fmt(factor(chain[0], chain[-1], at), 2) for at in range(n_rounds)), fmt(total, 2), "100 %"])
    extra = [("dynamic padding: padded to the longest ÷ padded to 256", ("quire", "sorted-32"), ("quire", "padded-256")),
             ("batches of 32 ÷ batches of 1", ("quire", "sorted-32"), ("quire", "sorted-1")),
             ("batches of 32 ÷ batches of 8", ("quire", "sorted-32"), ("quire", "sorted-8")),
             (f"Transformers.js threads: {ts} ÷ {tp}", ("tjs-same", "unsorted-32"), ("tjs", "unsorted-32"))]
    for label, a, b in extra:
        share_rows.append([f"*outside the product:* {label}", *(fmt(factor(a, b, at), 2) for at in range(n_rounds)),
                           fmt(factor(a, b), 2), ""])
    shares = table(["change (the sample)", *(f"round {at + 1}" for at in range(n_rounds)), "factor",
                     "share of log(product)"], share_rows)
    padded_cos = min_cosine(res["quire"]["sorted-32"]["vectors"], res["quire"].get("padded-256", {}).get("vectors", {}))
    every = [run for rows_ in res.values() for got in rows_.values() for run in got["runs"] if run["foreign"] is not None]
    busy_mean = sum(r["foreign"] * r["seconds"] for r in every) / sum(r["seconds"] for r in every) if every else None
    busy_max = max((r["foreign"] for r in every), default=None)

    # What gets there: the same factors in words.
    f_sort, f_threads, f_rest = (factor(a, b) for a, b in zip(chain, chain[1:]))
    same = ratio(rate("tjs-same", "unsorted-32"), ref)
    b1, b8 = ratio(rate("quire", "sorted-1"), ref), ratio(rate("quire", "sorted-8"), ref)
    reading = [
        f"**Threads: ×{fmt(f_threads, 2)}**"
        + (", the largest factor." if f_threads and all(abs(math.log(f_threads)) >= abs(math.log(f)) for f in
                                                         (f_sort, f_rest, b1, b8) if f) else ".")
        + f" Transformers.js given the same count "
        f"(`env.backends.onnx.wasm.numThreads = {ts}`) gained ×{fmt(factor(('tjs-same', 'unsorted-32'), ('tjs', 'unsorted-32')), 2)} "
        f"and then ran at {fmt(same, 2)}x Quire's best configuration"
        + (": Quire's lead over the peer at its defaults is this setting, not its pipeline." if same and same >= 0.9
           else "."),
        f"**Length sorting: ×{fmt(f_sort, 2)}.** Chunks are packed close to the 200-token budget (median "
        f"{sorted(lengths)[len(lengths) // 2]} tokens), so sorting removes little padding "
        f"({fmt(padding(one, lengths, 32, False), 2)} → {fmt(padding(one, lengths, 32, True), 2)} tokens computed per "
        f"real token).",
        f"**Dynamic padding: ×{fmt(factor(('quire', 'sorted-32'), ('quire', 'padded-256')), 2)}** over padding "
        f"every batch to the 256-token window; Transformers.js pads to the longest too.",
        f"**Batch size:** batches of 1 ran at {fmt(b1, 2)}x and batches of 8 at {fmt(b8, 2)}x the rate of "
        f"batches of 32" + ("; in WASM the bigger batches did not pay for their padding." if b1 and b1 > 1.05 else "."),
        f"**One call for several documents** (not what `Library.add` does): ×"
        f"{fmt(ratio(rate('quire', 'one-call'), quire), 2)} over one call per document.",
        f"**Python in the loop:** at 1 thread and in document order Quire ran at {fmt(f_rest, 2)}x "
        f"Transformers.js; tokenizing in Python took {fmt(100 * res['quire']['tokenize']['seconds'] / res['quire']['app']['seconds'], 0)} "
        f"% of the browser run.",
    ]
    reading_md = "\n".join(f"- {line}" for line in reading)

    tok_b, app_b = res["quire"]["tokenize"]["seconds"], res["quire"]["app"]["seconds"]
    tok_c, app_c = res["cpython"]["tokenize"]["seconds"], res["cpython"]["app"]["seconds"]
    qv, pv, cv = res["quire"]["app"]["vectors"], res["tjs"]["app"]["vectors"], res["cpython"]["app"]["vectors"]
    qi, pi = infos["quire"], infos["tjs"]
    load = table(["engine", "start-up, seconds (not in the rates)"], [
        ["Quire in the browser", f"Pyodide + wheels {fmt(qi['runtimeSeconds'])}, model download "
                                 f"{fmt(qi['downloadSeconds'])}, onnxruntime-web session {fmt(qi['sessionSeconds'])}, "
                                 f"Python tokenizer and set-up {fmt(qi['setupSeconds'])}, first 8 chunks "
                                 f"{fmt(qi['warmUpSeconds'])}"],
        ["Transformers.js", f"`pipeline()` (config, tokenizer, model download, session) {fmt(pi['sessionSeconds'])}, "
                            f"first 8 chunks {fmt(pi['warmUpSeconds'])}"],
        ["CPython onnxruntime", f"session {fmt(m['cpython_load'])}"]], numbers=False)

    xq = [d for d in corpus.docs if d.set == "xquad"]
    mx = [d for d in corpus.docs if d.set == "mixed"]
    srt = sorted(lengths)
    v = versions()
    u = m["unchanged"]
    unchanged = (f"- **Skipping unchanged files.** `Library.add` keys a document by the sha256 of its bytes: "
                 f"adding `{u['name']}` ({u['chunks']} chunks) took {fmt(u['first'], 2)} s in CPython, adding it "
                 f"again {fmt(u['again'] * 1000, 2)} ms (\"{u['reason']}\"). It works per file: an edited file "
                 f"is embedded again whole (no per-chunk cache), so this is a note, not a rate.\n") if u else ""
    onnx_files = ", ".join(f"`{p}`" for p in pi.get("files", []) if p.endswith(".onnx"))

    body = f"""## Ingest throughput

Command: `{command()}` · {time.strftime('%Y-%m-%d %H:%M %Z')} · the part took {fmt(m['seconds'] / 60)} min

Machine: {machine()}

Versions: Chromium {v['chromium'].removeprefix('Chromium ')}; Pyodide {v['pyodide']}; onnxruntime-web
{v['onnxruntime-web']} for Quire (`ort.wasm.min.mjs`, threaded SIMD build); Transformers.js
{v['transformers.js']} with its own onnxruntime-web {v['transformers.js onnxruntime-web']} (asyncify build);
CPython {v['python']} with onnxruntime {v['onnxruntime']}; Quire {v['quire']}.

Input: {n_all} real chunks, `Chunk.embedding_text()` of `quire.documents.parse` + the library's `Chunker`
(200-token budget, 40 overlap): {sum(len(d.chunks) for d in xq)} from the {len(xq)} XQuAD dev articles
and {sum(len(d.chunks) for d in mx)} from {len(mx)} of the mixed set's files (which give
{corpus.total_chunks.get('mixed', 0)} chunks in all; the files are taken evenly spread over the set, each
with its first {corpus_mod.PER_DOC} chunks at most; `--limit-chunks` sets the cap). Tokens per chunk,
with specials: mean {fmt(sum(lengths) / n_all)}, median {srt[n_all // 2]}, max {srt[-1]}. Model:
{m['record']['name']}, `{m['record']['path']}{m['record']['file']}` ({m['record']['quantization']}), the
same file for all three engines.

{targets}

{headline}

{per_round}

All engines were loaded first; each then embedded 8 chunks untimed. One job ran at a time, the
engines taking turns ({ROUNDS} rounds of documents), and a rate is chunks over the time from texts in
to vectors out. The browser runs WASM only (headless, no GPU). Quire's `configureOrt` asks for
min(4, cores) = {tq} threads; onnxruntime-web's default, which Transformers.js keeps, is
ceil(cores / 2) = {tp}.

{load}

### Where the difference comes from

{len(sample)} chunks spread evenly over the input, embedded as {len(one)} lists (one per round, the
second round in reverse order); each row changes one thing from the first.

{techniques}

{shares}

What gets there, and what does not:

{reading_md}

More:

- **Tokenizing in Python** (`quire.tokenizers`, pure Python) took {fmt(tok_b)} s against {fmt(app_b)} s
  for the whole browser run ({fmt(tok_b / app_b * 100, 0)} %), and {fmt(tok_c)} s against {fmt(app_c)} s in
  CPython ({fmt(tok_c / app_c * 100, 0)} %). Transformers.js tokenizes in JavaScript.
{unchanged}- **Equal work.** Lowest cosine over {len(qv)} chunks spread over the input: Quire in the browser
  vs CPython {fmt(min_cosine(qv, cv), 4)}, Transformers.js vs CPython {fmt(min_cosine(pv, cv), 4)}, Quire vs
  Transformers.js {fmt(min_cosine(qv, pv), 4)}; Quire padded to 256 vs padded to the longest
  {fmt(padded_cos, 4)}. Transformers.js loaded {onnx_files} and mean-pools
  `last_hidden_state` itself (the session's outputs: {', '.join(pi.get('outputs') or ['?'])}; it fetches
  both); Quire fetches only the model's pooled, normalised `sentence_embedding`. Both pad a batch to
  its longest chunk and truncate at 256 tokens.
- **The machine is shared.** Processes outside this run used {fmt(busy_mean, 2)} cores on average
  while it measured (at most {fmt(busy_max, 2)} during one job; CPU time from /proc, out of
  {os.cpu_count()}). A second thread only helps while a core is free, so the thread factors move with
  that figure; single rates move by tens of percent between runs: compare ratios from the same round.
- Padding to 256 changes the vectors slightly (cosine above) because the int8 model quantizes its
  activations dynamically, with one scale per tensor: padded positions take part in that scale.
- Module workers take no import map, so the bench serves `transformers.web.min.js` with its two bare
  imports rewritten to the files `tests/browser/transformersjs.html` maps them to; nothing else
  changes.
"""
    terminal = "\n\n".join([targets, headline, per_round, load, techniques, shares, reading_md])
    return terminal, body
