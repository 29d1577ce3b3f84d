"""`quire` from a terminal, end to end: real files, real models (onnxruntime), a library on disk."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quire.cli import open_library
from quire.registry import load_index_params
from quire_build.models import REGISTRY
from samples import LIBRARY, make_pdf

FILES = {
    **LIBRARY,
    "empty.txt": b"",
    "scan.pdf": make_pdf([[]]),
}


def quire(*args: str, models: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QUIRE_MODELS=str(models))
    return subprocess.run([sys.executable, "-m", "quire.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


@pytest.fixture(scope="module")
def library(tmp_path_factory, built_models):
    folder = tmp_path_factory.mktemp("cli")
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    models = built_models["all-minilm-l6-v2"].parent
    added = quire("add", *sorted(str(p) for p in folder.iterdir()), "--library", str(folder / "lib"), models=models)
    return folder / "lib", models, added


def test_add_reports_each_file_and_adds_the_readable_ones(library):
    _, _, added = library
    assert added.returncode == 1, "some files were not added"
    out = added.stdout
    for name in ("bridges.pdf", "orchard.md", "bees.docx", "shop.html", "tea.txt"):
        assert f"added      {name}:" in out
    assert "not added  empty.txt: the file is empty" in out
    assert "not added  scan.pdf: no text layer (probably a scanned document)" in out
    assert "5 documents in" in out


def test_the_vector_index_has_the_registry_parameters(library):
    lib, models, _ = library
    params = load_index_params(REGISTRY)
    saved = json.loads((lib / "vectors.hnsw.json").read_text())["params"]
    assert (saved["M"], saved["ef_construction"]) == (params.M, params.ef_construction)
    assert open_library(lib, models, generate=False).index.ef == params.ef


def test_ask_streams_an_answer_that_cites_the_file_holding_the_fact(library):
    lib, models, _ = library
    run = quire("ask", "Who built the Zorblat bridge?", "--library", str(lib), models=models)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    answer = out.split("Answer: ", 1)[1].split("\n", 1)[0]
    assert "Lindqvist" in answer
    citations = out.split("Citations:", 1)[1].split("Sources:", 1)[0]
    assert "[1] bridges.pdf, page 2:" in citations and "Hanna Lindqvist" in citations
    assert "From the documents: “The Zorblat bridge was built in 1887 by the engineer Hanna Lindqvist.” " \
           "(bridges.pdf, page 2)" in out


def test_the_library_persists_and_lists_and_removes(library):
    lib, models, _ = library
    listed = quire("list", "--library", str(lib), models=models).stdout.splitlines()
    assert len(listed) == 5
    bees = next(line.split()[0] for line in listed if "bees.docx" in line)
    assert quire("remove", bees, "--library", str(lib), models=models).returncode == 0
    run = quire("ask", "How many hives does the beekeeper keep?", "--no-generate", "--library", str(lib), models=models)
    assert "bees.docx" not in run.stdout
    assert len(quire("list", "--library", str(lib), models=models).stdout.splitlines()) == 4
