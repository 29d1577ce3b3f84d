// Quire's answer path as web/worker.js runs it: Pyodide with the quire wheel, onnxruntime-web set up
// by configureOrt, onnx-bridge.js's Generator over the chosen model's files, web/candidates.js between
// them, and quire.generation's decode loop in Python (bench/web/quire_gen_bench.py times it).
import { loadPyodide } from "/pyodide/pyodide.mjs";
import { configureOrt, Generator, modelFiles } from "/onnx-bridge.js";
import { candidateSteps } from "/candidates.js";
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
  const ort = await import("/ort/ort.wasm.min.mjs");
  configureOrt(ort, site("/ort/"));
  const registry = await text("/models/registry.json");
  const model = JSON.parse(registry).models.find((m) => m.id === modelId);
  const folder = `/models/${model.id}/`;
  const weights = new Uint8Array(await (await fetch(folder + model.weights)).arrayBuffer());
  const config = JSON.parse(await text(`${folder}config.json`));
  const t2 = performance.now();
  const generator = await Generator.load(ort, modelFiles(folder, model, weights), config, ["wasm"]);
  const t3 = performance.now();
  pyodide.runPython(await text("/bench/quire_gen_bench.py"));
  bench = pyodide.globals.get("GenBench")(JSON.stringify(model), await text(`/models/${model.id}/tokenizer.json`),
                                          candidateSteps(generator));
  return {
    runtimeSeconds: (t1 - t0) / 1000, downloadSeconds: (t2 - t1) / 1000, sessionSeconds: (t3 - t2) / 1000,
    threads: ort.env.wasm.numThreads, isolated: self.crossOriginIsolated, model: `/models/${model.id}/${model.file}`,
  };
}

// spec: {prompt: [token id...], max_new_tokens, draft}
async function job(spec) {
  return JSON.parse(await bench.run.callPromising(JSON.stringify(spec)));
}

serveJobs(init, job);
