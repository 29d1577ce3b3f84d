// The benchmark page: holds the module workers (Quire's pipeline, the peer's) and relays jobs to
// them. bench/run.py drives it with Playwright and runs one job at a time; the workers measure.
let seq = 0;
const workers = new Map(); // key -> Worker
const pending = new Map(); // message id -> {resolve, reject, key}

function fail(key, message) {
  for (const [id, waiting] of pending) {
    if (waiting.key === key) {
      pending.delete(id);
      waiting.reject(new Error(message));
    }
  }
}

function call(key, type, payload) {
  const worker = workers.get(key);
  if (!worker) return Promise.reject(new Error(`no worker ${key}`));
  return new Promise((resolve, reject) => {
    const id = ++seq;
    pending.set(id, { resolve, reject, key });
    worker.postMessage({ id, type, ...payload });
  });
}

window.bench = {
  // kind: "quire" | "tjs"; options go to the worker's init, whose answer (load times...) comes back.
  start(key, kind, options) {
    const worker = new Worker(`./${kind}-worker.js`, { type: "module" });
    workers.set(key, worker);
    worker.onmessage = ({ data }) => {
      const waiting = pending.get(data.id);
      if (!waiting) return;
      pending.delete(data.id);
      if (data.error) waiting.reject(new Error(data.error));
      else waiting.resolve(data.result);
    };
    worker.onerror = (event) => fail(key, `${key} worker: ${event.message || "failed to load"}`);
    return call(key, "init", { options });
  },
  job(key, spec) {
    return call(key, "job", { spec });
  },
  stop(key) {
    workers.get(key)?.terminate();
    workers.delete(key);
    fail(key, "worker stopped");
  },
};
window.benchReady = true;
