// The peer: Transformers.js's feature-extraction pipeline used the way its docs show, offline, on
// the same model folder and file (dtype "q8" is model_quantized.onnx) as Quire.
// Module workers take no import map, so bench/run.py serves a copy of transformers.web.min.js whose
// two bare imports (onnxruntime-common, onnxruntime-web/webgpu) name the files the import map in
// tests/browser/transformersjs.html names; nothing else in it is changed.
import { serveJobs } from "./jobs.js";
import { loadPeer } from "./peer.js";

let extractor = null;
let texts = null;

async function init({ threads, texts: textsUrl, model }) {
  const { env, pipeline } = await loadPeer(threads);
  texts = await (await fetch(textsUrl)).json();
  const t0 = performance.now();
  extractor = await pipeline("feature-extraction", model, { dtype: "q8", device: "wasm", use_external_data_format: true });
  const t1 = performance.now();
  await extractor(texts.slice(0, 8), { pooling: "mean", normalize: true }); // warm-up, not timed
  const t2 = performance.now();
  const onnx = performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname)
    .filter((p) => p.endsWith(".onnx") || p.endsWith(".wasm"));
  return {
    sessionSeconds: (t1 - t0) / 1000, warmUpSeconds: (t2 - t1) / 1000,
    threads: env.backends.onnx.wasm.numThreads, isolated: self.crossOriginIsolated, files: onnx,
    ort: env.backends.onnx.versions?.web ?? null, version: env.version,
    outputs: extractor.model.sessions?.model?.outputNames ?? null,
  };
}

// spec: {batches: [[text index...]...], keep: [index...]}; each batch is one pipeline call.
async function job(spec) {
  const keep = new Set(spec.keep || []);
  const kept = {};
  const t0 = performance.now();
  for (const batch of spec.batches) {
    const output = await extractor(batch.map((i) => texts[i]), { pooling: "mean", normalize: true });
    const [rows, dims] = output.dims;
    if (rows !== batch.length) throw new Error(`${rows} vectors for ${batch.length} texts`);
    batch.forEach((i, row) => {
      if (keep.has(i)) kept[i] = Array.from(output.data.subarray(row * dims, (row + 1) * dims));
    });
  }
  return { seconds: (performance.now() - t0) / 1000, vectors: kept };
}

serveJobs(init, job);
