// The worker: loads Pyodide, onnxruntime-web, hnswlib-wasm and the models, then hands every request
// to the Python session (py/quire/worker.py). It moves bytes and reports progress; it decides nothing.
import { loadPyodide } from "./pyodide/pyodide.mjs";
import { configureOrt, Embedder, Generator, modelFiles } from "./onnx-bridge.js";
import { candidateSteps } from "./candidates.js";
import { IdbStore, requestPersistence } from "./idb-store.js";
import { HnswIndex } from "./hnsw-index.js";

const post = (type, data = {}) => self.postMessage({ type, ...data });
let session = null;
let backend = null; // onnxruntime's build and execution providers (chooseBackend)
let generators = new Map(); // the site's generation models by id (registry.json)
let generator = null; // the onnx-bridge Generator that answers
let generatorModel = null; // its registry.json record
let cancelRequested = false;
let queue = Promise.resolve();

// What this worker requested and what the Content-Security-Policy refused, for the page's egress chip.
new PerformanceObserver((list) => post("requests", {
  entries: list.getEntries().map((entry) => ({ url: entry.name, status: entry.responseStatus })),
})).observe({ type: "resource", buffered: true });
self.addEventListener("securitypolicyviolation", (event) => post("blocked", { url: event.blockedURI }));

// Downloads a file with byte progress; the service worker caches it for the next visit. A file already
// in that cache (a later visit, a model switched back to) is read from it directly as one blob: through
// the service worker, 500 MB took 1.9 s to read, from the cache 0.6 s; read as a stream, it also left
// 7,500 spent 64 KB chunks for the garbage collector, and switching back to a 500 MB model peaked
// 300-500 MB higher. (The blob's buffer, made by the browser, also waits for the collector: detaching
// it frees nothing. A BYOB reader into a buffer of our own avoided both, but stalled for good when a
// second tab read the cache.) Over the network the bytes land in one buffer as they arrive (with a
// Content-Length): gathering parts first would hold the file twice at the moment it is joined.
// Progress goes out at most every PROGRESS_MS (a message per chunk cost 0.4 s of 5.5 s for 500 MB).
const PROGRESS_MS = 100;
async function download(url, label) {
  const cached = await self.caches?.match(new URL(url, self.location.href).href).catch(() => undefined);
  if (cached) {
    const bytes = new Uint8Array(await (await cached.blob()).arrayBuffer());
    post("status", { step: label, done: bytes.length, total: bytes.length, unit: "bytes" });
    return bytes;
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const total = Number(response.headers.get("Content-Length")) || 0;
  const reader = response.body.getReader();
  let bytes = new Uint8Array(total);
  let done = 0;
  let shown = 0; // when progress last went out
  for (;;) {
    const { value, done: finished } = await reader.read();
    if (finished) break;
    if (done + value.length > bytes.length) { // no or a wrong Content-Length: grow
      const grown = new Uint8Array(Math.max(2 * bytes.length, done + value.length));
      grown.set(bytes.subarray(0, done));
      bytes = grown;
    }
    bytes.set(value, done);
    done += value.length;
    if (performance.now() - shown >= PROGRESS_MS) {
      shown = performance.now();
      post("status", { step: label, done, total, unit: "bytes" });
    }
  }
  post("status", { step: label, done, total: done, unit: "bytes" });
  return done === bytes.length ? bytes : bytes.slice(0, done);
}

async function step(label, work) {
  post("status", { step: label, done: 0, total: 1 });
  const result = await work();
  post("status", { step: label, done: 1, total: 1 });
  return result;
}

// One tab at a time holds the library: two workers would each save their own idea of it, and the
// later save would drop what the other tab added. Another tab waits, saying why, until this one closes.
const WAITING = "library: open in another tab, close that tab to use it here";
function holdLibrary() {
  if (!navigator.locks) return Promise.resolve();
  return new Promise((resolve) => {
    const hold = () => {
      resolve();
      return new Promise(() => {}); // held until this worker ends with its tab
    };
    navigator.locks.request("quire-library", { ifAvailable: true }, (lock) => {
      if (lock) return hold();
      post("status", { step: WAITING, done: 0, total: 0 });
      navigator.locks.request("quire-library", () => {
        post("status", { step: WAITING, done: 1, total: 1 });
        return hold();
      });
      return undefined;
    });
  });
}

// WebGPU only on a real adapter: the software fallback (SwiftShader) is ~90x slower than WASM.
async function chooseBackend() {
  const adapter = await navigator.gpu?.requestAdapter?.().catch(() => null);
  const fallback = adapter && (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter);
  if (adapter && !fallback) {
    return { name: "webgpu", ort: await import("./ort/ort.webgpu.min.mjs"), providers: ["webgpu", "wasm"] };
  }
  return { name: "wasm", ort: await import("./ort/ort.wasm.min.mjs"), providers: ["wasm"] };
}

const fetched = async (model, name) => {
  const response = await fetch(`./models/${model.id}/${name}`);
  if (!response.ok) throw new Error(`${model.name}: ${name}: HTTP ${response.status}`);
  return response.text();
};
// A model's files for onnx-bridge: the weights downloaded here, with progress; onnxruntime fetches the small graph.
const downloaded = async (model) => {
  const folder = `./models/${model.id}/`;
  return modelFiles(folder, model, await download(folder + model.weights, `${model.name} (${model.role})`));
};

// A generation model's onnxruntime session (from its downloaded files) and its tokenizer.json text.
async function loadGenerator(model, files) {
  const [tokenizer, config] = await Promise.all([fetched(model, "tokenizer.json"), fetched(model, "config.json")]);
  const load = () => Generator.load(backend.ort, files, JSON.parse(config), backend.providers);
  return { generator: await step("language model", load), tokenizer };
}

// `wanted`: the generation model the page remembers (a worker cannot read localStorage); one the
// site no longer ships falls back to the default.
async function boot(wanted) {
  const registry = await (await fetch("./models/registry.json")).text();
  const { models, defaults } = JSON.parse(registry);
  const embeddingModel = models.find((m) => m.id === defaults.embedding);
  generators = new Map(models.filter((m) => m.role === "generation").map((m) => [m.id, m]));
  const generationModel = generators.get(wanted) || generators.get(defaults.generation);
  post("generators", { models: [...generators.values()], current: generationModel.id });

  const pyodideReady = step("Python runtime", async () => {
    const errors = [];
    // Absolute URLs: Pyodide takes the wheels' base from lockFileURL without resolving it.
    const pyodide = await loadPyodide({ indexURL: new URL("./pyodide/", import.meta.url).href,
      lockFileURL: new URL("./wheels/pyodide-lock.json", import.meta.url).href });
    await pyodide.loadPackage(["quire"], { messageCallback: () => {}, errorCallback: (e) => errors.push(e) });
    if (!pyodide.loadedPackages.quire) throw new Error(`Python packages failed to load: ${errors.join("; ")}`);
    return pyodide;
  });
  backend = await chooseBackend();
  configureOrt(backend.ort, new URL("./ort/", import.meta.url).href);
  const [embedFiles, generateFiles] = await Promise.all([downloaded(embeddingModel), downloaded(generationModel)]);
  const tokenizers = { [embeddingModel.id]: await fetched(embeddingModel, "tokenizer.json") };
  const embedder = await step("embedding model", () => Embedder.load(backend.ort, embedFiles, backend.providers));
  const loaded = await loadGenerator(generationModel, generateFiles); // (onnx-bridge frees the downloaded bytes)
  generator = loaded.generator;
  generatorModel = generationModel;
  tokenizers[generationModel.id] = loaded.tokenizer;
  await holdLibrary();
  const store = await step("library", () => IdbStore.open());
  const hnswlib = await import("./hnswlib/hnswlib.js");
  const index = await step("vector index", async () => HnswIndex.load(await hnswlib.loadHnswlib("IDBFS"), embeddingModel.facts.dims));
  const persisted = await requestPersistence();
  const pyodide = await pyodideReady;

  const js = { store, index, embedder, generator: candidateSteps(generator) };
  const { Session } = pyodide.pyimport("quire.worker");
  session = await Session.callPromising(registry, JSON.stringify(tokenizers), js, generationModel.id);
  const threads = backend.ort.env.wasm.numThreads;
  post("ready", { backend: backend.name, threads, isolated: self.crossOriginIsolated, persisted });
  run("documents", (send) => send("library", session.documents()));
}

// Another generation model, chosen in the page's picker. Two language models side by side pass the
// tab's 2 GB (measured 2.7-3.1 GB switching between Qwen and SmolLM2), so the current one is released
// once the new one has downloaded, and loaded again if the new one then fails to load.
async function useGenerator(id) {
  const files = await downloaded(generators.get(id)); // a failed download leaves the current one answering
  const previous = generatorModel;
  await generator.release();
  try {
    await answerWith(generators.get(id), files);
  } catch (error) {
    await answerWith(previous, await downloaded(previous));
    throw error;
  }
  post("generator", { id });
}

async function answerWith(model, files) {
  const loaded = await loadGenerator(model, files);
  try {
    session.use_generator(model.id, loaded.tokenizer, candidateSteps(loaded.generator));
  } catch (error) {
    await loaded.generator.release();
    throw error;
  }
  generator = loaded.generator;
  generatorModel = model;
}

// What a person reads of an error. A Python exception's message is its whole traceback: its last
// line, without the exception's type, says what happened (the console keeps the rest).
function said(error) {
  const text = String(error?.message || error);
  if (!error?.type) return text;
  console.error(text);
  return text.trim().split("\n").pop().replace(/^[\w.]+: /, "");
}

// Requests run one at a time: the Python session is not re-entrant (a suspended call would interleave).
function run(name, work) {
  queue = queue.then(async () => {
    const send = (type, json) => post(type, { json });
    try {
      await work(send);
    } catch (error) {
      post("error", { request: name, message: said(error) });
    }
  });
}

self.onmessage = ({ data }) => {
  if (data.type === "start") {
    boot(data.generator).catch((error) => post("fatal", { message: said(error) }));
    return;
  }
  if (data.type === "stop") {
    cancelRequested = true; // read by the running question between tokens
    return;
  }
  if (!session) {
    post("error", { request: data.type, message: "still starting: try again in a moment" });
    return;
  }
  if (data.type === "add") {
    run("add", (send) => session.add.callPromising(data.files, send));
  } else if (data.type === "remove") {
    run("remove", (send) => session.remove.callPromising(data.docId, send));
  } else if (data.type === "clear") {
    run("clear", (send) => session.clear.callPromising(send));
  } else if (data.type === "document") {
    run("document", (send) => session.document.callPromising(data.docId, send));
  } else if (data.type === "generator") {
    run("generator", () => useGenerator(data.id));
  } else if (data.type === "ask") {
    run("ask", (send) => {
      cancelRequested = false;
      return session.ask.callPromising(data.question, send, () => cancelRequested);
    });
  }
};
