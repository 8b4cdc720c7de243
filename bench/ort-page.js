// onnxruntime-web (its wasm backend, SIMD, threaded when the page is cross-origin isolated) on the
// same models and weights as bench/bench-page.js: (a) decode and paint the 20×20 grid, (b) encode +
// decode one drawing. The graphs are bench/onnx_export.py's, written from the shipped .safetensors.
// ORT fixes its thread count when its first session starts, so each count is its own page load:
// /bench/ort-page.html?threads=N.
import init, { Model, drawingToInput } from '/pkg/vae.js';
import { wasmUrl } from '/www/wasm.js';
import * as ort from '/bench/ort/ort.wasm.min.mjs';
import { N, drawingInk, gridPoints, paint, tile, timeAsync } from './bench-common.js';

const threads = Number(new URLSearchParams(location.search).get('threads') ?? 1);
ort.env.wasm.numThreads = threads;
ort.env.wasm.wasmPaths = '/bench/ort/';

/** (a) and (b) with onnxruntime-web for the shipped model `file`; `maxDiff` is the largest |candle − ORT| over the grid's pixels. */
window.runOrt = async (runs, file) => {
  const name = file.replace(/\.safetensors$/, '');
  const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  const decoder = await ort.InferenceSession.create(`/bench/onnx/${name}.decode.onnx`, options);
  const drawer = await ort.InferenceSession.create(`/bench/onnx/${name}.drawing.onnx`, options);
  await init({ module_or_path: wasmUrl() });
  const bytes = new Uint8Array(await (await fetch(`/www/models/${file}`)).arrayBuffer());
  const model = new Model(bytes);
  const L = model.latentSize;
  const z = new ort.Tensor('float32', gridPoints(L), [N * N, L]);
  const out = decoder.outputNames[0];
  const grid = await timeAsync(async () => paint(tile((await decoder.run({ z }))[out].data)), runs);
  const values = (await decoder.run({ z }))[out].data;
  const ours = model.decode(gridPoints(L));
  const maxDiff = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - values[i])), 0);
  // The same drawing preprocessing (ours) feeds both: this times the network part, as for TF.js.
  const x = new ort.Tensor('float32', drawingToInput(drawingInk(), 280, 280), [1, 784]);
  const REPS = 20;
  const drawing = await timeAsync(async () => { for (let i = 0; i < REPS; i++) await drawer.run({ x }); }, runs);
  model.free();
  return { threads, isolated: crossOriginIsolated, grid, drawing: { median: drawing.median / REPS, min: drawing.min / REPS, runs, reps: REPS }, maxDiff };
};
window.benchReady = true;
