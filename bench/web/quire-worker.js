// Quire's ingest path as the app runs it: Pyodide with the quire wheel (loadPackage against the
// site's lock file), onnxruntime-web configured by configureOrt, onnx-bridge.js's Embedder over the
// default int8 model, and quire.embedding.EmbeddingModel calling BrowserEmbedder from Python
// (entered through callPromising, so run_sync can wait on the embedder's promises). The app's
// Embedder runs in web/onnx-worker.js, a message away per batch; here it runs beside Python, so
// that the ablations (threads, fixed width) can reach its session.
import { loadPyodide } from "/pyodide/pyodide.mjs";
import { configureOrt, Embedder, modelFiles } from "/onnx-bridge.js";
import { serveJobs } from "./jobs.js";

let bench = null;

// Bench only, for the "no dynamic padding" row: the same session, every batch padded to the model's
// window (a fixed-shape pipeline's cost). Padding has attention mask 0, so the vectors are the same.
class FixedWidthEmbedder {
  constructor(embedder, width) {
    this.inner = embedder;
    this.width = width;
  }

  embed(batch) {
    return this.inner.embed(batch, this.width);
  }
}
const site = (path) => new URL(path, location.href).href;
const text = async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
};

async function init({ threads, texts }) {
  const t0 = performance.now();
  const errors = [];
  const pyodide = await loadPyodide({ indexURL: site("/pyodide/"), lockFileURL: site("/wheels/pyodide-lock.json") });
  await pyodide.loadPackage(["quire"], { messageCallback: () => {}, errorCallback: (e) => errors.push(e) });
  if (!pyodide.loadedPackages.quire) throw new Error(`quire failed to load: ${errors.join("; ")}`);
  const t1 = performance.now();

  const ort = await import("/ort/ort.wasm.min.mjs");
  configureOrt(ort, site("/ort/"));
  if (threads) ort.env.wasm.numThreads = threads; // an ablation; otherwise as the app configures it
  const registry = await text("/models/registry.json");
  const model = JSON.parse(registry).models.find((m) => m.role === "embedding");
  const folder = `/models/${model.id}/`;
  const modelUrl = folder + model.file;
  const weights = new Uint8Array(await (await fetch(folder + model.weights)).arrayBuffer());
  const t2 = performance.now();
  const embedder = await Embedder.load(ort, modelFiles(folder, model, weights), ["wasm"]);
  const t3 = performance.now();

  pyodide.runPython(await text("/bench/quire_bench.py"));
  const Bench = pyodide.globals.get("Bench");
  const fixed = new FixedWidthEmbedder(embedder, model.facts.window);
  bench = Bench(registry, await text(`/models/${model.id}/tokenizer.json`), embedder, fixed, await text(texts));
  const t4 = performance.now();
  await bench.warm_up.callPromising(); // the first run allocates and compiles; not timed
  const t5 = performance.now();
  return {
    runtimeSeconds: (t1 - t0) / 1000, downloadSeconds: (t2 - t1) / 1000, sessionSeconds: (t3 - t2) / 1000,
    setupSeconds: (t4 - t3) / 1000, warmUpSeconds: (t5 - t4) / 1000,
    threads: ort.env.wasm.numThreads, isolated: self.crossOriginIsolated, model: modelUrl,
    ort: ort.env.versions?.web ?? null, pyodide: pyodide.version,
  };
}

// spec: {groups: [[text index...]...] (one embed() call each), batch, sort, fixed, tokenizeOnly, keep: [index...]}
async function job(spec) {
  const t0 = performance.now();
  const kept = await bench.run.callPromising(JSON.stringify(spec));
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, vectors: JSON.parse(kept) };
}

serveJobs(init, job);
