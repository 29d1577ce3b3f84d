// The Store protocol (py/quire/protocols.py) over IndexedDB: named byte blobs in one object store,
// changed only in atomic batches. IndexedDB gives us that for free: a readwrite transaction commits
// all of its writes or none, even when the page reloads or the browser dies mid-commit.

const STORE = "blobs";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// One error a person can act on: a full disk says so; anything else keeps IndexedDB's own words.
export function storageError(error) {
  const name = error?.name || "Error";
  if (name === "QuotaExceededError") {
    return new Error(`storage is full: free space or remove documents (${name})`);
  }
  return new Error(`storage failed (${name}): ${error?.message || error || "the transaction was aborted"}`);
}

// Runs `work(objectStore)` in one transaction; resolves when it has committed, rejects if it aborted.
function transact(db, mode, work) {
  return new Promise((resolve, reject) => {
    let tx;
    try {
      // "strict": report completion only once the data is flushed, like the CPython store's fsyncs.
      tx = mode === "readwrite" ? db.transaction(STORE, mode, { durability: "strict" }) : db.transaction(STORE, mode);
    } catch (error) {
      reject(storageError(error));
      return;
    }
    let failure = null;
    let result;
    tx.oncomplete = () => resolve(result);
    // A quota failure shows up here, at commit time, with no request error before it.
    tx.onabort = () => reject(storageError(failure || tx.error));
    try {
      result = work(tx.objectStore(STORE));
    } catch (error) {
      // put() throws synchronously for values it cannot clone: undo the writes already queued.
      failure = error;
      tx.abort();
    }
  });
}

export class IdbStore {
  static async open(name = "quire") {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    const db = await request(req).catch((error) => {
      throw storageError(error);
    });
    // Another tab upgrading or deleting the database must not wait on this connection forever.
    db.onversionchange = () => db.close();
    return new IdbStore(db);
  }

  constructor(db) {
    this.db = db;
  }

  // The blob under `key` (a Uint8Array), or null.
  async get(key) {
    let req;
    await transact(this.db, "readonly", (store) => {
      req = store.get(key);
    });
    const value = req.result;
    if (value === undefined) return null;
    return value instanceof Uint8Array ? value : new Uint8Array(value);
  }

  // writes: Map or object of key -> Uint8Array; deletes: keys. One transaction: all of it or nothing.
  async commit(writes = new Map(), deletes = []) {
    const entries = writes instanceof Map ? [...writes] : Object.entries(writes);
    const written = new Set(entries.map(([key]) => key));
    const both = [...new Set(deletes)].filter((key) => written.has(key));
    if (both.length) throw new Error(`keys both written and deleted: ${both.sort().join(", ")}`);
    if (!entries.length && !deletes.length) return;
    await transact(this.db, "readwrite", (store) => {
      for (const [key, value] of entries) store.put(ownBytes(value), key);
      for (const key of deletes) store.delete(key);
    });
  }

  // Keys starting with `prefix`, in IndexedDB order (UTF-16 code units).
  async keys(prefix = "") {
    const keys = [];
    await transact(this.db, "readonly", (store) => {
      // Keys sharing a prefix are contiguous in key order: start there, stop at the first that differs.
      const range = prefix ? IDBKeyRange.lowerBound(prefix) : null;
      store.openKeyCursor(range).onsuccess = (event) => {
        const cursor = event.target.result;
        if (cursor && String(cursor.key).startsWith(prefix)) {
          keys.push(cursor.key);
          cursor.continue();
        }
      };
    });
    return keys;
  }

  async clear() {
    await transact(this.db, "readwrite", (store) => {
      store.clear();
    });
  }

  close() {
    this.db.close();
  }
}

// A view on a larger buffer (a Pyodide heap, a subarray) would store the whole buffer: copy it out.
function ownBytes(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (!ArrayBuffer.isView(value)) {
    throw new TypeError(`store values must be bytes (Uint8Array), not ${Object.prototype.toString.call(value)}`);
  }
  const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const shared = typeof SharedArrayBuffer !== "undefined" && bytes.buffer instanceof SharedArrayBuffer;
  return whole && !shared ? bytes : bytes.slice();
}

// Asks the browser not to evict this origin's data under storage pressure; true when granted.
export async function requestPersistence() {
  if (!navigator.storage?.persist) return false;
  if (await navigator.storage.persisted?.()) return true;
  try {
    return await navigator.storage.persist();
  } catch {
    return false;
  }
}

// {usage, quota} in bytes, or null where the browser does not say.
export async function storageEstimate() {
  if (!navigator.storage?.estimate) return null;
  const { usage, quota } = await navigator.storage.estimate();
  return { usage, quota };
}
