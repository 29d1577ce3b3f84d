// The vector-index bench (bench/index.py): one engine per module worker, as the app keeps its index
// in its worker. "hnsw" is the app's own HnswIndex (web/hnsw-index.js over hnswlib-wasm, persisted
// through IDBFS); "flat" is a brute-force scan over one Float32Array, persisted as one IndexedDB
// record. A reload is a new worker calling `reload` on what an earlier one saved.
import { HnswIndex } from "/hnsw-index.js";
import { loadHnswlib } from "/hnswlib/hnswlib.js";
import { serveJobs } from "./jobs.js";

const FLAT_DB = "bench-flat";
const IDBFS_DB = "/hnswlib-index"; // hnswlib-wasm's mount point, as in web/hnsw-index.js

let engine = null;
let queries = null;
let base = null; // the vectors to add, until `build` has added them

async function floats(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Float32Array(await response.arrayBuffer());
}

// Brute force: every vector's dot product with the query (they are unit vectors: cosine), the best
// k kept in a small sorted list.
class FlatIndex {
  constructor(dim, name) {
    this.dim = dim;
    this.name = name;
    this.vectors = new Float32Array(0);
    this.count = 0;
  }

  add(vectors) {
    const need = (this.count * this.dim) + vectors.length;
    if (need > this.vectors.length) { // doubling, as a growing library would
      const grown = new Float32Array(Math.max(need, 2 * this.vectors.length));
      grown.set(this.vectors.subarray(0, this.count * this.dim));
      this.vectors = grown;
    }
    this.vectors.set(vectors, this.count * this.dim);
    this.count += vectors.length / this.dim;
  }

  search(query, k) {
    const { dim, vectors, count } = this;
    const labels = new Int32Array(k).fill(-1);
    const scores = new Float32Array(k).fill(-Infinity);
    for (let i = 0, at = 0; i < count; i++, at += dim) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0; // four sums: the additions need not wait on each other
      for (let j = 0; j < dim; j += 4) {
        s0 += query[j] * vectors[at + j];
        s1 += query[j + 1] * vectors[at + j + 1];
        s2 += query[j + 2] * vectors[at + j + 2];
        s3 += query[j + 3] * vectors[at + j + 3];
      }
      const score = (s0 + s1) + (s2 + s3);
      if (score <= scores[k - 1]) continue;
      let slot = k - 1;
      for (; slot > 0 && scores[slot - 1] < score; slot--) {
        scores[slot] = scores[slot - 1];
        labels[slot] = labels[slot - 1];
      }
      scores[slot] = score;
      labels[slot] = i;
    }
    return { labels, similarities: scores };
  }

  save() {
    const data = this.vectors.slice(0, this.count * this.dim).buffer;
    return request(FLAT_DB, "readwrite", (store) => store.put(data, this.name));
  }

  // True when there was a saved copy.
  async load() {
    const data = await request(FLAT_DB, "readonly", (store) => store.get(this.name));
    if (!data) return false;
    this.vectors = new Float32Array(data);
    this.count = this.vectors.length / this.dim;
    return true;
  }

  size() {
    return this.count * this.dim * 4;
  }
}

// One request in its own transaction; resolves with its result once the transaction has committed.
function request(dbName, mode, make) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName);
    open.onupgradeneeded = () => open.result.createObjectStore("data");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction("data", mode, { durability: "strict" });
      const req = make(tx.objectStore("data"));
      tx.oncomplete = () => {
        db.close();
        resolve(req.result);
      };
      tx.onerror = tx.onabort = () => {
        db.close();
        reject(tx.error);
      };
    };
  });
}

// The bytes of hnswlib-wasm's index file as IDBFS stored them.
function storedBytes(file) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(IDBFS_DB);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const req = db.transaction("FILE_DATA", "readonly").objectStore("FILE_DATA").get(`${IDBFS_DB}/${file}`);
      req.onsuccess = () => {
        db.close();
        resolve(req.result?.contents?.byteLength ?? null);
      };
      req.onerror = () => {
        db.close();
        reject(req.error);
      };
    };
  });
}

// options: {engine: "hnsw" | "flat", dim, name, queries: url, base: url or null, count, and for
// hnsw: M, efConstruction, ef}
async function init(options) {
  const t0 = performance.now();
  queries = await floats(options.queries);
  if (options.base) base = (await floats(options.base)).subarray(0, options.count * options.dim);
  const t1 = performance.now();
  if (options.engine === "hnsw") {
    const { M, efConstruction, ef, name, dim } = options;
    engine = await HnswIndex.load(await loadHnswlib("IDBFS"), dim, { M, efConstruction, ef, file: `${name}.hnsw` });
  } else {
    engine = new FlatIndex(options.dim, options.name);
  }
  return { fetchSeconds: (t1 - t0) / 1000, loadSeconds: (performance.now() - t1) / 1000, isolated: self.crossOriginIsolated };
}

// Adds the vectors one document (group of rows) at a time, as Library.add adds them.
function build({ groups }) {
  const dim = engine.dim;
  const t0 = performance.now();
  let at = 0;
  for (const n of groups) {
    const rows = base.subarray(at * dim, (at + n) * dim);
    if (engine instanceof FlatIndex) engine.add(rows);
    else engine.add(Int32Array.from({ length: n }, (_, i) => at + i), rows);
    at += n;
  }
  const seconds = (performance.now() - t0) / 1000;
  base = null;
  return { seconds, count: at };
}

// Queries start..end, each alone, as the app asks, at each ef in turn (null: the engine's own);
// per ef: the labels (k per query, -1 where fewer) and the milliseconds each search took.
function search({ k, efs, start, end }) {
  const dim = engine.dim;
  const labels = [];
  const ms = [];
  for (const ef of efs) {
    if (ef !== null) engine.ef = ef;
    const found = new Int32Array((end - start) * k).fill(-1);
    const took = new Float64Array(end - start);
    for (let q = start; q < end; q++) {
      const query = queries.subarray(q * dim, (q + 1) * dim);
      const t0 = performance.now();
      const hits = engine.search(query, k);
      took[q - start] = performance.now() - t0;
      found.set(hits.labels.subarray(0, k), (q - start) * k);
    }
    labels.push(Array.from(found));
    ms.push(Array.from(took));
  }
  return { labels, ms };
}

async function save() {
  const t0 = performance.now();
  await engine.save("bench");
  const seconds = (performance.now() - t0) / 1000;
  const bytes = engine instanceof FlatIndex ? engine.size() : await storedBytes(engine.file);
  return { seconds, bytes };
}

async function reload() {
  const t0 = performance.now();
  const loaded = await engine.load(); // HnswIndex: the tag saved; FlatIndex: whether there was a copy
  return { seconds: (performance.now() - t0) / 1000, ok: loaded === true || loaded === "bench" };
}

const JOBS = { build, search, save, reload };

serveJobs(init, (spec) => JOBS[spec.job](spec));
