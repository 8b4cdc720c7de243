// The WebAssembly build computes what the native build computes: for MNIST test images 0..7, the
// posterior (mu, log_var) and the reconstruction from mu agree with `vae encode` to 1e-4, for the
// shipped MLP, conditional and conv models. Also: a malformed weights file is refused with a readable Error, and the page
// keeps working afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, VAE_BIN, startApp } from './harness.js';

const run = promisify(execFile);
const COUNT = 8;
const TOLERANCE = 1e-4;
const MODELS = [
  { file: 'mnist-2d.safetensors', latent: 2, dataset: 'mnist' },
  { file: 'mnist-16d.safetensors', latent: 16, dataset: 'mnist' },
  { file: 'fashion-16d.safetensors', latent: 16, dataset: 'fashion' },
  { file: 'cvae-mnist-8d.safetensors', latent: 8, dataset: 'mnist' }, // conditional: labels go in too
  { file: 'conv-mnist-2d.safetensors', latent: 2, dataset: 'mnist' },
  { file: 'conv-mnist-16d.safetensors', latent: 16, dataset: 'mnist' },
  { file: 'conv-fashion-16d.safetensors', latent: 16, dataset: 'fashion' },
];

let app;
let page;
let problems;

before(async () => {
  app = await startApp();
  ({ page, problems } = app);
});

after(async () => {
  await app?.close();
});

/** `vae encode` for the first COUNT test images: { latent, mu, log_var, recon } (arrays of rows). */
async function nativeEncode(file, dataset) {
  const { stdout } = await run(VAE_BIN, ['encode', '--weights', `www/models/${file}`, '--dataset', dataset, '--count', String(COUNT)],
    { cwd: ROOT, maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

/** The same computation in the page, through the wasm module's exported classes. */
async function wasmEncode(file, dataset) {
  return page.evaluate(async ({ file, dataset, count }) => {
    const { Model, ImageSet } = await import('/pkg/vae.js');
    const bytes = async (url) => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    };
    const [weights, images, labels] = await Promise.all([
      bytes(`/www/models/${file}`),
      bytes(`/www/data/${dataset}-t10k-images.idx.gz`),
      bytes(`/www/data/${dataset}-t10k-labels.idx.gz`),
    ]);
    const model = new Model(weights);
    const set = new ImageSet(images, labels);
    try {
      const L = model.latentSize;
      const out = { latent: L, length: set.length, mu: [], log_var: [], recon: [] };
      for (let i = 0; i < count; i++) {
        const label = model.classes > 0 ? set.labels().subarray(i, i + 1) : undefined;
        const { mu, logVar } = model.encode(set.image(i), label);
        out.mu.push(Array.from(mu));
        out.log_var.push(Array.from(logVar));
        out.recon.push(Array.from(model.decode(mu, label)));
      }
      return out;
    } finally {
      model.free();
      set.free();
    }
  }, { file, dataset, count: COUNT });
}

/** The largest |a - b| over two equally shaped arrays of rows (asserting the shapes match). */
function maxAbsDiff(a, b, what) {
  assert.equal(a.length, b.length, `${what}: row count`);
  let worst = 0;
  a.forEach((row, i) => {
    assert.equal(row.length, b[i].length, `${what}[${i}]: length`);
    row.forEach((x, j) => {
      const d = Math.abs(x - b[i][j]);
      assert.ok(Number.isFinite(d), `${what}[${i}][${j}]: ${x} vs ${b[i][j]}`);
      worst = Math.max(worst, d);
    });
  });
  return worst;
}

for (const { file, latent, dataset } of MODELS) {
  test(`wasm matches native to ${TOLERANCE} for ${file}`, async (t) => {
    const [native, wasm] = await Promise.all([nativeEncode(file, dataset), wasmEncode(file, dataset)]);
    assert.equal(native.latent, latent);
    assert.equal(wasm.latent, latent);
    assert.equal(wasm.length, 10000, `the ${dataset} test set has 10,000 images`);
    assert.equal(native.mu.length, COUNT);
    assert.equal(native.mu[0].length, latent);
    assert.equal(native.recon[0].length, 784);
    // Guard against comparing two trivial outputs: the codes and images must differ across inputs.
    assert.notDeepEqual(native.mu[0], native.mu[1]);
    assert.ok(Math.max(...native.recon[0]) > 0.5, 'the reconstruction of a digit has ink');
    const diffs = {
      mu: maxAbsDiff(wasm.mu, native.mu, 'mu'),
      log_var: maxAbsDiff(wasm.log_var, native.log_var, 'log_var'),
      recon: maxAbsDiff(wasm.recon, native.recon, 'recon'),
    };
    t.diagnostic(`${file}: max |wasm - native| ${JSON.stringify(diffs)}`);
    for (const [what, d] of Object.entries(diffs)) {
      assert.ok(d <= TOLERANCE, `${file} ${what}: max |wasm - native| = ${d} > ${TOLERANCE}`);
    }
    assert.deepEqual(problems, []);
  });
}

test('a malformed weights file is refused with a readable Error, and the page keeps working', async (t) => {
  const result = await page.evaluate(async () => {
    const { Model } = await import('/pkg/vae.js');
    // A well-formed safetensors file whose one tensor is not a VAE's.
    const header = new TextEncoder().encode(JSON.stringify({ foo: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
    const wrongTensors = new Uint8Array(8 + header.length + 4);
    new DataView(wrongTensors.buffer).setBigUint64(0, BigInt(header.length), true);
    wrongTensors.set(header, 8);
    const cases = [
      ['text', new TextEncoder().encode('this is not a safetensors file, just some text bytes'), /safetensors/i],
      ['empty', new Uint8Array(0), /safetensors/i],
      ['huge header length', new Uint8Array([255, 255, 255, 255, 255, 255, 255, 127, 1, 2]), /safetensors/i],
      ['not a VAE', wrongTensors, /tensor/i],
    ];
    return cases.map(([name, bytes, expected]) => {
      try {
        new Model(bytes).free();
        return { name, threw: false };
      } catch (err) {
        return { name, threw: true, isError: err instanceof Error, message: String(err?.message ?? err), expected: expected.source };
      }
    });
  });
  for (const outcome of result) {
    assert.equal(outcome.threw, true, `${outcome.name}: new Model(bytes) must throw`);
    assert.equal(outcome.isError, true, `${outcome.name}: the thrown value is an Error`);
    assert.match(outcome.message, new RegExp(outcome.expected, 'i'), `${outcome.name}: readable message, got "${outcome.message}"`);
    assert.doesNotMatch(outcome.message, /unreachable|RuntimeError|panicked/i, `${outcome.name}: not a wasm trap`);
  }
  t.diagnostic(`messages: ${result.map((r) => r.message).join(' | ')}`);

  // The module still works after the failures: the app's views respond and a fresh model loads.
  const before = await page.evaluate(() => window.vaeMetrics.gridPaints);
  await page.click('[data-testid=reset-view]');
  await page.waitForFunction((n) => window.vaeMetrics.gridPaints > n, before);
  const ok = await page.evaluate(async () => {
    const { Model } = await import('/pkg/vae.js');
    const bytes = new Uint8Array(await (await fetch('/www/models/mnist-2d.safetensors')).arrayBuffer());
    const model = new Model(bytes);
    const image = model.decode(new Float32Array(model.latentSize));
    model.free();
    return image.length;
  });
  assert.equal(ok, 784);
  assert.doesNotMatch(await page.textContent('[data-testid=status]'), /error|failed/i);
  assert.deepEqual(problems, []);
});
