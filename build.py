#!/usr/bin/env python3
"""Quire's one entry point for building, serving and testing.

    python3 build.py serve            build the site with its offered models and serve it
    python3 build.py test             run the whole test suite
    python3 build.py models [--model ID ...] [--model-dir PATH ...] [--skip-browser-check]
    python3 build.py site             build dist/ only

It runs with the system Python: the first thing it does is make `.venv` (with the pinned build
and test extras) and re-run itself inside it. Converted models are cached outside the work tree
(~/.cache/quire, or $QUIRE_CACHE), keyed by source hash and converter version.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"


def ensure_venv() -> None:
    """Re-exec inside .venv, creating it or reinstalling when pyproject.toml changed."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    stamp = VENV / ".quire-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not VENV_PYTHON.exists():
        print("creating .venv", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text() != want:
        print("installing Python dependencies into .venv (torch is the CPU build)", flush=True)
        pip = [str(VENV_PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        # torch first and alone, so no dependency resolution can reach for a multi-GB CUDA build.
        subprocess.run(pip + ["torch==2.13.0"], check=True)
        subprocess.run(pip + ["-e", f"{ROOT}[build,test]"], check=True)
        stamp.write_text(want)
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    models = sub.add_parser("models", help="convert, quantize, verify and cache the models")
    models.add_argument("--model", action="append", help="a registry id (default: the default models)")
    models.add_argument("--model-dir", action="append", default=[], help="a model folder in the onnx-community layout")
    models.add_argument("--skip-browser-check", action="store_true", help="skip the onnxruntime-web check")
    sub.add_parser("site", help="build dist/")
    serve = sub.add_parser("serve", help="build, then serve dist/ on localhost")
    serve.add_argument("--port", type=int, default=8000)
    sub.add_parser("test", help="run every test (extra arguments, such as -x or -k NAME, go to pytest)")
    args, extra = parser.parse_known_args()
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    ensure_venv()
    from quire_build import BuildError

    try:
        if args.command == "models":
            from quire_build.models import build_models

            build_models(args.model, args.model_dir, browser=not args.skip_browser_check)
        elif args.command in (None, "site", "serve"):
            from quire_build.site import build_site

            dist = build_site()
            if args.command == "serve":
                from quire_build.serve import make_server

                server = make_server({"/": dist}, port=args.port)
                print(f"Quire is served at http://127.0.0.1:{server.server_address[1]}/  (Ctrl-C stops)", flush=True)
                try:
                    server.serve_forever()
                except KeyboardInterrupt:
                    pass
        elif args.command == "test":
            from quire_build.models import build_models
            from quire_build.toolchain import ensure_chromium, ensure_node_modules

            ensure_chromium()
            ensure_node_modules()
            build_models(offered=True)  # the site the browser tests serve ships them all
            return subprocess.call([sys.executable, "-m", "pytest", *extra], cwd=ROOT)
    except BuildError as e:
        print(f"build failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
