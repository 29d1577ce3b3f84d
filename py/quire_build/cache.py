"""Where converted models live: outside the work tree, keyed by what produced them.

A folder's key hashes the model's registry record (which pins the source sha256; display-only
fields aside), the converter's own code and the versions of the tools it used, so any change to
one of them rebuilds and nothing else does.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from quire.registry import ModelRecord

TOOLS = ("torch", "transformers", "gguf", "onnx", "onnxruntime")
_CONVERTER_FILES = ("convert.py", "quantize.py", "verify.py", "browser_check.py", "layout.py",
                    "browser_check/check.js", "../../web/onnx-bridge.js")


def cache_root() -> Path:
    return Path(os.environ.get("QUIRE_CACHE") or Path.home() / ".cache" / "quire")


def converter_version() -> str:
    """A digest of the conversion code itself: editing it invalidates what it built."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in _CONVERTER_FILES:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


# Record fields the page shows but the conversion never reads: editing them keeps the built folder.
_NOT_CONVERTED = ("default", "offered", "measured", "caution")


def model_key(rec: ModelRecord) -> str:
    tools = {t: metadata.version(t) for t in TOOLS}
    record = {k: v for k, v in rec.raw.items() if k not in _NOT_CONVERTED}
    blob = json.dumps({"record": record, "converter": converter_version(), "tools": tools},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def model_dir(rec: ModelRecord) -> Path:
    return cache_root() / "models" / f"{rec.id}-{model_key(rec)}"
