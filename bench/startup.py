"""Part `startup`: how long the real app takes to be ready for documents and to give a first answer,
cold and warm, split into its boot steps; Transformers.js loading the same two model files beside it.

The app is the site `build_site` assembles (what `python3 build.py site` puts in dist/), served as
`build.py serve` serves it (COOP/COEP headers), in Debian's headless Chromium:

- cold: a fresh profile, nothing cached. The page opens, the app gets ready, one small real document
  goes in through the page's file input, one real question is asked through the form.
- warm: the browser closed and opened again on the same profile, as a second visit: the service
  worker serves the site from its cache and IndexedDB holds the library, so the question is asked
  again at once.

Nothing in the app changes: an init script (bench/web/startup-probe.js) wraps `Worker`, so each
message the app's worker posts (a status per boot step, "ready", tokens, the answer) and each one
onnxruntime's worker sends the page on its port is timestamped in the page, and Playwright records
when the page and the workers requested each file. The split
comes from those two: Pyodide's core ends where the first wheel is requested, the wheels where the
"Python runtime" step ends, and so on (see `split`).

The peer is Transformers.js's `pipeline()` for the same two files (bench/web/startup-peer-worker.js),
cold and warm the same way, and then given the prompt the app built from the same passages.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse

import corpus as corpus_mod
from machine import ForeignCpu, browser, fmt, peer_mounts, table

BENCH_WEB = Path(__file__).resolve().parent / "web"
PROBE = BENCH_WEB / "startup-probe.js"
# A small real document and a question it answers: the LaTeX Project Public License (8 pages), from
# Debian's texlive-latex-base-doc, in the mixed document set.
DOCUMENT = "latex-lppl.pdf"
QUESTION = "Who is the Current Maintainer of a Work when nobody is nominated as such?"
EXPECTED = "Copyright Holder"  # reported, not asserted
WAIT = 900  # seconds any one step may take before the run fails (a loaded 2-core machine is slow)


class Visit:
    """One visit of a page in headless Chromium on a profile folder: the probe's events (seconds from
    the navigation) and the requests the page and its workers sent (not the service worker's own)."""

    def __init__(self, url: str, profile: Path | None, path: str = "/", before_goto=None):
        """`before_goto(context, page)` runs before the page opens (memory.py attaches its meter there)."""
        self.url, self.profile, self.path, self.before_goto = url, profile, path, before_goto
        self.events: list[dict] = []
        self.requests: list[dict] = []

    def __enter__(self) -> Visit:
        self._stack = ExitStack()
        self.context = self._stack.enter_context(browser(self.profile))
        self.context.add_init_script(path=str(PROBE))
        self.context.on("requestfinished", self._finished)
        self.page = self.context.new_page()
        if self.before_goto:
            self.before_goto(self.context, self.page)
        self.page.goto(self.url + self.path)
        self.origin = self.page.evaluate("performance.timeOrigin")
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _finished(self, request) -> None:
        if request.service_worker is not None:  # the service worker's own fetches (precache, cache fills)
            return
        timing = request.timing
        start = timing["startTime"]
        end = start + timing["responseEnd"] if timing["responseEnd"] >= 0 else None
        self.requests.append({"path": urlparse(request.url).path, "start": start, "end": end})

    def at(self, epoch_ms: float) -> float:
        return (epoch_ms - self.origin) / 1000

    def poll(self) -> list[dict]:
        """The probe's events since the last poll, with `at` in seconds from the navigation."""
        new = self.page.evaluate("(n) => window.__benchEvents.slice(n)", len(self.events))
        for event in new:
            event["at"] = self.at(event["t"])
        self.events += new
        return new

    def wait(self, done, what: str, timeout: float = WAIT, tick=None, every: float = 0.5) -> None:
        """Polls until `done(events)`; `tick()` runs between polls (memory.py samples there)."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            fatal = [e for e in self.events if e["type"] in ("fatal", "error")]
            if fatal:
                raise RuntimeError(f"{what}: the app reported {fatal[0]}")
            if done(self.events):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not done after {timeout:.0f} s")
            if tick:
                tick()
            self.page.wait_for_timeout(every * 1000)

    def wait_ready(self, **kw) -> None:
        self.wait(lambda ev: any(e["type"] == "ready" for e in ev), "start-up", **kw)
        self.wait(lambda ev: any(e["type"] == "library" for e in ev), "the library list", **kw)

    def add(self, files: list[Path], **kw) -> None:
        """Through the page's file input, as a person picks files; waits for every file's outcome."""
        before = sum(e["type"] == "added" for e in self.events)
        self.page.set_input_files("#picker", [str(f) for f in files])
        self.wait(lambda ev: sum(e["type"] == "added" for e in ev) >= before + len(files), "adding files", **kw)

    def ask(self, question: str, **kw) -> None:
        """Through the question form; waits for the whole answer."""
        before = sum(e["type"] == "answer" for e in self.events)
        self.page.fill("#question", question)
        self.page.click("#ask")
        self.wait(lambda ev: sum(e["type"] == "answer" for e in ev) > before, "the answer", **kw)

    def cached(self, paths: list[str]) -> list[str]:
        """Which of these files the service worker's cache holds once it has stopped filling (it stores
        big files as they first pass through it, after the response has gone to the page)."""
        script = "async (paths) => (await Promise.all(paths.map(async (p) => (await caches.match(p)) ? p : null))).filter(Boolean)"
        held, stable_since = None, time.monotonic()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            now = self.page.evaluate(script, paths)
            if now != held:
                held, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= 5:
                break
            self.page.wait_for_timeout(500)
        return held

    def first(self, type_: str, step: str | None = None, done=None, after: float = 0.0) -> float | None:
        for e in self.events:
            if e["type"] == type_ and e["at"] >= after and (step is None or e.get("step") == step) \
                    and (done is None or e.get("done") == done):
                return e["at"]
        return None

    def last(self, type_: str, step: str | None = None) -> float | None:
        found = [e["at"] for e in self.events if e["type"] == type_ and (step is None or e.get("step") == step)]
        return found[-1] if found else None

    def requested(self, match, after: float = 0.0) -> dict | None:
        """The first request whose path `match`es, started after `after` seconds, in seconds."""
        hits = [r for r in self.requests if match(r["path"]) and self.at(r["start"]) >= after]
        if not hits:
            return None
        r = min(hits, key=lambda r: r["start"])
        return {"path": r["path"], "start": self.at(r["start"]), "end": self.at(r["end"]) if r["end"] else None}

    def json_of(self, type_: str, nth: int = -1):
        found = [e for e in self.events if e["type"] == type_ and "json" in e]
        return json.loads(found[nth]["json"]) if found else None


# ----------------------------------------------------------------------------------------- the split

def split(visit: Visit, registry: dict) -> list[dict]:
    """The app's boot as rows of {key, label, start, end} in seconds from the navigation. The steps
    overlap: Pyodide loads while the models download; the sessions, the store and the index follow
    one another; the Python session is made last."""
    rows = []

    def row(key, label, start, end):
        rows.append({"key": key, "label": label, "start": start, "end": end})

    created = visit.first("created")
    ready = visit.first("ready")
    py0 = visit.first("status", "Python runtime", 0)
    py1 = visit.first("status", "Python runtime", 1)
    wheel = visit.requested(lambda p: p.startswith("/wheels/") and p.endswith(".whl"), after=created or 0)
    row("page", "page, app.js, the worker's modules, registry.json", 0.0, py0)
    row("pyodide", "Pyodide core: runtime and standard library (`loadPyodide`)", py0, wheel["start"] if wheel else py1)
    row("wheels", "wheels: quire, pypdf, jinja2, markupsafe (fetched, installed)", wheel["start"] if wheel else None, py1)
    for model in registry["models"]:
        label = f"{model['name']} ({model['role']})"
        request = visit.requested(lambda p, m=model: p == f"/models/{m['id']}/{m['weights']}", after=created or 0)
        row(f"bytes-{model['role']}", f"model bytes: {model['name']}, {model['bytes'] / 1e6:.0f} MB",
            request["start"] if request else visit.first("status", label), visit.last("status", label))
    ort = visit.requested(lambda p: p.startswith("/ort/") and p.endswith(".wasm"), after=created or 0)
    steps = [("session-embedding", "embedding model", "onnxruntime-web session: embedding model (with onnxruntime's WASM)"),
             ("session-generation", "language model", "onnxruntime-web session: language model"),
             ("library", "library", "library: IndexedDB opened"),
             ("index", "vector index", "vector index: hnswlib-wasm loaded, index read from IDBFS")]
    for key, step, label in steps:
        row(key, label, visit.first("status", step, 0), visit.first("status", step, 1))
    index_end = visit.first("status", "vector index", 1)
    # Its own step once the worker posts one; until then, from the last step before it to "ready".
    session = visit.first("status", "Python session", 0)
    if session is None and index_end is not None and py1 is not None:
        session = max(index_end, py1)
    row("session", "Python session: tokenizers, library and keyword index from the store", session, ready)
    row("ready", "**ready for documents**", 0.0, ready)
    if ort:
        row("ort-wasm", "*inside the embedding session:* onnxruntime-web's WASM requested → received",
            ort["start"], ort["end"])
    return rows


def answer_times(visit: Visit) -> dict:
    """The first document's add (cold only) and the question, in seconds from the navigation."""
    sent_add, added = visit.first("sent:add"), visit.first("added")
    sent_ask = visit.first("sent:ask")
    answer = visit.json_of("answer")
    extractive = visit.json_of("extractive")
    return {
        "add": (added - sent_add) if sent_add is not None and added is not None else None,
        "sources": _since(visit.first("sources", after=sent_ask or 0), sent_ask),
        "first_token": _since(visit.first("token", after=sent_ask or 0), sent_ask),
        "answer": _since(visit.first("answer", after=sent_ask or 0), sent_ask),
        "total": visit.first("answer"),
        "tokens": answer.get("tokens") if answer else sum(1 for e in visit.events if e["type"] == "token"),
        "text": answer.get("text") if answer else None,
        "extractive": extractive.get("text") if extractive else None,
    }


def _since(t: float | None, t0: float | None) -> float | None:
    return t - t0 if t is not None and t0 is not None else None


def boot_info(visit: Visit) -> dict:
    ready = next(e for e in visit.events if e["type"] == "ready")
    library = visit.json_of("library", 0) or []
    return {"threads": ready.get("threads"), "backend": ready.get("backend"), "isolated": ready.get("isolated"),
            "documents": len(library)}


# ----------------------------------------------------------------------------------------- the peer

def peer_steps(visit: Visit) -> list[dict]:
    rows = []
    for key, step, label in [("import", "Transformers.js", "import transformers.web.min.js"),
                             ("embedding", "embedding pipeline", "`pipeline(\"feature-extraction\")`: config, "
                                                                "tokenizer, model bytes, session"),
                             ("generation", "generation pipeline", "`pipeline(\"text-generation\")`: the same")]:
        rows.append({"key": key, "label": label, "start": visit.first("status", step, 0),
                     "end": visit.first("status", step, 1)})
    rows.append({"key": "ready", "label": "**both pipelines loaded**", "start": 0.0, "end": visit.first("ready")})
    return rows


def peer_answer(visit: Visit, prompt: str, tokens: int, tick=None) -> dict:
    visit.page.evaluate("([p, n]) => window.peer.ask(p, n)", [prompt, tokens])
    visit.wait(lambda ev: any(e["type"] == "answer" for e in ev), "the peer's answer", tick=tick)
    sent = visit.first("sent:ask")
    out = visit.json_of("answer")
    return {"first_token": _since(visit.first("token", after=sent), sent),
            "answer": _since(visit.first("answer", after=sent), sent),
            "tokens": sum(1 for e in visit.events if e["type"] == "token"), "text": out["text"]}


# ----------------------------------------------------------------------------------------- the part

def site_registry(site: Path) -> dict:
    """The site's registry.json with its default models only: what a first visit loads."""
    registry = json.loads((site / "models" / "registry.json").read_text())
    registry["models"] = [m for m in registry["models"] if m["id"] in registry["defaults"].values()]
    for model in registry["models"]:
        model["bytes"] = model["download_bytes"]
    return registry


def app_site() -> Path:
    """The site as `build.py site` assembles it, in the bench's own folder (dist/ is left alone)."""
    from quire_build.cache import cache_root
    from quire_build.site import build_site

    return build_site(dist=cache_root() / "bench" / "site-app")


VISITS = ["cold", "second", "third"]  # the app: a fresh profile, then two more visits on it
PEER_VISITS = ["peer-cold", "peer-second"]


def run(args) -> dict:
    from quire_build.serve import Background

    t_start = time.time()
    document = corpus_mod.docsets_folder(args.docsets) / DOCUMENT
    site = app_site()
    registry = site_registry(site)
    big = [f"/{f['url']}" for f in json.loads((site / "precache.json").read_text())["files"]
           if f["size"] > 4 * 1024 * 1024]
    models = [f"/models/{m['id']}/{m['weights']}" for m in registry["models"]]
    runs = {kind: [] for kind in VISITS + PEER_VISITS}
    with tempfile.TemporaryDirectory(prefix="quire-bench-startup-") as tmp, \
            Background({"/": site, "/bench": BENCH_WEB, **peer_mounts(Path(tmp))}) as url:
        for r in range(args.startup_runs):
            profile = Path(tmp) / f"profile-{r}"
            for kind in VISITS:
                meter = ForeignCpu()
                meter.start()
                with Visit(url, profile) as visit:
                    visit.wait_ready()
                    if kind == "cold":
                        visit.add([document])
                    visit.ask(QUESTION)
                    fetched = sorted({q["path"] for q in visit.requests} & set(big))
                    runs[kind].append({"split": split(visit, registry), "answer": answer_times(visit),
                                       "boot": boot_info(visit), "prompt": (visit.json_of("answer") or {}).get("prompt"),
                                       "big": fetched, "cached": visit.cached(big), "foreign": meter.stop()})
            print(f"  run {r + 1}: " + "; ".join(
                f"{kind} ready {fmt(_end(runs[kind][-1], 'ready'))} s, answer at {fmt(runs[kind][-1]['answer']['total'])} s"
                for kind in VISITS), flush=True)

        prompt = runs["cold"][0]["prompt"]  # the app's own prompt, so both models get the same work
        tokens = runs["cold"][0]["answer"]["tokens"] or 64
        for r in range(args.startup_runs):
            profile = Path(tmp) / f"peer-profile-{r}"
            for kind in PEER_VISITS:
                meter = ForeignCpu()
                meter.start()
                with Visit(url, profile, "/bench/startup-peer.html") as peer:
                    peer.wait(lambda ev: any(e["type"] == "ready" for e in ev), "the peer's start-up")
                    ready = next(e for e in peer.events if e["type"] == "ready")
                    runs[kind].append({"split": peer_steps(peer), "answer": peer_answer(peer, prompt, tokens),
                                       "boot": {"threads": ready.get("threads")}, "cached": peer.cached(models),
                                       "foreign": meter.stop()})
            print(f"  peer run {r + 1}: " + "; ".join(f"{kind} loaded {fmt(_end(runs[kind][-1], 'ready'))} s"
                                                    for kind in PEER_VISITS), flush=True)
    return {"runs": runs, "registry": registry, "document": document.name, "pages": _pages(document),
            "prompt_tokens": _count_tokens(site, prompt), "big": big, "seconds": time.time() - t_start}


def _pages(pdf: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(str(pdf)).pages)


def _count_tokens(site: Path, text: str) -> int:
    from quire.tokenizers import Tokenizer

    record = next(m for m in site_registry(site)["models"] if m["role"] == "generation")
    return len(Tokenizer.from_file(site / "models" / record["id"] / "tokenizer.json").encode(text, add_special_tokens=False))


# ----------------------------------------------------------------------------------------- report

def _end(run_: dict, key: str) -> float | None:
    return next((r["end"] for r in run_["split"] if r["key"] == key), None)


def _duration(row: dict) -> float | None:
    return row["end"] - row["start"] if row["start"] is not None and row["end"] is not None else None


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _steps_table(runs: dict, kinds: list[str], names: list[str], header: str) -> str:
    """One row per step: for each kind of visit, the median duration and the median start → end."""
    rows = []
    for template in runs[kinds[0]][0]["split"]:
        key, cells = template["key"], []
        for kind in kinds:
            found = [r for run_ in runs[kind] for r in run_["split"] if r["key"] == key]
            d, s, e = (_median(_duration(r) for r in found), _median(r["start"] for r in found),
                       _median(r["end"] for r in found))
            cells += [fmt(d), f"{fmt(s)} → {fmt(e)}" if s is not None and e is not None else "n/a"]
        rows.append([template["label"], *cells])
    head = [header] + [h for name in names for h in (f"{name}, s", "from → to")]
    return table(head, rows)


def report(m: dict) -> tuple[str, str]:
    """(what the terminal shows, the Markdown section for docs/benchmarks.md)."""
    from machine import command, machine, versions

    runs = m["runs"]
    n = len(runs["cold"])
    names = {"cold": "cold", "second": "2nd visit", "third": "3rd visit", "peer-cold": "cold",
             "peer-second": "2nd visit"}

    def med(kind, get):
        return _median(get(run_) for run_ in runs[kind])

    def ratio(a, b):
        return fmt(a / b, 2) if a and b else "n/a"

    ready = {kind: med(kind, lambda r: _end(r, "ready")) for kind in runs}
    total = {kind: med(kind, lambda r: r["answer"]["total"]) for kind in VISITS}
    app = _steps_table(runs, VISITS, [names[k] for k in VISITS], "the app's boot step (medians)")
    peer = _steps_table(runs, PEER_VISITS, [names[k] for k in PEER_VISITS], "Transformers.js (medians)")

    def answer_row(label, key, digits=1, peer_too=True):
        return [label, *(fmt(med(k, lambda r: r["answer"][key]), digits) for k in VISITS),
                *(fmt(med(k, lambda r: r["answer"][key]), digits) if peer_too else "" for k in PEER_VISITS)]

    answers = table(["first answer (medians), seconds", *(names[k] for k in VISITS),
                     *(f"Transformers.js, {names[k]}" for k in PEER_VISITS)], [
        [f"add `{m['document']}` ({m['pages']} pages: parse, chunk, embed, store)",
         fmt(med("cold", lambda r: r["answer"]["add"])), "in the library", "in the library", "", ""],
        answer_row("question → sources and extractive answer shown", "sources", peer_too=False),
        answer_row("question → first generated token", "first_token"),
        answer_row("question → answer complete", "answer"),
        answer_row("**page opened → answer complete**", "total", peer_too=False),
        answer_row("tokens generated", "tokens", 0),
    ])
    def others(i, kinds):
        seen = [runs[k][i].get("foreign") for k in kinds if runs[k][i].get("foreign") is not None]
        return fmt(sum(seen) / len(seen), 2) if seen else "n/a"

    per_run = table(["run", *(f"{names[k]}: ready, answer" for k in VISITS),
                     *(f"Transformers.js {names[k]}: loaded" for k in PEER_VISITS),
                     "other processes' CPU, cores: the app's visits, the peer's"],
                    [[str(i + 1), *(f"{fmt(_end(runs[k][i], 'ready'))}, {fmt(runs[k][i]['answer']['total'])}" for k in VISITS),
                      *(fmt(_end(runs[k][i], "ready")) for k in PEER_VISITS),
                      f"{others(i, VISITS)}, {others(i, PEER_VISITS)}"] for i in range(n)])

    def held(kind):
        """The big files a visit fetched, and those the service worker's cache held after it."""
        last = runs[kind][-1]
        return (", ".join(f"`{Path(p).name}`" for p in last["big"]) or "none",
                ", ".join(f"`{Path(p).name}`" for p in last["cached"]) or "none")

    caching = table(["visit", "big files (over 4 MB) the visit fetched", "big files in the service worker's cache after it"],
                    [[names[k], *held(k)] for k in VISITS], numbers=False)
    headline = (f"Ready for documents: **{fmt(ready['cold'])} s cold, {fmt(ready['second'])} s on the second visit, "
                f"{fmt(ready['third'])} s on the third** ({'median of ' + str(n) + ' runs' if n > 1 else 'one run'}). Transformers.js loaded the same two "
                f"model files with `pipeline()` in {fmt(ready['peer-cold'])} s cold and {fmt(ready['peer-second'])} s "
                f"on its second visit: the app took {ratio(ready['cold'], ready['peer-cold'])}x its time cold and "
                f"{ratio(ready['second'], ready['peer-second'])}x on the second visit, with Pyodide, the wheels and the "
                f"Python session included. First answer: {fmt(total['cold'])} s after opening the page cold (a "
                f"{m['pages']}-page PDF added first), {fmt(total['second'])} s on the second visit and "
                f"{fmt(total['third'])} s on the third.")
    answered = [r["answer"] for k in VISITS for r in runs[k]]
    generator = next(g["name"] for g in m["registry"]["models"] if g["role"] == "generation")

    def named(key):
        return sum(EXPECTED.lower() in (a[key] or "").lower() for a in answered)
    boot = runs["cold"][0]["boot"]
    peer_threads = runs["peer-cold"][0]["boot"]["threads"]
    peer_held = len(runs["peer-cold"][0].get("cached") or [])
    later_docs = sorted({r["boot"]["documents"] for k in VISITS[1:] for r in runs[k]})
    foreign = [r["foreign"] for k in VISITS for r in runs[k] if r["foreign"] is not None]
    cold = runs["cold"][-1]
    missed = [Path(p).name for p in cold["big"] if p not in cold["cached"]]
    caching_note = (f"After the cold visit the service worker's cache lacked {', '.join(f'`{n}`' for n in missed)}: "
                    "the app's worker requested them before the newly installed service worker controlled it, so "
                    "they bypassed it, and the second visit downloaded them again (offline use needs a second "
                    "visit)." if missed else "The cold visit left every big file it fetched in the service worker's cache.")
    v = versions()
    body = f"""## Start-up

Command: `{command()}` · {time.strftime('%Y-%m-%d %H:%M %Z')} · the part took {fmt(m['seconds'] / 60)} min

Machine: {machine()}; other processes used {fmt(sum(foreign) / len(foreign) if foreign else None, 2)} cores on
average during the app's visits (CPU time from /proc)

Versions: Chromium {v['chromium'].removeprefix('Chromium ')}; Pyodide {v['pyodide']}; onnxruntime-web
{v['onnxruntime-web']} for Quire; Transformers.js {v['transformers.js']} with its own onnxruntime-web
{v['transformers.js onnxruntime-web']}; Quire {v['quire']}.

{headline}

{app}

{answers}

{caching}

{caching_note}

{peer}

{per_run}

How it was measured:

- **The real app**: the site `build.py site` assembles, served with COOP/COEP as `build.py serve`
  serves it, in headless Chromium ({boot['backend']}, {boot['threads']} threads, cross-origin isolated:
  {'yes' if boot['isolated'] else 'no'}). Cold: a fresh profile. The second and third visits: the browser closed and
  started again on the same profile, so the service worker serves what it has cached and IndexedDB
  holds the library ({' or '.join(map(str, later_docs))} document at start-up). Each run is a cold visit
  then its two later ones; runs differ in the machine's load, and the server's files sit in the OS
  page cache after the first run (it is localhost: a "download" is a local read, not a network).
- **The split** comes from outside the app: an init script wraps `Worker` and timestamps every
  message the worker posts (its status per boot step, `ready`, tokens, the answer), and Playwright
  records when each file was requested. Pyodide's core runs from the "Python runtime" step's start
  to the first wheel request, the wheels from there to the step's end; model bytes from the model's
  request to its last progress message; the Python session from the last step to `ready`
  (`quire.worker.Session`: both tokenizers parsed in Python, the library and its keyword index read
  from the store). Steps overlap: Pyodide loads while the models download; the onnxruntime sessions,
  the store and the index follow one another. The models' progress comes from onnxruntime's worker
  (web/onnx-worker.js), through a port of its own, which the init script watches too.
- **First answer**: `{m['document']}` ({m['pages']} pages, from Debian's texlive-latex-base-doc) added
  through the page's file input, then "{QUESTION}" asked through the form. The "{EXPECTED}" was in
  {named('extractive')} of {len(answered)} extractive answers (the best source sentence, shown with the
  sources) and in {named('text')} of {len(answered)} generated ones ({generator} said: "{answered[0]['text']}").
- **The peer**: Transformers.js `pipeline("feature-extraction")` and `pipeline("text-generation")` on the
  same folders and files (dtype q8 = `model_quantized.onnx`), in a module worker, its caches at their
  defaults (Cache Storage: after its cold visit it held {peer_held} of the {len(m['registry']['models'])} model
  files), {peer_threads} thread (onnxruntime-web's default; the app uses
  {boot['threads']}). It then answered the prompt the app's own prompt code builds from the app's
  passages ({m['prompt_tokens']} tokens), greedy, as many new tokens as the app generated: generation
  alone, no retrieval. It has no Python, no store and no index to load.
"""
    terminal = "\n\n".join([headline, app, answers, caching, caching_note, peer, per_run])
    return terminal, body
