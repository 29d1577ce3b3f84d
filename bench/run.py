#!/usr/bin/env python3
"""Quire's benchmarks: headless Chromium and CPython in one run, ratios printed and written to
docs/benchmarks.md with the machine, the versions and this command.

    python3 bench/run.py                          every part: ingest, generation, index, quality, startup, memory
    python3 bench/run.py --part ingest            one part
    python3 bench/run.py --limit-chunks 200 --no-write    a quick look, docs untouched

It runs with the system Python: like build.py it re-runs itself inside .venv (made by
`python3 build.py site` when missing). Nothing here is a test: no figure is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = ROOT / ".venv"
PARTS = ["ingest", "generation", "index", "quality", "startup", "memory"]


def ensure_venv() -> None:
    """Re-exec inside .venv; build.py makes (or refreshes) it when it is missing or stale."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    stamp = VENV / ".quire-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not (VENV / "bin" / "python").exists() or not stamp.exists() or stamp.read_text() != want:
        subprocess.run([sys.executable, str(ROOT / "build.py"), "site"], check=True)
    python = str(VENV / "bin" / "python")
    os.execv(python, [python, str(Path(__file__).resolve()), *sys.argv[1:]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=PARTS, action="append", help="run only this part (repeatable)")
    parser.add_argument("--docsets", type=Path, default=None,
                        help="the mixed document set: its folder, or the folder make-docsets.sh filled "
                             "(default ~/.cache/quire/docsets, built with ../shared/scripts/make-docsets.sh "
                             "when missing)")
    parser.add_argument("--xquad", default=str(ROOT.parent / "shared" / "eval" / "xquad-dev" / "xquad.en.dev.json"),
                        help="the XQuAD (SQuAD format) dev file")
    parser.add_argument("--limit-chunks", type=int, default=128,
                        help="at most this many chunks from each set (default 128, which keeps all of XQuAD: "
                             "about 15 minutes on a busy 2-core machine; 2000 suits a faster one)")
    parser.add_argument("--sample", type=int, default=96, help="chunks in the technique runs (default 96)")
    parser.add_argument("--questions", type=int, default=4,
                        help="generation: XQuAD questions answered by every engine (default 4)")
    parser.add_argument("--generator", help="generation: a generation model's registry id, offered in the site "
                                                "(default: the registry's default)")
    parser.add_argument("--answers", type=int, default=100,
                        help="quality: questions answered by the generator (default 100; retrieval uses all)")
    parser.add_argument("--quick", action="store_true",
                        help="only the headline and the sorting runs, no thread or batch-size runs")
    parser.add_argument("--index-sizes", type=lambda text: [int(n) for n in text.split(",")], default=[10_000, 100_000],
                        help="index: the index sizes, comma-separated (default 10000,100000; the parameters are "
                             "chosen at the largest)")
    parser.add_argument("--startup-runs", type=int, default=3,
                        help="startup: runs of a cold visit and two more on its profile (default 3)")
    parser.add_argument("--memory-pages", type=int, default=1000,
                        help="memory: PDF pages in the library (default 1000; documents are taken whole)")
    parser.add_argument("--memory-runs", type=int, default=3,
                        help="memory: runs of the whole flow, each on a fresh profile (default 3; the tables "
                             "show the median run and every run's peaks)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    ensure_venv()
    sys.path.insert(0, str(HERE))
    import machine

    for part in args.part or PARTS:
        module = __import__(part)
        print(f"== {part}", flush=True)
        measured = module.run(args)
        terminal, section = module.report(measured)
        print("\n" + terminal + "\n", flush=True)
        if not args.no_write:
            print(f"wrote the {part} section of {machine.write_section(part, section)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
