// The peer for bench/startup.py and bench/memory.py: Transformers.js loading the two model files the
// app loads (the site's registry.json names them; dtype "q8" is each folder's model_quantized.onnx)
// with pipeline(), as its docs show, offline, in a module worker. Its caches stay at their defaults
// (model files and onnxruntime's WASM in Cache Storage), so a second visit reads them from there as
// the app's service worker does. It posts the messages the app's worker posts (status per step,
// ready, token, answer), so the same probe times both.
const post = (type, data = {}) => self.postMessage({ type, ...data });
let generator = null;
let TextStreamer = null;

async function step(label, work) {
  post("status", { step: label, done: 0, total: 1 });
  const result = await work();
  post("status", { step: label, done: 1, total: 1 });
  return result;
}

async function boot() {
  const { models } = await (await fetch("/models/registry.json")).json();
  const embedding = models.find((m) => m.role === "embedding");
  const generation = models.find((m) => m.role === "generation");
  const transformers = await step("Transformers.js", () => import("/tjs/transformers.web.min.js"));
  const { env, pipeline } = transformers;
  TextStreamer = transformers.TextStreamer;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = "/models/";
  env.backends.onnx.wasm.wasmPaths = "/tjs-ort/";
  await step("embedding pipeline", () => pipeline("feature-extraction", embedding.id, { dtype: "q8", device: "wasm", use_external_data_format: true }));
  generator = await step("generation pipeline", () => pipeline("text-generation", generation.id, { dtype: "q8", device: "wasm", use_external_data_format: true }));
  post("ready", { backend: "wasm", threads: env.backends.onnx.wasm.numThreads, isolated: self.crossOriginIsolated });
}

// A prompt the bench built with Quire's own prompt code; greedy, as long as the app's answer was.
async function ask({ prompt, maxNewTokens }) {
  const t0 = performance.now();
  const streamer = new TextStreamer(generator.tokenizer, { skip_prompt: true, token_callback_function: () => post("token") });
  const [out] = await generator(prompt, { max_new_tokens: maxNewTokens, do_sample: false, return_full_text: false, streamer });
  post("answer", { json: JSON.stringify({ text: out.generated_text, seconds: (performance.now() - t0) / 1000 }) });
}

self.onmessage = ({ data }) => {
  if (data.type === "ask") ask(data).catch((error) => post("error", { request: "ask", message: String(error.message || error) }));
};

boot().catch((error) => post("fatal", { message: String(error.message || error) }));
