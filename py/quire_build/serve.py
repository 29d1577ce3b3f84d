"""A static file server for `dist/` and the build's browser checks, on localhost only.

It sends the headers a cross-origin isolated page needs (threads in onnxruntime-web) and the right
MIME types for modules and WebAssembly.
"""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.parse
from pathlib import Path

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
    isolate = True

    def translate_path(self, path: str) -> str:
        # Longest matching mount prefix wins; "/" is the site root.
        clean = urllib.parse.unquote(path.split("?", 1)[0].split("#", 1)[0])
        for prefix in sorted(self.mounts, key=len, reverse=True):
            if clean == prefix.rstrip("/") or clean.startswith(prefix.rstrip("/") + "/") or prefix == "/":
                rest = clean[len(prefix.rstrip("/")):].lstrip("/")
                root = self.mounts[prefix].resolve()
                target = (root / rest).resolve()
                if target != root and root not in target.parents:
                    return str(root / "__outside__")  # 404 rather than escape the mount
                return str(target)
        return str(Path("/nonexistent"))

    def end_headers(self) -> None:
        for k, v in ISOLATION_HEADERS.items() if self.isolate else ():
            self.send_header(k, v)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, *args) -> None:  # quiet: tests and the build print their own progress
        pass


def make_server(mounts: dict[str, Path], port: int = 0, host: str = "127.0.0.1",
                isolate: bool = True) -> http.server.ThreadingHTTPServer:
    """`isolate=False` plays a static host that cannot set headers (the service worker must add them)."""
    handler = type("Handler", (_Handler,), {"mounts": {k: Path(v) for k, v in mounts.items()}, "isolate": isolate})
    server = http.server.ThreadingHTTPServer((host, port), functools.partial(handler))
    server.daemon_threads = True
    return server


class Background:
    """Serve `mounts` on a free localhost port in a thread: `with Background(m) as url: ...`."""

    def __init__(self, mounts: dict[str, Path], isolate: bool = True):
        self.server = make_server(mounts, isolate=isolate)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
