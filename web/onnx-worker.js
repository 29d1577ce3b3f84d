// onnxruntime-web in a worker of its own, started by web/worker.js: it downloads the embedding and
// the generation model, holds their sessions and answers calls on them. Switching the answer model
// ends this worker and starts another, which gives back at once everything it held: onnxruntime's
// WebAssembly memory (which never shrinks), the downloaded weights (a buffer read from the cache
// waits for the collector, or for its worker to end) and whatever the collector had not reclaimed.
// The weights are downloaded here, not handed over by the app's worker: a transferred 500 MB buffer
// stayed alive after onnxruntime had copied it.
import { configureOrt, Embedder, Generator, modelFiles } from "./onnx-bridge.js";
import { candidateSteps } from "./candidates.js";
import { download, reportRequests, step } from "./loading.js";

let backend = null; // { name, ort, providers }
let embedder = null;
let generator = null; // candidateSteps over the onnx-bridge Generator

// Progress and requests go straight to the page, through the port the app's worker sends first:
// passed on by the app's worker, they arrived late while Pyodide kept it busy.
let page = null; // the port once it has come; undefined when there is none (reports are dropped)
const early = []; // reports posted before it came
const post = (type, data = {}) => (page === null ? early.push({ type, ...data }) : page?.postMessage({ type, ...data }));

// A model's files for onnx-bridge: the weights downloaded here, with progress; onnxruntime fetches the small graph.
const downloaded = async (model) => {
  const folder = new URL(`./models/${model.id}/`, import.meta.url).href;
  return modelFiles(folder, model, await download(folder + model.weights, `${model.name} (${model.role})`, post));
};

// What this worker requests and what the Content-Security-Policy refuses, for the page's egress chip.
reportRequests(post);

// WebGPU only on a real adapter: the software fallback (SwiftShader) is ~90x slower than WASM.
async function chooseBackend() {
  const adapter = await navigator.gpu?.requestAdapter?.().catch(() => null);
  const fallback = adapter && (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter);
  if (adapter && !fallback) {
    return { name: "webgpu", ort: await import("./ort/ort.webgpu.min.mjs"), providers: ["webgpu", "wasm"] };
  }
  return { name: "wasm", ort: await import("./ort/ort.wasm.min.mjs"), providers: ["wasm"] };
}

const calls = {
  async start({ wasmPaths }) {
    backend = await chooseBackend();
    configureOrt(backend.ort, wasmPaths);
    return { name: backend.name, threads: backend.ort.env.wasm.numThreads };
  },
  // `embedding`, `generation`: registry.json records; `config`: the generation model's config.json.
  async load({ embedding, generation, config }) {
    const [embedFiles, generateFiles] = await Promise.all([downloaded(embedding), downloaded(generation)]);
    embedder = await step("embedding model", () => Embedder.load(backend.ort, embedFiles, backend.providers), post);
    const loaded = await step("language model", () => Generator.load(backend.ort, generateFiles, config, backend.providers), post);
    generator = candidateSteps(loaded);
  },
  embed: ({ batch, width }) => embedder.embed(batch, width),
  step: ({ ids, topK, positions }) => generator.step(ids, topK, positions),
  reset: () => generator.reset(),
  discard: ({ count }) => generator.discard(count),
};

// One call at a time, in the order sent: a discard must not overtake the step before it.
let queue = Promise.resolve();
self.onmessage = ({ data: { id, call, ...args } }) => {
  if ("reportTo" in args) {
    page = args.reportTo ?? undefined;
    for (const message of early.splice(0)) page?.postMessage(message);
    return;
  }
  queue = queue.then(async () => {
    try {
      self.postMessage({ id, result: await calls[call](args) });
    } catch (error) {
      self.postMessage({ id, error: String(error?.message || error) });
    }
  });
};
