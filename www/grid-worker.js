// A grid-decoding worker: its own wasm instance and a copy of the explorer's model. Messages are
// handled in order, so a decode request sent after a model change uses the new model.
import init, { Model, debugPanic } from '../pkg/vae.js';
import { wasmUrl } from './wasm.js';

const ready = init({ module_or_path: wasmUrl() });
let model = null;

self.onmessage = async ({ data: msg }) => {
  await ready;
  try {
    if (msg.type === 'model') {
      model?.free();
      model = null;
      model = new Model(msg.bytes);
      self.postMessage({ type: 'model', version: msg.version });
    } else if (msg.type === 'decode') {
      if (!model) throw new Error('no model loaded');
      const rgba = model.decodeGridRgba(msg.xs, msg.ys, msg.dims[0], msg.dims[1], msg.base);
      self.postMessage({ type: 'grid', id: msg.id, rgba }, [rgba.buffer]);
    } else if (msg.type === 'debug-panic') {
      debugPanic('deliberate test panic (grid worker)');
    }
  } catch (err) {
    self.postMessage({ type: 'error', id: msg.id, message: err.message ?? String(err), crashed: err instanceof WebAssembly.RuntimeError });
  }
};
