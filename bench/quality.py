"""Part `quality`: retrieval and answer quality on XQuAD dev, as `quire eval` measures it.

Every article becomes a document of a CPython library with the default models (the browser runs
the same Python and the same model files, so the figures are the app's). Retrieval and the
extractive answer are measured on every question; generated answers on the first `--answers`
questions (the decode loop is the slow part). Figures to compare changes to chunking, prompts or
models with; speed lives in the other parts.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from machine import command, fmt, machine, versions

ROOT = Path(__file__).resolve().parents[1]


def run(args) -> dict:
    from quire.cli import open_library
    from quire.evaluation import evaluate, load_squad

    t_start = time.time()
    files, questions = load_squad(args.xquad)
    with tempfile.TemporaryDirectory(prefix="quire-bench-quality-") as tmp:
        library = open_library(Path(tmp), ROOT / "models" / "out")
        library.add_files(files)
        print(f"quality: {len(files)} articles, {len(library.chunks)} chunks; retrieval on {len(questions)} "
              f"questions", flush=True)
        retrieval = evaluate(library, questions, generate=False)
        asked = questions[: args.answers]
        print(f"quality: generated answers on {len(asked)} questions", flush=True)
        answers = evaluate(library, asked, generate=True,
                           progress=lambda n, total, _: print(f"  {n}/{total}", flush=True) if n % 20 == 0 else None)
    return {"retrieval": retrieval, "answers": answers, "seconds": time.time() - t_start,
            "settings": library.settings}


def report(m: dict) -> tuple[str, str]:
    retrieval, answers, settings = m["retrieval"], m["answers"], m["settings"]
    v = versions()
    terminal = f"{retrieval.table()}\n\n{answers.table()}"
    body = f"""## Retrieval and answer quality

Command: `{command()}` · {time.strftime('%Y-%m-%d %H:%M %Z')} · the part took {fmt(m['seconds'] / 60)} min

Machine: {machine()}. CPython {v['python']}, onnxruntime {v['onnxruntime']}; Quire {v['quire']}.

XQuAD dev (`../shared/eval/xquad-dev`), each article one document; chunks of
{settings.chunk_tokens} tokens with {settings.chunk_overlap} of overlap; a chunk is relevant when it
covers the gold answer. {settings.passages} passages in a prompt of at most {settings.prompt_tokens}
tokens; greedy, repetition penalty {settings.sampling.repetition_penalty}, at most
{settings.sampling.max_new_tokens} new tokens, drafts of up to {settings.draft} tokens.

Retrieval and the extractive answer, every question:

{retrieval.table()}

Generated answers, the first {answers.questions} questions:

{answers.table()}
"""
    return terminal, body
