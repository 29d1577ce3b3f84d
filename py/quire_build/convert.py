"""Recipes that turn a model's source files into an fp32 ONNX model in the onnx-community layout.

Each recipe writes `onnx/model.onnx` plus the config and tokenizer files the runtimes read, all
derived from the registry record. Quantization and verification happen afterwards (quantize.py,
verify.py) on what these write.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import onnx
import torch

from quire.registry import ModelRecord

from . import BuildError
from .layout import save_with_weights_beside


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# One .onnx file is a protobuf, which cannot exceed 2 GiB: a larger model's weights go to one
# file beside it (the ONNX external-data layout every runtime reads).
PROTOBUF_LIMIT = 2**31


def _export(model: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
            dynamic_axes: dict, opset: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {t.data_ptr(): t.numel() * t.element_size() for t in model.state_dict().values()}  # tied once
    weights = sum(tensors.values())
    external = weights > PROTOBUF_LIMIT * 0.9  # room for the graph itself
    with torch.no_grad(), tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        target = Path(tmp) / path.name if external else path
        torch.onnx.export(model, args, str(target), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True,
                          dynamo=False, external_data=external)
        if external:  # torch writes one file per tensor; gather them into one
            save_with_weights_beside(onnx.load(str(target)), path)


# --- embeddings --------------------------------------------------------------------------------

class _PooledEncoder(torch.nn.Module):
    """BERT with mean pooling and L2 normalisation in the graph.

    Pooling in the graph keeps per-token vectors out of Python (which is ~40x slower than JS at
    vector math in Pyodide); `last_hidden_state` stays an output so peers that pool it themselves
    (Transformers.js) can use the same file.
    """

    def __init__(self, model: torch.nn.Module, normalize: bool):
        super().__init__()
        self.model, self.normalize = model, normalize

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, p=2.0, dim=-1)
        return hidden, pooled


EMBEDDING_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
EMBEDDING_OUTPUTS = ["last_hidden_state", "sentence_embedding"]


def load_embedding_torch(src: Path, rec: ModelRecord) -> torch.nn.Module:
    from transformers import AutoModel

    model = AutoModel.from_pretrained(src, dtype=torch.float32)
    return _PooledEncoder(model.eval(), rec.facts["normalize"]).eval()


def bert_embedding(rec: ModelRecord, src: Path, out: Path) -> None:
    if rec.facts["pooling"] != "mean":
        raise BuildError(f"{rec.id}: the bert_embedding recipe pools by mean, not {rec.facts['pooling']}")
    encoder = load_embedding_torch(src, rec)
    ids = torch.tensor([[101, 7592, 2088, 102, 0], [101, 2023, 2003, 1037, 102]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    dyn = {n: {0: "batch", 1: "sequence"} for n in EMBEDDING_INPUTS + ["last_hidden_state"]}
    dyn["sentence_embedding"] = {0: "batch"}
    _export(encoder, (ids, mask, torch.zeros_like(ids)), out / "onnx" / "model.onnx",
            EMBEDDING_INPUTS, EMBEDDING_OUTPUTS, dyn, rec.recipe["opset"])

    window = rec.facts["window"]
    config = json.loads((src / "config.json").read_text())
    config.pop("_name_or_path", None)
    _write_json(out / "config.json", config)
    tokenizer = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    # The package pads every input to 128 and truncates there; runtimes pad per batch instead.
    tokenizer["padding"] = None
    tokenizer["truncation"] = {"direction": "Right", "max_length": window, "strategy": "LongestFirst",
                               "stride": 0}
    _write_json(out / "tokenizer.json", tokenizer)
    tok_config = json.loads((src / "tokenizer_config.json").read_text())
    tok_config.pop("name_or_path", None)
    tok_config["model_max_length"] = window
    _write_json(out / "tokenizer_config.json", tok_config)
    shutil.copy(src / "special_tokens_map.json", out / "special_tokens_map.json")
    if (src / "README.md").exists():
        shutil.copy(src / "README.md", out / "MODEL_CARD.md")


# --- generation --------------------------------------------------------------------------------

class _CausalLMWithCache(torch.nn.Module):
    """Flat tensors in and out, the way onnx-community decoders take their KV cache.

    inputs: input_ids, attention_mask, position_ids, num_logits_to_keep, past_key_values.{i}.key/value
    outputs: logits, present.{i}.key/value

    `num_logits_to_keep` (an int64 scalar, as Transformers.js feeds it): logits for only the last
    that many positions, 0 for all. A 1,000-token prompt then costs one row of the output
    projection (49k x 576 for SmolLM2), not 1,000, and no 200 MB logits tensor.
    """

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.layers = model.config.num_hidden_layers

    def forward(self, input_ids, attention_mask, position_ids, num_logits_to_keep, *past):
        from transformers import DynamicCache

        # Traced with tensors only, so the slice stays dynamic in the graph.
        seq = torch.ones_like(input_ids[0]).sum()
        keep = torch.where(num_logits_to_keep > 0, torch.minimum(num_logits_to_keep, seq), seq)
        kept_positions = torch.arange(seq - keep, seq)

        # A plain cache keeps every position for every layer; sliding-window layers (Gemma 3) then
        # mask what they must not see instead of dropping it, which stays correct at any length.
        cache = DynamicCache()
        for i in range(self.layers):
            cache.update(past[2 * i], past[2 * i + 1], i)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=cache, use_cache=True, logits_to_keep=kept_positions)
        presents = []
        for layer in out.past_key_values.layers:
            presents += [layer.keys, layer.values]
        return (out.logits, *presents)


def kv_names(layers: int) -> tuple[list[str], list[str]]:
    past = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    return past, present


def load_causal_lm_torch(gguf: Path) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32,
                                                 attn_implementation="eager")
    return model.eval()


def _sentencepiece_tokenizer(gguf: Path) -> dict:
    """tokenizer.json for a GGUF with a SentencePiece ("llama") vocabulary, built from its pieces.

    transformers' GGUF reader turns Gemma 3's vocabulary into one that splits every space off as a
    separate token; this builds the usual SentencePiece-BPE layout instead: spaces become "▁",
    merges come from the piece scores (best first), unknown bytes fall back to <0xNN> pieces.
    """
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf))

    def field(name):
        f = reader.fields[name]
        return [f.parts[i] for i in f.data]

    pieces = [bytes(p).decode("utf-8") for p in field("tokenizer.ggml.tokens")]
    scores = [float(p[0]) for p in field("tokenizer.ggml.scores")]
    kinds = [int(p[0]) for p in field("tokenizer.ggml.token_type")]  # 1 normal 2 unknown 3 control 4 user 6 byte
    scalar = lambda name: int(reader.fields[name].parts[-1][0])  # noqa: E731
    vocab = {p: i for i, p in enumerate(pieces)}
    merges = []
    for piece, score in zip(pieces, scores):
        local = [(piece[:k], piece[k:]) for k in range(1, len(piece)) if piece[:k] in vocab and piece[k:] in vocab]
        merges += [(score, vocab[a], vocab[b], a, b) for a, b in local]
    merges.sort(key=lambda m: (-m[0], m[1], m[2]))
    added = [{"id": i, "content": p, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": kinds[i] == 3} for i, p in enumerate(pieces) if kinds[i] in (3, 4)]
    bos = pieces[scalar("tokenizer.ggml.bos_token_id")]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {bos: {"id": bos, "ids": [vocab[bos]], "tokens": [bos]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": pieces[scalar("tokenizer.ggml.unknown_token_id")],
                  "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": True,
                  "byte_fallback": True, "ignore_merges": False, "vocab": vocab,
                  "merges": [[a, b] for *_, a, b in merges]},
    }


def _fix_tokenizer(rec: ModelRecord, tokenizer: dict) -> dict:
    if rec.recipe.get("split_digits"):
        byte_level = tokenizer["pre_tokenizer"]
        if byte_level.get("type") != "ByteLevel":
            raise BuildError(f"{rec.id}: expected a ByteLevel pre-tokenizer to add the digit split to")
        tokenizer["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, byte_level]}
    tokenizer["truncation"] = None
    tokenizer["padding"] = None
    return tokenizer


def gguf_causal_lm(rec: ModelRecord, src: Path, out: Path) -> None:
    from transformers import AutoTokenizer

    model = load_causal_lm_torch(src)
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    cfg = model.config
    layers, kv_heads = cfg.num_hidden_layers, cfg.num_key_value_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    past_len, seq = 2, 3
    ids = torch.tensor([[28, 1126, 314]], dtype=torch.int64)
    mask = torch.ones(1, past_len + seq, dtype=torch.int64)
    pos = torch.arange(past_len, past_len + seq, dtype=torch.int64)[None]
    keep = torch.tensor(2, dtype=torch.int64)
    past = tuple(torch.randn(1, kv_heads, past_len, head_dim) * 0.1 for _ in range(2 * layers))
    past_names, present_names = kv_names(layers)
    dyn = {"input_ids": {0: "batch", 1: "sequence"},
           "attention_mask": {0: "batch", 1: "total_sequence"},
           "position_ids": {0: "batch", 1: "sequence"},
           "logits": {0: "batch", 1: "kept_sequence"}}
    dyn.update({n: {0: "batch", 2: "past_sequence"} for n in past_names})
    dyn.update({n: {0: "batch", 2: "total_sequence"} for n in present_names})
    _export(_CausalLMWithCache(model), (ids, mask, pos, keep, *past), out / "onnx" / "model.onnx",
            ["input_ids", "attention_mask", "position_ids", "num_logits_to_keep", *past_names],
            ["logits", *present_names],
            dyn, rec.recipe["opset"])

    vocab = tok.get_vocab()
    stop_ids = [vocab[t] for t in rec.facts["stop_tokens"]]
    config = {k: v for k, v in cfg.to_dict().items()
              if k not in ("quantization_config", "_name_or_path", "dtype", "transformers_version")}
    config.update(architectures=[type(model).__name__], torch_dtype="float32", use_cache=True,
                  bos_token_id=vocab[rec.facts["bos"]], eos_token_id=stop_ids,
                  max_position_embeddings=rec.facts["context"])
    _write_json(out / "config.json", config)
    _write_json(out / "generation_config.json", {
        "bos_token_id": vocab[rec.facts["bos"]], "eos_token_id": stop_ids,
        "pad_token_id": vocab[rec.facts["eos"]], "do_sample": False})
    if rec.recipe.get("tokenizer") == "sentencepiece-from-gguf":
        _write_json(out / "tokenizer.json", _sentencepiece_tokenizer(src))
    else:
        tok.save_pretrained(out / "_tok")
        tokenizer = json.loads((out / "_tok" / "tokenizer.json").read_text(encoding="utf-8"))
        _write_json(out / "tokenizer.json", _fix_tokenizer(rec, tokenizer))
        shutil.rmtree(out / "_tok")
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": rec.recipe.get("tokenizer_class", "GPT2Tokenizer"), "add_bos_token": False,
        "add_prefix_space": False,
        "bos_token": rec.facts["bos"], "eos_token": rec.facts["eos"], "pad_token": rec.facts["eos"],
        "unk_token": tok.unk_token, "clean_up_tokenization_spaces": False,
        "model_max_length": rec.facts["context"], "chat_template": rec.facts["chat_template"]})
    _write_json(out / "special_tokens_map.json", {
        "bos_token": rec.facts["bos"], "eos_token": rec.facts["eos"], "pad_token": rec.facts["eos"],
        "unk_token": tok.unk_token})


CONVERTERS = {"bert_embedding": bert_embedding, "gguf_causal_lm": gguf_causal_lm}
