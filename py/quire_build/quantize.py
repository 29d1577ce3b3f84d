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

# Which input of each op holds the weight a method may replace.
WEIGHT_INPUT = {"MatMul": 1, "Gather": 0}


def _dynamic_uint8_per_channel(src: Path, dst: Path, keep_fp32: list[str], keep_int8: list[str] = ()) -> None:
    """8-bit weights (per output channel), activations quantized on the fly (MatMulInteger).

    Weights are asymmetric uint8: with signed int8 weights onnxruntime-web's WASM kernels and
    CPython's x86 kernels disagreed (cosine 0.990 on the same file); with uint8 they agree to 0.9995.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        # Shape inference first, so every MatMul is recognised as quantizable.
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        graph = onnx.load(str(pre), load_external_data=False).graph
        exclude = [n.name for n in graph.node if any(k in n.name for k in keep_fp32)]
        quantize_dynamic(str(pre), str(dst), per_channel=True, weight_type=QuantType.QUInt8,
                         op_types_to_quantize=["MatMul", "Gather"], nodes_to_exclude=exclude,
                         extra_options={"MatMulConstBOnly": True})


# A rewrite gets (node, weight name, weight array) and returns the nodes and initializers that
# replace the node, or None to leave it as it is.
Rewrite = Callable[[onnx.NodeProto, str, np.ndarray], tuple[list, list] | None]


def _rewrite_weights(src: Path, dst: Path, keep_fp32: list[str], rewrites: dict[str, Rewrite]) -> None:
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
    onnx.save_model(model, str(dst))


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


def _weight_only_int8(src: Path, dst: Path, keep_fp32: list[str], keep_int8: list[str] = ()) -> None:
    """int8 weights for every MatMul and Gather table, math in fp32 (the runtimes fold the
    DequantizeLinear into fp32 weights once, at load)."""
    _rewrite_weights(src, dst, keep_fp32, {"MatMul": _int8_dequantized, "Gather": _int8_dequantized})


def _weight_only_int4(src: Path, dst: Path, keep_fp32: list[str], keep_int8: list[str]) -> None:
    """4-bit MatMul weights (MatMulNBits); the embedding table and `keep_int8` nodes as int8."""
    def matmul(node, name, w):
        return (_int8_dequantized if any(k in node.name for k in keep_int8) else _int4_blocks)(node, name, w)

    _rewrite_weights(src, dst, keep_fp32, {"MatMul": matmul, "Gather": _int8_dequantized})


METHODS = {
    "dynamic-uint8-per-channel": _dynamic_uint8_per_channel,
    "weight-only-int8-per-channel": _weight_only_int8,
    "weight-only-int4-block32": _weight_only_int4,
}


def _base_opset(path: Path) -> int | None:
    model = onnx.load(str(path), load_external_data=False)
    return {o.domain or "ai.onnx": o.version for o in model.opset_import}.get("ai.onnx")


def quantize(model_id: str, method: str, src: Path, dst: Path, keep_fp32: list[str] = (),
             keep_int8: list[str] = ()) -> None:
    """Quantize `src` into `dst`; nodes whose names contain a `keep_fp32` (`keep_int8`) string
    stay fp32 (int8)."""
    if method not in METHODS:
        raise BuildError(f"{model_id}: unknown quantization method {method!r}")
    METHODS[method](src, dst, list(keep_fp32), list(keep_int8))
    # A quantizer that bumps the default opset changes op semantics (ReduceMean's axes moved to an
    # input at 18), which was measured to break loading; keep the exported opset.
    if _base_opset(dst) != _base_opset(src):
        raise BuildError(f"{model_id}: quantization {method} changed the opset from "
                         f"{_base_opset(src)} to {_base_opset(dst)}")
