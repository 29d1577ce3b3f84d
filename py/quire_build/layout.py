"""Validation of a model folder in the onnx-community layout, ours or one a user brings."""

from __future__ import annotations

import json
from pathlib import Path

import onnx

from quire.registry import weights_file

from . import BuildError

COMMON_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
GENERATION_FILES = ("generation_config.json",)


def save_with_weights_beside(model: onnx.ModelProto, path: Path) -> None:
    """Write `model` at `path` as its graph alone, its weights in one file beside it (`weights_file`).

    onnxruntime-web builds a session from a self-contained file with the whole file in its memory,
    parses a second copy out of it and then makes the tensors: a 500 MB model peaked at 1.8 GB of
    tab memory. Given the graph and the weights apart it copies the weights once: 1.2 GB. (It is also
    how a model past protobuf's 2 GiB limit must be written.)
    """
    weights = path.with_name(weights_file(path.name))
    weights.unlink(missing_ok=True)  # onnx appends to an existing data file
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=weights.name, size_threshold=1024)


def _graph_io(path: Path, where: str) -> tuple[list[str], list[str], list[str]]:
    """Inputs, outputs, and the external files holding its weights (which must be beside it)."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:
        raise BuildError(f"{where}: {path.name} is not a readable ONNX model ({e})") from e
    locations = {entry.value for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL
                 for entry in t.external_data if entry.key == "location"}
    missing = [loc for loc in sorted(locations) if not (path.parent / loc).is_file()]
    if missing:
        raise BuildError(f"{where}: {path.name} keeps its weights in {', '.join(missing)}, which is not beside it")
    return [i.name for i in model.graph.input], [o.name for o in model.graph.output], sorted(locations)


def validate_model_dir(folder: Path, name: str | None = None) -> dict:
    """Check `folder` and return what it holds: role, ONNX files, and their inputs and outputs."""
    folder = Path(folder)
    where = name or str(folder)
    if not folder.is_dir():
        raise BuildError(f"{where}: no such model folder")
    missing = [f for f in COMMON_FILES if not (folder / f).is_file()]
    if missing:
        raise BuildError(f"{where}: missing {', '.join(missing)}")
    for f in COMMON_FILES + GENERATION_FILES:
        if (folder / f).is_file():
            try:
                json.loads((folder / f).read_text(encoding="utf-8"))
            except ValueError as e:
                raise BuildError(f"{where}: {f} is not valid JSON ({e})") from e
    onnx_files = sorted((folder / "onnx").glob("*.onnx"))
    if not onnx_files:
        raise BuildError(f"{where}: no onnx/*.onnx model file")
    roles, weights = {}, {}
    for path in onnx_files:
        inputs, outputs, external = _graph_io(path, where)
        weights[f"onnx/{path.name}"] = [f"onnx/{name}" for name in external]
        if "input_ids" not in inputs:
            raise BuildError(f"{where}: {path.name} takes no input_ids")
        if "logits" in outputs:
            if not any(i.startswith("past_key_values.") for i in inputs) or "position_ids" not in inputs:
                raise BuildError(f"{where}: {path.name} is a decoder without a KV cache "
                                 "(past_key_values.* and position_ids inputs)")
            roles[path.name] = "generation"
        elif "sentence_embedding" in outputs:
            roles[path.name] = "embedding"
        elif "last_hidden_state" in outputs:
            raise BuildError(f"{where}: {path.name} gives only last_hidden_state; Quire needs the pooled, "
                             "normalised sentence_embedding output its own exports have")
        else:
            raise BuildError(f"{where}: {path.name} has neither logits nor embedding outputs ({outputs})")
    if len(set(roles.values())) != 1:
        raise BuildError(f"{where}: its ONNX files disagree about the model's role ({roles})")
    role = next(iter(roles.values()))
    if role == "generation":
        if not (folder / "generation_config.json").is_file():
            raise BuildError(f"{where}: a generator needs generation_config.json")
        if not json.loads((folder / "tokenizer_config.json").read_text()).get("chat_template"):
            raise BuildError(f"{where}: tokenizer_config.json has no chat_template")
    return {"role": role, "files": [f"onnx/{p.name}" for p in onnx_files], "weights": weights}


def check_sizes(rec_id: str, folder: Path, expected: dict[str, int], tolerance: float = 0.01) -> dict[str, int]:
    """Every file the registry lists exists with its recorded size (within `tolerance`)."""
    missing = [rel for rel in expected if not (folder / rel).is_file()]
    if missing:
        raise BuildError(f"{rec_id}: the build did not produce {', '.join(missing)}")
    sizes = {rel: (folder / rel).stat().st_size for rel in expected}
    wrong = [f'"{rel}" = {sizes[rel]} (registry: {size})' for rel, size in expected.items()
             if abs(sizes[rel] - size) > tolerance * size]
    if wrong:
        raise BuildError(f"{rec_id}: sizes differ from the registry's [files]; if intended, record: "
                         + "; ".join(wrong))
    return sizes


def smoke_run(folder: Path, info: dict) -> str:
    """Load the folder's preferred ONNX file in onnxruntime and run one tiny input through it."""
    from quire.backends.cpython import OnnxEmbedder, OnnxGenerator

    files = info["files"]
    file = next((f for f in ("onnx/model_quantized.onnx", "onnx/model.onnx") if f in files), files[0])
    try:
        if info["role"] == "embedding":
            out = OnnxEmbedder(folder, file).embed([[101, 102]])
        else:
            out = OnnxGenerator(folder, file).forward([1])
    except Exception as e:
        raise BuildError(f"{folder}: {file} does not run in onnxruntime ({type(e).__name__}: {e})") from e
    return f"{file} runs, output width {out.shape[-1]}"
