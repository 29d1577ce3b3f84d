"""The model registry (`models/registry.toml`): one typed record per model, and the vector index's
parameters.

Pure Python (tomllib), so the build, the CLI and Pyodide read the same facts.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("embedding", "generation")


class RegistryError(ValueError):
    """The registry file is malformed or a record is incomplete."""


@dataclass(frozen=True)
class Source:
    package: str
    version: str
    file: str
    sha256: str
    member: str
    parts: tuple[Source, ...] = ()


def weights_file(model_file: str) -> str:
    """The file beside an ONNX model that holds its weights (ONNX external data, in one file):
    "onnx/model_quantized.onnx_data", the name onnxruntime and Transformers.js look for."""
    return model_file + "_data"


@dataclass(frozen=True)
class Variant:
    name: str
    file: str
    method: str
    keep_fp32: tuple[str, ...] = ()  # node-name parts left unquantized
    keep_int8: tuple[str, ...] = ()  # node-name parts kept at 8 bits by a 4-bit method
    tie_embedding: bool = False  # embeddings read from the output projection's weights
    checks: dict = field(default_factory=dict)  # thresholds the build verifies

    @property
    def weights(self) -> str:
        return weights_file(self.file)


@dataclass(frozen=True)
class ModelRecord:
    id: str
    name: str
    role: str
    default: bool
    license: str
    license_file: str
    notice: str
    source: Source
    recipe: dict
    variants: tuple[Variant, ...]
    default_variant: str
    files: dict[str, int]
    caution: str  # a warning shown wherever the model is offered (empty if none)
    offered: bool  # shipped in the site for the model picker (defaults always are)
    measured: dict  # figures measured by bench/ (decode_tokens_per_second, ...), shown in the picker
    facts: dict  # role-specific: dims/window/pooling or context/chat_template/stop_tokens/bos/eos
    raw: dict  # the record as written, for cache keys

    def variant(self, name: str | None = None) -> Variant:
        name = name or self.default_variant
        for v in self.variants:
            if v.name == name:
                return v
        raise RegistryError(f"{self.id}: no quantization variant {name!r}")


_COMMON = {"id", "name", "role", "default", "license", "license_file", "notice", "source", "recipe",
           "quantization", "files"}  # also optional: caution, offered, measured
_ROLE_FACTS = {
    "embedding": {"dims", "window", "pooling", "normalize"},
    "generation": {"context", "chat_template", "stop_tokens", "bos", "eos"},
}


def _source(raw: dict, where: str) -> Source:
    missing = {"package", "version", "file", "sha256", "member"} - raw.keys()
    if missing:
        raise RegistryError(f"{where}: source lacks {sorted(missing)}")
    parts = tuple(_source(p, f"{where} part {i}") for i, p in enumerate(raw.get("parts", [])))
    return Source(raw["package"], raw["version"], raw["file"], raw["sha256"].lower(), raw["member"], parts)


def _record(raw: dict) -> ModelRecord:
    where = f"model {raw.get('id', '?')}"
    missing = _COMMON - {"default"} - raw.keys()
    if missing:
        raise RegistryError(f"{where}: missing {sorted(missing)}")
    role = raw["role"]
    if role not in ROLES:
        raise RegistryError(f"{where}: role must be one of {ROLES}, not {role!r}")
    facts = {k: raw[k] for k in _ROLE_FACTS[role] if k in raw}
    if missing := _ROLE_FACTS[role] - facts.keys():
        raise RegistryError(f"{where}: {role} models need {sorted(missing)}")
    quant = dict(raw["quantization"])
    default_variant = quant.pop("default", None)
    variants = tuple(
        Variant(name, v["file"], v["method"], tuple(v.get("keep_fp32", ())), tuple(v.get("keep_int8", ())),
                bool(v.get("tie_embedding", False)),
                {k: x for k, x in v.items() if k not in ("file", "method", "keep_fp32", "keep_int8", "tie_embedding")})
        for name, v in quant.items()
    )
    if default_variant not in {v.name for v in variants}:
        raise RegistryError(f"{where}: default quantization {default_variant!r} is not one of its variants")
    for v in variants:
        for file in (v.file, v.weights):
            if file not in raw["files"]:
                raise RegistryError(f"{where}: variant {v.name} file {file} is not listed in [files]")
    return ModelRecord(
        id=raw["id"], name=raw["name"], role=role, default=bool(raw.get("default", False)),
        license=raw["license"], license_file=raw["license_file"], notice=raw["notice"],
        caution=raw.get("caution", ""), offered=bool(raw.get("default") or raw.get("offered")),
        measured=dict(raw.get("measured", {})),
        source=_source(raw["source"], where), recipe=dict(raw["recipe"]), variants=variants,
        default_variant=default_variant, files=dict(raw["files"]), facts=facts, raw=raw,
    )


def _read(path: str | Path) -> dict:
    with open(path, "rb") as f:
        try:
            return tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise RegistryError(f"{path}: {e}") from e


def load_registry(path: str | Path) -> dict[str, ModelRecord]:
    """Parse and validate the registry; returns records by id, in file order."""
    records: dict[str, ModelRecord] = {}
    for raw in _read(path).get("model", []):
        rec = _record(raw)
        if rec.id in records:
            raise RegistryError(f"model {rec.id} is listed twice")
        records[rec.id] = rec
    return records


@dataclass(frozen=True)
class IndexParams:
    """The HNSW vector index's parameters, the same in CPython (hnswlib) and the browser (hnswlib-wasm)."""

    M: int  # links per node
    ef_construction: int  # candidates kept while inserting
    ef: int  # candidates kept while searching (at least k)

    def to_dict(self) -> dict:
        return {"M": self.M, "ef_construction": self.ef_construction, "ef": self.ef}


def load_index_params(path: str | Path) -> IndexParams:
    """The registry's [index] table."""
    raw = _read(path).get("index")
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: no [index] table")
    fields = ("M", "ef_construction", "ef")
    if missing := [k for k in fields if k not in raw]:
        raise RegistryError(f"[index] lacks {missing}")
    if unknown := sorted(raw.keys() - set(fields)):
        raise RegistryError(f"[index] has unknown keys {unknown}")
    for k in fields:
        if not isinstance(raw[k], int) or isinstance(raw[k], bool) or raw[k] < 1:
            raise RegistryError(f"[index] {k} must be a positive integer, not {raw[k]!r}")
    return IndexParams(raw["M"], raw["ef_construction"], raw["ef"])
