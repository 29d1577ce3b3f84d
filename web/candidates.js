// The Generator protocol of py/quire/protocols.py over onnx-bridge.js's Generator: the decoder runs
// in JS and Python receives only the best few candidates of each row, not 49k logits per token.
export function candidateSteps(generator) {
  return {
    reset: () => generator.reset(),
    discard: (count) => generator.discard(count),
    async step(ids, topK, positions) {
      const logits = await generator.forward(Array.from(ids), positions);
      const vocab = logits.length / positions;
      const out = { ids: new Int32Array(positions * topK), logits: new Float32Array(positions * topK) };
      for (let row = 0; row < positions; row++) {
        const values = logits.subarray(row * vocab, (row + 1) * vocab);
        topIndexes(values, topK).forEach((id, i) => {
          out.ids[row * topK + i] = id;
          out.logits[row * topK + i] = values[id];
        });
      }
      return out;
    },
  };
}

// Indexes of the k largest values, best first: one pass with a small sorted buffer.
function topIndexes(values, k) {
  const top = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (top.length === k && v <= values[top[k - 1]]) continue;
    let at = top.length === k ? k - 1 : top.length;
    while (at > 0 && values[top[at - 1]] < v) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
}
