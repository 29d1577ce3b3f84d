"""Transformers.js (the peer we benchmark against) loads the same model files, int4 included."""

from pathlib import Path

import numpy as np
import pytest

from quire_build.serve import Background
from quire_build.toolchain import chromium, ensure_node_modules

PEER = "@huggingface/transformers"


@pytest.fixture(scope="module")
def page(built_models):
    modules = ensure_node_modules()
    nested = modules / PEER / "node_modules"  # the peer pins its own onnxruntime-web
    mounts = {"/": Path(__file__).parent / "browser", "/tjs": modules / PEER / "dist",
              "/tjs-ort": nested / "onnxruntime-web" / "dist", "/tjs-ort-common": nested / "onnxruntime-common",
              **{f"/models/{name}": folder for name, folder in built_models.items()}}
    with Background(mounts) as url, chromium() as context:
        page = context.new_page()
        page.goto(f"{url}/transformersjs.html")
        page.wait_for_function("window.ready === true", timeout=60_000)
        yield page


@pytest.mark.parametrize("dtype", ["q8", "q4"])
def test_peer_generates_a_grounded_answer_with_our_generator(page, dtype):
    prompt = ("<|im_start|>user\nAnswer briefly from the context.\n\nContext: Marie Curie was born in Warsaw "
              "in 1867.\n\nQuestion: In which city was Marie Curie born?<|im_end|>\n<|im_start|>assistant\n")
    answer = page.evaluate("([m, d, p]) => generate(m, d, p)", ["smollm2-135m-instruct", dtype, prompt])
    assert "Warsaw" in answer


def test_peer_embeds_with_our_embedding_model(page):
    vecs = np.asarray(page.evaluate("([m, d, t]) => embed(m, d, t)", [
        "all-minilm-l6-v2", "q8", ["Where was Marie Curie born?", "Marie Curie was born in Warsaw.",
                                   "Stock prices fell sharply today."]]))
    assert vecs.shape == (3, 384)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]
