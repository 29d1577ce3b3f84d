// The page: draws the library, the question and the answer, and forwards what the person does to the
// worker. Document text is only ever set as textContent: nothing from a file becomes markup.
const $ = (id) => document.getElementById(id);
// The service worker first, then the app's worker: a worker started before the service worker
// controls the page stays outside it, and the models it downloads on a first visit would miss the
// offline cache until a second visit. On a host that cannot send COOP/COEP the service worker adds
// them, which takes one reload. Without a service worker (or if it never takes control) the app
// starts anyway, online only.
async function serviceWorkerInControl() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("./sw.js");
  } catch (error) {
    console.warn("service worker:", error);
    return;
  }
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) => {
      navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true });
      setTimeout(resolve, 30_000);
    });
  }
  if (navigator.serviceWorker.controller && !self.crossOriginIsolated && !sessionStorage.getItem("quire-isolating")) {
    sessionStorage.setItem("quire-isolating", "1");
    location.reload();
    await new Promise(() => {}); // the reload replaces this page
  }
}

await serviceWorkerInControl();
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const send = (type, data = {}) => worker.postMessage({ type, ...data });
// The answer model the person chose last time: a worker cannot read localStorage, so the page names
// it before the worker loads any (one the site no longer ships falls back to the default there).
const CHOSEN_GENERATOR = "quire-generator";
send("start", { generator: localStorage.getItem(CHOSEN_GENERATOR) });

const state = { ready: false, asking: false, switching: false, answer: null, documents: [], pendingView: null,
  generators: new Map(), generator: null };


function element(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function where(name, page) {
  return page ? `${name}, page ${page}` : name;
}

function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

// --- start-up progress ------------------------------------------------------------------------

const steps = new Map();

function showStatus({ step, done, total, unit }) {
  let row = steps.get(step);
  if (!row) {
    row = { label: element("span"), bar: element("progress", { max: 1, value: 0 }) };
    $("steps").append(element("li", {}, [row.label, row.bar]));
    steps.set(step, row);
  }
  const amount = unit === "bytes" ? ` ${megabytes(done)}${total ? ` of ${megabytes(total)}` : ""}` : "";
  row.label.textContent = `${step}${amount}`;
  row.bar.max = total || 1;
  row.bar.value = total ? done : 0;
  if (total && done >= total) row.bar.closest("li").classList.add("done");
}

// --- the answer model -------------------------------------------------------------------------

function showGenerators({ models, current }) {
  state.generators = new Map(models.map((m) => [m.id, m]));
  $("model").replaceChildren(...models.map((m) => {
    const speed = m.measured.decode_tokens_per_second;
    const facts = [m.name, megabytes(m.download_bytes), speed && `~${Math.round(speed)} tokens/s here`, m.source];
    return element("option", { value: m.id, textContent: facts.filter(Boolean).join(" · ") });
  }));
  showGenerator(current);
}

// The model that answers (during start-up: the one loading), remembered for the next visit.
function showGenerator(id) {
  state.generator = id;
  localStorage.setItem(CHOSEN_GENERATOR, id);
  $("model").value = id;
  describeGenerator(id);
}

function describeGenerator(id) {
  const model = state.generators.get(id);
  $("model-about").textContent = `${model.notice} License: ${model.license}. ` +
    "Speeds were measured on the reference 2-core machine (Chromium, WebAssembly, 2 threads).";
  $("model-caution").textContent = model.caution;
  $("model-caution").hidden = !model.caution;
}

// While another model loads nothing can be asked; its download shows in the start-up rows.
function setSwitching(switching) {
  state.switching = switching;
  $("model").disabled = switching || !state.ready;
  $("ask").disabled = switching;
  $("startup").hidden = state.ready && !switching;
}

function chooseGenerator(id) {
  describeGenerator(id);
  notice("");
  steps.clear();
  $("steps").replaceChildren();
  setSwitching(true);
  send("generator", { id });
}

function generatorFailed(message) {
  const wanted = state.generators.get($("model").value).name;
  showGenerator(state.generator);
  setSwitching(false);
  notice(`Could not load ${wanted}: ${message}. ${state.generators.get(state.generator).name} still answers.`);
}

// --- library ----------------------------------------------------------------------------------

const ingestRows = new Map();

function ingestRow(name) {
  if (!ingestRows.has(name)) {
    const row = element("li", { className: "ingest" }, [element("span", { className: "name", textContent: name }),
      element("span", { className: "what", textContent: "waiting" }), element("progress", { max: 1, value: 0 })]);
    $("ingest").append(row);
    ingestRows.set(name, row);
  }
  return ingestRows.get(name);
}

function showFileProgress({ name, step, done, total }) {
  const row = ingestRow(name);
  row.querySelector(".what").textContent = step;
  const bar = row.querySelector("progress");
  bar.max = total || 1;
  bar.value = done;
}

function showAdded(result) {
  const row = ingestRow(result.name);
  row.querySelector("progress").remove();
  row.classList.add(result.ok ? "ok" : "failed");
  row.querySelector(".what").textContent = result.ok
    ? `added${result.reason ? ` (${result.reason})` : ""}, ${count(result.chunks, "passage")}`
    : `not added: ${result.reason}`;
  ingestRows.delete(result.name);
  // A success shows in the library list; a failure stays until the person has read it.
  if (result.ok) setTimeout(() => row.remove(), 5000);
}

function showLibrary(documents) {
  state.documents = documents;
  $("documents").replaceChildren(...documents.map((doc) => {
    const pages = doc.pages ? `, ${count(doc.pages, "page")}` : "";
    const remove = element("button", { type: "button", className: "quiet", textContent: "Remove",
      title: `Remove ${doc.name}` });
    remove.addEventListener("click", () => send("remove", { docId: doc.id }));
    return element("li", { className: "document" }, [
      element("span", { className: "name", textContent: doc.name, title: doc.title || doc.name }),
      element("span", { className: "muted", textContent: `${doc.format}${pages}, ${count(doc.chunks, "passage")}` }), remove]);
  }));
  $("empty-library").hidden = documents.length > 0;
  $("clear").hidden = documents.length === 0;
}

// The File objects themselves go to the worker (cloning a File copies no bytes): it reads each one
// when its turn comes, after the size check, so a batch holds one file in memory at a time.
function addFiles(fileList) {
  const files = [...fileList];
  files.forEach((file) => ingestRow(file.name));
  if (files.length) worker.postMessage({ type: "add", files });
}

// --- questions and answers --------------------------------------------------------------------

function setAsking(asking) {
  state.asking = asking;
  $("ask").hidden = asking;
  $("stop").hidden = !asking;
}

function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

function openSpan(span) {
  state.pendingView = span;
  send("document", { docId: span.doc_id });
}

function showSources(hits) {
  $("result").hidden = false;
  $("sources").replaceChildren(...hits.map((hit) => {
    const open = element("button", { type: "button", className: "link", textContent: where(hit.name, hit.page) });
    open.addEventListener("click", () => openSpan(hit));
    const heading = hit.heading.length ? element("span", { className: "muted", textContent: ` · ${hit.heading.join(" › ")}` }) : "";
    return element("li", {}, [open, heading, element("p", { className: "snippet", textContent: hit.text })]);
  }));
}

function showExtractive(span) {
  $("extractive-card").hidden = !span;
  if (!span) return;
  const name = state.documents.find((d) => d.id === span.doc_id)?.name || "source";
  $("extractive").textContent = span.text;
  $("extractive-source").textContent = where(name, span.page);
  $("extractive-source").onclick = () => openSpan(span);
}

function showAnswer(answer) {
  const parts = [];
  for (const sentence of answer.sentences) {
    parts.push(document.createTextNode(`${sentence.text} `));
    for (const n of sentence.citations) {
      const marker = element("button", { type: "button", className: "cite", textContent: `[${n}]` });
      const span = answer.citations[n - 1];
      marker.title = span.text;
      marker.addEventListener("click", () => openSpan(span));
      parts.push(marker, document.createTextNode(" "));
    }
  }
  $("answer").replaceChildren(...(parts.length ? parts : [document.createTextNode("(no answer)")]));
  // The shown answer is the model's sentence cut to the fact (quire.concise); its words stay at hand.
  $("answer").title = answer.generated.trim() ? `The model's words: ${answer.generated.trim()}` : "";
  const stopped = { cancelled: "stopped", length: "cut at the length limit" }[answer.finish];
  const unchecked = answer.sentences.filter((s) => !s.citations.length).length;
  $("answer-meta").textContent = [
    state.generators.get(answer.model).name, stopped, `${answer.tokens} tokens in ${answer.seconds.toFixed(1)} s`,
    unchecked ? `${unchecked} sentence${unchecked > 1 ? "s" : ""} without a supporting passage` : "",
  ].filter(Boolean).join(" · ");
}

function showDocument(doc) {
  const span = state.pendingView;
  if (!span || span.doc_id !== doc.id) return;
  const context = 1200;
  const from = Math.max(0, span.start - context);
  const to = Math.min(doc.text.length, span.end + context);
  const mark = element("mark", { textContent: doc.text.slice(span.start, span.end) });
  $("viewer-text").replaceChildren(
    document.createTextNode((from > 0 ? "…" : "") + doc.text.slice(from, span.start)), mark,
    document.createTextNode(doc.text.slice(span.end, to) + (to < doc.text.length ? "…" : "")));
  $("viewer-title").textContent = where(doc.name, span.page);
  $("viewer").hidden = false;
  mark.scrollIntoView({ block: "center" });
}

// --- what left the page: the "nothing leaves this device" chip ------------------------------------
// Drawn from what the browser actually requested (the page's and the worker's resource timing) and
// what the Content-Security-Policy refused. The policy (py/quire_build/site.py) enforces; this shows.

const egress = { requests: 0, fetched: new Set(), elsewhere: new Set(), blocked: new Set(), offline: false,
  recheck: 0 }; // the pending checkOffline timer

function noteRequests(entries) {
  for (const { url, status } of entries) {
    egress.requests += 1;
    const target = new URL(url);
    if (target.origin !== location.origin) egress.elsewhere.add(target.host);
    else if (status === 200 || status === undefined) { // not a 404 (where the status is known)
      // A file not seen before (a newly chosen model): offline-ready again once the cache holds it.
      if (!egress.fetched.has(url) && egress.offline) {
        egress.offline = false;
        egress.recheck = setTimeout(checkOffline, 1000);
      }
      egress.fetched.add(url);
    }
  }
  showEgress();
}

function noteBlocked(blockedURI) {
  if (!URL.canParse(blockedURI)) return; // "inline" or "eval": a refused script, not a request
  egress.blocked.add(new URL(blockedURI).host || blockedURI);
  showEgress();
}

function showEgress() {
  const chip = $("egress");
  // An image or stylesheet the policy refused still leaves a timing entry: those hosts were not reached.
  const reached = [...egress.elsewhere].filter((host) => !egress.blocked.has(host)).join(", ");
  const blocked = [...egress.blocked].join(", ");
  chip.classList.toggle("warning", Boolean(reached || blocked));
  if (reached) {
    chip.textContent = `Requests went to ${reached}`;
    chip.title = "Something on this page reached another site: this copy of Quire is not protected.";
  } else if (blocked) {
    chip.textContent = `Blocked a request to ${blocked}`;
    chip.title = "The page's Content-Security-Policy stopped it: nothing left this device.";
  } else {
    chip.textContent = `${egress.offline ? "Offline-ready · nothing" : "Nothing"} leaves this device · ` +
      `${count(egress.requests, "request")}, all to this site`;
    chip.title = `Every request went to ${location.host}, where Quire came from; any other address is blocked.` +
      (egress.offline ? " Every file it fetched is cached: it works without a network." : "");
  }
}

// Offline-ready once every file this visit fetched is in the service worker's cache (the first
// visit may download the models before the service worker is in control: then after a reload).
async function checkOffline() {
  clearTimeout(egress.recheck);
  if (!("caches" in self)) return;
  const held = await Promise.all([...egress.fetched].map((url) => caches.match(url, { ignoreSearch: true })));
  egress.offline = held.length > 0 && held.every(Boolean);
  showEgress();
  if (!egress.offline) egress.recheck = setTimeout(checkOffline, 5000);
}

const pageRequests = new PerformanceObserver((list) =>
  noteRequests(list.getEntries().map((entry) => ({ url: entry.name, status: entry.responseStatus }))));
pageRequests.observe({ type: "navigation", buffered: true });
pageRequests.observe({ type: "resource", buffered: true });
document.addEventListener("securitypolicyviolation", (event) => noteBlocked(event.blockedURI));

// --- wiring -----------------------------------------------------------------------------------

worker.onmessage = ({ data, ports }) => {
  const payload = data.json !== undefined ? JSON.parse(data.json) : data;
  switch (data.type) {
    case "models": ports[0].onmessage = worker.onmessage; return; // onnxruntime's worker: its progress
    case "status": return showStatus(data);
    case "generators": return showGenerators(data);
    case "ready":
      state.ready = true;
      setSwitching(false);
      $("engine").textContent = `${data.backend === "webgpu" ? "WebGPU" : "WASM"}` +
        `${data.backend === "wasm" ? `, ${data.threads} thread${data.threads > 1 ? "s" : ""}` : ""} · on this device`;
      document.body.classList.add("ready");
      return checkOffline();
    case "fatal": return notice(`Quire could not start: ${data.message}`);
    case "library": return showLibrary(payload);
    case "file": return showFileProgress(payload);
    case "added": return showAdded(payload);
    case "sources": return showSources(payload);
    case "extractive": return showExtractive(payload);
    case "token": $("answer").append(payload); return;
    case "answer": setAsking(false); return showAnswer(payload);
    case "document": return showDocument(payload);
    case "generator":
      showGenerator(data.id);
      setSwitching(false);
      return checkOffline(); // the new model's files, once the service worker has cached them
    case "requests": return noteRequests(data.entries);
    case "blocked": return noteBlocked(data.url);
    case "error":
      if (data.request === "generator") return generatorFailed(data.message);
      if (data.request === "ask") setAsking(false);
      return notice(data.message);
  }
};

$("picker").addEventListener("change", (event) => {
  addFiles(event.target.files);
  event.target.value = "";
});
$("dropzone").addEventListener("dragover", (event) => {
  event.preventDefault();
  $("dropzone").classList.add("over");
});
$("dropzone").addEventListener("dragleave", () => $("dropzone").classList.remove("over"));
$("dropzone").addEventListener("drop", (event) => {
  event.preventDefault();
  $("dropzone").classList.remove("over");
  addFiles(event.dataTransfer.files);
});
$("clear").addEventListener("click", () => {
  if (confirm("Remove every document from this device's library?")) send("clear");
});
$("ask-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question || state.asking || state.switching) return;
  notice("");
  $("answer").textContent = "";
  $("answer-meta").textContent = "";
  $("extractive-card").hidden = true;
  setAsking(true);
  send("ask", { question });
});
$("stop").addEventListener("click", () => send("stop"));
$("model").addEventListener("change", () => chooseGenerator($("model").value));
$("close-viewer").addEventListener("click", () => ($("viewer").hidden = true));
