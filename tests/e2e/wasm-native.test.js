// The WebAssembly builds compute what the native build computes: for MNIST test images 0..7, the
// posterior (mu, log_var) and the reconstruction from mu agree with `vae encode` to 1e-4, for the
// shipped MLP, conditional and conv models, in both wasm builds (plain SIMD128, and relaxed SIMD
// with fused multiply-add, which the page picks where the browser has it). Training steps in the
// two builds give the same weights to 1e-4. Also: a malformed weights file is refused with a
// readable Error, and the page keeps working afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT, VAE_BIN, startApp } from './harness.js';
import { safetensorsTensors } from './safetensors.js';

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

const BUILDS = { simd128: '/pkg/vae_bg.wasm', relaxed: '/pkg/vae_relaxed_bg.wasm' };

/** The same computation in the page, through the exported classes of wasm build `build`. */
async function wasmEncode(file, dataset, build) {
  return page.evaluate(async ({ file, dataset, count, wasm, build }) => {
    // Its own module record (the query makes a separate URL), initialised with that build's .wasm.
    const mod = await import(`/pkg/vae.js?build=${build}`);
    await mod.default({ module_or_path: wasm });
    const { Model, ImageSet } = mod;
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
  }, { file, dataset, count: COUNT, wasm: BUILDS[build], build });
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

test('the page runs the relaxed-SIMD build in this Chromium', async () => {
  assert.equal(await page.evaluate(() => window.vaeMetrics.wasmBuild), 'relaxed');
});

for (const { file, latent, dataset } of MODELS) {
  test(`wasm (both builds) matches native to ${TOLERANCE} for ${file}`, async (t) => {
    const native = await nativeEncode(file, dataset);
    for (const build of Object.keys(BUILDS)) {
      await compare(t, file, latent, dataset, native, await wasmEncode(file, dataset, build), build);
    }
  });
}

async function compare(t, file, latent, dataset, native, wasm, build) {
  {
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
    t.diagnostic(`${file}, ${build}: max |wasm - native| ${JSON.stringify(diffs)}`);
    for (const [what, d] of Object.entries(diffs)) {
      assert.ok(d <= TOLERANCE, `${file} ${build} ${what}: max |wasm - native| = ${d} > ${TOLERANCE}`);
    }
    assert.deepEqual(problems, []);
  }
}

/** Weights (name → values) after `steps` training steps of a fresh `arch` model in build `build`. */
async function trainedWeights(build, arch, steps) {
  return page.evaluate(async ({ wasm, build, arch, steps }) => {
    const mod = await import(`/pkg/vae.js?build=${build}`);
    await mod.default({ module_or_path: wasm });
    const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
    const set = new mod.ImageSet(await bytes('/www/data/mnist-t10k-images.idx.gz'), await bytes('/www/data/mnist-t10k-labels.idx.gz'));
    const trainer = new mod.Trainer(set, 1000, set, 100, 'mnist', arch, 16, 256, 0, 1, 1e-3, 128, 7n, undefined, undefined);
    try {
      const losses = [];
      for (let i = 0; i < steps; i++) losses.push(trainer.step().negElbo);
      return { losses, weights: Array.from(trainer.weights()) };
    } finally {
      trainer.free();
      set.free();
    }
  }, { wasm: BUILDS[build], build, arch, steps });
}

for (const arch of ['mlp', 'conv']) {
  test(`${arch} training steps in the relaxed-SIMD build give the plain build's weights to ${TOLERANCE}`, async (t) => {
    const plain = await trainedWeights('simd128', arch, 8);
    const relaxed = await trainedWeights('relaxed', arch, 8);
    const [a, b] = [safetensorsTensors(Buffer.from(plain.weights)), safetensorsTensors(Buffer.from(relaxed.weights))];
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    assert.ok(plain.losses[7] < plain.losses[0] - 5, `training lowers the loss: ${plain.losses.join(', ')}`);
    let worst = 0;
    for (const [name, values] of Object.entries(a)) {
      values.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b[name][i])); });
    }
    t.diagnostic(`${arch}: max |relaxed - plain| over the weights after 8 steps ${worst.toExponential(2)}; losses ${plain.losses.at(-1).toFixed(3)} and ${relaxed.losses.at(-1).toFixed(3)}`);
    assert.ok(worst <= TOLERANCE, `max |relaxed - plain| = ${worst}`);
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
