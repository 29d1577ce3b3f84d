// Thin bridges from token ids to onnxruntime-web sessions and back: they move typed arrays and
// keep a decoder's KV cache between calls. All logic (tokenizing, sampling, stopping) stays in Python.

export function configureOrt(ort, wasmPaths) {
  ort.env.wasm.wasmPaths = wasmPaths;
  // Threads need a cross-origin isolated page (COOP/COEP); otherwise onnxruntime runs one thread.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
}

// A model as onnxruntime gets it: its .onnx graph and the one file beside it holding its weights
// (registry.json's `file` and `weights`), each a URL or bytes. Apart, onnxruntime copies the weights
// once; a self-contained file is held whole, parsed, then copied again (1.8 GB for a 500 MB model).
export function modelFiles(folder, record, weightBytes = null) {
  return { graph: folder + record.file,
           weights: { path: record.weights.split("/").pop(), data: weightBytes ?? folder + record.weights } };
}

// Downloaded weights are handed over: once onnxruntime has its copy, their buffer is detached, which
// frees a download's buffer at once; left to the garbage collector, 500 MB stayed alive while the
// Python session started and the tab peaked 550 MB higher. (A file read from the cache comes in a
// buffer the browser made, which waits for the collector, or for web/onnx-worker.js to end.)
async function createSession(ort, { graph, weights }, providers = ["wasm"]) {
  const session = await ort.InferenceSession.create(graph, {
    executionProviders: providers,
    graphOptimizationLevel: "all",
    externalData: [weights],
    // Fold weight-only int8 (DequantizeLinear on constant weights) into fp32 weights once, at load;
    // otherwise every decode step dequantizes all weights again (measured 2.4 vs 14 tokens/s).
    extra: { session: { disable_quant_qdq: "1" } },
  });
  if (ArrayBuffer.isView(weights.data)) weights.data.buffer.transfer(0);
  return session;
}

function int64(values) {
  return BigInt64Array.from(values, (v) => BigInt(v));
}

export class Embedder {
  // model: modelFiles(...)
  static async load(ort, model, providers) {
    return new Embedder(ort, await createSession(ort, model, providers));
  }

  constructor(ort, session) {
    this.ort = ort;
    this.session = session;
  }

  // batch: arrays of token ids (with specials), padded to `width`. Returns one Float32Array of
  // batch x dims, L2-normalised.
  async embed(batch, width = Math.max(...batch.map((s) => s.length))) {
    const ids = new BigInt64Array(batch.length * width);
    const mask = new BigInt64Array(batch.length * width);
    batch.forEach((seq, row) => seq.forEach((id, col) => {
      ids[row * width + col] = BigInt(id);
      mask[row * width + col] = 1n;
    }));
    const dims = [batch.length, width];
    const feeds = {
      input_ids: new this.ort.Tensor("int64", ids, dims),
      attention_mask: new this.ort.Tensor("int64", mask, dims),
    };
    if (this.session.inputNames.includes("token_type_ids")) {
      feeds.token_type_ids = new this.ort.Tensor("int64", new BigInt64Array(ids.length), dims);
    }
    const out = await this.session.run(feeds, ["sentence_embedding"]);
    return out.sentence_embedding.data;
  }

  release() {
    return this.session.release();
  }
}

export class Generator {
  // model: modelFiles(...); config: the model folder's config.json (layers, heads, head size).
  static async load(ort, model, config, providers) {
    return new Generator(ort, await createSession(ort, model, providers), config);
  }

  constructor(ort, session, config) {
    this.ort = ort;
    this.session = session;
    this.layers = config.num_hidden_layers;
    this.kvHeads = config.num_key_value_heads;
    this.headDim = config.head_dim || config.hidden_size / config.num_attention_heads;
    this.vocab = config.vocab_size;
    // Our exports take it; onnx-community decoders may not, and then give every row.
    this.canKeep = session.inputNames.includes("num_logits_to_keep");
    this.reset();
  }

  reset() {
    const empty = new this.ort.Tensor("float32", new Float32Array(0), [1, this.kvHeads, 0, this.headDim]);
    this.past = {};
    for (let i = 0; i < this.layers; i++) {
      this.past[`past_key_values.${i}.key`] = empty;
      this.past[`past_key_values.${i}.value`] = empty;
    }
    this.length = 0;
  }

  // Appends `ids` to the sequence; returns the logits of their last `keep` positions
  // (Float32Array, keep x vocab, row-major).
  async forward(ids, keep = 1) {
    const n = ids.length;
    const total = this.length + n;
    const feeds = {
      input_ids: new this.ort.Tensor("int64", int64(ids), [1, n]),
      attention_mask: new this.ort.Tensor("int64", new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: new this.ort.Tensor("int64", int64(Array.from({ length: n }, (_, i) => this.length + i)), [1, n]),
      ...this.past,
    };
    if (this.canKeep) feeds.num_logits_to_keep = new this.ort.Tensor("int64", BigInt64Array.of(BigInt(keep)), []);
    const out = await this.session.run(feeds);
    for (let i = 0; i < this.layers; i++) {
      this.past[`past_key_values.${i}.key`] = out[`present.${i}.key`];
      this.past[`past_key_values.${i}.value`] = out[`present.${i}.value`];
    }
    this.length = total;
    const rows = out.logits.dims[1];
    return out.logits.data.subarray((rows - keep) * this.vocab, rows * this.vocab);
  }

  // Forgets the last `count` tokens (drafts that were wrong) by copying the cache without them.
  // (Masking them with attention_mask zeros instead changes the logits: the graph does not honour
  // holes in the mask.)
  discard(count) {
    const keep = this.length - count;
    for (const [name, tensor] of Object.entries(this.past)) {
      const [, heads, length, dim] = tensor.dims;
      const data = new Float32Array(heads * keep * dim);
      for (let h = 0; h < heads; h++) {
        data.set(tensor.data.subarray(h * length * dim, (h * length + keep) * dim), h * keep * dim);
      }
      this.past[name] = new this.ort.Tensor("float32", data, [1, heads, keep, dim]);
    }
    this.length = keep;
  }

  release() {
    return this.session.release();
  }
}
