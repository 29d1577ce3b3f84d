"""What the figures were measured on: the machine, the versions, the commit; and docs/benchmarks.md,
one section per part (rerunning a part replaces its section, the others stay)."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
            "transformers.js": _npm_version("@huggingface/transformers"),
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
