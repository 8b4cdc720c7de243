// In-page benchmarks, for the MLP 2-D model and the conv 16-D model: (a) decode and paint the 20×20
// grid (latent dimensions 0 and 1, the others 0), (b) encode + decode one drawing, each with this
// app's wasm (candle) and with TensorFlow.js's wasm backend (SIMD) on the same weights, which must
// decode the same grid. (c) training runs in workers: the app's own training worker
// (www/train-worker.js) on one and on two cores, and TensorFlow.js in bench/tfjs-train-worker.js.
import init, { Model, drawingToInput, quantileAxis } from '/pkg/vae.js';
import { readSafetensors } from './safetensors.js';
import { GridWorkers } from '/www/grid-workers.js';
import { wasmBuild, wasmUrl } from '/www/wasm.js';
import { N, drawingInk, gridPoints, paint, tile, time, timeAsync, timeRepeated } from './bench-common.js';

const tf = window.tf;

/** This app's figures, on the wasm build the app itself picks in this browser (www/wasm.js). */
async function candle(bytes, runs) {
  await init({ module_or_path: wasmUrl() });
  const model = new Model(bytes);
  const xs = quantileAxis(N);
  const base = new Float32Array(model.latentSize);
  const grid = time(() => {
    const rgba = model.decodeGridRgba(xs, xs, 0, 1, base);
    paint(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length));
  }, runs);
  // The app's path: the grid decoded on its two grid workers (www/grid-workers.js), painted here.
  const workers = new GridWorkers(2);
  workers.setModel(bytes);
  while (!workers.ready) await new Promise((resolve) => setTimeout(resolve, 10));
  const ys = Float32Array.from(xs).reverse(); // rows from the top, as the latent map asks
  const ctx = document.getElementById('out').getContext('2d');
  const gridTwoCores = await timeAsync(async () => {
    for (const { row, rows, rgba } of await workers.decode(xs, ys, [0, 1], base)) {
      ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), 28 * N, 28 * rows), 0, 28 * row);
    }
  }, runs);
  const ink = drawingInk();
  // The app's path from the canvas's ink, and the network part alone (what TF.js is timed on).
  const drawingWithInput = timeRepeated(() => {
    const input = drawingToInput(ink, 280, 280);
    model.decode(model.encode(input).mu);
  }, runs);
  const input = drawingToInput(ink, 280, 280);
  const drawing = timeRepeated(() => model.decode(model.encode(input).mu), runs);
  const values = model.decode(gridPoints(model.latentSize));
  for (const w of workers.workers) w.worker.terminate();
  model.free();
  return { build: wasmBuild, grid: gridTwoCores, gridOneCore: grid, drawing, drawingWithInput, values };
}

/**
 * The model in `w` (safetensors tensors by PyTorch name) as TF.js functions: `encode` [B, 784] →
 * [B, 2L], `decode` [B, L] → [B, 784]. The conv net runs NHWC: PyTorch's Conv2d [out, in, k, k]
 * and ConvTranspose2d [in, out, k, k] weights both become TF.js filters by the permutation
 * (2, 3, 1, 0), k 4 stride 2 'same' padding is PyTorch's padding 1, and the Linear layers see
 * PyTorch's (C, H, W) flattening order.
 */
function tfjsModel(w) {
  const keep = (x) => tf.keep(x);
  const t = (name) => keep(tf.tensor(w[name].data, w[name].shape).transpose()); // Linear [out, in] → [in, out]
  const b = (name) => keep(tf.tensor(w[name].data, w[name].shape));
  if (!w['encoder.5.weight']) {
    const [e0w, e0b, e2w, e2b, d0w, d0b, d2w, d2b] = [t('encoder.0.weight'), b('encoder.0.bias'), t('encoder.2.weight'), b('encoder.2.bias'),
      t('decoder.0.weight'), b('decoder.0.bias'), t('decoder.2.weight'), b('decoder.2.bias')];
    return {
      latent: w['decoder.0.weight'].shape[1],
      encode: (x) => tf.relu(x.matMul(e0w).add(e0b)).matMul(e2w).add(e2b),
      decode: (z) => tf.sigmoid(tf.relu(z.matMul(d0w).add(d0b)).matMul(d2w).add(d2b)),
    };
  }
  const filter = (name) => keep(tf.tensor(w[name].data, w[name].shape).transpose([2, 3, 1, 0]));
  const [e0w, e0b, e2w, e2b, e5w, e5b] = [filter('encoder.0.weight'), b('encoder.0.bias'), filter('encoder.2.weight'), b('encoder.2.bias'),
    t('encoder.5.weight'), b('encoder.5.bias')];
  const [d0w, d0b, d3w, d3b, d5w, d5b] = [t('decoder.0.weight'), b('decoder.0.bias'), filter('decoder.3.weight'), b('decoder.3.bias'),
    filter('decoder.5.weight'), b('decoder.5.bias')];
  const [c1, c2] = [w['encoder.0.weight'].shape[0], w['encoder.2.weight'].shape[0]];
  return {
    latent: w['decoder.0.weight'].shape[1],
    encode: (x) => {
      const n = x.shape[0];
      const h1 = tf.relu(tf.conv2d(x.reshape([n, 28, 28, 1]), e0w, 2, 'same').add(e0b));
      const h2 = tf.relu(tf.conv2d(h1, e2w, 2, 'same').add(e2b));
      return h2.transpose([0, 3, 1, 2]).reshape([n, c2 * 49]).matMul(e5w).add(e5b);
    },
    decode: (z) => {
      const n = z.shape[0];
      const h0 = tf.relu(z.matMul(d0w).add(d0b)).reshape([n, c2, 7, 7]).transpose([0, 2, 3, 1]);
      const h1 = tf.relu(tf.conv2dTranspose(h0, d3w, [n, 14, 14, c1], 2, 'same').add(d3b));
      return tf.sigmoid(tf.conv2dTranspose(h1, d5w, [n, 28, 28, 1], 2, 'same').add(d5b).reshape([n, 784]));
    },
  };
}

async function tfjs(bytes, runs) {
  tf.wasm.setWasmPaths('/bench/tfjs-wasm/');
  await tf.setBackend('wasm');
  await tf.ready();
  const model = tfjsModel(readSafetensors(bytes));
  const L = model.latent;
  const zs = gridPoints(L);
  const grid = time(() => {
    const values = tf.tidy(() => model.decode(tf.tensor2d(zs, [N * N, L]))).dataSync();
    paint(tile(values));
  }, runs);
  const values = tf.tidy(() => model.decode(tf.tensor2d(zs, [N * N, L]))).dataSync();
  const ink = drawingInk();
  const input = drawingToInput(ink, 280, 280);
  const drawing = timeRepeated(() => {
    // The same drawing preprocessing (ours) feeds both: this times the network part for TF.js.
    tf.tidy(() => model.decode(model.encode(tf.tensor2d(input, [1, 784])).slice([0, 0], [1, L])).dataSync());
  }, runs);
  return { grid, drawing, backend: tf.getBackend(), values };
}

/** (a) and (b) for the shipped model `file`; `maxDiff` is the largest |candle − TF.js| over the grid's pixels. */
window.runBench = async (runs, file = 'mnist-2d.safetensors') => {
  const bytes = new Uint8Array(await (await fetch(`/www/models/${file}`)).arrayBuffer());
  const { values: ours, ...oursTimes } = await candle(bytes, runs);
  const { values: theirs, ...tfjsTimes } = await tfjs(bytes, runs);
  const maxDiff = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - theirs[i])), 0);
  return { ours: oursTimes, tfjs: tfjsTimes, maxDiff };
};

/** Runs `script` as a worker for one training benchmark; resolves to its report. */
window.runTrainWorker = (script, type, steps, model = { arch: 'mlp', latent: 2 }) => new Promise((resolve, reject) => {
  const worker = new Worker(script, { type });
  worker.onmessage = ({ data }) => {
    worker.terminate();
    if (data.error) reject(new Error(data.error));
    else resolve(data);
  };
  worker.onerror = (e) => reject(new Error(e.message));
  worker.postMessage({ steps, ...model });
});
/**
 * (c) for this app: its training worker, exactly as the page runs it (784-512-2 or the conv net,
 * batch 128, Adam, all 60,000 MNIST images, `cores` workers), timed per ~40 ms slice of steps.
 * Resolves to the samples/s of `slices` slices after `warmup` slices, and the peak wasm memory of
 * its workers.
 */
window.runAppTraining = (cores, slices, warmup = 10, model = { arch: 'mlp', latent: 2 }, build = '') => new Promise((resolve, reject) => {
  const worker = new Worker(`/www/train-worker.js${build ? `?wasm=${build}` : ''}`, { type: 'module' });
  const rates = [];
  let memoryBytes = 0;
  let seen = 0;
  worker.onmessage = ({ data }) => {
    if (data.type === 'error') {
      worker.terminate();
      reject(new Error(data.message));
    } else if (data.type === 'progress') {
      memoryBytes = Math.max(memoryBytes, data.memoryBytes);
      if (++seen > warmup) rates.push(data.sliceSamples / data.sliceSeconds);
      if (rates.length >= slices) {
        worker.terminate();
        resolve({ samplesPerSec: rates, memoryBytes });
      }
    }
  };
  worker.onerror = (e) => reject(new Error(e.message));
  worker.postMessage({ type: 'start', config: { dataset: 'mnist', subset: 60000, ...model, hidden: 512, beta: 1, lr: 1e-3, batch: 128, epochs: 100, seed: 0, cores } });
});
window.benchReady = true;
