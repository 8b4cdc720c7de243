// Counters and timings of the app's work, for the status line, tests and benchmarks
// (exposed read-only as `window.vaeMetrics`).
import { wasmBuild } from './wasm.js';

export const metrics = {
  ready: false,
  wasmBuild, // 'relaxed' (fused multiply-add) or 'simd128': which of the two wasm builds runs (www/wasm.js)
  firstGridAt: 0,
  // Start-up, in ms since navigation start: the app's module running, the wasm instance ready, the
  // first model's bytes in, that model parsed, the first grid on screen, the test-set scatter drawn.
  startup: { appAt: 0, engineAt: 0, modelBytesAt: 0, modelAt: 0, firstGridAt: 0, scatterAt: 0 },
  gridPaints: 0,
  gridBands: 0,
  gridsFromWorkers: 0, // grids decoded on the two grid workers rather than on the main thread
  gridsFromTrainer: 0, // grids decoded in the training worker while it trains
  lastGridMs: 0,
  reconUpdates: 0,
  input: '', // the explorer's input now (the drawing's version, the loaded test image); a use panel tags its result with the input it is for
  lastReconMs: 0,
  scatterCount: 0,
  crashes: 0,
  picturesLoadMs: 0, // your pictures: from handing files to the picture worker to the set, the last time
  libraryItems: 0, // models and picture sets listed in the library
  offlineReady: false, // the service worker has cached this build (offlineVersion) for offline use
  offlineVersion: '',
};
Object.defineProperty(window, 'vaeMetrics', { value: metrics });
