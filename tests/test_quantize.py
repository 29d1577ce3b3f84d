"""Quantization methods on a tiny generated decoder-shaped graph (embedding, one layer, output projection).

The properties that matter at run time: with per-token activation ranges a token's logits do not
depend on the other tokens fed in the same call (a whole prompt gives what one token at a time
gives), and a tied embedding is the output projection's 8-bit weights, with no table of its own.
"""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from quire_build.quantize import quantize

VOCAB, HIDDEN = 300, 64


def _decoder(path, rng):
    """input_ids -> Gather(embedding) -> residual(scale -> MatMul -> Relu) -> MatMul(output projection)."""
    embedding = rng.normal(0, 1, (VOCAB, HIDDEN)).astype(np.float32)
    embedding[0] *= 50  # a token whose activations dwarf the rest, as a real prompt's first ones do
    hidden = rng.normal(0, 0.2, (HIDDEN, HIDDEN)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["embed.weight", "input_ids"], ["x"], name="/model/embed_tokens/Gather"),
        helper.make_node("Mul", ["x", "norm.weight"], ["n"], name="/model/layer/norm/Mul"),
        helper.make_node("MatMul", ["n", "layer.weight"], ["h"], name="/model/layer/MatMul"),
        helper.make_node("Relu", ["h"], ["a"], name="/model/layer/Relu"),
        helper.make_node("Add", ["x", "a"], ["r"], name="/model/layer/Add"),
        helper.make_node("MatMul", ["r", "lm_head.weight"], ["logits"], name="/lm_head/MatMul"),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "n"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "n", VOCAB])],
        [numpy_helper.from_array(embedding, "embed.weight"), numpy_helper.from_array(hidden, "layer.weight"),
         numpy_helper.from_array(rng.uniform(0.5, 1.5, HIDDEN).astype(np.float32), "norm.weight"),
         numpy_helper.from_array(embedding.T.copy(), "lm_head.weight")])  # tied, as Qwen2.5-0.5B is
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _run(path, ids):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": np.array([ids], np.int64)})[0][0]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quantize")
    rng = np.random.default_rng(7)
    _decoder(folder / "fp32.onnx", rng)
    for method in ("dynamic-uint8-per-channel", "dynamic-uint8-per-token"):
        quantize("tiny", method, folder / "fp32.onnx", folder / f"{method}.onnx")
    quantize("tiny", "dynamic-uint8-per-token", folder / "fp32.onnx", folder / "tied.onnx", tie_embedding=True)
    return folder


def _prompt():
    ids = list(range(1, 41))
    ids[3] = 0  # the loud token
    return ids


def test_per_token_ranges_make_a_token_independent_of_its_neighbours(models):
    ids = _prompt()
    for method, independent in (("dynamic-uint8-per-token", True), ("dynamic-uint8-per-channel", False)):
        whole = _run(models / f"{method}.onnx", ids)
        alone = np.stack([_run(models / f"{method}.onnx", [t])[0] for t in ids])
        quiet = [i for i, t in enumerate(ids) if t != 0]
        same = np.allclose(whole[quiet], alone[quiet], atol=1e-4)
        assert same == independent, method


def test_per_token_logits_stay_close_to_fp32(models):
    ids = _prompt()
    reference = _run(models / "fp32.onnx", ids)
    got = _run(models / "dynamic-uint8-per-token.onnx", ids)
    agree = (got.argmax(-1) == reference.argmax(-1)).mean()
    assert agree >= 0.9 and np.abs(got - reference).max() < 0.1 * np.abs(reference).max()


def test_a_tied_embedding_reads_the_output_projection_and_has_no_table(models):
    tied = onnx.load(str(models / "tied.onnx"))
    untied = onnx.load(str(models / "dynamic-uint8-per-token.onnx"))
    names = {t.name for t in tied.graph.initializer}
    assert not any(n.startswith("embed.weight") for n in names)
    assert sum(t.ByteSize() for t in tied.graph.initializer) < sum(t.ByteSize() for t in untied.graph.initializer)
    ids = _prompt()
    reference = _run(models / "fp32.onnx", ids)
    assert (_run(models / "tied.onnx", ids).argmax(-1) == reference.argmax(-1)).mean() >= 0.9
