"""The browser's Store and VectorIndex: web/idb-store.js and web/hnsw-index.js in a module worker in
Debian's Chromium (as the app runs them), and py/quire/backends/browser.py over them in Pyodide.

Each test gets its own Chromium profile; "restart" closes Chromium and opens the same profile again.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from quire.registry import load_index_params
from quire_build import ROOT
from quire_build.models import REGISTRY
from quire_build.serve import Background
from quire_build.toolchain import CHROMIUM_FLAGS, ensure_chromium, ensure_node_modules

# The page starts the worker and relays `run(code, args)`: the worker runs `code` as the body of an
# async function of (ctx, args) and posts back its result (structured-cloned) or its error.
PAGE = """<!doctype html><meta charset="utf-8"><title>storage test</title>
<script type="module">
const pending = new Map();
let next = 0;
window.workerErrors = [];
const worker = new Worker("./worker.mjs", { type: "module" });
worker.onerror = (e) => workerErrors.push(`${e.message} ${e.filename}:${e.lineno}`);
worker.onmessage = ({ data }) => {
  if (data.ready) { window.ready = true; return; }
  const call = pending.get(data.id);
  pending.delete(data.id);
  if ("error" in data) call.reject(new Error(data.error)); else call.resolve(data.value);
};
window.run = (code, args = null) => new Promise((resolve, reject) => {
  const id = next++;
  pending.set(id, { resolve, reject });
  worker.postMessage({ id, code, args });
});
</script>
"""

WORKER = """
import { IdbStore, requestPersistence, storageEstimate } from "/web/idb-store.js";
import { HnswIndex } from "/web/hnsw-index.js";
import { loadHnswlib } from "/hnswlib/hnswlib.js";

const AsyncFunction = (async () => {}).constructor;
const ctx = {
  IdbStore, HnswIndex, requestPersistence, storageEstimate,
  async store() { return (this._store ??= await IdbStore.open()); },
  async lib() { return (this._lib ??= await loadHnswlib("IDBFS")); },
  async index(dim, options) { return HnswIndex.load(await this.lib(), dim, options); },
  bytes: (text) => new TextEncoder().encode(text),
  text: (bytes) => (bytes === null ? null : new TextDecoder().decode(bytes)),
  async snapshot(store) {
    const out = {};
    for (const key of await store.keys()) out[key] = this.text(await store.get(key));
    return out;
  },
  search(index, vector, k) {
    const { labels, similarities } = index.search(Float32Array.from(vector), k);
    return [Array.from(labels), Array.from(similarities)];
  },
  random(n) {  // incompressible bytes (IndexedDB compresses values before it counts them)
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
    return out;
  },
  async fetchF32(url) { return new Float32Array(await (await fetch(url)).arrayBuffer()); },
};
self.onmessage = async ({ data: { id, code, args } }) => {
  try {
    self.postMessage({ id, value: await new AsyncFunction("ctx", "args", code)(ctx, args) });
  } catch (error) {
    self.postMessage({ id, error: `${error?.name || "Error"}: ${error?.message ?? error}` });
  }
};
self.postMessage({ ready: true });
"""

BEFORE = {"doc/a.json": "old a", "doc/b.json": "old b", "chunk/1": "old 1"}
WRITES = {"doc/a.json": "new a", "doc/c.json": "new c", "chunk/2": "new 2"}
DELETES = ["doc/b.json", "chunk/1"]
AFTER = {"doc/a.json": "new a", "doc/c.json": "new c", "chunk/2": "new 2"}
FULL = "storage is full: free space or remove documents (QuotaExceededError)"


def npm_package(name: str) -> Path:
    path = ensure_node_modules() / name
    assert path.exists(), f"npm package {name} is not installed, but package.json pins it"
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("storage-site")
    (root / "index.html").write_text(PAGE)
    (root / "worker.mjs").write_text(WORKER)
    # hnsw-index.js reads the index parameters from models/registry.json beside it, as in the site
    (root / "models").mkdir()
    (root / "models" / "registry.json").write_text(json.dumps({"index": load_index_params(REGISTRY).to_dict()}))
    mounts = {"/": root, "/web": ROOT / "web", "/web/models": root / "models",
              "/hnswlib": npm_package("hnswlib-wasm") / "dist",
              "/pyodide": npm_package("pyodide"), "/py": ROOT / "py"}
    with Background(mounts) as url:
        yield SimpleNamespace(root=root, url=url)


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


class Browser:
    """Chromium on one profile directory, the test page open and its worker ready."""

    def __init__(self, playwright, profile: Path, url: str):
        self.playwright, self.profile, self.url = playwright, profile, url
        self.errors: list[str] = []
        self.open()

    def open(self) -> None:
        self.context = self.playwright.chromium.launch_persistent_context(
            self.profile, executable_path=str(ensure_chromium()), headless=True, args=CHROMIUM_FLAGS)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.goto()

    def goto(self) -> None:
        self.page.goto(f"{self.url}/index.html")
        self.page.wait_for_function("window.ready === true || window.workerErrors.length", timeout=60_000)
        assert self.page.evaluate("workerErrors") == []

    def run(self, code: str, args=None):
        return self.page.evaluate("([code, args]) => run(code, args)", [code, args])

    def reload(self) -> None:
        """A page reload: the worker dies wherever it is, a new one starts."""
        self.page.reload()
        self.page.wait_for_function("window.ready === true", timeout=60_000)

    def restart(self) -> None:
        self.cdp = None
        self.context.close()
        self.open()

    def quota(self, size: int | None) -> None:
        """Overrides the origin's storage quota (None: back to normal), through the DevTools protocol.
        Chromium applies an override only if it comes before the origin's first use of storage."""
        # The override lasts as long as the DevTools session: keep it open.
        self.cdp = getattr(self, "cdp", None) or self.context.new_cdp_session(self.page)
        self.cdp.send("Storage.overrideQuotaForOrigin", {"origin": self.url, **({"quotaSize": size} if size else {})})

    def close(self) -> None:
        self.context.close()
        assert self.errors == []


@pytest.fixture
def browser(playwright, site, tmp_path):
    b = Browser(playwright, tmp_path / "profile", site.url)
    yield b
    b.close()


def snapshot(browser) -> dict:
    return browser.run("return ctx.snapshot(await ctx.store())")


def commit(browser, writes: dict, deletes=()) -> None:
    browser.run("""const s = await ctx.store();
                   await s.commit(new Map(Object.entries(args.w).map(([k, v]) => [k, ctx.bytes(v)])), args.d);""",
                {"w": writes, "d": list(deletes)})


# --- IdbStore --------------------------------------------------------------------------------------

def test_store_round_trip_keys_with_prefix_deletes_and_clear(browser):
    assert browser.run("const s = await ctx.store(); return [await s.get('doc/a.json'), await s.keys()]") == [None, []]
    commit(browser, BEFORE)
    assert snapshot(browser) == BEFORE
    assert browser.run("return (await ctx.store()).keys()") == ["chunk/1", "doc/a.json", "doc/b.json"]
    assert browser.run("return (await ctx.store()).keys('doc/')") == ["doc/a.json", "doc/b.json"]
    assert browser.run("return (await ctx.store()).keys('nope')") == []
    commit(browser, WRITES, DELETES)
    assert snapshot(browser) == AFTER
    commit(browser, {}, ["doc/never-there"])  # deleting a missing key is fine
    # Plain objects work as well as Maps; nested and odd keys coexist; bytes come back exactly.
    odd = {"a": "1", "a/b": "2", "a/b/c": "3", "sp ace%2F/ü": "4", "...": "5", "a0": "6"}
    browser.run("await (await ctx.store()).commit(Object.fromEntries(Object.entries(args).map(([k, v]) => [k, ctx.bytes(v)])))", odd)
    assert browser.run("return (await ctx.store()).keys('a/')") == ["a/b", "a/b/c"]
    assert browser.run("""const s = await ctx.store(); const all = new Uint8Array(256).map((_, i) => i);
                          await s.commit({bin: all.subarray(10, 20)});  // a view: only its bytes are stored
                          const back = await s.get('bin'); return [back.constructor.name, Array.from(back)]""") \
        == ["Uint8Array", list(range(10, 20))]
    browser.run("await (await ctx.store()).clear()")
    assert snapshot(browser) == {}


def test_store_commit_is_all_or_nothing(browser):
    commit(browser, BEFORE)
    # A value put() cannot take, after two good writes and before a delete: the batch aborts whole.
    error = browser.run("""const s = await ctx.store();
        try { await s.commit(new Map([['doc/a.json', ctx.bytes('x')], ['new', ctx.bytes('y')], ['bad', 'not bytes']]),
                             ['doc/b.json']); }
        catch (e) { return e.message; }""")
    assert error.startswith("storage failed (TypeError)")
    assert snapshot(browser) == BEFORE
    error = browser.run("try { await (await ctx.store()).commit({k: ctx.bytes('v')}, ['k']); } catch (e) { return e.message; }")
    assert error == "keys both written and deleted: k"
    assert snapshot(browser) == BEFORE


def test_store_survives_reloads_and_a_reload_mid_commit_leaves_all_or_nothing(browser):
    commit(browser, BEFORE)
    browser.reload()
    assert snapshot(browser) == BEFORE
    outcomes = []
    for delay_ms in (0, 0, 30, 100, 300):
        # 24 incompressible MiB and the index entry, in one batch; the page reloads while it commits.
        browser.run("""const s = await ctx.store();
            const writes = new Map([['library.json', ctx.bytes(String(args.round))]]);
            for (let i = 0; i < 24; i++) writes.set(`big/${args.round}/${i}`, ctx.random(1 << 20));
            ctx.pending = s.commit(writes, ['doc/b.json']);
            await new Promise((r) => setTimeout(r, args.delay));""", {"round": len(outcomes), "delay": delay_ms})
        browser.reload()
        state = browser.run("""const s = await ctx.store();
            return [await s.keys(`big/${args}/`), ctx.text(await s.get('library.json')), await s.get('doc/b.json')]""",
                            len(outcomes))
        done = len(state[0]) == 24
        assert state[0] in ([], [f"big/{len(outcomes)}/{i}" for i in sorted(range(24), key=str)]), state[0]
        assert (state[1] == str(len(outcomes))) == done and (state[2] is None) == (done or any(outcomes))
        outcomes.append(done)
    print(f"\ncommits interrupted by a reload that landed whole: {outcomes}")


def test_a_full_disk_rejects_the_commit_and_changes_nothing(browser):
    browser.quota(2_000_000)  # (Chromium applies it only if set before the origin first uses storage)
    commit(browser, BEFORE)
    error = browser.run("""const s = await ctx.store();
        try { await s.commit({'doc/a.json': ctx.bytes('x'), big: ctx.random(3_000_000)}, ['doc/b.json']); }
        catch (e) { return e.message; }""")
    assert error == FULL
    assert snapshot(browser) == BEFORE
    # The vector index: the sync into IndexedDB aborts, save() says so, and no tag survives it.
    # (IndexedDB compresses values, so random vectors: 2,000 x 384 floats make a ~3.2 MB file.)
    error = browser.run("""const ix = ctx.ix = await ctx.index(384, {M: 8, efConstruction: 20, saveTimeoutMs: 3000});
        ix.add(Int32Array.from({length: 2000}, (_, i) => i), new Float32Array(2000 * 384).map(() => Math.random() - 0.5));
        try { await ix.save('t1'); } catch (e) { return e.message; }""")
    assert error.startswith("storage is full or unavailable: the vector index was not saved")
    assert browser.run("return (await ctx.index(384, {M: 8, efConstruction: 20})).load()") is None
    browser.quota(None)
    assert browser.run("await (await ctx.store()).commit({big: ctx.random(3_000_000)}); return (await ctx.store()).keys()") \
        == ["big", *sorted(BEFORE)]
    browser.run("await ctx.ix.save('t2')")  # the stuck sync does not block the next one
    assert browser.run("const ix = await ctx.index(384, {M: 8, efConstruction: 20}); return [await ix.load(), ix.size]") \
        == ["t2", 2000]


def test_persistence_helpers(browser):
    assert browser.run("return typeof (await ctx.requestPersistence())") == "boolean"
    estimate = browser.run("return ctx.storageEstimate()")
    assert estimate["quota"] > 0 and estimate["usage"] >= 0


# --- HnswIndex -------------------------------------------------------------------------------------

def unit(rows) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


VECTORS = unit(np.random.default_rng(0).standard_normal((50, 8)))


def flat(rows) -> list[float]:
    return np.asarray(rows, dtype=np.float32).ravel().tolist()


def test_index_search_remove_re_add_and_update(browser):
    out = browser.run("""
        const v = Float32Array.from(args.v), row = (i) => v.subarray(i * 8, i * 8 + 8);
        const rows = (a, b) => v.slice(a * 8, b * 8);
        const out = {};
        let ix = await ctx.index(8);
        out.empty = [ctx.search(ix, row(0), 3), ix.size];
        ix.add([], new Float32Array(0));
        ix.add(Int32Array.from({length: 50}, (_, i) => 100 + i), v);
        out.top5 = ctx.search(ix, row(7), 5);
        out.size = ix.size;

        ix = await ctx.index(8);          // one at a time, from number arrays: capacity grows
        for (let i = 0; i < 50; i++) ix.add([i], Array.from(row(i)));
        out.grown = [ix.size, ctx.search(ix, row(49), 1)[0], ix._index.getMaxElements()];

        ix = await ctx.index(8);          // k beyond the live count and far above ef
        ix.add([1, 2, 3], rows(0, 3));
        ix.remove([2]);
        out.beyond = ctx.search(ix, row(0), 10)[0];
        ix.add(Int32Array.from({length: 47}, (_, i) => 10 + i), rows(3, 50));
        out.k200 = [ctx.search(ix, row(0), 200)[0].length, ix.size];

        ix = await ctx.index(8);          // unknown labels are ignored; removed ones come back
        ix.add([1, 2, 3], rows(0, 3));
        ix.remove([2, 99]);
        ix.remove([2]);
        out.removed = [ix.size, ctx.search(ix, row(1), 3)[0]];
        ix.add([2], rows(10, 11));
        out.back = [ix.size, ctx.search(ix, row(10), 1)];
        ix.remove([2]);
        out.gone = [ix.size, ctx.search(ix, row(10), 3)[0]];

        ix = await ctx.index(8);          // removed slots are reused without ghosts
        ix.add(Int32Array.from({length: 20}, (_, i) => i), rows(0, 20));
        ix.remove(Array.from({length: 10}, (_, i) => i));
        ix.add([5], rows(5, 6));
        ix.add(Int32Array.from({length: 9}, (_, i) => 100 + i), rows(20, 29));
        out.slots = ix._index.getCurrentCount();
        ix.remove([5]);
        out.noGhost = [ix.size, ctx.search(ix, row(5), ix.size)[0].sort((a, b) => a - b)];

        ix = await ctx.index(8);          // an update must not take a free slot; last row wins
        ix.add([1, 2], rows(0, 2));
        ix.remove([1]);
        ix.add([2, 2], rows(2, 4));
        out.update = [ctx.search(ix, row(3), 5), ctx.search(ix, row(1), 5)];

        ix = await ctx.index(8);          // at capacity: a removed label and a fresh one in one call
        ix.add([1, 2, 3, 4], rows(0, 4));
        ix.remove([4]);
        ix.add([4, 5], rows(4, 6));
        out.atCapacity = [ix.size, ix._index.getCurrentCount(), ctx.search(ix, row(5), 1)[0]];

        const errors = [];
        for (const bad of [() => ix.add([1, 2], rows(0, 3)), () => ix.add([-1], rows(0, 1)),
                           () => ix.add([1.5], rows(0, 1)), () => ix.search(new Float32Array(3), 1)]) {
          try { bad(); errors.push("no error"); } catch (e) { errors.push(e.name); }
        }
        out.errors = errors;
        out.alive = ctx.search(ix, row(0), 1)[0];
        return out;""", {"v": flat(VECTORS)})
    exact = VECTORS @ VECTORS[7]
    labels, sims = out["top5"]
    assert labels == [100 + i for i in np.argsort(-exact)[:5]]
    assert sims == pytest.approx(sorted(exact, reverse=True)[:5], abs=1e-5) and sims[0] == pytest.approx(1.0, abs=1e-5)
    assert out["empty"] == [[[], []], 0] and out["size"] == 50
    assert out["grown"][:2] == [50, [49]] and out["grown"][2] >= 50
    assert sorted(out["beyond"]) == [1, 3]
    assert out["k200"] == [49, 49]
    assert out["removed"][0] == 2 and 2 not in out["removed"][1]
    assert out["back"][0] == 3 and out["back"][1][0] == [2] and out["back"][1][1] == [pytest.approx(1.0, abs=1e-5)]
    assert out["gone"][0] == 2 and 2 not in out["gone"][1]
    assert out["slots"] == 20
    assert out["noGhost"] == [19, sorted([*range(10, 20), *range(100, 109)])]
    (l3, s3), (l1, s1) = out["update"]
    assert l3 == [2] and s3 == [pytest.approx(1.0, abs=1e-5)]
    assert l1 == [2] and s1 == [pytest.approx(float(VECTORS[1] @ VECTORS[3]), abs=1e-5)]
    assert out["atCapacity"] == [5, 5, [5]]
    assert out["errors"] == ["RangeError"] * 4 and out["alive"] == [1]


def test_index_load_returns_null_when_missing_mismatched_or_torn(browser):
    args = {"v": flat(VECTORS)}
    assert browser.run("return (await ctx.index(8)).load()") is None
    browser.run("""const ix = await ctx.index(8);
                   ix.add(Int32Array.from({length: 50}, (_, i) => i), Float32Array.from(args.v));
                   ix.remove([3, 4]);
                   await ix.save('t1');""", args)
    assert browser.run("""const out = [];
        for (const [dim, opts] of [[8, {M: 8}], [8, {efConstruction: 100}], [16, {}], [8, {ef: 10}], [8, {}]]) {
          const ix = await ctx.index(dim, opts);
          out.push([await ix.load(), ix.size]);
        }
        return out""") == [[None, 0], [None, 0], [None, 0], ["t1", 48], ["t1", 48]]
    # A save cut short after the index file but before its sidecar: no tag.
    browser.run("await (await ctx.IdbStore.open('quire-vectors')).commit({}, ['quire-vectors.hnsw'])")
    assert browser.run("return (await ctx.index(8)).load()") is None
    # A torn index file under an intact sidecar (same timestamp): readIndex fails, hnswlib lives on.
    browser.run("""const ix = await ctx.index(8);
                   ix.add(Int32Array.from({length: 50}, (_, i) => i), Float32Array.from(args.v));
                   await ix.save('t2');
                   const db = await new Promise((r) => { const q = indexedDB.open('/hnswlib-index'); q.onsuccess = () => r(q.result); });
                   const tx = db.transaction('FILE_DATA', 'readwrite'), files = tx.objectStore('FILE_DATA');
                   const key = '/hnswlib-index/quire-vectors.hnsw';
                   files.get(key).onsuccess = (e) => files.put({...e.target.result, contents: e.target.result.contents.slice(0, 1000)}, key);
                   await new Promise((r) => { tx.oncomplete = r; });
                   db.close();""", args)
    browser.restart()  # hnswlib-wasm reads IndexedDB into its memory file system at start
    assert browser.run("""const ix = await ctx.index(8);
        const tag = await ix.load();
        ix.add([1, 2], Float32Array.from(args.v.slice(0, 16)));
        return [tag, ix.size, ctx.search(ix, args.v.slice(8, 16), 1)[0]]""", args) == [None, 2, [2]]


def test_index_parameters_are_the_registry_s_unless_given(browser):
    params = load_index_params(REGISTRY)
    assert browser.run("""const a = await ctx.index(8), b = await ctx.index(8, {M: 5, ef: 11});
                          return [a.params, a.ef, b.params, b.ef]""") == [
        {"space": "cosine", "dim": 8, "M": params.M, "ef_construction": params.ef_construction}, params.ef,
        {"space": "cosine", "dim": 8, "M": 5, "ef_construction": params.ef_construction}, 11]


def sentences_and_windows() -> tuple[list[str], list[str]]:
    """XQuAD's English sentences plus overlapping 12-word windows of its paragraphs; and its questions."""
    from test_vector_index import XQUAD

    data = json.loads(XQUAD.read_text())
    paragraphs = [p for article in data["data"] for p in article["paragraphs"]]
    corpus = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p["context"].strip())]
    for p in paragraphs:
        words = p["context"].split()
        corpus += [" ".join(words[i : i + 12]) for i in range(0, max(1, len(words) - 6), 6)]
    return corpus, [qa["question"] for p in paragraphs for qa in p["qas"]]


@pytest.fixture(scope="module")
def embedded(built_models, site):
    """Real sentence embeddings (CPython onnxruntime), served to the worker as raw float32 files."""
    from test_vector_index import embed

    corpus, questions = sentences_and_windows()
    folder = built_models["all-minilm-l6-v2"]
    vectors, queries = embed(folder, corpus), embed(folder, questions)
    (site.root / "corpus.f32").write_bytes(vectors.astype(np.float32).tobytes())
    (site.root / "queries.f32").write_bytes(queries.astype(np.float32).tobytes())
    return vectors, queries


def test_recall_and_persistence_on_real_embeddings(browser, embedded):
    corpus, queries = embedded
    n, dim = corpus.shape
    removed = list(range(0, n, 10))
    built = browser.run("""
        const corpus = await ctx.fetchF32('/corpus.f32'), queries = await ctx.fetchF32('/queries.f32');
        const dim = args.dim, n = corpus.length / dim, q = queries.length / dim;
        const ix = ctx.ix = await ctx.index(dim);
        let t = performance.now();
        for (let at = 0; at < n; at += 500) {
          const end = Math.min(n, at + 500);
          ix.add(Int32Array.from({length: end - at}, (_, i) => at + i), corpus.subarray(at * dim, end * dim));
        }
        const addMs = performance.now() - t;
        const top = (count) => {
          const out = [];
          for (let i = 0; i < count; i++) out.push(Array.from(ix.search(queries.subarray(i * dim, (i + 1) * dim), 10).labels));
          return out;
        };
        t = performance.now();
        const recall = top(q);
        const searchMs = (performance.now() - t) / q;
        ix.remove(args.removed);
        const after = [];
        for (let i = 0; i < 50; i++) {
          const r = ix.search(queries.subarray(i * dim, (i + 1) * dim), 10);
          after.push([Array.from(r.labels), Array.from(r.similarities)]);
        }
        t = performance.now();
        await ix.save('library-v7');
        const saveMs = performance.now() - t;
        return {recall, after, addMs, searchMs, saveMs, slots: ix._index.getCurrentCount()};""",
                        {"dim": dim, "removed": removed})

    exact = np.argsort(-(queries @ corpus.T), axis=1)[:, :10]
    recall = np.mean([len(set(got) & set(truth.tolist())) / 10 for got, truth in zip(built["recall"], exact)])
    assert recall >= 0.99

    browser.restart()
    t = time.perf_counter()
    loaded = browser.run("""
        const queries = await ctx.fetchF32('/queries.f32'), dim = args.dim;
        let t = performance.now();
        const lib = await ctx.lib();
        const libMs = performance.now() - t;
        t = performance.now();
        const ix = await ctx.index(dim);
        const tag = await ix.load();
        const loadMs = performance.now() - t;
        const after = [];
        for (let i = 0; i < 50; i++) {
          const r = ix.search(queries.subarray(i * dim, (i + 1) * dim), 10);
          after.push([Array.from(r.labels), Array.from(r.similarities)]);
        }
        // Removed labels come back, and new labels take removed slots, after a load too.
        const size = ix.size;
        const corpus = await ctx.fetchF32('/corpus.f32');
        ix.add([0, args.n + 7], corpus.slice(0, 2 * dim));
        return {tag, size, after, libMs, loadMs, sizeAfter: ix.size, slots: ix._index.getCurrentCount(),
                back: Array.from(ix.search(corpus.subarray(0, dim), 5).labels)};""", {"dim": dim, "n": n})
    wall = time.perf_counter() - t
    assert loaded["tag"] == "library-v7" and loaded["size"] == n - len(removed)
    assert loaded["after"] == built["after"]
    assert not {label for labels, _ in loaded["after"] for label in labels} & set(removed)
    assert loaded["sizeAfter"] == n - len(removed) + 2 and loaded["slots"] == built["slots"] == n
    assert 0 in loaded["back"]
    print(f"\nHnswIndex (hnswlib-wasm) on {n} x {dim} real embeddings: recall@10 {recall:.4f} over {len(queries)} "
          f"questions; add {built['addMs'] / n:.2f} ms/vector ({built['addMs'] / 1000:.1f} s), search "
          f"{built['searchMs']:.2f} ms/query, save {built['saveMs']:.0f} ms; after a restart: hnswlib-wasm "
          f"{loaded['libMs']:.0f} ms, load {loaded['loadMs']:.0f} ms (wall {wall:.1f} s)")


# --- py/quire/backends/browser.py in Pyodide -------------------------------------------------------

PYODIDE_CHECK = r'''
import json, os, time
from quire.backends.browser import BrowserEmbedder, BrowserGenerator, BrowserIndex, BrowserStore

def check(js_store, js_index, js_embedder, js_generator, js_big):
    out = {}
    store = BrowserStore(js_store)
    out["empty"] = [store.get("doc/a.json"), store.keys()]
    store.commit({"doc/a.json": b"old a", "doc/b.json": b"old b", "chunk/1": b"\x00\xff" * 3})
    store.commit({"doc/a.json": b"new a", "doc/c.json": b"new c"}, ["doc/b.json"])
    out["after"] = {k: store.get(k).hex() for k in store.keys()}
    out["prefix"] = store.keys("doc/")
    errors = []
    for bad in (lambda: store.commit({"../up": b"x"}), lambda: store.get("a//b"),
                lambda: store.commit({"k": b"v"}, ["k"])):
        try:
            bad()
            errors.append("no error")
        except ValueError:
            errors.append("ValueError")
    out["errors"] = errors
    try:  # the worker set a 2 MB quota for this
        store.commit({"doc/a.json": b"x", "big": os.urandom(3_000_000)})
        out["full"] = "no error"
    except OSError as err:
        out["full"] = str(err)
    out["unchanged"] = store.keys()
    t = time.perf_counter()
    for _ in range(100):
        store.get("doc/a.json")
    out["get_ms"] = (time.perf_counter() - t) * 10

    index = BrowserIndex(js_index)
    rows = [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0.6, 0.8, 0, 0]]
    index.add([10, 11, 12, 13], rows)
    out["search"] = index.search([1.0, 0.1, 0, 0], 3)
    index.remove([10])
    out["removed"] = [len(index), index.search([1.0, 0.1, 0, 0], 10)]
    try:
        index.add([1, 2], rows[:1])
        out["shape"] = "no error"
    except ValueError:
        out["shape"] = "ValueError"
    index.save("state-3")
    out["load"] = index.load()
    big = BrowserIndex(js_big)
    from array import array
    import random
    random.seed(0)
    vecs = [array("f", [random.random() - 0.5 for _ in range(384)]) for _ in range(500)]
    t = time.perf_counter()
    big.add(list(range(500)), vecs)
    out["add500_ms"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    for v in vecs[:200]:
        hits = big.search(v, 10)
    out["search384_ms"] = (time.perf_counter() - t) * 1000 / 200
    out["self_hit"] = big.search(vecs[7], 1)[0][0]

    embedder = BrowserEmbedder(js_embedder, 4)
    out["embed"] = embedder.embed([[101, 7, 102], [101, 102]])
    out["embed_empty"] = embedder.embed([])

    generator = BrowserGenerator(js_generator, 2048)
    generator.reset()
    out["step1"] = generator.step([5, 6, 7], 3)
    out["step2"] = generator.step([8, 9], 2, positions=2)
    generator.discard(1)
    out["discarded"] = list(js_generator.discarded)
    out["context"] = generator.context
    return json.dumps(out)
'''


def test_python_wrappers_in_pyodide(browser):
    t = time.perf_counter()
    browser.run("""
        const { loadPyodide } = await import('/pyodide/pyodide.mjs');
        const py = ctx.py = await loadPyodide({ indexURL: '/pyodide/' });
        for (const file of ['quire/__init__.py', 'quire/backends/__init__.py', 'quire/backends/browser.py']) {
          py.FS.mkdirTree('/src/' + file.split('/').slice(0, -1).join('/'));
          py.FS.writeFile('/src/' + file, await (await fetch('/py/' + file)).text());
        }
        py.runPython("import sys; sys.path.insert(0, '/src')");
        py.runPython(args);""", PYODIDE_CHECK)
    start = time.perf_counter() - t
    browser.quota(2_000_000)
    out = json.loads(browser.run("""
        const { Embedder } = await import('/web/onnx-bridge.js');
        // onnx-bridge's real Embedder over a stand-in session: each row is [length, sum of ids, row, 1].
        class Tensor { constructor(type, data, dims) { Object.assign(this, { type, data, dims }); } }
        const session = {
          inputNames: ['input_ids', 'attention_mask'],
          async run(feeds) {
            const [rows, width] = feeds.input_ids.dims, out = new Float32Array(rows * 4);
            for (let r = 0; r < rows; r++) {
              let length = 0, sum = 0;
              for (let c = 0; c < width; c++) { length += Number(feeds.attention_mask.data[r * width + c]); sum += Number(feeds.input_ids.data[r * width + c]); }
              out.set([length, sum, r, 1], r * 4);
            }
            return { sentence_embedding: { data: out } };
          },
        };
        const generator = {
          resets: 0,
          reset() { this.resets++; },
          discarded: [],
          discard(count) { this.discarded.push(count); },
          async step(ids, topK, positions) {   // candidates for row p: id*10 + j, logit -j - p/10
            const out = { ids: new Int32Array(positions * topK), logits: new Float32Array(positions * topK) };
            for (let p = 0; p < positions; p++) for (let j = 0; j < topK; j++) {
              out.ids[p * topK + j] = ids[ids.length - positions + p] * 10 + j;
              out.logits[p * topK + j] = -j - p / 10;
            }
            return out;
          },
        };
        const check = ctx.py.globals.get('check');
        return await check.callPromising(await ctx.store(), await ctx.index(4), new Embedder({ Tensor }, session),
                                         generator, await ctx.index(384, { file: 'big.hnsw' }));"""))
    browser.quota(None)
    assert out["empty"] == [None, []]
    assert out["after"] == {"chunk/1": "00ff00ff00ff", "doc/a.json": b"new a".hex(), "doc/c.json": b"new c".hex()}
    assert out["prefix"] == ["doc/a.json", "doc/c.json"]
    assert out["errors"] == ["ValueError"] * 3
    assert out["full"] == f"saving the library: {FULL}"
    assert out["unchanged"] == ["chunk/1", "doc/a.json", "doc/c.json"]
    assert [label for label, _ in out["search"]] == [10, 13, 11]
    assert [s for _, s in out["search"]] == pytest.approx(np.array([1, 0.68, 0.1]) / np.hypot(1, 0.1), abs=1e-5)
    assert out["removed"][0] == 3 and [label for label, _ in out["removed"][1]] == [13, 11, 12]
    assert out["shape"] == "ValueError" and out["load"] == "state-3" and out["self_hit"] == 7
    assert out["embed"] == [[3, 210, 0, 1], [2, 203, 1, 1]] and out["embed_empty"] == []
    assert out["step1"] == [[[70, 0.0], [71, -1.0], [72, -2.0]]]
    assert out["step2"] == [[[80, pytest.approx(0.0)], [81, pytest.approx(-1.0)]],
                            [[90, pytest.approx(-0.1)], [91, pytest.approx(-1.1)]]]
    assert out["context"] == 2048 and out["discarded"] == [1]
    print(f"\nPyodide start {start:.1f} s; BrowserStore.get {out['get_ms']:.2f} ms (run_sync); BrowserIndex 384-d: "
          f"add 500 {out['add500_ms']:.0f} ms, search k=10 {out['search384_ms']:.2f} ms")


def test_browser_module_imports_in_cpython_and_checks_before_calling_js():
    from quire.backends.browser import BrowserIndex, BrowserStore

    js = SimpleNamespace(get=lambda key: None, dim=4)
    for key in ["", "/abs", "a//b", "../up", "a\\b"]:
        with pytest.raises(ValueError):
            BrowserStore(js).get(key)
    with pytest.raises(ValueError):
        BrowserStore(js).commit({"k": b"v"}, ["k"])
    with pytest.raises(ValueError):
        BrowserIndex(js).add([1, 2], [[0.0] * 4])
    with pytest.raises(ImportError):  # pyodide exists only in Pyodide
        BrowserStore(js).get("k")
