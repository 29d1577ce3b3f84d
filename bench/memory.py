"""Part `memory`: the real app's peak memory while it ingests a library of about 1,000 pages of real
PDFs and while it answers, read from Chromium; Transformers.js holding the same two models beside it.

The library is real documentation from Debian packages (fetched with `apt-get download`, unpacked
with `dpkg-deb -x`, cached in ~/.cache/quire/bench/library): the Debian Reference, the Debian Policy
Manual, the Filesystem Hierarchy Standard and the LaTeX guides of texlive-latex-base-doc, every one
with a text layer. The app (the site `build.py site` assembles, served as `build.py serve` serves it)
starts on a fresh profile and the library goes in through the page's file input, as a person would
pick the files: first the smallest documents, about 100 pages, and the questions are asked through the
form (time to first token on a small library), then the rest at once, and the questions again.
The whole flow runs `--memory-runs` times (3), each on a fresh profile: when the garbage collector
runs moves a peak by a few hundred MB, so the report gives the median run and every run's peaks.

Two meters run the whole time:

- RSS and PSS of every Chromium process (from /proc, every 0.25 s, in a thread): the tab's renderer
  holds the page, its workers and everything they allocate (Pyodide's and onnxruntime's
  WebAssembly memory included); the browser, GPU and utility processes come on top.
  RSS counts shared pages in every process that maps them; PSS shares them out, so its sum over the
  processes is the fair total.
- the JS heaps, over the DevTools protocol: the page's (`Performance.getMetrics`) and the workers'
  (`Runtime.getHeapUsage`, whose backing-store figure counts ArrayBuffers but not WebAssembly
  memory: see the part's notes).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from machine import ForeignCpu, fmt, peer_mounts, table
from startup import BENCH_WEB, Visit, app_site, peer_answer, site_registry

# The library, smallest documents first (a --memory-pages cap takes them in this order):
# (Debian package, file inside it, name in the library).
LATEX = "usr/share/doc/texlive-doc/latex"
LIBRARY = [
    ("texlive-latex-base-doc", f"{LATEX}/graphics/grfguide.pdf", "latex-grfguide.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/base/usrguide.pdf", "latex-usrguide.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/natbib/natbib.pdf", "latex-natbib.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/tools/longtable.pdf", "latex-longtable.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/base/clsguide.pdf", "latex-clsguide.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/base/fntguide.pdf", "latex-fntguide.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/base/encguide.pdf", "latex-encguide.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/tools/multicol.pdf", "latex-multicol.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/geometry/geometry.pdf", "latex-geometry.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/amsmath/amsldoc.pdf", "latex-amsldoc.pdf"),
    ("debian-policy", "usr/share/doc/debian-policy/fhs/fhs-3.0.pdf.gz", "fhs-3.0.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/hyperref/hyperref-doc.pdf", "latex-hyperref-doc.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/fancyhdr/fancyhdr.pdf", "latex-fancyhdr.pdf"),
    ("texlive-latex-base-doc", f"{LATEX}/base/ltnews.pdf", "latex-ltnews.pdf"),
    ("debian-policy", "usr/share/doc/debian-policy/policy.pdf.gz", "debian-policy.pdf"),
    ("debian-reference-en", "usr/share/debian-reference/debian-reference.en.pdf", "debian-reference.pdf"),
]
FIRST_PAGES = 100  # the questions are asked first once these documents are in: time to first token on a small library
QUESTIONS = ["Which directory is for software installed locally by the system administrator?",
             "How do I change the page margins of a LaTeX document?"]
PHASES = ["empty browser", "start-up", "ingest", "idle", "answering"]
PEER_PHASES = ["peer start-up", "peer answering"]
EVERY = 0.25  # seconds between RSS samples
PSS_EVERY = 5.0  # PSS is dearer: reading it walks the renderer's page tables (0.2 s for its 1.5 TB of reservations)


# ----------------------------------------------------------------------------------------- the library

def library(max_pages: int) -> tuple[list[tuple[Path, int]], dict]:
    """The library's PDFs (downloaded and unpacked once, then cached) with their page counts, in
    LIBRARY's order until they hold at least `max_pages` pages; and the Debian packages' versions."""
    from pypdf import PdfReader
    from quire_build.cache import cache_root

    folder = cache_root() / "bench" / "library"
    debs, pdfs = folder / "debs", folder / "pdf"
    debs.mkdir(parents=True, exist_ok=True)
    pdfs.mkdir(parents=True, exist_ok=True)
    versions = {}
    for package in dict.fromkeys(p for p, _, _ in LIBRARY):
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            print(f"memory: apt-get download {package}", flush=True)
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
            found = sorted(debs.glob(f"{package}_*.deb"))
        versions[package] = found[-1].name.split("_")[1]
        wanted = [(member, name) for p, member, name in LIBRARY if p == package and not (pdfs / name).exists()]
        if wanted:
            with tempfile.TemporaryDirectory(prefix="quire-bench-deb-") as tmp:
                subprocess.run(["dpkg-deb", "-x", str(found[-1]), tmp], check=True)
                for member, name in wanted:
                    source = Path(tmp) / member
                    with (gzip.open(source) if member.endswith(".gz") else open(source, "rb")) as f:
                        (pdfs / (name + ".partial")).write_bytes(f.read())
                    (pdfs / (name + ".partial")).replace(pdfs / name)
    chosen, pages = [], 0
    for _, _, name in LIBRARY:
        if pages >= max_pages:
            break
        count = len(PdfReader(str(pdfs / name)).pages)
        chosen.append((pdfs / name, count))
        pages += count
    return chosen, versions


def first_documents(library_: list[tuple[Path, int]], pages: int) -> int:
    """How many of the library's first documents hold at least `pages` pages."""
    held = 0
    for n, (_, count) in enumerate(library_, 1):
        held += count
        if held >= pages:
            return n
    return len(library_)


# ----------------------------------------------------------------------------------------- the meters

def _kind(cmdline: list[str]) -> str:
    """Chromium's process type from its command line: browser, renderer, gpu-process, utility: network..."""
    args = dict(a[2:].split("=", 1) for a in cmdline if a.startswith("--") and "=" in a)
    kind = args.get("type", "browser")
    if kind == "utility" and "utility-sub-type" in args:
        kind += ": " + args["utility-sub-type"].split(".")[0]
    return kind


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class Meter:
    """Peak memory per phase: Chromium's processes (a thread reads /proc every EVERY seconds) and the
    JS heaps of the page and its workers (DevTools protocol, sampled by `tick` from the main thread,
    which owns Playwright). Set `phase` to say what the app is doing; None samples nothing."""

    def __init__(self):
        import psutil

        self.me = psutil.Process()
        self.phase: str | None = None
        self.peaks: dict[str, dict] = {}
        self.spent: dict[str, float] = {}  # seconds in each phase (one can be left and entered again)
        self._since = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._lock = threading.Lock()

    # -- processes
    def __enter__(self) -> Meter:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def enter(self, phase: str | None) -> None:
        now = time.monotonic()
        if self.phase:
            self.spent[self.phase] = self.spent.get(self.phase, 0.0) + now - self._since
        self.phase, self._since = phase, now

    def _peak(self, phase: str) -> dict:
        return self.peaks.setdefault(phase, {"rss": {}, "kind": {}, "all_rss": 0, "all_pss": 0, "samples": 0,
                                             "heap": {}})

    def _loop(self) -> None:
        import psutil

        processes, listed, pss_read = [], 0.0, 0.0
        while not self._stop.wait(EVERY):
            phase = self.phase
            if phase is None:
                continue
            if time.monotonic() - listed > 2:  # Chromium starts and ends processes as it goes
                processes = self._chromium()
                listed = time.monotonic()
            rss, kinds = {}, {}
            for p in processes:
                try:  # both or neither: a process can end between the two reads
                    value, kind = p.memory_info().rss, _kind(p.cmdline())
                except psutil.Error:
                    continue
                rss[p.pid], kinds[p.pid] = value, kind
            pss = None
            if time.monotonic() - pss_read >= PSS_EVERY or phase not in self.peaks:
                pss, pss_read = sum(_pss(pid) for pid in rss), time.monotonic()
            with self._lock:
                peak = self._peak(phase)
                peak["samples"] += 1
                peak["all_rss"] = max(peak["all_rss"], sum(rss.values()))
                if pss is not None:
                    peak["all_pss"] = max(peak["all_pss"], pss)
                for pid, value in rss.items():
                    peak["rss"][pid] = max(peak["rss"].get(pid, 0), value)
                    peak["kind"][pid] = kinds[pid]

    def _chromium(self) -> list:
        import psutil

        found = []
        for p in self.me.children(recursive=True):
            try:
                if p.name().startswith("chrom"):
                    found.append(p)
            except psutil.Error:
                continue
        return found

    # -- JS heaps
    def attach(self, context, page, then: str) -> None:
        """Before the page opens: its DevTools session, auto-attached to the workers it will start;
        then the phase `then` begins."""
        self.cdp = context.new_cdp_session(page)
        self.targets: dict[str, str] = {}  # DevTools session id -> target type (worker, service_worker, onnx worker)
        self.parents: dict[str, str] = {}  # a worker's own worker's session id -> its parent's
        self.waiting: set[str] = set()
        self.cdp.on("Target.attachedToTarget", self._attached)
        self.cdp.on("Target.detachedFromTarget", lambda e: self.targets.pop(e["sessionId"], None))
        self.cdp.on("Target.receivedMessageFromTarget", self._received)
        self.cdp.send("Performance.enable")
        # Not flattened: Playwright's CDP session cannot address child sessions any other way.
        self.cdp.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": False, "flatten": False})
        if "empty browser" not in self.peaks:  # Chromium with a blank tab, before the app first opens
            self.enter("empty browser")
            page.wait_for_timeout(3000)
        self.enter(then)

    def _attached(self, event) -> None:
        session, kind = event["sessionId"], event["targetInfo"]["type"]
        self.targets[session] = kind
        if kind == "worker":  # and the workers it starts: the app's holds the models in web/onnx-worker.js
            self._send(session, "Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": False,
                                                         "flatten": False})

    def _send(self, session: str, method: str, params: dict | None = None) -> None:
        """A DevTools command to a worker; to a worker's own worker, through its parent's session."""
        message = json.dumps({"id": int(time.monotonic() * 1000), "method": method, "params": params or {}})
        if session in self.parents:
            message = json.dumps({"id": int(time.monotonic() * 1000), "method": "Target.sendMessageToTarget",
                                  "params": {"sessionId": session, "message": message}})
            session = self.parents[session]
        self.cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": message})

    def _received(self, event) -> None:
        session = event["sessionId"]
        message = json.loads(event["message"])
        params = message.get("params", {})
        if message.get("method") == "Target.receivedMessageFromTarget":  # from a worker's own worker
            return self._received(params)
        if message.get("method") == "Target.attachedToTarget":
            if params["targetInfo"]["url"].endswith("/onnx-worker.js"):  # (not onnxruntime's thread workers)
                self.parents[params["sessionId"]] = session
                self.targets[params["sessionId"]] = "onnx worker"
            return
        if message.get("method") == "Target.detachedFromTarget":
            self.targets.pop(params["sessionId"], None)
            return
        result = message.get("result")
        self.waiting.discard(session)
        if not result or "usedSize" not in result or not self.phase or session not in self.targets:
            return
        with self._lock:
            heap = self._peak(self.phase)["heap"]
            kind = self.targets[session]
            heap[f"{kind} JS"] = max(heap.get(f"{kind} JS", 0), result["usedSize"])
            heap[f"{kind} buffers"] = max(heap.get(f"{kind} buffers", 0), result.get("backingStorageSize", 0))

    def tick(self) -> None:
        if not self.phase:
            return
        metrics = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        with self._lock:
            heap = self._peak(self.phase)["heap"]
            heap["page JS"] = max(heap.get("page JS", 0), metrics.get("JSHeapUsedSize", 0))
        for session in list(self.targets):
            if session not in self.waiting:  # one question in flight per worker: a busy one answers late
                self.waiting.add(session)
                self._send(session, "Runtime.getHeapUsage")

    def hold(self, page, seconds: float) -> None:
        """Samples for `seconds` while nothing is asked of the app."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.tick()
            page.wait_for_timeout(500)


# ----------------------------------------------------------------------------------------- the part

def ingest_steps(visit: Visit) -> dict:
    """Seconds spent in each of `Library.add`'s steps, summed over the files, from the progress
    messages (parsing, chunking, embedding, saving; each lasts until the next one or the outcome)."""
    marks = []
    for e in visit.events:
        if e["type"] == "file" and "json" in e:
            step = json.loads(e["json"])["step"]
            if not marks or marks[-1][1] != step:
                marks.append((e["at"], step))
        elif e["type"] == "added":
            marks.append((e["at"], "done"))
    steps: dict[str, float] = {}
    for (t0, step), (t1, _) in zip(marks, marks[1:]):
        if step != "done":
            steps[step] = steps.get(step, 0.0) + t1 - t0
    return steps


def ask_all(app: Visit, tick) -> list[dict]:
    """Each of QUESTIONS through the form, with the answer, its sources and when they showed."""
    answers = []
    for question in QUESTIONS:
        app.ask(question, tick=tick)
        sent = app.last("sent:ask")
        answers.append({"question": question, "answer": app.json_of("answer"), "hits": app.json_of("sources"),
                        "sources_after": app.first("sources", after=sent) - sent,
                        "first_token_after": app.first("token", after=sent) - sent})
    return answers


def run(args) -> dict:
    """The flow measured `--memory-runs` times, each on a fresh profile (why: the module's notes)."""
    t_start = time.time()
    chosen, debian = library(args.memory_pages)
    files = [f for f, _ in chosen]
    first = first_documents(chosen, FIRST_PAGES)
    site = app_site()
    print(f"memory: {len(files)} PDFs, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB", flush=True)
    runs = []
    for n in range(args.memory_runs):
        print(f"memory: run {n + 1} of {args.memory_runs}", flush=True)
        runs.append(measure(files, first, site))
    return {"debian": debian, "files": [f.name for f in files], "bytes": sum(f.stat().st_size for f in files),
            "model_bytes": sum(m["bytes"] for m in site_registry(site)["models"]), "runs": runs,
            "seconds": time.time() - t_start}


def measure(files: list[Path], first: int, site: Path) -> dict:
    """One run: the app on a fresh profile ingests `files` (the first `first` of them, then the
    questions, then the rest) and answers; then the peer answers the last prompt."""
    from quire_build.serve import Background

    out = {}
    with tempfile.TemporaryDirectory(prefix="quire-bench-memory-") as tmp, \
            Background({"/": site, "/bench": BENCH_WEB, **peer_mounts(Path(tmp))}) as url, Meter() as meter:
        with Visit(url, None, before_goto=lambda context, page: meter.attach(context, page, "start-up")) as app:
            app.wait_ready(tick=meter.tick)
            others = ForeignCpu()
            others.start()
            # The first documents, then the questions on that small library (time to first token
            # there is the figure a person meets first), then the rest of the library.
            for batch in (files[:first], files[first:]):
                if not batch:
                    continue
                meter.enter("ingest")
                app.add(batch, timeout=4 * 3600, tick=meter.tick, every=1.0)
                meter.enter(None)
                if "first_answers" not in out and len(batch) < len(files):
                    out["first_library"] = app.json_of("library")
                    out["first_answers"] = ask_all(app, meter.tick)
            out["foreign"] = others.stop()
            out["library"] = app.json_of("library")
            out["added"] = [json.loads(e["json"]) for e in app.events if e["type"] == "added"]
            out["steps"] = ingest_steps(app)
            print(f"memory: ingested in {meter.spent['ingest'] / 60:.1f} min", flush=True)
            meter.enter("idle")
            meter.hold(app.page, 10)
            meter.enter("answering")
            out["answers"] = ask_all(app, meter.tick)
            meter.enter(None)
        with Visit(url, None, "/bench/startup-peer.html",
                   before_goto=lambda context, page: meter.attach(context, page, "peer start-up")) as peer:
            peer.wait(lambda ev: any(e["type"] == "ready" for e in ev), "the peer's start-up", tick=meter.tick)
            meter.enter("peer answering")
            last = out["answers"][-1]
            out["peer_answer"] = peer_answer(peer, last["answer"]["prompt"],
                                             last["answer"]["tokens"], tick=meter.tick)
            meter.enter(None)
    out["peaks"] = {phase: {**peak, "seconds": meter.spent.get(phase)} for phase, peak in meter.peaks.items()}
    out["ingest_seconds"] = meter.spent["ingest"]
    return out


# ----------------------------------------------------------------------------------------- report

def _mb(n: float | None) -> str:
    return fmt(n / 2**20, 0) if n else "n/a"


def tab(peak: dict) -> int | None:
    """The tab's renderer: the renderer process with the highest peak (the page, its workers and
    their WebAssembly memory live there)."""
    renderers = [v for pid, v in peak["rss"].items() if peak["kind"][pid] == "renderer"]
    return max(renderers) if renderers else None


def app_peak(run_: dict) -> int:
    """A run's highest peak of the tab's renderer over the app's phases."""
    return max(tab(run_["peaks"][phase]) or 0 for phase in PHASES if phase in run_["peaks"])


def every_run(runs: list[dict], names: dict) -> str:
    """Each run's peaks of the tab's renderer and of the PSS sum, phase by phase."""
    rows = []
    for phase in PHASES + PEER_PHASES:
        peaks = [r["peaks"].get(phase) for r in runs]
        if not all(peaks):
            continue
        rss, pss = [tab(p) or 0 for p in peaks], [p["all_pss"] or 0 for p in peaks]
        rows.append([names[phase], " / ".join(_mb(v) for v in rss), _mb(statistics.median(rss)),
                     " / ".join(_mb(v) for v in pss), _mb(statistics.median(pss))])
    return table(["phase", "tab's renderer, peak RSS of each run, MB", "median", "all Chromium, peak PSS sum of each run, MB",
                  "median"], rows)


def report(measured: dict) -> tuple[str, str]:
    """(what the terminal shows, the Markdown section for docs/benchmarks.md). The tables of one run
    are the median run's (by its highest tab peak); every run's peaks follow them."""
    from machine import command, machine, versions

    runs = sorted(measured["runs"], key=app_peak)
    m = {**measured, **runs[(len(runs) - 1) // 2]}
    peaks = m["peaks"]
    docs = m["library"] or []
    pages, chunks = sum(d.get("pages") or 0 for d in docs), sum(d["chunks"] for d in docs)
    failed = [a for a in m["added"] if not a.get("ok")]

    def by_kind(peak, kind):
        values = [v for pid, v in peak["rss"].items() if peak["kind"][pid] == kind]
        return max(values) if values else None

    names = {"empty browser": "Chromium, a blank tab", "start-up": "start-up (models loaded, library empty)",
             "ingest": f"ingesting {len(docs)} PDFs, {pages:,} pages", "idle": "idle after the ingest",
             "answering": f"answering {len(QUESTIONS)} questions", "peer start-up": "Transformers.js: both pipelines loading",
             "peer answering": "Transformers.js: answering the same prompt"}
    rows = []
    for phase in PHASES + PEER_PHASES:
        peak = peaks.get(phase)
        if not peak:
            continue
        heap = peak["heap"]
        rows.append([names[phase], fmt(peak["seconds"], 0), _mb(tab(peak)), _mb(peak["all_rss"]), _mb(peak["all_pss"]),
                     _mb(heap.get("page JS")), _mb(heap.get("worker JS")), _mb(heap.get("worker buffers")),
                     _mb(heap.get("onnx worker JS")), _mb(heap.get("onnx worker buffers"))])
    main = table(["phase", "seconds", "tab's renderer, peak RSS, MB", "all Chromium processes, peak RSS sum, MB",
                  "… peak PSS sum, MB", "page JS heap, MB", "worker JS heap, MB",
                  "worker ArrayBuffer backing stores, MB", "onnxruntime's worker: JS heap, MB", "… ArrayBuffers, MB"], rows)
    spread = every_run(runs, names)
    kinds = sorted({k for peak in peaks.values() for k in peak["kind"].values()})
    per_kind = table(["process (peak RSS, MB)", *(names[p].split(" (")[0] for p in PHASES + PEER_PHASES if p in peaks)],
                     [[k, *(_mb(by_kind(peaks[p], k)) for p in PHASES + PEER_PHASES if p in peaks)] for k in kinds])

    ingest, steps = m["ingest_seconds"], m["steps"]
    step_text = ", ".join(f"{name} {fmt(seconds / 60)} min" for name, seconds in
                          sorted(steps.items(), key=lambda kv: -kv[1]))
    app_answer = peaks.get("answering")
    peer_answer_peak = peaks.get("peer answering")
    vs_peer = (f"While answering, the app's Chromium processes peaked at {_mb(app_answer['all_pss'])} MB (PSS sum) "
               f"with a {pages:,}-page library; Transformers.js holding the same two model files and generating from "
               f"the same prompt peaked at {_mb(peer_answer_peak['all_pss'])} MB: "
               f"{fmt(app_answer['all_pss'] / peer_answer_peak['all_pss'], 2)}x." if app_answer and peer_answer_peak else "")
    ing = peaks.get("ingest")
    headline = (f"Ingesting {len(docs)} real PDFs ({pages:,} pages, {chunks:,} passages) took {fmt(ingest / 60)} min "
                f"({fmt(chunks / ingest, 2)} passages/s, {fmt(pages / ingest * 60, 0)} pages/min); the tab's renderer "
                f"peaked at **{_mb(tab(ing))} MB** RSS and all of Chromium at {_mb(ing['all_pss'])} MB (PSS sum) "
                f"meanwhile. {vs_peer}")
    idle = (peaks.get("idle") or {}).get("heap", {}).get("onnx worker buffers")
    held = (f"After the ingest, idle, onnxruntime's worker still held {_mb(idle)} MB of ArrayBuffers; the two model "
            f"files are {_mb(m['model_bytes'])} MB, which onnxruntime has copied into its own memory by then."
            if idle is not None else "")
    v = versions()
    def listed(answers):
        return "\n".join(f"  - \"{a['question']}\" → \"{(a['answer'] or {}).get('text', '')}\" "
                         f"({(a['answer'] or {}).get('tokens')} tokens, sources: "
                         f"{', '.join(sorted({h['name'] for h in a['hits'] or []}))}; sources shown after "
                         f"{fmt(a.get('sources_after'), 2)} s, first token after {fmt(a.get('first_token_after'))} s)"
                         for a in answers)

    def first_tokens(answers):
        return " and ".join(f"{fmt(a['first_token_after'])} s" for a in answers)

    small = m.get("first_library") or []
    small_pages, small_chunks = sum(d.get("pages") or 0 for d in small), sum(d["chunks"] for d in small)
    ttft = (f"Time to first token: **{first_tokens(m['first_answers'])}** for the two questions on the first "
            f"{len(small)} documents ({small_pages:,} pages, {small_chunks:,} passages), "
            f"{first_tokens(m['answers'])} on all {pages:,} pages." if small else
            f"Time to first token: **{first_tokens(m['answers'])}** for the two questions on {pages:,} pages.")
    answers = (f"  On the first {len(small)} documents ({small_pages:,} pages):\n{listed(m['first_answers'])}\n"
               f"  On the whole library:\n" if small else "") + listed(m["answers"])
    body = f"""## Memory

Command: `{command()}` · {time.strftime('%Y-%m-%d %H:%M %Z')} · the part took {fmt(m['seconds'] / 60)} min

Machine: {machine()}; other processes used {fmt(m['foreign'], 2)} cores on average during the ingest (CPU
time from /proc)

Versions: Chromium {v['chromium'].removeprefix('Chromium ')}; Pyodide {v['pyodide']}; onnxruntime-web
{v['onnxruntime-web']} for Quire; Transformers.js {v['transformers.js']}; Quire {v['quire']}.

Library: {len(docs)} PDFs with a text layer, {pages:,} pages (the app's count), {chunks:,} passages,
{m['bytes'] / 1e6:.0f} MB, from Debian
packages: {', '.join(f'{p} {ver}' for p, ver in m['debian'].items())} ({', '.join(f'`{n}`' for n in m['files'])}).
{f"Not added: {', '.join(a['name'] + ' (' + a['reason'] + ')' for a in failed)}." if failed else "Every file was added."}

{headline}

{ttft}

{main}

{per_kind}

Every run, in order of its highest peak of the tab's renderer (each on a fresh profile; the tables above are
the median run's: when the garbage collector runs moves a peak by a few hundred MB):

{spread}

- **The real app**, on a fresh profile, the library given to the page's file input in two `add`
  requests, as when a person picks files: the first documents (about {FIRST_PAGES} pages; the questions
  were asked then too), then the rest at once; its time went to {step_text} (`Library.add`'s
  progress steps, summed over the files). Then the questions, through the form:
{answers}
- **RSS and PSS** from /proc for every Chromium process, RSS every {EVERY} s, PSS every {PSS_EVERY:.0f} s
  (reading it costs 0.2 s of CPU for the renderer). "The tab's renderer" is the
  renderer process with the highest peak: it holds the page, its workers and all their
  WebAssembly memory (Pyodide, onnxruntime-web, hnswlib-wasm). RSS counts shared pages in each
  process, so the RSS sum overstates; the PSS sum shares them out.
- **JS heaps** over the DevTools protocol: the page's `JSHeapUsedSize`; for the app's worker and
  the worker it starts to hold the models (web/onnx-worker.js), `Runtime.getHeapUsage`: the used
  size, and V8's count of ArrayBuffer backing stores, which leaves
  out WebAssembly memory (checked: a 256 MB `WebAssembly.Memory`, shared or not, left it unchanged,
  a 256 MB ArrayBuffer added 256 MB). Pyodide's, onnxruntime-web's and hnswlib's memory is therefore
  only in the renderer's RSS. {held}
  WebAssembly memory never shrinks, so a peak, once reached, stays.
- **The peer**: Transformers.js with the same two model files loaded by `pipeline()` (as in the
  start-up part), on a fresh profile, then generating from the prompt the app built for
  "{m['answers'][-1]['question']}" with its passages, {m['peer_answer']['tokens']} new tokens as the app's
  answer had, greedy. It has no
  document pipeline, so it has no ingest phase.
"""
    terminal = "\n\n".join([headline, ttft, main, per_kind, spread, answers])
    return terminal, body
