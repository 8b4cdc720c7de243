// Decodes latent grids on two workers (both cores), each with its own wasm instance and a copy of
// the model, each decoding half of the rows; the main thread only paints. Until both workers hold
// a model (at start), or after one fails, `ready` is false and the caller decodes on the main
// thread instead.
export class GridWorkers {
  constructor(count = Math.min(2, navigator.hardwareConcurrency || 1)) {
    this.count = count;
    this.workers = [];
    this.version = 0; // of the model last sent
    this.pending = new Map(); // id → { resolve, reject }
    this.nextId = 0;
    this.failed = false;
    this.metric = 'gridsFromWorkers'; // the metrics counter of the grids decoded here
  }

  /** True when every worker has loaded a model (requests queue behind a newer one in order). */
  get ready() {
    return !this.failed && this.workers.length === this.count && this.workers.every((w) => w.loaded > 0);
  }

  /** Sends the model (`.safetensors` bytes) to every worker, starting them the first time. */
  setModel(bytes) {
    if (this.failed || this.count < 2) return;
    if (!this.workers.length) this.workers = Array.from({ length: this.count }, () => this.#spawn());
    this.version += 1;
    for (const w of this.workers) w.worker.postMessage({ type: 'model', bytes, version: this.version });
  }

  /**
   * Decodes the grid (columns at `xs`, rows at `ys` from the top, as in LatentMap) in row bands,
   * one per worker. Resolves to [{ row, rows, rgba }] bands of (image height)·rows pixel rows each.
   */
  decode(xs, ys, dims, base) {
    const n = ys.length;
    const bands = Array.from({ length: this.count }, (_, k) => [Math.floor((k * n) / this.count), Math.floor(((k + 1) * n) / this.count)])
      .filter(([a, b]) => b > a);
    return Promise.all(bands.map(([a, b], k) => new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: (rgba) => resolve({ row: a, rows: b - a, rgba }), reject });
      // decodeGridRgba takes its rows bottom to top.
      this.workers[k].worker.postMessage({ type: 'decode', id, xs, ys: ys.slice(a, b).reverse(), dims, base });
    })));
  }

  /** Test hook (`?debug`): makes the first worker panic. */
  debugPanic() {
    this.workers[0]?.worker.postMessage({ type: 'debug-panic' });
  }

  #spawn() {
    const w = { worker: new Worker(new URL('./grid-worker.js', import.meta.url), { type: 'module' }), loaded: 0 };
    w.worker.onmessage = ({ data }) => {
      if (data.type === 'model') w.loaded = data.version;
      else if (data.type === 'grid') this.#settle(data.id, (p) => p.resolve(data.rgba));
      else if (data.type === 'error') {
        if (data.crashed || data.id === undefined) this.#fail(new Error(`a grid worker failed: ${data.message}`));
        else this.#settle(data.id, (p) => p.reject(new Error(data.message)));
      }
    };
    w.worker.onerror = (e) => {
      e.preventDefault();
      this.#fail(new Error(`a grid worker failed: ${e.message}`));
    };
    return w;
  }

  #settle(id, fn) {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (p) fn(p);
  }

  /** Stops using the workers: pending decodes reject and the caller falls back to the main thread. */
  #fail(err) {
    this.failed = true;
    for (const w of this.workers) w.worker.terminate();
    this.workers = [];
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
