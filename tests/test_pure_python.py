"""The core must load in Pyodide: no numpy, no native extension from outside the standard library."""

import subprocess
import sys
from pathlib import Path

GUARD = r'''
import importlib.abc, importlib.machinery, sys, sysconfig

site = (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])
BLOCKED = {"numpy", "onnxruntime", "tokenizers", "hnswlib", "torch", "transformers"}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: it does not exist in Pyodide")
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec and spec.origin and spec.origin.startswith(site) and spec.origin.endswith((".so", ".pyd")):
            raise ImportError(f"{name} is a native extension ({spec.origin})")
        return None

sys.meta_path.insert(0, Block())
'''

CORE = ["quire", "quire.registry", "quire.tokenizers", "quire.documents", "quire.chunking", "quire.embedding",
        "quire.keyword", "quire.retrieval", "quire.prompting", "quire.generation", "quire.citations",
        "quire.library", "quire.evaluation", "quire.protocols", "quire.backends.browser", "quire.worker"]
TESTS = str(Path(__file__).parent)


def run_pure(code: str) -> None:
    """Run `code` with native modules blocked; it must pass and leave no blocked module loaded."""
    check = """
bad = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
assert not bad, bad
print("pure")
"""
    run = subprocess.run([sys.executable, "-c", GUARD + code + check], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "pure"


def test_the_blocker_really_blocks():
    code = GUARD + "import numpy"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode != 0 and "numpy is blocked" in run.stderr


def test_core_modules_import_and_work_without_native_code(built_models):
    code = f"""
import importlib
for name in {CORE!r}:
    importlib.import_module(name)
from quire.tokenizers import Tokenizer
from quire.keyword import KeywordIndex
from quire.retrieval import reciprocal_rank_fusion
tok = Tokenizer.from_file({str(built_models["smollm2-135m-instruct"] / "tokenizer.json")!r})
assert tok.decode(tok.encode("Grüße, 東京 1905!")) == "Grüße, 東京 1905!"
index = KeywordIndex()
index.add("a", "Marie Curie was born in Warsaw")
assert reciprocal_rank_fusion([[i for i, _ in index.search("Curie")], ["a"]])[0][0] == "a"
"""
    run_pure(code)


def test_the_whole_pipeline_runs_on_pure_python_backends(built_models):
    """Documents of every format -> library -> question -> streamed, cited answer, with native code blocked."""
    models = {k: str(v) for k, v in built_models.items()}
    code = f"""
sys.path.insert(0, {TESTS!r})
from fakes import ExactIndex, HashEmbedder, MemoryStore, ScriptedGenerator
from samples import make_docx, make_pdf, w_p, word_document
from quire.embedding import EmbeddingModel
from quire.generation import GenerationModel
from quire.library import Library
from quire.registry import load_registry
from quire.tokenizers import Tokenizer

registry = load_registry({str(Path(TESTS).parent / "models/registry.toml")!r})
emb_tok = Tokenizer.from_file({models["all-minilm-l6-v2"]!r} + "/tokenizer.json")
gen_tok = Tokenizer.from_file({models["smollm2-135m-instruct"]!r} + "/tokenizer.json")
embedding = EmbeddingModel("hash", HashEmbedder(emb_tok), emb_tok, 64, HashEmbedder.batch_size)
generator = ScriptedGenerator(gen_tok, "Bottles rest in the cellar until spring [2].", gen_tok.token_id("<|im_end|>"))
smol = registry["smollm2-135m-instruct"]
generation = GenerationModel.from_facts(smol.id, smol.facts, gen_tok, generator)
library = Library(MemoryStore(), ExactIndex(), embedding, generation)
results = library.add_files([
    ("a.md", b"# Cellar\\n\\nBottles rest in the cellar until spring."),
    ("b.pdf", make_pdf([["The cider is pressed in November."]])),
    ("c.docx", make_docx(word_document(w_p("The hives stand by the river.")))),
    ("d.html", b"<h1>Shop</h1><p>The farm shop opens at nine.</p>"),
    ("e.txt", "Caf\\xe9 cr\\xe8me.".encode("latin-1")),
])
assert all(r.ok for r in results), results
tokens = []
answer = library.ask("How long do bottles rest in the cellar?", lambda kind, p: kind == "token" and tokens.append(p))
assert "".join(tokens) == answer.generated
assert answer.text == "Until spring. [1]", answer.text  # shown without the restated question
assert answer.citations()[0].text == "Bottles rest in the cellar until spring."
"""
    run_pure(code)
