"""Build-time tooling: model conversion and verification, the static site, the dev server.

Needs the `build` extra (torch, transformers, onnx, onnxruntime...); nothing here ships to the browser.
"""

import os
import warnings
from pathlib import Path

# Nothing at build time may reach a model hub, and its progress bars only clutter the build log.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
# The exporter's tracer warnings are about branches our fixed-shape checks then cover.
warnings.filterwarnings("ignore", module=r"torch\.onnx|transformers")

ROOT = Path(__file__).resolve().parents[2]


class BuildError(RuntimeError):
    """A build step failed; the message names the model (or file) and the cause."""
