"""`build.py site` assembles dist/ (a placeholder page until the app lands) from verified models."""

from quire_build.site import build_site


def test_site_lists_the_verified_default_models(built_models):
    page = (build_site() / "index.html").read_text()
    for name in ("all-minilm-l6-v2", "smollm2-135m-instruct"):
        assert name in page
    assert "onnx/model_quantized.onnx" in page
