"""CPython backends: onnxruntime sessions over the model folders that `build.py models` writes,
an hnswlib vector index and a crash-safe file store.

numpy is fine here: this module never loads in the browser.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, unquote

import hnswlib
import numpy as np
import onnxruntime as ort


def _session(path: Path, threads: int | None = None) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    # Fold weight-only int8 weights into fp32 once at load instead of on every call (see onnx-bridge.js).
    opts.add_session_config_entry("session.disable_quant_qdq", "1")
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxEmbedder:
    """Sentence embeddings from a model exported with a pooled `sentence_embedding` output."""

    # Length-sorted batches of 8 ran 1.3x the rate of batches of 32 (less padding) and 1.08x that of
    # batches of 1 (fewer calls), on XQuAD paragraphs.
    batch_size = 8

    def __init__(self, model_dir: str | Path, file: str = "onnx/model_quantized.onnx", threads: int | None = None):
        self.session = _session(Path(model_dir) / file, threads)
        self.inputs = {i.name for i in self.session.get_inputs()}

    def embed(self, batch: list[list[int]]) -> np.ndarray:
        """Token id lists (with specials) -> L2-normalised vectors, one row each; pads to the longest."""
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        return self.session.run(["sentence_embedding"], feeds)[0]


class OnnxGenerator:
    """A decoder with a KV cache: `forward` appends tokens and returns their logits."""

    def __init__(self, model_dir: str | Path, file: str = "onnx/model_quantized.onnx", threads: int | None = None):
        model_dir = Path(model_dir)
        config = json.loads((model_dir / "config.json").read_text())
        self.layers = config["num_hidden_layers"]
        self.context = config["max_position_embeddings"]
        self.kv_heads = config["num_key_value_heads"]
        self.head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
        eos = json.loads((model_dir / "generation_config.json").read_text())["eos_token_id"]
        self.stop_ids = set(eos if isinstance(eos, list) else [eos])
        self.session = _session(model_dir / file, threads)
        # Our exports take it; onnx-community decoders may not, and then give every row.
        self.can_keep = "num_logits_to_keep" in {i.name for i in self.session.get_inputs()}
        self.past_names = [f"past_key_values.{i}.{kv}" for i in range(self.layers) for kv in ("key", "value")]
        self.output_names = ["logits"] + [f"present.{i}.{kv}" for i in range(self.layers) for kv in ("key", "value")]
        self.reset()

    def reset(self) -> None:
        empty = np.zeros((1, self.kv_heads, 0, self.head_dim), dtype=np.float32)
        self.past = [empty] * len(self.past_names)
        self.length = 0

    def forward(self, ids: list[int], keep: int = 0) -> np.ndarray:
        """Logits for the last `keep` of `ids` (0: all; shape [rows, vocab]), extending the cache by them."""
        n = len(ids)
        feeds = {
            "input_ids": np.asarray([ids], dtype=np.int64),
            "attention_mask": np.ones((1, self.length + n), dtype=np.int64),
            "position_ids": np.arange(self.length, self.length + n, dtype=np.int64)[None],
        }
        if self.can_keep:
            feeds["num_logits_to_keep"] = np.asarray(keep, dtype=np.int64)
        feeds.update(zip(self.past_names, self.past))
        logits, *self.past = self.session.run(self.output_names, feeds)
        self.length += n
        return logits[0][-keep:] if keep else logits[0]

    def discard(self, count: int) -> None:
        self.length -= count
        self.past = [np.ascontiguousarray(p[:, :, : self.length]) for p in self.past]

    def step(self, ids: list[int], top_k: int, positions: int = 1) -> list[list[tuple[int, float]]]:
        """The Generator protocol: `forward`, keeping the `top_k` candidates of the last `positions` rows."""
        logits = self.forward(ids, positions)
        top = np.argpartition(-logits, top_k - 1, axis=1)[:, :top_k]
        out = []
        for row, cand in zip(logits, top):
            cand = cand[np.argsort(-row[cand], kind="stable")]
            out.append(list(zip(cand.tolist(), row[cand].tolist())))
        return out


def _fsync(path: Path) -> None:
    """Flush a file's bytes, or a directory's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _replace(src: Path, dst: Path) -> None:
    """Move a flushed file into place: the rename is atomic, the directory fsync makes it survive power loss."""
    os.replace(src, dst)
    _fsync(dst.parent)


class HnswIndex:
    """The VectorIndex protocol over hnswlib's cosine space.

    hnswlib cannot unlink a node, so `remove` only marks it deleted; new labels then take over
    deleted slots (`replace_deleted`), which keeps churn from growing the index.
    `save` writes `path` and a JSON sidecar (`path` + ".json") holding the tag, the build
    parameters, the live count and the removed labels still in the graph.
    """

    def __init__(self, dim: int, path: str | Path | None = None, *, M: int, ef_construction: int, ef: int):
        """M, ef_construction and ef: the registry's [index] table (quire.registry.load_index_params)."""
        self.dim = dim
        self.path = Path(path) if path is not None else None
        self.params = {"space": "cosine", "dim": dim, "M": M, "ef_construction": ef_construction}
        self.ef = ef
        self._index = hnswlib.Index(space="cosine", dim=dim)
        self._index.init_index(max_elements=0, M=M, ef_construction=ef_construction, allow_replace_deleted=True)
        self._live: set[int] = set()

    def __len__(self) -> int:
        return len(self._live)

    def add(self, labels: list[int], vectors: Sequence[Sequence[float]]) -> None:
        """Insert vectors; a label already present (live or removed) gets its vector replaced."""
        if not labels:
            return
        data = np.asarray(vectors, dtype=np.float32)
        if data.shape != (len(labels), self.dim):
            raise ValueError(f"expected {len(labels)} vectors of {self.dim} floats, got shape {data.shape}")
        # The last row of a repeated label wins, as if added one call at a time.
        rows = dict(zip(labels, range(len(labels))))
        present, fresh = [], []
        for label in rows:
            (present if label in self._live or self._revive(label) else fresh).append(label)
        # Fresh labels fill the slots of removed ones first; only the rest need new slots.
        slots = self._index.get_current_count()
        free = slots - len(self._live | set(present))
        needed = slots + max(0, len(fresh) - free)
        if needed > self._index.get_max_elements():
            # Doubling keeps the copies resize_index makes amortised O(1) per vector.
            self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
        # Only fresh labels may take a deleted slot: one still in the graph would be left behind under
        # its old slot, and a later reuse of that slot would unhook the label from its new one.
        for group, replace in ((present, False), (fresh, True)):
            if group:
                self._index.add_items(data[[rows[label] for label in group]], group, replace_deleted=replace)
        self._live.update(rows)

    def _revive(self, label: int) -> bool:
        """Unmark `label` if it is a removed node still in the graph; False when it is not there at all."""
        try:
            self._index.unmark_deleted(label)
        except RuntimeError:  # never added, or its slot has since gone to another label
            return False
        return True

    def remove(self, labels: list[int]) -> None:
        for label in set(labels) & self._live:
            self._index.mark_deleted(label)
            self._live.discard(label)

    def search(self, vector: Sequence[float], k: int) -> list[tuple[int, float]]:
        # hnswlib raises rather than return fewer than k, or when ef < k: ask only for what exists.
        k = min(k, len(self._live))
        if k <= 0:
            return []
        self._index.set_ef(max(self.ef, k))
        labels, distances = self._index.knn_query(np.asarray(vector, dtype=np.float32), k=k)
        return [(label, 1.0 - distance) for label, distance in zip(labels[0].tolist(), distances[0].tolist())]

    def _files(self) -> tuple[Path, Path]:
        """The index file and its sidecar."""
        if self.path is None:
            raise ValueError("this HnswIndex has no path to save to or load from")
        return self.path, self.path.with_name(self.path.name + ".json")

    def save(self, tag: str) -> None:
        path, sidecar = self._files()
        meta = {
            "tag": tag,
            "params": self.params,
            "count": len(self._live),
            "removed": sorted(set(self._index.get_ids_list()) - self._live),
        }
        # Drop the old sidecar first: a crash below then leaves no tag, never an old tag on a new index.
        sidecar.unlink(missing_ok=True)
        _fsync(path.parent)
        tmp = path.with_name(path.name + ".tmp")
        self._index.save_index(str(tmp))
        _fsync(tmp)
        _replace(tmp, path)
        tmp = sidecar.with_name(sidecar.name + ".tmp")
        _write_synced(tmp, json.dumps(meta).encode())
        _replace(tmp, sidecar)

    def load(self) -> str | None:
        path, sidecar = self._files()
        try:
            meta = json.loads(sidecar.read_text())
            if meta["params"] != self.params:
                return None
            index = hnswlib.Index(space="cosine", dim=self.dim)
            # allow_replace_deleted is not stored in the file; without it removed slots are never reused.
            index.load_index(str(path), allow_replace_deleted=True)
            live = set(index.get_ids_list()) - set(meta["removed"])
            if len(live) != meta["count"]:
                return None
            tag = meta["tag"]
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):  # missing, torn or foreign files
            return None
        self._index, self._live = index, live
        return tag


class FileStore:
    """The Store protocol on a directory, each batch atomic even if the process dies mid-commit.

    Layout: `data/` holds one file per key (the key percent-quoted into a flat name, so "a" and
    "a/b" can coexist), `staging/` holds a batch's new blobs, `journal.json` lists its moves and deletes.
    A commit stages and fsyncs every new blob, then renames the journal into place: that rename is
    the commit point. It then applies the journal (rename each blob into `data/`, unlink deletes)
    and removes it. Opening the store replays a journal left by a crash (each step is idempotent)
    and discards staged blobs no journal refers to, so a batch is all there or absent.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.data = self.root / "data"
        self.staging = self.root / "staging"
        self.journal = self.root / "journal.json"
        self.data.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(exist_ok=True)
        self._recover()

    def _recover(self) -> None:
        """Finish a committed batch a crash (or a failed commit) left half-applied; drop uncommitted blobs."""
        if self.journal.exists():
            self._apply(json.loads(self.journal.read_text()))
        for leftover in [*self.staging.iterdir(), self.journal.with_name("journal.tmp")]:
            leftover.unlink(missing_ok=True)

    def _file(self, key: str) -> Path:
        # An empty segment also catches absolute paths ("/a") and doubled or trailing slashes.
        if "\\" in key or any(s in ("", ".", "..") for s in key.split("/")):
            raise ValueError(f"invalid store key {key!r}: want relative 'a/b' segments, no '..' or backslashes")
        return self.data / quote(key, safe="")

    def get(self, key: str) -> bytes | None:
        try:
            return self._file(key).read_bytes()
        except FileNotFoundError:
            return None

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(key for key in map(unquote, os.listdir(self.data)) if key.startswith(prefix))

    def clear(self) -> None:
        self.commit({}, self.keys())

    def commit(self, writes: dict[str, bytes], deletes: Sequence[str] = ()) -> None:
        files = {key: self._file(key) for key in [*writes, *deletes]}  # validate every key before touching disk
        if set(writes) & set(deletes):
            raise ValueError(f"keys both written and deleted: {sorted(set(writes) & set(deletes))}")
        if not files:
            return
        self._recover()  # a journal left by an earlier failure must not be overwritten unapplied
        moves = []
        for n, (key, blob) in enumerate(writes.items()):
            staged = self.staging / str(n)
            _write_synced(staged, blob)
            moves.append([staged.name, files[key].name])
            self._stage("staged")
        _fsync(self.staging)
        journal = {"moves": moves, "deletes": [files[key].name for key in deletes]}
        tmp = self.journal.with_name("journal.tmp")
        _write_synced(tmp, json.dumps(journal).encode())
        _replace(tmp, self.journal)  # the commit point
        self._stage("journaled")
        self._apply(journal)

    def _apply(self, journal: dict) -> None:
        """Carry out a committed journal, then drop it; safe to repeat after a crash part-way."""
        for staged, name in journal["moves"]:
            if (self.staging / staged).exists():  # otherwise an earlier attempt already moved it
                os.replace(self.staging / staged, self.data / name)
            self._stage("moved")
        for name in journal["deletes"]:
            (self.data / name).unlink(missing_ok=True)
            self._stage("deleted")
        _fsync(self.data)
        self.journal.unlink()
        _fsync(self.root)

    def _stage(self, name: str) -> None:
        """Marks each step of a commit; a no-op that crash tests override to kill the process there."""
