"""The localhost server behind `build.py serve` and the browser checks."""

import urllib.error
import urllib.request

import pytest

from quire_build.serve import Background


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>q</title>")
    (tmp_path / "a.mjs").write_text("export const a = 1;")
    (tmp_path / "a.wasm").write_bytes(b"\0asm\1\0\0\0")
    (tmp_path.parent / "secret.txt").write_text("outside the site")
    with Background({"/": tmp_path}) as url:
        yield url


def _get(url):
    with urllib.request.urlopen(url) as r:
        return r.status, r.headers, r.read()


def test_pages_are_cross_origin_isolated(site):
    status, headers, _ = _get(site + "/index.html")
    assert status == 200
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"


@pytest.mark.parametrize("name,mime", [("a.mjs", "text/javascript"), ("a.wasm", "application/wasm")])
def test_modules_and_webassembly_get_their_mime_types(site, name, mime):
    assert _get(f"{site}/{name}")[1]["Content-Type"] == mime


def test_paths_cannot_escape_the_site(site):
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(site + "/../secret.txt")
    assert err.value.code == 404
    with pytest.raises(urllib.error.HTTPError):
        _get(site + "/%2e%2e/secret.txt")
