"""The core must load in Pyodide: no numpy, no native extension from outside the standard library."""

import subprocess
import sys

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

CORE = ["quire", "quire.registry", "quire.tokenizers", "quire.keyword", "quire.retrieval"]


def test_the_blocker_really_blocks():
    code = GUARD + "import numpy"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode != 0 and "numpy is blocked" in run.stderr


def test_core_modules_import_and_work_without_native_code(built_models):
    code = GUARD + f"""
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
bad = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
assert not bad, bad
print("pure")
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "pure"
