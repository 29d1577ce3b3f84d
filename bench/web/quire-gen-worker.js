// Quire's answer path as web/worker.js runs it: Pyodide with the quire wheel, and the models in
// onnxruntime's own worker (web/onnx-worker.js, through web/onnx-client.js, which also runs
// web/candidates.js there), with quire.generation's decode loop in Python
// (bench/web/quire_gen_bench.py times it).
import { loadPyodide } from "/pyodide/pyodide.mjs";
import { OnnxWorker, protocols } from "/onnx-client.js";
import { serveJobs } from "./jobs.js";

let bench = null;
const site = (path) => new URL(path, location.href).href;
const text = async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
};

async function init({ model: modelId }) {
  const t0 = performance.now();
  const pyodide = await loadPyodide({ indexURL: site("/pyodide/"), lockFileURL: site("/wheels/pyodide-lock.json") });
  await pyodide.loadPackage(["quire"], { messageCallback: () => {} });
  const t1 = performance.now();
  const registry = JSON.parse(await text("/models/registry.json"));
  const model = registry.models.find((m) => m.id === modelId);
  const embedding = registry.models.find((m) => m.id === registry.defaults.embedding);
  const config = JSON.parse(await text(`/models/${model.id}/config.json`));
  const onnx = new OnnxWorker(); // (its progress is for the app's page)
  const backend = await onnx.load(site("/ort/"), { embedding, generation: model, config });
  const t2 = performance.now();
  pyodide.runPython(await text("/bench/quire_gen_bench.py"));
  bench = pyodide.globals.get("GenBench")(JSON.stringify(model), await text(`/models/${model.id}/tokenizer.json`),
                                          protocols(() => onnx).generator);
  return {
    runtimeSeconds: (t1 - t0) / 1000, modelsSeconds: (t2 - t1) / 1000,
    threads: backend.threads, isolated: self.crossOriginIsolated, model: `/models/${model.id}/${model.file}`,
  };
}

// spec: {prompt: [token id...], max_new_tokens, draft}
async function job(spec) {
  return JSON.parse(await bench.run.callPromising(JSON.stringify(spec)));
}

serveJobs(init, job);
