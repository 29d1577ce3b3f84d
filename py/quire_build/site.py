"""`build.py site`: assemble dist/, the static site.

Until the browser app lands (issue 4) the site is a page that lists the verified default models.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

from . import ROOT
from .models import build_models

DIST = ROOT / "dist"


def build_site() -> Path:
    models = build_models()
    shutil.rmtree(DIST, ignore_errors=True)
    DIST.mkdir()
    rows = []
    for name, folder in models.items():
        report = json.loads((folder / "verification.json").read_text())
        sizes = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in report["sizes"].items() if k.endswith(".onnx"))
        rows.append(f"<li><b>{html.escape(name)}</b>: {html.escape(sizes)}</li>")
    (DIST / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>Quire</title>"
        "<h1>Quire</h1><p>Private document question-answering in your browser. The app is being "
        "built; these models are converted and verified:</p><ul>" + "".join(rows) + "</ul>\n",
        encoding="utf-8")
    return DIST
