"""What the figures were measured on: the machine, the versions, the commit; and docs/benchmarks.md,
one section per part (rerunning a part replaces its section, the others stay)."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER = "@huggingface/transformers"
DOC = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

`python3 bench/run.py` measures Quire in headless Chromium and in CPython and writes one section per
part here (`--part NAME` runs one part and replaces only its section). Each section names the
command, the machine and the versions it was measured with. The figures are ratios measured in the
same run: absolute rates depend on the machine and, on a shared one, on its load at the time.
No test asserts a wall-clock limit.
"""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float:
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        return kb / 1024 / 1024
    except (OSError, AttributeError):
        return float("nan")


def machine() -> str:
    """CPU, cores, RAM, OS."""
    return (f"{_cpu_model()}, {os.cpu_count()} logical cores, {_ram_gb():.0f} GB RAM, "
            f"{platform.system()} {platform.release()}")


def _npm_version(package: str, base: Path | None = None) -> str:
    path = (base or ROOT / "node_modules") / package / "package.json"
    try:
        return json.loads(path.read_text())["version"]
    except OSError:
        return "missing"


def versions_npm() -> dict[str, str]:
    nested = ROOT / "node_modules" / "@huggingface" / "transformers" / "node_modules"
    return {"pyodide": _npm_version("pyodide"), "onnxruntime-web": _npm_version("onnxruntime-web"),
            "transformers.js": _npm_version(PEER),
            "transformers.js onnxruntime-web": _npm_version("onnxruntime-web", nested)}


def chromium_version() -> str:
    try:
        out = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.strip().splitlines()[0] if out.strip() else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "missing"


def versions() -> dict[str, str]:
    import onnxruntime

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "py", "web"], cwd=ROOT, capture_output=True,
                           text=True).stdout
    return {"quire": commit.strip() + (" (with uncommitted changes in py/ or web/)" if dirty.strip() else ""),
            "chromium": chromium_version(), **versions_npm(),
            "python": platform.python_version(), "onnxruntime": onnxruntime.__version__}


class ForeignCpu:
    """CPU used by processes outside this one's tree (other people's jobs on a shared machine), in
    cores, between `start()` and `stop()`. Linux only; None elsewhere."""

    def __init__(self):
        self.hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.mark = None

    @staticmethod
    def _busy() -> int:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[:7])
        return user + nice + system + irq + softirq

    @staticmethod
    def _mine() -> int:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    raw = (entry / "stat").read_text()
                except OSError:
                    continue
                rest = raw[raw.rindex(")") + 2:].split()
                stats[int(entry.name)] = (int(rest[1]), int(rest[11]) + int(rest[12]))  # ppid, utime + stime
        tree, todo = set(), [os.getpid()]
        while todo:
            pid = todo.pop()
            tree.add(pid)
            todo += [child for child, (ppid, _) in stats.items() if ppid == pid and child not in tree]
        return sum(stats[pid][1] for pid in tree if pid in stats)

    def start(self) -> None:
        try:
            self.mark = (time.monotonic(), self._busy(), self._mine())
        except (OSError, ValueError):
            self.mark = None

    def stop(self) -> float | None:
        if self.mark is None:
            return None
        t0, busy0, mine0 = self.mark
        try:
            busy, mine = self._busy() - busy0, self._mine() - mine0
        except (OSError, ValueError):
            return None
        return max(0.0, (busy - mine) / self.hz / max(time.monotonic() - t0, 1e-6))


@contextmanager
def browser(profile: Path | None = None, extra_flags: list[str] = ()):
    """Debian's headless Chromium with the project's flags, as a Playwright persistent context on
    `profile` (kept afterwards, so a second visit finds its caches) or on a fresh temporary folder."""
    from playwright.sync_api import sync_playwright
    from quire_build.toolchain import CHROMIUM, CHROMIUM_FLAGS, ensure_chromium

    ensure_chromium()
    with tempfile.TemporaryDirectory(prefix="quire-bench-profile-") as fresh, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile or fresh), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_FLAGS + list(extra_flags))
        try:
            yield context
        finally:
            context.close()


@contextmanager
def bench_page(mounts: dict[str, Path]):
    """bench/web/index.html served with `mounts` and open in Chromium. Yields `call(what, script, arg)`:
    page.evaluate that, when it fails, names the job and the page's errors."""
    from quire_build.serve import Background
    from quire_build.toolchain import chromium

    with Background(mounts) as url, chromium() as context:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/bench/index.html")
        page.wait_for_function("window.benchReady === true", timeout=60_000)

        def call(what: str, script: str, arg=None):
            try:
                return page.evaluate(script, arg)
            except Exception as err:
                raise RuntimeError(f"{what} failed in the browser: {err} {errors}") from err

        yield call


def peer_mounts(into: Path) -> dict[str, Path]:
    """Server mounts for Transformers.js (the peer) in a module worker: /tjs holds
    transformers.web.min.js with its two bare imports resolved (module workers take no import map),
    /tjs-ort and /tjs-ort-common the onnxruntime-web it pins. `into` holds the rewritten copy."""
    from quire_build.toolchain import ensure_node_modules

    modules = ensure_node_modules()
    nested = modules / PEER / "node_modules"
    src = modules / PEER / "dist" / "transformers.web.min.js"
    text = src.read_text(encoding="utf-8")
    mapping = {"onnxruntime-common": "/tjs-ort-common/dist/esm/index.js",
               "onnxruntime-web/webgpu": "/tjs-ort/ort.webgpu.min.mjs"}
    for bare, url in mapping.items():
        text, n = re.subn(rf'(\bfrom\s*)"{re.escape(bare)}"', rf'\1"{url}"', text)
        if n != 1:
            raise RuntimeError(f"{src}: expected one import of {bare}, found {n}: update bench/machine.py")
    (into / "tjs").mkdir(parents=True, exist_ok=True)
    (into / "tjs" / "transformers.web.min.js").write_text(text, encoding="utf-8")
    return {"/tjs": into / "tjs", "/tjs-ort": nested / "onnxruntime-web" / "dist",
            "/tjs-ort-common": nested / "onnxruntime-common"}


def fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def table(header: list[str], rows: list[list[str]], numbers: bool = True) -> str:
    """A Markdown table; `numbers` right-aligns every column but the first."""
    lines = ["| " + " | ".join(header) + " |", "|---" + ("|---:" if numbers else "|---") * (len(header) - 1) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def command() -> str:
    args = " ".join(sys.argv[1:])
    return f"python3 bench/run.py {args}".strip()


def write_section(part: str, body: str) -> Path:
    """Replace (or append) the part's section of docs/benchmarks.md."""
    start, end = f"<!-- part:{part} -->", f"<!-- /part:{part} -->"
    block = f"{start}\n{body.strip()}\n{end}\n"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    DOC.write_text(text, encoding="utf-8")
    return DOC
