// The benchmark's own files (TF.js, the bench page) are served by the test browser itself, so
// `vae serve` keeps serving only the app.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tests/e2e/harness.js';

const BENCH_FILES = {
  '/bench/tfjs/': 'node_modules/@tensorflow/tfjs/dist/',
  '/bench/tfjs-wasm/': 'node_modules/@tensorflow/tfjs-backend-wasm/dist/',
  '/bench/': 'bench/',
};
const TYPES = { js: 'text/javascript', html: 'text/html', wasm: 'application/wasm' };

/** Answers the requests of `context` for `server`'s /bench/… from the files above. */
export async function serveBenchFiles(context, server) {
  await context.route(`${server.url}bench/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    const [prefix, dir] = Object.entries(BENCH_FILES).find(([p]) => path.startsWith(p));
    const file = join(ROOT, dir, path.slice(prefix.length));
    route.fulfill({ body: readFileSync(file), contentType: TYPES[file.split('.').pop()] ?? 'application/octet-stream' });
  });
}
