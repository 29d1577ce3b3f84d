// The message loop of every bench worker: bench.js posts {id, type: "init" | "job", ...} and waits
// for {id, result} or {id, error}.
export function serveJobs(init, job) {
  self.onmessage = async ({ data }) => {
    try {
      const result = data.type === "init" ? await init(data.options) : await job(data.spec);
      self.postMessage({ id: data.id, result });
    } catch (error) {
      self.postMessage({ id: data.id, error: String(error?.stack || error?.message || error) });
    }
  };
}
