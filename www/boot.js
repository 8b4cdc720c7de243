// The first part of the page's start-up, before the rest of the app has loaded: index.html runs
// this module ahead of app.js (module scripts run in document order, and this one's few imports
// arrive long before app.js's thirty), so the wasm module compiles and the first shipped model
// downloads while the app's other modules are still being fetched.
import { wasmUrl } from './wasm.js';
import { MODELS, modelUrl } from './models.js';
import { loadSession, parseShareHash } from './session.js';
import { fetchBytes } from './fetch.js';
import { setProgress } from './status.js';

/** The wasm module of this browser's build, compiled as it downloads; its URL where that fails (a server that sends no `application/wasm`). */
export const wasmModule = WebAssembly.compileStreaming(fetch(wasmUrl())).catch(() => wasmUrl());

/** What the page opens: a shared link (the URL hash) wins over the saved session. */
export const shared = parseShareHash(location.hash);
export const session = loadSession();

const named = shared?.model ?? session.model;
/** The shipped model the page opens first, or null when that is a model of the library (or an unknown name). */
export const firstShipped = typeof named === 'string' ? MODELS.find((m) => m.file === named) ?? (shared ? MODELS[0] : null) : MODELS[0];

/** Fetches a shipped model's bytes, showing progress. */
export const fetchModel = (entry) => fetchBytes(modelUrl(entry.file), (loaded, total) => total && setProgress(0.3 + 0.6 * (loaded / total)));

/** `firstShipped`'s bytes, on their way (a failure is reported where they are awaited). */
export const firstShippedBytes = firstShipped && fetchModel(firstShipped);
firstShippedBytes?.catch(() => {});
