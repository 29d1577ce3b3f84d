"""The localhost server behind `build.py serve` and the browser checks."""

import urllib.error
import urllib.request

import pytest

from quire_build.serve import Background
from quire_build.site import PAGE_POLICY, WORKER_POLICY


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>q</title>")
    (tmp_path / "a.mjs").write_text("export const a = 1;")
    (tmp_path / "a.wasm").write_bytes(b"\0asm\1\0\0\0")
    (tmp_path.parent / "secret.txt").write_text("outside the site")
    with Background({"/": tmp_path}) as url:
        yield url


def _get(url, headers=None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
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


@pytest.fixture
def built(tmp_path):
    """A built site (it has the sw-version.js the build writes) and a test page beside it."""
    site, tests = tmp_path / "site", tmp_path / "tests"
    for folder in (site, tests):
        folder.mkdir()
        (folder / "index.html").write_text("<!doctype html><title>q</title>")
        (folder / "worker.js").write_text("postMessage(1);")
    (site / "sw-version.js").write_text('self.QUIRE_VERSION = "1";')
    return {"/": site, "/tests": tests}


def test_a_built_site_gets_its_policy_and_workers_theirs(built):
    with Background(built) as url:
        assert _get(url + "/index.html")[1]["Content-Security-Policy"] == PAGE_POLICY
        assert _get(url + "/worker.js")[1]["Content-Security-Policy"] == PAGE_POLICY  # fetched as data
        worker = _get(url + "/worker.js", {"Sec-Fetch-Dest": "worker"})[1]
        assert worker["Content-Security-Policy"] == WORKER_POLICY
        # Test and bench pages mounted beside the site keep their inline scripts.
        assert _get(url + "/tests/index.html")[1]["Content-Security-Policy"] is None


def test_a_plain_static_host_sends_no_headers_of_its_own(built):
    with Background(built, site_headers=False) as url:
        headers = _get(url + "/index.html")[1]
    for name in ("Content-Security-Policy", "Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy"):
        assert headers[name] is None
