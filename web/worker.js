// The worker: loads Pyodide, hnswlib-wasm and the models (into onnxruntime's own worker,
// web/onnx-worker.js), then hands every request to the Python session (py/quire/worker.py). It moves
// bytes and reports progress; it decides nothing.
import { loadPyodide } from "./pyodide/pyodide.mjs";
import * as loading from "./loading.js";
import { OnnxWorker, protocols } from "./onnx-client.js";
import { IdbStore, requestPersistence } from "./idb-store.js";
import { HnswIndex } from "./hnsw-index.js";

const post = (type, data = {}) => self.postMessage({ type, ...data });
const step = (label, work) => loading.step(label, work, post);
let session = null;
let onnx = null; // the OnnxWorker that holds the models
let embeddingModel = null; // registry.json records
let generators = new Map(); // the site's generation models by id
let generatorModel = null; // the one that answers
let cancelRequested = false;
let queue = Promise.resolve();
const onnxCalls = protocols(() => onnx); // what Python calls: { embedder, generator }

// What this worker requests and what the Content-Security-Policy refuses, for the page's egress chip.
loading.reportRequests(post);

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

const fetched = async (model, name) => {
  const response = await fetch(`./models/${model.id}/${name}`);
  if (!response.ok) throw new Error(`${model.name}: ${name}: HTTP ${response.status}`);
  return response.text();
};
// A new onnxruntime worker with the embedding model and the generation model `model` downloaded and
// loaded, and `model`'s tokenizer.json text: { worker, backend, tokenizer }.
async function startOnnx(model) {
  const toPage = new MessageChannel(); // onnxruntime's worker tells the page its progress directly
  self.postMessage({ type: "models" }, [toPage.port2]);
  const worker = new OnnxWorker(toPage.port1);
  try {
    const config = JSON.parse(await fetched(model, "config.json"));
    const [tokenizer, backend] = await Promise.all([fetched(model, "tokenizer.json"), // (11 MB for Qwen2.5: not first)
      worker.load(new URL("./ort/", import.meta.url).href, { embedding: embeddingModel, generation: model, config })]);
    return { worker, backend, tokenizer };
  } catch (error) {
    worker.end();
    throw error;
  }
}

// `wanted`: the generation model the page remembers (a worker cannot read localStorage); one the
// site no longer ships falls back to the default.
async function boot(wanted) {
  const registry = await (await fetch("./models/registry.json")).text();
  const { models, defaults } = JSON.parse(registry);
  embeddingModel = models.find((m) => m.id === defaults.embedding);
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
  const tokenizers = { [embeddingModel.id]: await fetched(embeddingModel, "tokenizer.json") };
  const started = await startOnnx(generationModel);
  onnx = started.worker;
  generatorModel = generationModel;
  tokenizers[generationModel.id] = started.tokenizer;
  await holdLibrary();
  const store = await step("library", () => IdbStore.open());
  const hnswlib = await import("./hnswlib/hnswlib.js");
  const index = await step("vector index", async () => HnswIndex.load(await hnswlib.loadHnswlib("IDBFS"), embeddingModel.facts.dims));
  const persisted = await requestPersistence();
  const pyodide = await pyodideReady;

  const js = { store, index, ...onnxCalls };
  const { Session } = pyodide.pyimport("quire.worker");
  session = await Session.callPromising(registry, JSON.stringify(tokenizers), js, generationModel.id);
  const { name, threads } = started.backend;
  post("ready", { backend: name, threads, isolated: self.crossOriginIsolated, persisted });
  run("documents", (send) => send("library", session.documents()));
}

// Another generation model, chosen in the page's picker. Two language models side by side pass the
// tab's 2 GB (measured 2.7-3.1 GB switching between Qwen and SmolLM2), so the worker holding the
// current one ends first, and the previous one is loaded again (from the cache) if the new one fails
// to download or load.
async function useGenerator(id) {
  const previous = generatorModel;
  onnx.end();
  try {
    await answerWith(generators.get(id));
  } catch (error) {
    await answerWith(previous);
    throw error;
  }
  post("generator", { id });
}

async function answerWith(model) {
  const { worker, tokenizer } = await startOnnx(model);
  try {
    session.use_generator(model.id, tokenizer, onnxCalls.generator);
  } catch (error) {
    worker.end();
    throw error;
  }
  onnx = worker;
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
