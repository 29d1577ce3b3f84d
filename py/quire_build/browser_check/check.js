// Runs a converted model in onnxruntime-web (WASM) through the app's own bridge, for build.py's
// browser check. Python drives it with Playwright and compares against CPython onnxruntime.
import * as ort from "/vendor/ort/ort.wasm.min.mjs";
import { configureOrt, Embedder, Generator, modelFiles } from "/web/onnx-bridge.js";

configureOrt(ort, "/vendor/ort/");

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

window.quireCheck = {
  threads: () => ort.env.wasm.numThreads,

  // folder: the model folder's URL; variant: its {file, weights} (as registry.json names them).
  async embed(folder, variant, batch) {
    const embedder = await Embedder.load(ort, modelFiles(folder, variant));
    try {
      return Array.from(await embedder.embed(batch));
    } finally {
      await embedder.release();
    }
  },

  // The top-1 token at each position of `continuation`, feeding the true tokens one at a time
  // through the KV cache after a prefill of the prompt.
  async teacherForced(folder, variant, config, prompts, continuations) {
    const generator = await Generator.load(ort, modelFiles(folder, variant), config);
    try {
      const results = [];
      for (let p = 0; p < prompts.length; p++) {
        generator.reset();
        const top1 = [argmax(await generator.forward(prompts[p]))];
        for (const token of continuations[p].slice(0, -1)) top1.push(argmax(await generator.forward([token])));
        results.push(top1);
      }
      return results;
    } finally {
      await generator.release();
    }
  },
};
window.quireCheckReady = true;
