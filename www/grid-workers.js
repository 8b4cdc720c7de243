// Decodes latent grids on two workers (both cores), each with its own wasm instance and a copy of
// the model, each decoding half of the rows; the main thread only paints. Until both workers hold
// a model (at start), or after one fails, `ready` is false and the caller decodes on the main
// thread instead.
import { Requests } from './requests.js';

export class GridWorkers {
  constructor(count = Math.min(2, navigator.hardwareConcurrency || 1)) {
    this.count = count;
    this.workers = [];
    this.version = 0; // of the model last sent
    this.requests = new Requests();
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
    // decodeGridRgba takes its rows bottom to top.
    return Promise.all(bands.map(([a, b], k) => this.requests.ask(
      (id) => this.workers[k].worker.postMessage({ type: 'decode', id, xs, ys: ys.slice(a, b).reverse(), dims, base }),
      (rgba) => ({ row: a, rows: b - a, rgba }))));
  }

  /** Test hook (`?debug`): makes the first worker panic. */
  debugPanic() {
    this.workers[0]?.worker.postMessage({ type: 'debug-panic' });
  }

  #spawn() {
    const w = { worker: new Worker(new URL('./grid-worker.js', import.meta.url), { type: 'module' }), loaded: 0 };
    w.worker.onmessage = ({ data }) => {
      if (data.type === 'model') w.loaded = data.version;
      else if (data.type === 'grid') this.requests.resolve(data.id, data.rgba);
      else if (data.type === 'error') {
        if (data.crashed || data.id === undefined) this.#fail(new Error(`a grid worker failed: ${data.message}`));
        else this.requests.reject(data.id, new Error(data.message));
      }
    };
    w.worker.onerror = (e) => {
      e.preventDefault();
      this.#fail(new Error(`a grid worker failed: ${e.message}`));
    };
    return w;
  }

  /** Stops using the workers: pending decodes reject and the caller falls back to the main thread. */
  #fail(err) {
    this.failed = true;
    for (const w of this.workers) w.worker.terminate();
    this.workers = [];
    this.requests.failAll(err);
  }
}
