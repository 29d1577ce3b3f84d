"""Run each quantized model in onnxruntime-web (WASM) inside headless Chromium and compare it with
CPython onnxruntime on the same file, using the inputs and outputs `verify.py` recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from quire.registry import ModelRecord

from . import ROOT, BuildError
from .serve import Background
from .toolchain import chromium, ensure_node_modules

PAGE = Path(__file__).parent / "browser_check"


def check_server(models: dict[str, Path]) -> Background:
    """A server for the check page, the app's bridge, onnxruntime-web and `models` (URL prefix: folder)."""
    return Background({"/check": PAGE, "/web": ROOT / "web",
                       "/vendor/ort": ensure_node_modules() / "onnxruntime-web" / "dist", **models})


def open_check_page(context, url: str):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/check/index.html")
    page.wait_for_function("window.quireCheckReady === true", timeout=60_000)
    return page, errors


def browser_check(rec: ModelRecord, folder: Path, report: dict) -> dict:
    """Returns the browser figures per variant; raises BuildError when one is below its limit."""
    results = {}
    with check_server({"/model": folder}) as url, chromium() as context:
        page, errors = open_check_page(context, url)
        for v in rec.variants:
            files = {"file": v.file, "weights": v.weights}
            try:
                if rec.role == "embedding":
                    got = np.asarray(page.evaluate("([f, b]) => quireCheck.embed('/model/', f, b)",
                                                   [files, report["token_ids"]]), dtype=np.float32)
                    ref = np.asarray(report["variants"][v.name]["vectors"], dtype=np.float32)
                    got = got.reshape(ref.shape)
                    cos = (got * ref).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
                    value, limit, what = float(cos.min()), v.checks["min_browser_cosine"], "cosine"
                    results[v.name] = {"min_cosine_to_cpython": value}
                else:
                    config = json.loads((folder / "config.json").read_text())
                    top1 = page.evaluate("([f, c, p, k]) => quireCheck.teacherForced('/model/', f, c, p, k)",
                                         [files, config, report["prompts"], report["continuations"]])
                    ref = report["variants"][v.name]["top1"]
                    pairs = [(a, b) for t, r in zip(top1, ref) for a, b in zip(t, r)]
                    value = sum(a == b for a, b in pairs) / len(pairs)
                    limit, what = v.checks["min_browser_top1_agreement"], "teacher-forced top-1 agreement"
                    results[v.name] = {"top1_agreement_to_cpython": value}
            except Exception as e:  # a page error says more than Playwright's wrapper
                raise BuildError(f"{rec.id} ({v.name}): failed in onnxruntime-web: {errors or e}") from e
            results[v.name]["threads"] = page.evaluate("quireCheck.threads()")
            if value < limit:
                raise BuildError(f"{rec.id} ({v.name}): in onnxruntime-web the {what} with CPython "
                                 f"onnxruntime on the same file is {value:.4f} (needs ≥ {limit})")
    return results
