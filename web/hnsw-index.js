// The VectorIndex protocol (py/quire/protocols.py) over hnswlib-wasm 0.8.2 in its cosine space,
// with the semantics of HnswIndex in py/quire/backends/cpython.py. The index file persists through
// hnswlib-wasm's IDBFS mount; a small sidecar (tag, build parameters, counts) goes to IndexedDB.
// The parameters (M, efConstruction, ef) come from the site's models/registry.json, which the build
// writes from the [index] table of models/registry.toml (chosen by `bench/run.py --part index`).
//
// hnswlib-wasm quirks this works around:
// - Its `FS` is not exported and touching `lib.FS` aborts the module: files are reached only
//   through writeIndex/readIndex/checkFileExists and EmscriptenFileSystemManager.syncFS.
// - writeIndex starts an IDBFS sync with no callback, and syncFS keeps ONE global callback that
//   whichever sync finishes next calls: a callback cannot tell which write it confirms. So `save`
//   watches the timestamp of the file's record in IDBFS's database instead.
// - IDBFS ignores transaction aborts, and a full disk aborts at commit: the sync then never calls
//   back. `save` checks the free space first and gives up after a deadline.
// - readIndex does not check the dimension (a 4-d file loads into a 384-d index), and on a missing
//   file throws a bare WebAssembly.Exception: the sidecar's parameters and checkFileExists come first.
// - Indexes have replacement of deleted slots on (readIndex turns it on too), so adding a label
//   that is marked deleted throws: such a label is unmarked, then updated in place.
// - addPoint(s) refuse a call when count + points > capacity, even when the points only replace
//   vectors or fill deleted slots; searchKnn throws when k > capacity; labels are unsigned 32-bit.
// - markDelete and unmarkDelete rebuild its label caches, O(n), on every call: remove in one
//   markDeleteItems call.
import { IdbStore, storageError, storageEstimate } from "./idb-store.js";

const IDBFS_DB = "/hnswlib-index"; // hnswlib-wasm's mount point; IDBFS names the database after it
const IDBFS_STORE = "FILE_DATA";
const MAX_LABEL = 0x7fffffff; // labels come back in an Int32Array
const SEED = 100; // hnswlib's default, as in CPython
const REGISTRY_URL = new URL("./models/registry.json", import.meta.url); // beside this file in the site

export class HnswIndex {
  // A new, empty index (`load()` restores the saved one). lib: from hnswlib-wasm's loadHnswlib("IDBFS").
  // M, efConstruction and ef not given are the registry's.
  static async load(lib, dim, { M, efConstruction, ef, file = "quire-vectors.hnsw", saveTimeoutMs = null } = {}) {
    if (M === undefined || efConstruction === undefined || ef === undefined) {
      const index = await registryParams();
      M ??= index.M;
      efConstruction ??= index.ef_construction;
      ef ??= index.ef;
    }
    return new HnswIndex(lib, dim, { M, efConstruction, ef, file, saveTimeoutMs }, await IdbStore.open("quire-vectors"));
  }

  constructor(lib, dim, { M, efConstruction, ef, file, saveTimeoutMs }, sidecars) {
    this.lib = lib;
    this.dim = dim;
    this.params = { space: "cosine", dim, M, ef_construction: efConstruction };
    this.ef = ef;
    this.file = file;
    this.saveTimeoutMs = saveTimeoutMs;
    this.sidecars = sidecars;
    this._index = this._empty();
    this._live = new Set();
    // Labels removed since they were added: a superset of those still in the graph (a fresh label
    // may have taken over a removed one's slot, which hnswlib does not tell).
    this._removed = new Set();
  }

  _empty() {
    const index = new this.lib.HierarchicalNSW("cosine", this.dim, "");
    index.initIndex(0, this.params.M, this.params.ef_construction, SEED);
    return index;
  }

  get size() {
    return this._live.size;
  }

  // labels: Int32Array or numbers; vectors: Float32Array of labels.length x dim. A label already
  // present (live or removed) gets its vector replaced; the last row of a repeated label wins.
  add(labels, vectors) {
    const n = labels.length;
    if (!n) return;
    if (!(vectors instanceof Float32Array)) vectors = Float32Array.from(vectors);
    if (vectors.length !== n * this.dim) {
      throw new RangeError(`expected ${n} vectors of ${this.dim} floats, got ${vectors.length} floats`);
    }
    const rows = new Map();
    for (let i = 0; i < n; i++) rows.set(checkLabel(labels[i]), i);
    const present = [];
    const fresh = [];
    for (const label of rows.keys()) {
      (this._live.has(label) || this._revive(label) ? present : fresh).push(label);
    }
    // Fresh labels fill the slots of removed ones first; only the rest need new slots.
    const count = this._index.getCurrentCount();
    const needed = count + Math.max(0, fresh.length - (count - this._live.size));
    const capacity = this._index.getMaxElements();
    if (needed > capacity) {
      // Doubling keeps the copies resizeIndex makes amortised O(1) per vector.
      this._index.resizeIndex(Math.max(needed, 2 * capacity));
    }
    // Only fresh labels may take a deleted slot: one still in the graph would be left behind under
    // its old slot, and a later reuse of that slot would unhook the label from its new one.
    const row = (label) => vectors.subarray(rows.get(label) * this.dim, (rows.get(label) + 1) * this.dim);
    this._addPoints(present, row, false);
    this._addPoints(fresh, row, true);
    for (const label of fresh) this._live.add(label);
  }

  // hnswlib-wasm refuses a call when the current count plus the number of points exceeds the
  // capacity, even for points that replace a vector or fill a deleted slot: add in parts that fit.
  _addPoints(labels, row, replaceDeleted) {
    for (let at = 0; at < labels.length;) {
      let room = this._index.getMaxElements() - this._index.getCurrentCount();
      if (room <= 0) {
        this._index.resizeIndex(this._index.getMaxElements() + 64);
        room = 64;
      }
      const part = labels.slice(at, at + room);
      this._index.addPoints(part.map(row), part, replaceDeleted);
      at += part.length;
    }
  }

  // Unmarks `label` if it is a removed node still in the graph; false when it is not there at all.
  _revive(label) {
    if (!this._removed.has(label)) return false;
    this._removed.delete(label);
    try {
      this._index.unmarkDelete(label);
    } catch {
      return false; // its slot has since gone to another label
    }
    this._live.add(label);
    return true;
  }

  remove(labels) {
    const gone = [...new Set(labels)].filter((label) => this._live.has(label));
    if (!gone.length) return;
    // One call: markDelete rebuilds hnswlib-wasm's label caches (O(n)) after every label.
    this._index.markDeleteItems(gone);
    for (const label of gone) {
      this._live.delete(label);
      this._removed.add(label);
    }
  }

  // Up to k nearest live labels, most similar first, with their cosine similarity (1 - distance).
  search(vector, k) {
    if (vector.length !== this.dim) throw new RangeError(`expected a vector of ${this.dim} floats, got ${vector.length}`);
    k = Math.min(k, this._live.size);
    if (!(k > 0)) return { labels: new Int32Array(0), similarities: new Float32Array(0) };
    this._index.setEfSearch(Math.max(this.ef, k));
    const { neighbors, distances } = this._index.searchKnn(vector, k, undefined);
    return { labels: Int32Array.from(neighbors), similarities: Float32Array.from(distances, (d) => 1 - d) };
  }

  // Persists the index with `tag` (the library state it matches).
  async save(tag) {
    const meta = {
      tag: String(tag),
      params: this.params,
      count: this._live.size,
      removed: Array.from(this._index.getDeletedLabels()).sort((a, b) => a - b),
    };
    const bytes = this._fileBytes();
    const room = await storageEstimate();
    if (room && room.quota - room.usage < bytes) throw storageError({ name: "QuotaExceededError" });
    // Drop the old sidecar first: a failure below then leaves no tag, never an old tag on a new index.
    await this.sidecars.commit({}, [this.file]);
    const old = await fileTime(this.file);
    const since = Date.now();
    this._index.writeIndex(this.file); // to the in-memory FS (stamped with the time); starts an IDBFS sync
    const until = Date.now();
    meta.fileTime = await this._stored(old, since, until, this.saveTimeoutMs ?? 30_000 + bytes / 50_000);
    await this.sidecars.commit({ [this.file]: new TextEncoder().encode(JSON.stringify(meta)) });
  }

  // Waits until IDBFS's record of the file is the one written between `since` and `until`.
  async _stored(old, since, until, timeoutMs) {
    const deadline = performance.now() + timeoutMs;
    for (let wait = 5; ; wait = Math.min(2 * wait, 250)) {
      const time = await fileTime(this.file);
      if (time !== null && time !== old && time >= since && time <= until) return time;
      if (performance.now() > deadline) {
        throw new Error("storage is full or unavailable: the vector index was not saved "
          + `(IndexedDB did not take it within ${Math.round(timeoutMs / 1000)} s)`);
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  // The size of hnswlib's file, near enough: level 0 (links, vector, label) per element, plus upper levels.
  _fileBytes() {
    const perElement = this.dim * 4 + this.params.M * 8 + 4 + 8;
    return Math.ceil(this._index.getCurrentCount() * perElement * 1.1) + 100;
  }

  // Restores the saved index; returns its tag, or null when there is none (or it is torn or foreign).
  async load() {
    let meta;
    try {
      meta = JSON.parse(new TextDecoder().decode(await this.sidecars.get(this.file)));
    } catch {
      return null;
    }
    if (!meta || !sameParams(meta.params, this.params)) return null;
    // The file must be the one the sidecar was written for.
    if (meta.fileTime === undefined || (await fileTime(this.file)) !== meta.fileTime) return null;
    if (!(await syncRead(this.lib))) return null;
    if (!this.lib.EmscriptenFileSystemManager.checkFileExists(this.file)) return null;
    const index = new this.lib.HierarchicalNSW("cosine", this.dim, "");
    let live, deleted;
    try {
      index.readIndex(this.file, 0); // 0: keep the capacity stored in the file
      deleted = Array.from(index.getDeletedLabels());
      const removed = new Set(meta.removed);
      live = new Set(Array.from(index.getUsedLabels()).filter((label) => !removed.has(label)));
      if (live.size !== meta.count || deleted.some((label) => !removed.has(label))) throw new Error("mismatch");
    } catch {
      index.delete();
      return null;
    }
    this._index.delete(); // embind objects hold wasm memory until deleted
    this._index = index;
    this._live = live;
    this._removed = new Set(deleted);
    return meta.tag;
  }
}

// The `index` record of the site's registry.json: {M, ef_construction, ef}.
async function registryParams() {
  const response = await fetch(REGISTRY_URL);
  const index = response.ok ? (await response.json()).index : undefined;
  if (!index) throw new Error(`the vector index's parameters are missing: ${REGISTRY_URL} has no "index" record`);
  return index;
}

function checkLabel(label) {
  if (!Number.isInteger(label) || label < 0 || label > MAX_LABEL) {
    throw new RangeError(`labels must be integers from 0 to ${MAX_LABEL}, got ${label}`);
  }
  return label;
}

function sameParams(a, b) {
  return !!a && Object.keys(b).length === Object.keys(a).length && Object.keys(b).every((key) => a[key] === b[key]);
}

// IndexedDB -> the in-memory FS. Any sync finishing calls the callback, but each of them starts
// from IndexedDB's contents, so the file is there once one has. False if none finishes in time.
function syncRead(lib, timeoutMs = 60_000) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    lib.EmscriptenFileSystemManager.syncFS(true, () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

// The modification time (ms) IDBFS stored for `file`, or null. Reads keys of its timestamp index
// only, never the file's bytes.
function fileTime(file) {
  const path = `${IDBFS_DB}/${file}`;
  return new Promise((resolve) => {
    const req = indexedDB.open(IDBFS_DB);
    req.onupgradeneeded = () => req.transaction.abort(); // not created yet: leave that to IDBFS
    req.onerror = (event) => {
      event.preventDefault();
      resolve(null);
    };
    req.onsuccess = () => {
      const db = req.result;
      let time = null;
      try {
        const tx = db.transaction(IDBFS_STORE, "readonly");
        tx.objectStore(IDBFS_STORE).index("timestamp").openKeyCursor().onsuccess = (event) => {
          const cursor = event.target.result;
          if (!cursor) return;
          if (cursor.primaryKey === path) time = new Date(cursor.key).getTime();
          else cursor.continue();
        };
        tx.oncomplete = tx.onabort = () => {
          db.close();
          resolve(time);
        };
      } catch {
        db.close();
        resolve(null);
      }
    };
  });
}
