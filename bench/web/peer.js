// Transformers.js (the peer) as the throughput benchmarks load it: offline, from the site's model
// folders, no browser cache (every run loads the same way), onnxruntime-web from /tjs-ort/.
export async function loadPeer(threads) {
  const transformers = await import("/tjs/transformers.web.min.js");
  const { env } = transformers;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = "/models/";
  env.useBrowserCache = false;
  env.backends.onnx.wasm.wasmPaths = "/tjs-ort/";
  if (threads) env.backends.onnx.wasm.numThreads = threads; // otherwise onnxruntime-web's default
  return transformers;
}
