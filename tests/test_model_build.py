"""`build.py models`: verified folders in the onnx-community layout, from the cache."""

import json
import subprocess
import sys

import numpy as np
import onnx
from tokenizers import Tokenizer

from quire.backends.cpython import OnnxEmbedder, OnnxGenerator
from quire_build import ROOT
from quire_build.layout import validate_model_dir
from quire_build.verify import grounded_prompts, greedy


def test_each_default_model_is_a_complete_onnx_community_folder(registry, built_models):
    for rec in (r for r in registry.values() if r.default):
        folder = built_models[rec.id]
        assert validate_model_dir(folder)["role"] == rec.role
        for rel in ("config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx",
                    "LICENSE", "NOTICE.md"):
            assert (folder / rel).is_file(), (rec.id, rel)
        weights = validate_model_dir(folder)["weights"]
        for v in rec.variants:
            # Shipped: the graph, and every weight in the one file beside it (onnxruntime-web copies it once).
            assert weights[v.file] == [v.weights]
            model = onnx.load(str(folder / v.file), load_external_data=False)
            assert (folder / v.file).stat().st_size < 0.05 * (folder / v.weights).stat().st_size
            assert "GatherBlockQuantized" not in {n.op_type for n in model.graph.node}, v.file
        # The fp32 reference keeps its weights apart only when over protobuf's 2 GB (Qwen's); never shipped.
        assert weights["onnx/model.onnx"] in ([], ["onnx/model.onnx_data"])
        assert rec.source.sha256 in (folder / "NOTICE.md").read_text()


def test_generator_exposes_a_kv_cache_the_onnx_community_way(built_models):
    folder = built_models["smollm2-135m-instruct"]
    config = json.loads((folder / "config.json").read_text())
    model = onnx.load(str(folder / "onnx" / "model_quantized.onnx"), load_external_data=False)
    inputs = {i.name for i in model.graph.input}
    outputs = {o.name for o in model.graph.output}
    layers = config["num_hidden_layers"]
    assert {"input_ids", "attention_mask", "position_ids", "num_logits_to_keep"} <= inputs
    assert {f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")} <= inputs
    assert {"logits"} | {f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")} == outputs
    assert json.loads((folder / "tokenizer_config.json").read_text())["chat_template"].startswith("{% for")
    assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == [2, 0]


def test_verification_figures_are_recorded_and_meet_the_registry(registry, built_models):
    for rec in (r for r in registry.values() if r.default):
        report = json.loads((built_models[rec.id] / "verification.json").read_text())
        for v in rec.variants:
            cpython, browser = report["variants"][v.name], report["browser"][v.name]
            if rec.role == "embedding":
                assert cpython["min_cosine_to_fp32"] >= v.checks["min_cosine_to_fp32"]
                assert browser["min_cosine_to_cpython"] >= v.checks["min_browser_cosine"]
            else:
                assert cpython["top1_agreement"] >= v.checks["min_top1_agreement"]
                assert browser["top1_agreement_to_cpython"] >= v.checks["min_browser_top1_agreement"]


def test_embeddings_rank_a_paraphrase_above_an_unrelated_sentence(built_models):
    folder = built_models["all-minilm-l6-v2"]
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    texts = ["How tall is the Eiffel Tower?", "What is the height of the Eiffel Tower in Paris?",
             "My cat likes to sleep on the sofa."]
    vecs = OnnxEmbedder(folder).embed([e.ids for e in tok.encode_batch(texts)])
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-3)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.3


def test_embedding_tokenizer_uses_the_256_token_window_without_fixed_padding(built_models):
    tok = Tokenizer.from_file(str(built_models["all-minilm-l6-v2"] / "tokenizer.json"))
    assert len(tok.encode("word " * 1000).ids) == 256
    assert len(tok.encode("short").ids) == 3


def test_generator_tokenizer_splits_digits_like_the_original(built_models):
    tok = Tokenizer.from_file(str(built_models["smollm2-135m-instruct"] / "tokenizer.json"))
    assert tok.encode("1905").tokens == ["1", "9", "0", "5"]


def test_quantized_generator_answers_a_grounded_question(built_models):
    folder = built_models["smollm2-135m-instruct"]
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    prompt = grounded_prompts(folder)[1]  # Marie Curie's birthplace
    generator = OnnxGenerator(folder)
    answer = tok.decode(greedy(generator, prompt, stop=generator.stop_ids))
    assert "Warsaw" in answer


def test_generator_returns_only_the_rows_asked_for(built_models):
    """A prompt's prefill needs one row of logits (a draft check a few), not one per prompt token."""
    generator = OnnxGenerator(built_models["smollm2-135m-instruct"])
    prompt = grounded_prompts(built_models["smollm2-135m-instruct"])[0]
    every = generator.forward(prompt, 0)
    generator.reset()
    last_three = generator.forward(prompt, 3)
    assert every.shape[0] == len(prompt) and last_three.shape[0] == 3
    assert np.allclose(last_three, every[-3:], atol=1e-3)


def test_second_build_reuses_the_cache(built_models):
    run = subprocess.run([sys.executable, str(ROOT / "build.py"), "models"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("cached at") == 2 and "building" not in run.stdout
