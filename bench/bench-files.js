// The benchmark's own files (TF.js, onnxruntime-web, the bench pages, the ONNX graphs) are served
// by the test browser itself, so `vae serve` keeps serving only the app.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tests/e2e/harness.js';

const BENCH_FILES = {
  '/bench/tfjs/': 'node_modules/@tensorflow/tfjs/dist/',
  '/bench/tfjs-wasm/': 'node_modules/@tensorflow/tfjs-backend-wasm/dist/',
  '/bench/ort/': 'node_modules/onnxruntime-web/dist/',
  '/bench/': 'bench/',
};
const TYPES = { js: 'text/javascript', mjs: 'text/javascript', html: 'text/html', wasm: 'application/wasm' };
// onnxruntime-web's page is cross-origin isolated, so ORT can run threads (SharedArrayBuffer).
const ISOLATED = (path) => path.startsWith('/bench/ort');
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** Answers the requests of `context` for `server`'s /bench/… from the files above. */
export async function serveBenchFiles(context, server) {
  await context.route(`${server.url}bench/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    const [prefix, dir] = Object.entries(BENCH_FILES).find(([p]) => path.startsWith(p));
    const file = join(ROOT, dir, path.slice(prefix.length));
    route.fulfill({ body: readFileSync(file), contentType: TYPES[file.split('.').pop()] ?? 'application/octet-stream', headers: ISOLATED(path) ? ISOLATION : {} });
  });
}
