"""Browser backends: the protocols over the worker's JavaScript objects, called through Pyodide.

The JS side (web/idb-store.js, web/hnsw-index.js, web/onnx-bridge.js) is asynchronous; the core
calls the protocols synchronously. `run_sync` bridges the two by suspending the WebAssembly stack
(JSPI), which works only when the Python code was entered through `callPromising`.

Data crosses as typed arrays, never as per-element proxies: `to_js(array(...))` copies a Python
array into a TypedArray in one go, and `to_bytes()` copies one back.

This module imports in CPython (pyodide is imported inside the functions) so tests can check it,
but it only works in Pyodide.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

Vector = Sequence[float]


def _wait(promise: Any, what: str) -> Any:
    """Runs a JS promise to completion; a JS error becomes an OSError (storage, like the file backends)."""
    from pyodide.ffi import JsException, run_sync

    try:
        return run_sync(promise)
    except JsException as err:
        raise OSError(f"{what}: {_message(err)}") from err


def _message(err: Exception) -> str:
    # A JsException reads "Error: message"; keep the message.
    text = str(err)
    return text.split(": ", 1)[1] if text.startswith(("Error: ", "RangeError: ", "TypeError: ")) else text


def read_file(file: Any) -> bytes:
    """A JS File's bytes (OSError when the browser cannot read it, e.g. it changed on disk since it was picked)."""
    return _wait(file.arrayBuffer(), "reading the file").to_bytes()


def _absent(value: Any) -> bool:
    """JS null or undefined (Pyodide maps undefined to None and null to `jsnull`)."""
    from pyodide.ffi import jsnull

    return value is None or value is jsnull


def _floats(values: Vector) -> array:
    return values if isinstance(values, array) and values.typecode == "f" else array("f", values)


def _copy(typed_array: Any, typecode: str) -> array:
    """A JS TypedArray as a Python array, in one copy."""
    out = array(typecode)
    out.frombytes(typed_array.to_bytes())
    return out


def _check_key(key: str) -> None:
    # The same rule as FileStore, so a library that works here works in CPython and back.
    if not isinstance(key, str) or "\\" in key or any(s in ("", ".", "..") for s in key.split("/")):
        raise ValueError(f"invalid store key {key!r}: want relative 'a/b' segments, no '..' or backslashes")


class BrowserStore:
    """The Store protocol over an `IdbStore` (web/idb-store.js): each commit is one IndexedDB transaction."""

    def __init__(self, js_store: Any):
        self.js = js_store

    def get(self, key: str) -> bytes | None:
        _check_key(key)
        value = _wait(self.js.get(key), f"reading {key}")
        return None if _absent(value) else value.to_bytes()

    def commit(self, writes: dict[str, bytes], deletes: Sequence[str] = ()) -> None:
        for key in [*writes, *deletes]:  # every key before touching storage
            _check_key(key)
        if set(writes) & set(deletes):
            raise ValueError(f"keys both written and deleted: {sorted(set(writes) & set(deletes))}")
        if not writes and not deletes:
            return
        from pyodide.ffi import to_js

        # to_js: dict -> Map, bytes -> Uint8Array (a copy), list -> Array.
        blobs = to_js({key: bytes(blob) for key, blob in writes.items()})
        _wait(self.js.commit(blobs, to_js(list(deletes))), "saving the library")

    def keys(self, prefix: str = "") -> list[str]:
        # IndexedDB orders keys by UTF-16 code units; sort by code points like FileStore.
        return sorted(_wait(self.js.keys(prefix), "listing the library").to_py())

    def clear(self) -> None:
        _wait(self.js.clear(), "clearing the library")


class BrowserIndex:
    """The VectorIndex protocol over an `HnswIndex` (web/hnsw-index.js). add, remove and search are
    synchronous in JS; save and load wait on IndexedDB."""

    def __init__(self, js_index: Any):
        self.js = js_index
        self.dim = int(js_index.dim)

    def __len__(self) -> int:
        return int(self.js.size)

    def add(self, labels: list[int], vectors: Sequence[Vector]) -> None:
        if not labels:
            return
        flat = array("f")
        for v in vectors:
            flat.extend(_floats(v))
        if len(flat) != len(labels) * self.dim:
            raise ValueError(f"expected {len(labels)} vectors of {self.dim} floats, got {len(flat)} floats")
        from pyodide.ffi import to_js

        self.js.add(to_js(array("i", labels)), to_js(flat))

    def remove(self, labels: list[int]) -> None:
        from pyodide.ffi import to_js

        if labels:
            self.js.remove(to_js(array("i", labels)))

    def search(self, vector: Vector, k: int) -> list[tuple[int, float]]:
        from pyodide.ffi import to_js

        if k <= 0 or len(self) == 0:
            return []
        found = self.js.search(to_js(_floats(vector)), k)
        return list(zip(_copy(found.labels, "i").tolist(), _copy(found.similarities, "f").tolist()))

    def save(self, tag: str) -> None:
        _wait(self.js.save(tag), "saving the vector index")

    def load(self) -> str | None:
        tag = _wait(self.js.load(), "loading the vector index")
        return None if _absent(tag) else str(tag)


class BrowserEmbedder:
    """The Embedder protocol over onnx-bridge.js `Embedder`: `embed(batch)` takes an Array of token id
    arrays and resolves to one flat Float32Array of len(batch) x dims, L2-normalised rows."""

    # One text per call: in onnxruntime-web (WASM, 2 threads) batches of 1 ran 1.27x, batches of 8
    # 1.13x, the rate of length-sorted batches of 32; padding costs more than a call.
    batch_size = 1

    def __init__(self, js_embedder: Any, dims: int):
        self.js = js_embedder
        self.dims = dims

    def embed(self, batch: list[list[int]]) -> list[list[float]]:
        from pyodide.ffi import run_sync, to_js

        if not batch:
            return []
        flat = _copy(run_sync(self.js.embed(to_js([array("i", ids) for ids in batch]))), "f")
        if len(flat) != len(batch) * self.dims:
            raise ValueError(f"the embedder returned {len(flat)} floats for {len(batch)} x {self.dims}")
        d = self.dims
        return [flat[i : i + d].tolist() for i in range(0, len(flat), d)]


class BrowserGenerator:
    """The Generator protocol over a JS object with

        step(ids: Int32Array, topK: number, positions: number)
            -> Promise<{ids: Int32Array, logits: Float32Array}>   (or that object itself)
        reset()                                                   (may return a promise)
        discard(count)                                            (may return a promise)

    `step` appends `ids` to the model's KV cache and returns, for each of the last `positions` of
    them, the `topK` best next tokens and their logits, best first: `positions` rows of `topK`,
    row-major (a row may be shorter only if the vocabulary is smaller than `topK`).
    """

    def __init__(self, js_generator: Any, context: int):
        self.js = js_generator
        self.context = context

    def reset(self) -> None:
        _settle(self.js.reset())

    def discard(self, count: int) -> None:
        _settle(self.js.discard(count))

    def step(self, ids: list[int], top_k: int, positions: int = 1) -> list[list[tuple[int, float]]]:
        from pyodide.ffi import to_js

        out = _settle(self.js.step(to_js(array("i", ids)), top_k, positions))
        tokens, logits = _copy(out.ids, "i").tolist(), _copy(out.logits, "f").tolist()
        if len(tokens) != len(logits) or len(tokens) % positions:
            raise ValueError(f"generator step returned {len(tokens)} ids and {len(logits)} logits for {positions} rows")
        width = len(tokens) // positions
        return [list(zip(tokens[r * width : (r + 1) * width], logits[r * width : (r + 1) * width]))
                for r in range(positions)]


def _settle(value: Any) -> Any:
    """The value, or what it resolves to if it is a promise."""
    from pyodide.ffi import run_sync

    return run_sync(value) if hasattr(value, "then") else value
