// The app's worker's side of web/onnx-worker.js, the worker that holds the models. Switching the
// answer model ends that worker and starts another: onnxruntime's WebAssembly memory never shrinks,
// and a worker that ends gives back at once all it held (that memory, the downloaded weights, its
// uncollected garbage). With both in the app's worker, the tab peaked at 1.8-2.3 GB right after
// switching from Qwen2.5 to SmolLM2 and back; with a worker per model, 1.7-1.8 GB.

// Calls into web/onnx-worker.js, each a promise of its result. Its progress and requests go to
// `reportTo`, a MessagePort whose other end the page holds (none: they are dropped).
export class OnnxWorker {
  constructor(reportTo = null) {
    this.worker = new Worker(new URL("./onnx-worker.js", import.meta.url), { type: "module" });
    this.worker.postMessage({ reportTo }, reportTo ? [reportTo] : []);
    this.pending = new Map();
    this.next = 0;
    this.ended = null; // why calls fail, once the worker has ended
    this.worker.onmessage = ({ data }) => {
      const { resolve, reject } = this.pending.get(data.id);
      this.pending.delete(data.id);
      if ("error" in data) reject(new Error(data.error));
      else resolve(data.result);
    };
    this.worker.onerror = (event) => this.end(new Error(`onnxruntime's worker failed: ${event.message}`));
  }

  // Starts onnxruntime (its files under `wasmPaths`) and downloads and loads `models`: { embedding,
  // generation } (registry.json records) and `config` (the generation model's config.json). Returns
  // the backend it chose: { name, threads }.
  async load(wasmPaths, models) {
    const backend = await this.call("start", { wasmPaths });
    await this.call("load", models);
    return backend;
  }

  call(call, args = {}) {
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(this.ended);
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, call, ...args });
    });
  }

  end(error = new Error("no model is loaded")) {
    this.worker.terminate();
    this.ended = error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

// The Embedder and Generator protocols of py/quire/backends/browser.py over the OnnxWorker that
// `current()` gives (a new one after each switch). The ids are copied out of Python's memory:
// posting a view of it would copy all of it.
export function protocols(current) {
  return {
    embedder: {
      embed: (batch, width) => current().call("embed", { batch: Array.from(batch, (row) => Int32Array.from(row)), width }),
    },
    generator: {
      reset: () => current().call("reset"),
      discard: (count) => current().call("discard", { count }),
      step: (ids, topK, positions) => current().call("step", { ids: Int32Array.from(ids), topK, positions }),
    },
  };
}
