// The peer: Transformers.js's text-generation pipeline used the way its docs show, offline, on the
// same model folder and file as Quire (dtype "q8" is onnx/model_quantized.onnx), greedy.
// A TextStreamer's token callback marks the first token (time to first token ~ the prefill).
import { serveJobs } from "./jobs.js";
import { loadPeer } from "./peer.js";

let generator = null;
let TextStreamer = null;

async function init({ threads, model }) {
  const tjs = await loadPeer(threads);
  const { env, pipeline } = tjs;
  TextStreamer = tjs.TextStreamer;
  const t0 = performance.now();
  generator = await pipeline("text-generation", model, { dtype: "q8", device: "wasm", use_external_data_format: true });
  const t1 = performance.now();
  return {
    sessionSeconds: (t1 - t0) / 1000, threads: env.backends.onnx.wasm.numThreads, version: env.version,
    inputs: generator.model.sessions?.model?.inputNames ?? null,
  };
}

// spec: {text: the rendered prompt, max_new_tokens}
async function job({ text, max_new_tokens }) {
  const prompt = Array.from(generator.tokenizer(text, { add_special_tokens: false }).input_ids.data, Number);
  let first = null;
  let tokens = 0;
  const streamer = new TextStreamer(generator.tokenizer, {
    skip_prompt: true,
    token_callback_function: () => {
      first ??= performance.now();
      tokens++;
    },
  });
  const t0 = performance.now();
  const [out] = await generator(text, { max_new_tokens, do_sample: false, return_full_text: false,
                                        add_special_tokens: false, streamer });
  const t1 = performance.now();
  return { text: out.generated_text, prompt, tokens, seconds: (t1 - t0) / 1000,
           prefill: ((first ?? t1) - t0) / 1000 };
}

serveJobs(init, job);
