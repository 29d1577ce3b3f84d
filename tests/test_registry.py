"""The model registry: the one place model facts live, validated when read."""

from pathlib import Path

import pytest

from quire.registry import RegistryError, load_index_params, load_registry
from quire_build.models import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_one_embedding_and_one_generation_model(registry):
    defaults = [r for r in registry.values() if r.default]
    assert sorted(r.role for r in defaults) == ["embedding", "generation"]


def test_every_record_pins_its_source_and_ships_its_license(registry):
    for rec in registry.values():
        assert len(rec.source.sha256) == 64, rec.id
        assert "==" not in rec.source.version and rec.source.version[0].isdigit(), rec.id
        if not rec.license_file.startswith("source:"):  # else it ships inside the source package
            assert (ROOT / "models" / rec.license_file).is_file(), rec.id
        for v in rec.variants:
            assert v.file in rec.files and v.weights in rec.files, (rec.id, v.name)


def test_generation_records_carry_template_and_stop_tokens(registry):
    for rec in registry.values():
        if rec.role == "generation":
            assert "add_generation_prompt" in rec.facts["chat_template"]
            assert rec.facts["eos"] in rec.facts["stop_tokens"]


def _broken(tmp_path, old: str, new: str) -> Path:
    text = REGISTRY.read_text()
    assert old in text
    path = tmp_path / "registry.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old,new,message", [
    ('role = "embedding"', 'role = "reranker"', "all-minilm-l6-v2: role must be one of"),
    ("dims = 384\n", "", "all-minilm-l6-v2: embedding models need ['dims']"),
    ('default = "int8"', 'default = "int2"', "default quantization 'int2'"),
    ('sha256 = "b9a0', 'sha = "b9a0', "source lacks ['sha256']"),
])
def test_malformed_records_are_refused_with_the_model_named(tmp_path, old, new, message):
    with pytest.raises(RegistryError) as err:
        load_registry(_broken(tmp_path, old, new))
    assert message in str(err.value)


def test_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text(REGISTRY.read_text().replace('id = "smollm2-135m-instruct"', 'id = "all-minilm-l6-v2"'))
    with pytest.raises(RegistryError, match="listed twice"):
        load_registry(path)


def test_gemma_is_an_opt_in_base_model_under_its_own_terms(registry):
    gemma = registry["gemma-3-270m"]
    assert not gemma.default and gemma.role == "generation"
    assert "BASE model" in gemma.notice and "Gemma Terms of Use" in gemma.notice
    assert gemma.license == "Gemma Terms of Use" and gemma.license_file == "source:GEMMA_TERMS.html"
    assert len(gemma.source.parts) == 4 and gemma.recipe["assembled_sha256"]


def test_the_index_parameters_are_read_and_checked(tmp_path):
    params = load_index_params(REGISTRY)
    assert min(params.M, params.ef_construction, params.ef) >= 1 and params.ef >= 10  # ef below k = 10 is useless
    text = REGISTRY.read_text()
    table = text[text.index("\n[index]\n") + 1:text.index("[[model]]")]
    for broken, message in [(table.replace(f"ef = {params.ef}\n", ""), "[index] lacks ['ef']"),
                            (table.replace(f"M = {params.M}", 'M = "16"'), "[index] M must be a positive integer"),
                            (table + "space = 'l2'\n", "[index] has unknown keys ['space']"),
                            ("", "no [index] table")]:
        path = tmp_path / "registry.toml"
        path.write_text(text.replace(table, broken))
        with pytest.raises(RegistryError) as err:
            load_index_params(path)
        assert message in str(err.value)
