"""The real and the hostile document sets that ../shared/scripts/make-docsets.sh builds from files the
package registries ship; built once into the cache (a few minutes), then shared by tests and benchmarks.

    <root>/mixed/      ~80 real documents (HTML, PDF, DOCX, Markdown, XML, text, EPUB)
    <root>/hostile/    encrypted, scanned, malformed, huge and empty files, non-UTF-8 text, DOCX bombs
    <root>/MANIFEST.tsv  each file's set, source and note
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

from . import ROOT
from .cache import cache_root

MAKE_DOCSETS = ROOT.parent / "shared" / "scripts" / "make-docsets.sh"


def docsets(path: Path | None = None) -> Path:
    """The folder holding mixed/, hostile/ and MANIFEST.tsv: under `path` (make-docsets.sh's OUTDIR,
    or the folder itself), by default in the cache, built there when missing."""
    path = Path(path) if path else cache_root() / "docsets"
    for root in (path, path / "docsets"):
        if (root / "mixed").is_dir() and (root / "hostile").is_dir():
            return root
    print(f"building the document sets into {path} with {MAKE_DOCSETS} (a few minutes)...", flush=True)
    subprocess.run(["bash", str(MAKE_DOCSETS), str(path)], check=True)
    return path / "docsets"


def manifest(root: Path) -> dict[str, dict[str, str]]:
    """File name -> its MANIFEST.tsv row (set, file, source, note); a row naming several files
    ("a|b|c") stands for each of them."""
    rows = {}
    with open(root / "MANIFEST.tsv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            for name in row["file"].split("|"):
                rows[name] = {**row, "file": name}
    return rows
