// The service worker: serves the app from the cache so it works offline after one visit, and adds
// the cross-origin isolation headers, so onnxruntime gets threads even on a host that cannot set them,
// and the Content-Security-Policy, the only one a worker gets on such a host.
// sw-version.js defines QUIRE_VERSION and QUIRE_POLICY (from build.py site); a new build changes it,
// and so updates this worker.
importScripts("./sw-version.js");

const CACHE = `quire-${self.QUIRE_VERSION}`;
// Files this large are cached when the worker first downloads them, not fetched twice at install.
const PRECACHE_LIMIT = 4 * 1024 * 1024;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const manifest = await (await fetch("./precache.json", { cache: "no-store" })).json();
    const cache = await caches.open(CACHE);
    const small = manifest.files.filter((f) => f.size <= PRECACHE_LIMIT).map((f) => f.url);
    await cache.addAll(["./", ...small]);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith("quire-") && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

// The headers `build.py serve` sends, whatever the host sent. A dedicated worker's script gets the
// worker's policy (WebAssembly, and the eval hnswlib needs: see py/quire_build/site.py), everything
// else the page's.
function withSiteHeaders(response, destination) {
  if (response.type === "opaque" || response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  headers.set("Cross-Origin-Resource-Policy", "same-origin");
  headers.set("Content-Security-Policy", destination === "worker" ? self.QUIRE_POLICY.worker : self.QUIRE_POLICY.page);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const destination = event.request.destination;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // The page itself: the network when it answers (a new build shows at once), else the cache.
    if (event.request.mode === "navigate") {
      try {
        const fresh = await fetch(event.request);
        if (fresh.ok) await cache.put(event.request, fresh.clone());
        return withSiteHeaders(fresh, destination);
      } catch {
        const page = (await cache.match(event.request, { ignoreSearch: true })) || (await cache.match("./"));
        return withSiteHeaders(page, destination);
      }
    }
    const cached = await cache.match(event.request, { ignoreSearch: true });
    if (cached) return withSiteHeaders(cached, destination);
    const response = await fetch(event.request);
    // Not awaited: the caller streams its copy (with progress) while the cache stores the other.
    if (response.ok && response.status === 200) event.waitUntil(cache.put(event.request, response.clone()));
    return withSiteHeaders(response, destination);
  })());
});
