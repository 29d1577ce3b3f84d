"""A static file server for `dist/` and the build's browser checks, on localhost only.

It sends the headers a cross-origin isolated page needs (threads in onnxruntime-web), the right
MIME types for modules and WebAssembly and, on the files of a built site, the site's
Content-Security-Policy (the one index.html carries and the service worker adds, from site.py).
"""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.parse
from pathlib import Path

from .site import content_security_policy

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
MIME = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
        ".json": "application/json", ".onnx": "application/octet-stream", ".whl": "application/zip",
        ".zip": "application/zip", ".html": "text/html; charset=utf-8", ".css": "text/css",
        ".svg": "image/svg+xml", ".webmanifest": "application/manifest+json"}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME}
    mounts: dict[str, Path] = {}
    site_headers = True

    def _mount(self, path: str) -> tuple[Path, str] | None:
        """(the mount's root, the rest of the path) for a URL path: the longest matching prefix wins."""
        clean = urllib.parse.unquote(path.split("?", 1)[0].split("#", 1)[0])
        for prefix in sorted(self.mounts, key=len, reverse=True):
            if clean == prefix.rstrip("/") or clean.startswith(prefix.rstrip("/") + "/") or prefix == "/":
                return self.mounts[prefix].resolve(), clean[len(prefix.rstrip("/")):].lstrip("/")
        return None

    def translate_path(self, path: str) -> str:
        mount = self._mount(path)
        if mount is None:
            return str(Path("/nonexistent"))
        root, rest = mount
        target = (root / rest).resolve()
        if target != root and root not in target.parents:
            return str(root / "__outside__")  # 404 rather than escape the mount
        return str(target)

    def end_headers(self) -> None:
        if self.site_headers:
            for k, v in ISOLATION_HEADERS.items():
                self.send_header(k, v)
            # Only a built site gets its policy: test and bench pages mounted beside it keep their inline scripts.
            mount = self._mount(self.path)
            if mount and (mount[0] / "sw-version.js").is_file():
                destination = self.headers.get("Sec-Fetch-Dest", "")
                self.send_header("Content-Security-Policy", content_security_policy(destination))
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, *args) -> None:  # quiet: tests and the build print their own progress
        pass


def make_server(mounts: dict[str, Path], port: int = 0, host: str = "127.0.0.1",
                site_headers: bool = True) -> http.server.ThreadingHTTPServer:
    """`site_headers=False` plays a static host that cannot set headers: no isolation, no policy
    header (the service worker must add them; the page still has its <meta> policy)."""
    handler = type("Handler", (_Handler,), {"mounts": {k: Path(v) for k, v in mounts.items()},
                                            "site_headers": site_headers})
    server = http.server.ThreadingHTTPServer((host, port), functools.partial(handler))
    server.daemon_threads = True
    return server


class Background:
    """Serve `mounts` on a free localhost port in a thread: `with Background(m) as url: ...`."""

    def __init__(self, mounts: dict[str, Path], site_headers: bool = True):
        self.server = make_server(mounts, site_headers=site_headers)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
