"""Quantization methods named by the registry's `method` field.

Every method writes standard ONNX ops or MatMulNBits only (nothing Transformers.js cannot load,
such as GatherBlockQuantized), and keeps the exported opset.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from . import BuildError
from .layout import save_with_weights_beside

# Which input of each op holds the weight a method may replace.
WEIGHT_INPUT = {"MatMul": 1, "Gather": 0}


def _has_external_data(path: Path) -> bool:
    model = onnx.load(str(path), load_external_data=False)
    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


def _dynamic_uint8_per_channel(src: Path, keep_fp32: list[str], keep_int8: list[str] = ()) -> onnx.ModelProto:
    """8-bit weights (per output channel), activations quantized on the fly (MatMulInteger).

    Weights are asymmetric uint8: with signed int8 weights onnxruntime-web's WASM kernels and
    CPython's x86 kernels disagreed (cosine 0.990 on the same file); with uint8 they agree to 0.9995.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        # Shape inference first, so every MatMul is recognised as quantizable.
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True,
                          save_as_external_data=_has_external_data(src))
        graph = onnx.load(str(pre), load_external_data=False).graph
        exclude = [n.name for n in graph.node if any(k in n.name for k in keep_fp32)]
        out = Path(tmp) / "quantized.onnx"
        quantize_dynamic(str(pre), str(out), per_channel=True, weight_type=QuantType.QUInt8,
                         op_types_to_quantize=["MatMul", "Gather"], nodes_to_exclude=exclude,
                         extra_options={"MatMulConstBOnly": True})
        return onnx.load(str(out))


def _constant(graph: onnx.GraphProto, name: str, value: np.ndarray) -> str:
    graph.initializer.append(numpy_helper.from_array(value, name))
    return name


def _activations_per_token(graph: onnx.GraphProto) -> None:
    """Each DynamicQuantizeLinear (one range for a whole call) becomes a range per token.

    With one range per call, a prompt's few huge activations (Qwen2.5 has values ~2,000 times the
    median going into some down projections) crush every other token of the prompt to a few levels:
    a whole 800-token prefill agreed with fp32 on 0.74 of next tokens, one token at a time 0.96.
    Per token keeps the one-at-a-time accuracy at whole-prompt speed.

    Each token gets DynamicQuantizeLinear's own arithmetic (a range that includes 0, 256 levels, an
    integer zero point z[t]), but MatMulInteger takes one zero point for all of A, so the graph feeds
    it 0 and adds the rest back: x[t] = s[t] * q[t] + m[t] with m[t] = -s[t] * z[t], and
    x[t] @ W = s[t] * (q[t] @ W) + m[t] * colsum(W), the column sums of the dequantized weight being
    constants. The token terms come after the weight scales, in Mul and Add nodes of their own:
    onnxruntime fuses MatMulInteger, Cast and Mul(a_scale * b_scale) into MatMulIntegerToFloat,
    which reads a_scale as one number. Measured on SmolLM2 (top-1 agreement with fp32 over 400
    tokens): one range per call 0.55 for a whole prompt, 0.91 a token at a time; per token 0.905
    whole; symmetric per-token scales around a fixed zero point only 0.85.
    """
    initializers = {t.name: t for t in graph.initializer}
    zero = _constant(graph, "/per_token/zero_point", np.array(0, np.uint8))
    levels = _constant(graph, "/per_token/inv255", np.array(1 / 255, np.float32))
    tiny = _constant(graph, "/per_token/tiny", np.array(1e-8, np.float32))
    low, high = (_constant(graph, "/per_token/0", np.array(0, np.float32)),
                 _constant(graph, "/per_token/255", np.array(255, np.float32)))
    token = {}  # quantized activation -> (its per-token scale, its per-token minimum)
    nodes = []
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        x, (q, scale, zp) = node.input[0], node.output
        p = f"{node.name}/per_token/"
        token[q] = (scale, p + "offset")
        nodes += [  # DynamicQuantizeLinear's own arithmetic, along the last axis
            helper.make_node("ReduceMin", [x], [p + "min"], name=p + "ReduceMin", axes=[-1], keepdims=1),
            helper.make_node("ReduceMax", [x], [p + "max"], name=p + "ReduceMax", axes=[-1], keepdims=1),
            helper.make_node("Min", [p + "min", low], [p + "low"], name=p + "Low"),
            helper.make_node("Max", [p + "max", low], [p + "high"], name=p + "High"),
            helper.make_node("Sub", [p + "high", p + "low"], [p + "range"], name=p + "Range"),
            helper.make_node("Mul", [p + "range", levels], [p + "step"], name=p + "Step"),
            helper.make_node("Max", [p + "step", tiny], [scale], name=p + "Scale"),
            helper.make_node("Div", [p + "low", scale], [p + "low_steps"], name=p + "LowSteps"),
            helper.make_node("Neg", [p + "low_steps"], [p + "zero_steps"], name=p + "ZeroSteps"),
            helper.make_node("Round", [p + "zero_steps"], [p + "zero_round"], name=p + "ZeroRound"),
            helper.make_node("Clip", [p + "zero_round", low, high], [p + "zero"], name=p + "Zero"),
            helper.make_node("Mul", [p + "zero", scale], [p + "zero_value"], name=p + "ZeroValue"),
            helper.make_node("Neg", [p + "zero_value"], [p + "offset"], name=p + "Offset"),
            helper.make_node("Div", [x, scale], [p + "steps"], name=p + "Div"),
            helper.make_node("Round", [p + "steps"], [p + "round"], name=p + "Round"),
            helper.make_node("Add", [p + "round", p + "zero"], [p + "shifted"], name=p + "Shift"),
            helper.make_node("Clip", [p + "shifted", low, high], [p + "clipped"], name=p + "Clip"),
            helper.make_node("Cast", [p + "clipped"], [q], name=p + "Cast", to=onnx.TensorProto.UINT8),
            helper.make_node("Identity", [zero], [zp], name=p + "ZeroPoint"),
        ]
    # quantize_dynamic rescales with Mul(Cast(MatMulInteger), Mul(a_scale, b_scale)).
    producer = {o: n for n in nodes for o in n.output}
    token_scales = {s for s, _ in token.values()}
    scales_product = {n.output[0]: n for n in nodes if n.op_type == "Mul" and len(set(n.input) & token_scales) == 1
                      and len(set(n.input) & initializers.keys()) == 1}
    rewritten = []
    for node in nodes:
        if node.output[0] in scales_product:  # the weight scales alone
            weight_scale = next(i for i in node.input if i in initializers)
            rewritten.append(helper.make_node("Identity", [weight_scale], [node.output[0]], name=node.name))
            continue
        rewritten.append(node)
        product = next((i for i in node.input if i in scales_product), None)
        if node.op_type != "Mul" or product is None:
            continue
        cast = producer[next(i for i in node.input if i != product)]
        matmul = producer[cast.input[0]]
        scale, minimum = token[matmul.input[0]]
        weight = numpy_helper.to_array(initializers[matmul.input[1]]).astype(np.int64)
        weight_zero = numpy_helper.to_array(initializers[matmul.input[3]]).astype(np.int64)
        weight_scale = next(i for i in scales_product[product].input if i != scale)
        column_sum = (numpy_helper.to_array(initializers[weight_scale]) * (weight - weight_zero).sum(0))
        sums = _constant(graph, f"{matmul.input[1]}/column_sum", column_sum.astype(np.float32))
        out, p = node.output[0], f"{node.name}/per_token/"
        node.output[0] = p + "weight_scaled"
        rewritten += [
            helper.make_node("Mul", [p + "weight_scaled", scale], [p + "scaled"], name=p + "Scale"),
            helper.make_node("Mul", [minimum, sums], [p + "offset"], name=p + "Offset"),
            helper.make_node("Add", [p + "scaled", p + "offset"], [out], name=p + "Add"),
        ]
    del graph.node[:]
    graph.node.extend(rewritten)


def _tie_embedding(graph: onnx.GraphProto) -> None:
    """Read token embeddings from the output projection's 8-bit weights, and drop the embedding table.

    Both are the vocabulary x hidden matrix (Qwen2.5-0.5B ties them; the GGUF stores two copies,
    the output one at Q8_0). Embedding rows come out of the MatMulInteger weight [hidden, vocab] as
    its columns: Gather along axis 1, minus the column zero points, times the column scales.
    For a 151,936-token vocabulary this saves 136 MB of download and of memory.
    """
    initializers = {t.name: t for t in graph.initializer}
    embed = next((n for n in graph.node if n.op_type == "Gather" and n.input[1] == "input_ids"
                  and n.input[0] in initializers), None)
    dequantize = next((n for n in graph.node if n.op_type == "DequantizeLinear" and embed and n.input[0] == embed.output[0]), None)
    vocab = initializers[embed.input[0]].dims[0] if embed else None
    output = next((n for n in graph.node if n.op_type == "MatMulInteger" and n.input[1] in initializers
                   and initializers[n.input[1]].dims[-1] == vocab), None)
    if not (embed and dequantize and output):
        raise BuildError("tie_embedding: found no 8-bit embedding Gather and vocabulary-wide MatMulInteger to tie")
    if any(embed.output[0] in n.input for n in graph.node if n is not dequantize):
        raise BuildError("tie_embedding: the 8-bit embeddings feed more than their DequantizeLinear")
    weight, weight_zero = output.input[1], output.input[3]
    weight_scale = weight.removesuffix("_quantized") + "_scale"  # quantize_dynamic's naming
    if list(initializers.get(weight_scale, onnx.TensorProto()).dims) != [vocab]:
        raise BuildError(f"tie_embedding: no per-column scale {weight_scale} for {weight}")
    p = "/tied_embedding/"
    tied = [
        helper.make_node("Gather", [weight, "input_ids"], [p + "columns"], name=p + "Gather", axis=1),  # [H, b, n]
        helper.make_node("Gather", [weight_zero, "input_ids"], [p + "zero"], name=p + "GatherZero", axis=0),
        helper.make_node("Gather", [weight_scale, "input_ids"], [p + "scale"], name=p + "GatherScale", axis=0),
        helper.make_node("Cast", [p + "columns"], [p + "columns_f"], name=p + "Cast", to=onnx.TensorProto.FLOAT),
        helper.make_node("Cast", [p + "zero"], [p + "zero_f"], name=p + "CastZero", to=onnx.TensorProto.FLOAT),
        helper.make_node("Sub", [p + "columns_f", p + "zero_f"], [p + "centred"], name=p + "Sub"),
        helper.make_node("Mul", [p + "centred", p + "scale"], [p + "rows"], name=p + "Mul"),
        helper.make_node("Transpose", [p + "rows"], [dequantize.output[0]], name=p + "Transpose", perm=[1, 2, 0]),
    ]
    nodes = []
    for node in graph.node:
        if node is embed:
            nodes += tied
        elif node is not dequantize:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _dynamic_uint8_per_token(src: Path, keep_fp32: list[str], keep_int8: list[str] = ()) -> onnx.ModelProto:
    """8-bit weights per output channel (as `_dynamic_uint8_per_channel`), activations per token."""
    model = _dynamic_uint8_per_channel(src, keep_fp32)
    _activations_per_token(model.graph)
    return model


# A rewrite gets (node, weight name, weight array) and returns the nodes and initializers that
# replace the node, or None to leave it as it is.
Rewrite = Callable[[onnx.NodeProto, str, np.ndarray], tuple[list, list] | None]


def _rewrite_weights(src: Path, keep_fp32: list[str], rewrites: dict[str, Rewrite]) -> onnx.ModelProto:
    """Walk the graph once and let `rewrites[op_type]` replace nodes that read a constant weight."""
    model = onnx.load(str(src))
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    used, replaced = set(), set()
    nodes, added = [], []
    for node in graph.node:
        slot = WEIGHT_INPUT.get(node.op_type)
        name = node.input[slot] if slot is not None and node.op_type in rewrites else None
        result = None
        if name in weights and not any(k in node.name for k in keep_fp32):
            result = rewrites[node.op_type](node, name, numpy_helper.to_array(weights[name]))
        if result is None:
            nodes.append(node)
            used.update(node.input)
        else:
            nodes += result[0]
            added += result[1]
            replaced.add(name)
            for n in result[0]:
                used.update(n.input)
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [t for t in graph.initializer if t.name not in replaced or t.name in used] + added
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if any(n.domain == "com.microsoft" for n in nodes) and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def _int8_dequantized(node: onnx.NodeProto, name: str, w: np.ndarray):
    """DequantizeLinear(int8 weight, one symmetric scale per output channel) feeding the same op."""
    if w.ndim != 2 or w.size < 4096:
        return None
    axis = 1 if node.op_type == "MatMul" else 0  # the output channel: MatMul's column, Gather's row
    peak = np.abs(w).max(axis=1 - axis)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / np.expand_dims(scale, 1 - axis)), -127, 127).astype(np.int8)
    out = f"{node.name}/weight_dequantized"
    dq = helper.make_node("DequantizeLinear", [f"{node.name}/weight_int8", f"{node.name}/weight_scale"], [out],
                          name=f"{node.name}/DequantizeLinear", axis=axis)
    inputs = list(node.input)
    inputs[WEIGHT_INPUT[node.op_type]] = out
    replaced = helper.make_node(node.op_type, inputs, list(node.output), name=node.name)
    replaced.attribute.extend(node.attribute)
    return [dq, replaced], [numpy_helper.from_array(q, f"{node.name}/weight_int8"),
                            numpy_helper.from_array(scale, f"{node.name}/weight_scale")]


BLOCK = 32


def _int4_blocks(node: onnx.NodeProto, name: str, w: np.ndarray):
    """MatMulNBits with 4-bit blocks of 32 along K, each with its own scale and float zero point.

    scale = (max - min) / 15 and zero point = -min / scale put a block's min and max exactly on the
    grid. A GGUF Q4_1 block (w = d * q + m, q in 0..15, quantized from its own min and max) is such
    a grid, so Q4_1 weights pass through without loss.
    """
    if w.ndim != 2 or w.shape[0] % BLOCK:
        return None
    k, n = w.shape
    blocks = w.T.reshape(n, k // BLOCK, BLOCK).astype(np.float64)
    low, high = blocks.min(-1), blocks.max(-1)
    scale = np.where(high > low, (high - low) / 15.0, 1.0)
    q = np.clip(np.rint((blocks - low[..., None]) / scale[..., None]), 0, 15).astype(np.uint8)
    packed = q[..., 0::2] | (q[..., 1::2] << 4)  # two values a byte, the first in the low nibble
    zero = (-low / scale).astype(np.float32)
    prefix = node.name
    nbits = helper.make_node("MatMulNBits", [node.input[0], f"{prefix}/q4", f"{prefix}/q4_scales", f"{prefix}/q4_zero"],
                             list(node.output), name=prefix, domain="com.microsoft",
                             K=k, N=n, bits=4, block_size=BLOCK)
    return [nbits], [numpy_helper.from_array(packed, f"{prefix}/q4"),
                     numpy_helper.from_array(scale.astype(np.float32).reshape(-1), f"{prefix}/q4_scales"),
                     numpy_helper.from_array(zero.reshape(-1), f"{prefix}/q4_zero")]


def _weight_only_int8(src: Path, keep_fp32: list[str], keep_int8: list[str] = ()) -> onnx.ModelProto:
    """int8 weights for every MatMul and Gather table, math in fp32 (the runtimes fold the
    DequantizeLinear into fp32 weights once, at load)."""
    return _rewrite_weights(src, keep_fp32, {"MatMul": _int8_dequantized, "Gather": _int8_dequantized})


def _weight_only_int4(src: Path, keep_fp32: list[str], keep_int8: list[str]) -> onnx.ModelProto:
    """4-bit MatMul weights (MatMulNBits); the embedding table and `keep_int8` nodes as int8."""
    def matmul(node, name, w):
        return (_int8_dequantized if any(k in node.name for k in keep_int8) else _int4_blocks)(node, name, w)

    return _rewrite_weights(src, keep_fp32, {"MatMul": matmul, "Gather": _int8_dequantized})


METHODS = {
    "dynamic-uint8-per-channel": _dynamic_uint8_per_channel,
    "dynamic-uint8-per-token": _dynamic_uint8_per_token,
    "weight-only-int8-per-channel": _weight_only_int8,
    "weight-only-int4-block32": _weight_only_int4,
}


def _base_opset(model: onnx.ModelProto) -> int | None:
    return {o.domain or "ai.onnx": o.version for o in model.opset_import}.get("ai.onnx")


def quantize(model_id: str, method: str, src: Path, dst: Path, keep_fp32: list[str] = (),
             keep_int8: list[str] = (), tie_embedding: bool = False) -> None:
    """Quantize `src` into `dst` (its weights beside it); nodes whose names contain a `keep_fp32`
    (`keep_int8`) string stay fp32 (int8); `tie_embedding` reads the embeddings from the output
    projection's weights."""
    if method not in METHODS:
        raise BuildError(f"{model_id}: unknown quantization method {method!r}")
    model = METHODS[method](src, list(keep_fp32), list(keep_int8))
    if tie_embedding:
        try:
            _tie_embedding(model.graph)
        except BuildError as e:
            raise BuildError(f"{model_id}: {e}") from e
    # A quantizer that bumps the default opset changes op semantics (ReduceMean's axes moved to an
    # input at 18), which was measured to break loading; keep the exported opset.
    exported = _base_opset(onnx.load(str(src), load_external_data=False))
    if _base_opset(model) != exported:
        raise BuildError(f"{model_id}: quantization {method} changed the opset from "
                         f"{exported} to {_base_opset(model)}")
    save_with_weights_beside(model, dst)
