"""Part `generation`: prefill and decode speed of Quire's answer path vs Transformers.js and CPython.

Every engine answers the same real questions from prompts the app builds: XQuAD dev articles added
to a CPython library, `Library.search` + `Library.prompt` (the sources that fit the ~1,000-token
budget), the default generator (or `--generator ID`, an offered one: the `onnx/model_quantized.onnx`
the built site ships) for all of them, greedy, no repetition penalty or stop strings, so the
outputs can be compared token for token:

- Quire in the browser: a module worker (bench/web/quire-gen-worker.js) loads Pyodide and the quire
  wheel, onnx-bridge.js's Generator and web/candidates.js as web/worker.js does; the decode loop is
  `quire.generation.generate` in Python, with prompt-lookup drafts (draft 8) and without (draft 0).
- Transformers.js: `pipeline("text-generation", ..., {dtype: "q8"})` on the rendered prompt text,
  greedy, with its default thread count and with Quire's.
- CPython: the same `generate` over `quire.backends.cpython.OnnxGenerator` (onnxruntime).

One job runs at a time, the engines taking turns, the order turning with each question.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine import ForeignCpu, bench_page, command, fmt, machine, peer_mounts, table, versions

ROOT = Path(__file__).resolve().parents[1]
BENCH_WEB = Path(__file__).resolve().parent / "web"
sys.path.insert(0, str(BENCH_WEB))
from quire_gen_bench import answer  # noqa: E402  (the same timing code Pyodide runs)
from quire.generation import DRAFT  # noqa: E402

MAX_NEW = 64
ENGINES = [  # (key, worker kind or "cpython", options, label)
    ("quire-0", "quire-gen", {"draft": 0}, "Quire in the browser, one token per run"),
    ("quire", "quire-gen", {"draft": DRAFT}, f"Quire in the browser, prompt-lookup drafts of up to {DRAFT}"),
    ("tjs", "tjs-gen", {}, "Transformers.js `text-generation`, its default threads"),
    ("tjs-same", "tjs-gen", {"threads": "same"}, "Transformers.js, Quire's thread count"),
    ("cpython-0", "cpython", {"draft": 0}, "CPython onnxruntime, one token per run"),
    ("cpython", "cpython", {"draft": DRAFT}, f"CPython onnxruntime, drafts of up to {DRAFT}"),
]


def prompts(xquad: Path, count: int, generator: str | None = None) -> tuple[list[dict], object]:
    """`count` questions from different articles, with the prompt the app would give the model."""
    from quire.cli import open_library
    from quire.evaluation import load_squad

    files, questions = load_squad(str(xquad))
    by_article: dict[str, list] = {}
    for q in questions:
        by_article.setdefault(q.doc_name, []).append(q)
    names = list(by_article)[:: max(1, len(by_article) // count)][:count]
    chosen = [by_article[n][len(by_article[n]) // 2] for n in names]
    tmp = tempfile.mkdtemp(prefix="quire-bench-gen-")
    library = open_library(Path(tmp), ROOT / "models" / "out", generator=generator)
    library.add_files([(n, d) for n, d in files if n in names])
    out = []
    for q in chosen:
        prompt = library.prompt(q.text, library.search(q.text))
        out.append({"question": q.text, "answers": q.answers, "ids": prompt.ids,
                    "text": prompt.text})
    json.dumps(out)  # plain data only: it goes to the browser
    return out, library.generation


def run(args) -> dict:
    from quire_build.cache import cache_root
    from quire_build.site import build_site

    t_start = time.time()
    site = build_site(dist=cache_root() / "bench" / "site")
    print("generation: building prompts from XQuAD articles (CPython library)", flush=True)
    questions, cpython_model = prompts(Path(args.xquad), args.questions, args.generator)
    model_id = cpython_model.name
    print("generation: prompt lengths " + ", ".join(str(len(q["ids"])) for q in questions), flush=True)
    infos, results = {}, {key: [] for key, *_ in ENGINES}
    with tempfile.TemporaryDirectory(prefix="quire-bench-") as tmp:
        mounts = {"/": site, "/bench": BENCH_WEB, **peer_mounts(Path(tmp))}
        with bench_page(mounts) as browser:
            for kind in ("quire-gen", "tjs-gen"):  # one worker per kind and thread count
                for key, engine_kind, options, _ in ENGINES:
                    if engine_kind != kind or (kind == "quire-gen" and key != "quire"):
                        continue
                    threads = infos["quire"]["threads"] if options.get("threads") == "same" else None
                    infos[key] = browser(f"starting {key}", "([k, w, o]) => bench.start(k, w, o)",
                                         [key, kind, {"model": model_id, "threads": threads}])
                    print(f"  {key} loaded: {infos[key]}", flush=True)
            warm = questions[0]
            browser("warm-up", "([k, s]) => bench.job(k, s)", ["quire", {"prompt": warm["ids"][:64], "max_new_tokens": 4, "draft": 0}])
            for key in ("tjs", "tjs-same"):
                browser("warm-up", "([k, s]) => bench.job(k, s)", [key, {"text": warm["text"][:200], "max_new_tokens": 4}])
            answer(cpython_model, warm["ids"][:64], 4, 0)

            meter = ForeignCpu()
            turn = list(ENGINES)
            for n, q in enumerate(questions):
                for key, kind, options, _ in turn[n % len(turn):] + turn[: n % len(turn)]:
                    meter.start()
                    if kind == "cpython":
                        got = answer(cpython_model, q["ids"], MAX_NEW, options["draft"])
                    elif kind == "quire-gen":
                        got = browser(key, "([k, s]) => bench.job(k, s)",
                                      ["quire", {"prompt": q["ids"], "max_new_tokens": MAX_NEW, "draft": options["draft"]}])
                    else:
                        got = browser(key, "([k, s]) => bench.job(k, s)", [key, {"text": q["text"], "max_new_tokens": MAX_NEW}])
                        got["same_prompt"] = got.pop("prompt") == q["ids"]
                    got["foreign"] = meter.stop()
                    got.setdefault("tokens", len(got.get("ids", ())))
                    results[key].append(got)
                    print(f"  q{n + 1} {key:9} prefill {got['prefill']:5.2f} s, {got['tokens']} tokens in "
                          f"{got['seconds']:5.2f} s" + (f", accepted {got['accepted']}/{got['drafted']}"
                                                        if got.get("drafted") else ""), flush=True)
            for key in ("quire", "tjs", "tjs-same"):
                browser(f"stopping {key}", "(k) => bench.stop(k)", key)
    measured = {"questions": questions, "results": results, "infos": infos, "model": model_id,
                "seconds": time.time() - t_start}
    raw = cache_root() / "bench" / "generation.json"
    raw.write_text(json.dumps(measured))
    print(f"generation: raw results in {raw}", flush=True)
    return measured


# ----------------------------------------------------------------------------------------- report

def _rates(runs: list[dict], prompt_lengths: list[int]) -> dict:
    prefill = sum(prompt_lengths) / sum(r["prefill"] for r in runs)
    decode_tokens = sum(r["tokens"] - 1 for r in runs)
    decode_seconds = sum(r["seconds"] - r["prefill"] for r in runs)
    return {"prefill": prefill, "decode": decode_tokens / decode_seconds if decode_seconds > 0 else float("nan"),
            "answer": sum(r["seconds"] for r in runs) / len(runs), "ttft": statistics.median(r["prefill"] for r in runs),
            "tokens": sum(r["tokens"] for r in runs) / len(runs)}


def report(m: dict) -> tuple[str, str]:
    questions, results, infos = m["questions"], m["results"], m["infos"]
    lengths = [len(q["ids"]) for q in questions]
    rates = {key: _rates(results[key], lengths) for key, *_ in ENGINES}
    ref = rates["tjs"]
    reference_texts = [r["text"] for r in results["cpython-0"]]
    rows = []
    for key, _, _, label in ENGINES:
        r = rates[key]
        same = sum(a["text"].strip() == b.strip() for a, b in zip(results[key], reference_texts))
        rows.append([label, fmt(r["prefill"], 0), fmt(r["decode"], 1), fmt(r["decode"] / ref["decode"], 2),
                     fmt(r["ttft"], 2), fmt(r["answer"], 2), fmt(ref["answer"] / r["answer"], 2),
                     f"{same}/{len(questions)}"])
    speeds = table(["engine", "prefill tokens/s", "decode tokens/s", "decode ÷ Transformers.js",
                    "time to first token, s (median)", "answer, s (mean)", "Transformers.js answer time ÷ this",
                    "text = CPython one-token"], rows)
    drafted = sum(r["drafted"] for r in results["quire"])
    accepted = sum(r["accepted"] for r in results["quire"])
    runs = sum(len(r["runs"]) - 1 for r in results["quire"])
    tokens = sum(r["tokens"] - 1 for r in results["quire"])
    speedup = rates["quire"]["decode"] / ref["decode"]
    headline = (f"Quire in the browser decoded **{fmt(speedup, 2)}x** the tokens per second of Transformers.js "
                f"(target ≥ 2x: {'met' if speedup >= 2 else 'not met'}) and prefilled at "
                f"{fmt(rates['quire']['prefill'] / ref['prefill'], 2)}x its rate; "
                f"{fmt(rates['quire']['decode'] / rates['cpython']['decode'], 2)}x CPython's decode with the same drafts.")
    speculation = (f"Prompt-lookup drafting: {accepted} of {drafted} guessed tokens accepted "
                   f"({fmt(100 * accepted / drafted if drafted else 0, 0)} %); {fmt(tokens / runs if runs else 0, 2)} "
                   f"tokens per decode run instead of 1; without drafts Quire decoded at "
                   f"{fmt(rates['quire-0']['decode'] / ref['decode'], 2)}x Transformers.js.")
    same_prompt = all(r.get("same_prompt") for r in results["tjs"])
    busy = [r["foreign"] for rs in results.values() for r in rs if r["foreign"] is not None]
    v = versions()
    per_q = table(["question", "prompt tokens", *(k for k, *_ in ENGINES)],
                   [[q["question"][:60], str(len(q["ids"])), *(f"{results[k][n]['tokens']} in {fmt(results[k][n]['seconds'], 1)} s"
                                                             for k, *_ in ENGINES)] for n, q in enumerate(questions)])
    body = f"""## Generation

Command: `{command()}` · {time.strftime('%Y-%m-%d %H:%M %Z')} · the part took {fmt(m['seconds'] / 60)} min

Machine: {machine()}

Versions: Chromium {v['chromium'].removeprefix('Chromium ')}; Pyodide {v['pyodide']}; onnxruntime-web
{v['onnxruntime-web']} for Quire; Transformers.js {v['transformers.js']} with its own onnxruntime-web
{v['transformers.js onnxruntime-web']}; CPython {v['python']}, onnxruntime {v['onnxruntime']}; Quire {v['quire']}.

Model: {m['model']} (`onnx/model_quantized.onnx`, the file the site ships), the same file for every engine.

Input: {len(questions)} XQuAD dev questions, each from a different article; the articles added to a
library and the prompt built as the app builds it (hybrid search, sources up to the budget):
{', '.join(map(str, lengths))} tokens. Greedy, at most {MAX_NEW} new tokens, stop on the end tokens only.
Threads: Quire {infos['quire']['threads']}, Transformers.js default {infos['tjs']['threads']}. Both fetch
the last position's logits only (`num_logits_to_keep`, which our export takes and Transformers.js feeds).

{headline}

{speeds}

{speculation}

{per_q}

- **Equal work.** Transformers.js tokenized each rendered prompt to {'the same ids as' if same_prompt else 'ids that differ from'}
  Quire's. "text = CPython one-token" counts answers whose text equals CPython's greedy answer
  without drafts (a draft changes which tokens share a run, so float rounding can differ; the
  choice of token is the same rule).
- Time to first token is the prefill run for Quire and the streamer's first token for
  Transformers.js. Decode tokens/s counts the tokens after the first over the time after the prefill.
- The machine is shared: other processes used {fmt(statistics.mean(busy) if busy else None, 2)} cores on
  average during the jobs (at most {fmt(max(busy) if busy else None, 2)}).
"""
    terminal = "\n\n".join([headline, speeds, speculation, per_q])
    return terminal, body
