// A Playwright init script for bench/startup.py and bench/memory.py: it runs before the page's own
// scripts and wraps Worker, so every message a worker posts (the app's boot steps, "ready", tokens,
// answers) and every request the page sends it gets a timestamp, without changing the app.
// Times are epoch milliseconds (performance.timeOrigin + now), the clock Playwright's request
// timings use. Only small fields are kept, so the probe itself holds next to no memory.
(() => {
  const PageWorker = window.Worker;
  const events = [];
  const now = () => performance.timeOrigin + performance.now();
  const KEEP_JSON = new Set(["added", "answer", "extractive", "file", "library", "sources"]);

  function summary(data) {
    const event = { t: now(), type: data.type };
    for (const key of ["step", "done", "total", "unit", "message", "request", "backend", "threads", "isolated"]) {
      if (data[key] !== undefined) event[key] = data[key];
    }
    if (KEEP_JSON.has(data.type) && typeof data.json === "string") event.json = data.json;
    return event;
  }

  window.Worker = class extends PageWorker {
    constructor(url, options) {
      super(url, options);
      events.push({ t: now(), type: "created", url: String(url) });
      this.addEventListener("message", ({ data, ports }) => {
        events.push(summary(data));
        // onnxruntime's worker reports through a port of its own (web/onnx-worker.js)
        if (data?.type === "models") ports[0].addEventListener("message", (event) => events.push(summary(event.data)));
      });
    }

    postMessage(message, transfer) {
      events.push({ t: now(), type: `sent:${message?.type}` });
      return super.postMessage(message, transfer);
    }
  };
  window.__benchEvents = events;
})();
