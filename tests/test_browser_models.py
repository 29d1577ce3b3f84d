"""The quantized models in onnxruntime-web (WASM) in Debian's Chromium, through the app's bridge."""

import json

import numpy as np
import pytest
from tokenizers import Tokenizer

INT8 = {"file": "onnx/model_quantized.onnx", "weights": "onnx/model_quantized.onnx_data"}

from quire.backends.cpython import OnnxEmbedder, OnnxGenerator
from quire_build.browser_check import check_server, open_check_page
from quire_build.toolchain import chromium
from quire_build.verify import grounded_prompts, greedy, teacher_forced_top1


@pytest.fixture(scope="module")
def page(built_models):
    models = {"/embedder": built_models["all-minilm-l6-v2"], "/generator": built_models["smollm2-135m-instruct"]}
    with check_server(models) as url, chromium() as context:
        page, errors = open_check_page(context, url)
        yield page
        assert errors == []


def test_page_is_cross_origin_isolated_so_onnxruntime_can_use_threads(page):
    assert page.evaluate("crossOriginIsolated") is True
    assert page.evaluate("quireCheck.threads()") >= 1


def test_browser_embeddings_match_cpython_and_rank_paraphrases(page, built_models):
    folder = built_models["all-minilm-l6-v2"]
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    texts = ["Where was Marie Curie born?", "Marie Curie's birthplace was Warsaw.", "Stock prices fell sharply today."]
    batch = [e.ids for e in tok.encode_batch(texts)]
    got = np.asarray(page.evaluate("([f, b]) => quireCheck.embed('/embedder/', f, b)", [INT8, batch])).reshape(3, -1)
    ref = OnnxEmbedder(folder).embed(batch)
    assert (got * ref).sum(1).min() > 0.999
    assert got[0] @ got[1] > got[0] @ got[2]


def test_browser_generator_follows_cpython_through_the_kv_cache(page, built_models):
    folder = built_models["smollm2-135m-instruct"]
    config = json.loads((folder / "config.json").read_text())
    generator = OnnxGenerator(folder)
    prompts = grounded_prompts(folder)[:2]
    continuations = [greedy(generator, p, stop=generator.stop_ids) for p in prompts]
    ref = [teacher_forced_top1(generator, p, c) for p, c in zip(prompts, continuations)]
    got = page.evaluate("([f, c, p, k]) => quireCheck.teacherForced('/generator/', f, c, p, k)",
                        [INT8, config, prompts, continuations])
    pairs = [(a, b) for g, r in zip(got, ref) for a, b in zip(g, r)]
    assert sum(a == b for a, b in pairs) / len(pairs) >= 0.98
    # Greedy decoding in the browser reproduces the CPython answer: top-1 equals the fed token.
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert "Warsaw" in tok.decode([t for t in got[1]])


def test_browser_generator_checks_drafts_in_one_pass_and_discards_the_wrong_ones(page, built_models):
    """Speculative decoding's two calls: logits for several fed positions at once, then forgetting
    the wrong guesses; the browser must give the rows CPython gives."""
    folder = built_models["smollm2-135m-instruct"]
    config = json.loads((folder / "config.json").read_text())
    generator = OnnxGenerator(folder)
    prompt = grounded_prompts(folder)[0]
    answer = greedy(generator, prompt, stop=generator.stop_ids)[:5]
    fed = [answer[0], answer[1], answer[2], 11, 12]  # two right guesses after the chosen token, two wrong

    def run_cpython():
        generator.reset()
        rows = [int(generator.forward(prompt, 1)[-1].argmax())]
        rows += generator.forward(fed, 5).argmax(1).tolist()
        generator.discard(2)
        return rows + [int(generator.forward([answer[3]], 1)[-1].argmax())]

    got = page.evaluate("""async ([files, config, prompt, fed, next]) => {
        const ort = await import("/vendor/ort/ort.wasm.min.mjs");
        const { Generator, modelFiles } = await import("/web/onnx-bridge.js");
        const generator = await Generator.load(ort, modelFiles("/generator/", files), config);
        const argmaxRows = (logits, rows) => Array.from({ length: rows }, (_, r) => {
            const row = logits.subarray(r * config.vocab_size, (r + 1) * config.vocab_size);
            let best = 0;
            for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
            return best;
        });
        try {
            const out = argmaxRows(await generator.forward(prompt, 1), 1);
            out.push(...argmaxRows(await generator.forward(fed, 5), 5));
            generator.discard(2);
            return [...out, ...argmaxRows(await generator.forward([next], 1), 1)];
        } finally {
            await generator.release();
        }
    }""", [INT8, config, prompt, fed, answer[3]])
    assert run_cpython() == got
    assert got[:4] == answer[:4] and got[6] == answer[4]  # the discarded guesses left no trace
