// Loading with progress for the page, shared by the app's worker and onnxruntime's: a file
// downloaded, a step from its start to its end, and what the worker requested.

// Downloads a file with byte progress (`post(type, data)` sends it to the page); the service worker
// caches it for the next visit. A file already in that cache (a later visit, a model switched back
// to) is read from it directly as one blob: through the service worker, 500 MB took 1.9 s to read,
// from the cache 0.6 s; read as a stream, it also left 7,500 spent 64 KB chunks for the garbage
// collector. (The blob's buffer, made by the browser, waits for the collector or for its worker to
// end: detaching it frees nothing. A BYOB reader into a buffer of our own freed at once, but stalled
// for good when a second tab read the cache.) Over the network the bytes land in one buffer as they
// arrive (with a Content-Length): gathering parts first would hold the file twice when joined.
// Progress goes out at most every PROGRESS_MS (a message per chunk cost 0.4 s of 5.5 s for 500 MB).
const PROGRESS_MS = 100;
export async function download(url, label, post) {
  const cached = await self.caches?.match(new URL(url, self.location.href).href).catch(() => undefined);
  if (cached) {
    const size = Number(cached.headers.get("Content-Length")) || 0;
    post("status", { step: label, done: 0, total: size, unit: "bytes" }); // (a 500 MB read takes 0.5-0.8 s)
    const bytes = new Uint8Array(await (await cached.blob()).arrayBuffer());
    post("status", { step: label, done: bytes.length, total: bytes.length, unit: "bytes" });
    return bytes;
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const total = Number(response.headers.get("Content-Length")) || 0;
  const reader = response.body.getReader();
  let bytes = new Uint8Array(total);
  let done = 0;
  let shown = 0; // when progress last went out
  for (;;) {
    const { value, done: finished } = await reader.read();
    if (finished) break;
    if (done + value.length > bytes.length) { // no or a wrong Content-Length: grow
      const grown = new Uint8Array(Math.max(2 * bytes.length, done + value.length));
      grown.set(bytes.subarray(0, done));
      bytes = grown;
    }
    bytes.set(value, done);
    done += value.length;
    if (performance.now() - shown >= PROGRESS_MS) {
      shown = performance.now();
      post("status", { step: label, done, total, unit: "bytes" });
    }
  }
  post("status", { step: label, done, total: done, unit: "bytes" });
  return done === bytes.length ? bytes : bytes.slice(0, done);
}

export async function step(label, work, post) {
  post("status", { step: label, done: 0, total: 1 });
  const result = await work();
  post("status", { step: label, done: 1, total: 1 });
  return result;
}

// Every request this worker makes, and every one the Content-Security-Policy refuses, as it happens.
export function reportRequests(post) {
  new PerformanceObserver((list) => post("requests", {
    entries: list.getEntries().map((entry) => ({ url: entry.name, status: entry.responseStatus })),
  })).observe({ type: "resource", buffered: true });
  self.addEventListener("securitypolicyviolation", (event) => post("blocked", { url: event.blockedURI }));
}
