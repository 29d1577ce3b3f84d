"""Quantization methods named by the registry's `method` field."""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx

from . import BuildError


def _dynamic_int8(src: Path, dst: Path, op_types: list[str], keep_fp32: list[str] = ()) -> None:
    """8-bit weights (per output channel), activations quantized on the fly.

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
                         op_types_to_quantize=op_types, nodes_to_exclude=exclude, extra_options={"MatMulConstBOnly": True})


def _dynamic_uint8_per_channel(src: Path, dst: Path, keep_fp32: list[str]) -> None:
    _dynamic_int8(src, dst, ["MatMul", "Gather"], keep_fp32)


def _matmul_nbits_int4(src: Path, dst: Path, keep_fp32: list[str]) -> None:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    model = onnx.load(str(src))
    # MatMul weights only: quantizing the embedding Gather (GatherBlockQuantized) breaks Transformers.js.
    exclude = [n.name for n in model.graph.node if any(k in n.name for k in keep_fp32)]
    quant = MatMulNBitsQuantizer(model, block_size=32, is_symmetric=True, op_types_to_quantize=("MatMul",),
                                 nodes_to_exclude=exclude)
    quant.process()
    with tempfile.TemporaryDirectory() as tmp:
        nbits = Path(tmp) / "nbits.onnx"
        onnx.save_model(quant.model.model, str(nbits))
        # The embedding table as int8 with standard ops (DequantizeLinear), so it loads everywhere.
        _dynamic_int8(nbits, dst, ["Gather"])


METHODS = {
    "dynamic-uint8-per-channel": _dynamic_uint8_per_channel,
    "matmul-nbits-int4-block32": _matmul_nbits_int4,
}


def quantize(model_id: str, method: str, src: Path, dst: Path, keep_fp32: list[str] = ()) -> None:
    """Quantize `src` into `dst`; nodes whose names contain a `keep_fp32` string stay fp32."""
    if method not in METHODS:
        raise BuildError(f"{model_id}: unknown quantization method {method!r}")
    METHODS[method](src, dst, list(keep_fp32))
    opsets = {o.domain or "ai.onnx": o.version for o in onnx.load(str(dst), load_external_data=False).opset_import}
    base = opsets.get("ai.onnx")
    src_base = {o.domain or "ai.onnx": o.version
                for o in onnx.load(str(src), load_external_data=False).opset_import}.get("ai.onnx")
    # A quantizer that bumps the default opset changes op semantics (ReduceMean's axes moved to an
    # input at 18), which was measured to break loading; keep the exported opset.
    if base != src_base:
        raise BuildError(f"{model_id}: quantization {method} changed the opset from {src_base} to {base}")
