"""CPython backends: onnxruntime sessions over the model folders that `build.py models` writes.

numpy is fine here: this module never loads in the browser.
"""

from __future__ import annotations

import json
from pathlib import Path

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
        self.kv_heads = config["num_key_value_heads"]
        self.head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
        eos = json.loads((model_dir / "generation_config.json").read_text())["eos_token_id"]
        self.stop_ids = set(eos if isinstance(eos, list) else [eos])
        self.session = _session(model_dir / file, threads)
        self.past_names = [f"past_key_values.{i}.{kv}" for i in range(self.layers) for kv in ("key", "value")]
        self.output_names = ["logits"] + [f"present.{i}.{kv}" for i in range(self.layers) for kv in ("key", "value")]
        self.reset()

    def reset(self) -> None:
        empty = np.zeros((1, self.kv_heads, 0, self.head_dim), dtype=np.float32)
        self.past = [empty] * len(self.past_names)
        self.length = 0

    def forward(self, ids: list[int]) -> np.ndarray:
        """Logits for each of `ids` (shape [len(ids), vocab]), extending the cache by them."""
        n = len(ids)
        feeds = {
            "input_ids": np.asarray([ids], dtype=np.int64),
            "attention_mask": np.ones((1, self.length + n), dtype=np.int64),
            "position_ids": np.arange(self.length, self.length + n, dtype=np.int64)[None],
        }
        feeds.update(zip(self.past_names, self.past))
        logits, *self.past = self.session.run(self.output_names, feeds)
        self.length += n
        return logits[0]
