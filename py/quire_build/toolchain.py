"""The non-Python parts the build and tests need: npm packages (pinned by package-lock.json) and
Debian's Chromium, driven by Playwright without any browser download of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

from . import ROOT, BuildError

CHROMIUM = Path("/usr/bin/chromium")
# Playwright adds --headless itself.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def ensure_node_modules() -> Path:
    """`npm ci` when node_modules is missing or older than the lock file."""
    modules, lock = ROOT / "node_modules", ROOT / "package-lock.json"
    stamp = modules / ".package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        if not shutil.which("npm"):
            raise BuildError("npm is not installed (apt-get install -y nodejs npm)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=ROOT, check=True)
    return modules


def ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0:
        raise BuildError("Chromium is missing: run `apt-get install -y chromium` as root")
    print("installing Debian's chromium (apt-get)...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return CHROMIUM


@contextmanager
def chromium(extra_flags: list[str] = ()):
    """A fresh headless Chromium (new profile each time), as a Playwright browser context."""
    import tempfile

    from playwright.sync_api import sync_playwright

    ensure_chromium()
    with tempfile.TemporaryDirectory(prefix="quire-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_FLAGS + list(extra_flags))
        try:
            yield context
        finally:
            context.close()
