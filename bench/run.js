// The benchmark: this app (candle → wasm, and the native `vae`) against TensorFlow.js (wasm, SIMD)
// and PyTorch (CPU) on the same model, weights, data, batch and optimiser, in one run.
// Prints a table and writes bench/results.json.   Usage: node bench/run.js [runs=25] [--browser-only]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, VAE_BIN, startServer, launchBrowser } from '../tests/e2e/harness.js';
import { serveBenchFiles } from './bench-files.js';

const runs = Number(process.argv[2] ?? 25);
// --browser-only: a quick look at the browser figures; prints them and writes nothing.
const browserOnly = process.argv.includes('--browser-only');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const GRID_FLOP = 400 * 2 * (2 * 512 + 512 * 784);
const DRAWING_FLOP = 2 * (784 * 512 + 512 * 4) + 2 * (2 * 512 + 512 * 784);
const trainFlopPerSample = (l, h = 512) => {
  const forward = 2 * (784 * h + h * 2 * l + l * h + h * 784);
  return forward + 2 * forward - 2 * 784 * h;
};

async function browserBench() {
  const server = await startServer();
  const { context, close } = await launchBrowser();
  try {
    await serveBenchFiles(context, server);
    const page = await context.newPage();
    await page.goto(`${server.url}bench/page.html`);
    await page.waitForFunction(() => window.benchReady);
    const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/([\d.]+)/)?.[1];
    const inPage = await page.evaluate((n) => window.runBench(n), runs);
    const steps = Math.max(20, runs);
    const ours = await page.evaluate((n) => window.runAppTraining(2, n), steps);
    const oursOneCore = await page.evaluate((n) => window.runAppTraining(1, n), steps);
    const theirs = await page.evaluate((n) => window.runTrainWorker('/bench/tfjs-train-worker.js', 'classic', n), Math.min(steps, 20));
    // The same for the conv VAE (16-D): the shipped model's grid and drawing, and training from scratch.
    const conv = { arch: 'conv', latent: 16 };
    const convInPage = await page.evaluate((n) => window.runBench(n, 'conv-mnist-16d.safetensors'), runs);
    const convOurs = await page.evaluate(([n, m]) => window.runAppTraining(2, n, 10, m), [steps, conv]);
    const convOursOneCore = await page.evaluate(([n, m]) => window.runAppTraining(1, n, 10, m), [steps, conv]);
    const convTheirs = await page.evaluate(([n, m]) => window.runTrainWorker('/bench/tfjs-train-worker.js', 'classic', n, m), [10, conv]);
    await page.close();
    // (d) navigation to the first complete grid, cold cache: a fresh profile each time.
    const cold = [];
    for (let i = 0; i < 5; i++) {
      const fresh = await launchBrowser();
      const p = await fresh.context.newPage();
      await p.goto(server.url, { waitUntil: 'commit' });
      await p.waitForFunction(() => window.vaeMetrics?.firstGridAt > 0, null, { timeout: 30000 });
      cold.push(await p.evaluate(() => window.vaeMetrics.firstGridAt));
      await fresh.close();
    }
    return { version, inPage, ours, oursOneCore, theirs, firstGridMs: median(cold), conv: { inPage: convInPage, ours: convOurs, oursOneCore: convOursOneCore, theirs: convTheirs } };
  } finally {
    await close();
    server.close();
  }
}

function nativeBench() {
  const python = join(ROOT, 'bench/venv/bin/python');
  let torchNote = null;
  const hasTorch = existsSync(python) && (() => {
    try { execFileSync(python, ['-c', 'import torch']); return true; } catch { return false; }
  })();
  if (!hasTorch) torchNote = 'PyTorch skipped: bench/venv has no torch (scripts/bench.sh --torch sets it up)';
  // On this machine, a minute or so of both cores at full load can halve their speed for a while
  // (seen as 13,000–14,000 samples/s on 2 threads instead of 24,000, for PyTorch too). So each
  // configuration runs ROUNDS times, the two trainers alternating with a pause before each run,
  // and the medians count.
  const ROUNDS = 3;
  const pause = () => execFileSync('sleep', ['3']);
  const out = {};
  for (const [arch, latent] of [['mlp', 2], ['mlp', 16], ['conv', 16]]) {
    for (const threads of [1, 2]) {
      const vae = [];
      const torch = [];
      let torchVersion = null;
      let name = null;
      let gflopPerSample = null;
      for (let round = 0; round < ROUNDS; round++) {
        pause();
        const ours = JSON.parse(execFileSync(VAE_BIN, ['--threads', String(threads), 'bench', '--arch', arch, '--latent', String(latent), '--steps', '100']).toString());
        vae.push(ours.samples_per_s);
        name = ours.model;
        gflopPerSample = ours.gflops / ours.samples_per_s;
        if (hasTorch) {
          pause();
          const t = JSON.parse(execFileSync(python, [join(ROOT, 'bench/torch_bench.py'), String(latent), String(threads), '100', arch]).toString());
          torch.push(t.samples_per_s);
          torchVersion = t.torch;
        }
      }
      out[`${name}@${threads}`] = { vae: median(vae), gflop_per_sample: gflopPerSample, torch: hasTorch ? median(torch) : null,
        torch_version: torchVersion, vae_rounds: vae, torch_rounds: torch };
    }
  }
  return { out, torchNote };
}

const native = browserOnly ? { out: {}, torchNote: 'native: skipped (--browser-only)' } : nativeBench();
const b = await browserBench();
const wasmBytes = statSync(join(ROOT, 'pkg/vae_bg.wasm')).size;
const wasmGzip = gzipSync(readFileSync(join(ROOT, 'pkg/vae_bg.wasm')), { level: 9 }).length;
const oursStep = 128 / median(b.ours.samplesPerSec) * 1000; // ms per step of 128
const oursOneCoreStep = 128 / median(b.oursOneCore.samplesPerSec) * 1000;
const tfjsStep = median(b.theirs.stepMs);
const convRate = (r) => median(r.samplesPerSec);
const torchConv2 = native.out['conv 16-D on 1×28×28@2']?.torch ?? null;
const results = {
  date: new Date().toISOString(),
  machine: `${execFileSync('nproc').toString().trim()} cores; Chromium ${b.version}`,
  runs,
  browser: {
    grid_ms: b.inPage.ours.grid.median,
    grid_ms_one_core: b.inPage.ours.gridOneCore.median,
    drawing_ms: b.inPage.ours.drawing.median,
    drawing_with_input_ms: b.inPage.ours.drawingWithInput.median,
    train_samples_per_s: 128 / (oursStep / 1000),
    train_samples_per_s_one_core: 128 / (oursOneCoreStep / 1000),
    first_grid_ms: b.firstGridMs,
    tfjs: {
      grid_ms: b.inPage.tfjs.grid.median,
      drawing_ms: b.inPage.tfjs.drawing.median,
      train_samples_per_s: 128 / (tfjsStep / 1000),
      backend: b.inPage.tfjs.backend,
    },
  },
  conv_browser: {
    grid_ms: b.conv.inPage.ours.grid.median,
    grid_ms_one_core: b.conv.inPage.ours.gridOneCore.median,
    drawing_ms: b.conv.inPage.ours.drawing.median,
    train_samples_per_s: convRate(b.conv.ours),
    train_samples_per_s_one_core: convRate(b.conv.oursOneCore),
    grid_max_abs_diff_vs_tfjs: b.conv.inPage.maxDiff,
    tfjs: {
      grid_ms: b.conv.inPage.tfjs.grid.median,
      drawing_ms: b.conv.inPage.tfjs.drawing.median,
      train_samples_per_s: 128 / (median(b.conv.theirs.stepMs) / 1000),
      train_loss_first_last: [b.conv.theirs.firstLoss, b.conv.theirs.lastLoss],
      train_backend: b.conv.theirs.backend,
      train_wasm_error: b.conv.theirs.wasmError ?? null,
    },
  },
  native: { train_samples_per_s: native.out, note: native.torchNote },
  wasm: { bytes: wasmBytes, gzip_bytes: wasmGzip, peak_memory_mb: b.ours.memoryBytes / 2 ** 20 },
};
if (!browserOnly) writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

const gf = (flop, ms) => (flop / (ms / 1000) / 1e9).toFixed(1);
const rows = [
  ['(a) 20×20 grid, decode + paint, 2 workers', `${results.browser.grid_ms.toFixed(1)} ms (${gf(GRID_FLOP, results.browser.grid_ms)} GFLOP/s)`,
    `${results.browser.tfjs.grid_ms.toFixed(1)} ms (${gf(GRID_FLOP, results.browser.tfjs.grid_ms)} GFLOP/s)`, (results.browser.tfjs.grid_ms / results.browser.grid_ms).toFixed(2)],
  ['(a) the same, main thread only', `${results.browser.grid_ms_one_core.toFixed(1)} ms (${gf(GRID_FLOP, results.browser.grid_ms_one_core)} GFLOP/s)`,
    '', (results.browser.tfjs.grid_ms / results.browser.grid_ms_one_core).toFixed(2)],
  ['(b) one drawing, encode + decode', `${results.browser.drawing_ms.toFixed(3)} ms (${gf(DRAWING_FLOP, results.browser.drawing_ms)} GFLOP/s)`,
    `${results.browser.tfjs.drawing_ms.toFixed(3)} ms`, (results.browser.tfjs.drawing_ms / results.browser.drawing_ms).toFixed(2)],
  ['(b) the same from the canvas ink (+ MNIST-style preprocessing)', `${results.browser.drawing_with_input_ms.toFixed(3)} ms`, '', ''],
  ['(c) train step, batch 128, 2 workers', `${oursStep.toFixed(1)} ms = ${results.browser.train_samples_per_s.toFixed(0)} samples/s (${gf(128 * trainFlopPerSample(2), oursStep)} GFLOP/s)`,
    `${tfjsStep.toFixed(1)} ms = ${results.browser.tfjs.train_samples_per_s.toFixed(0)} samples/s`, (results.browser.train_samples_per_s / results.browser.tfjs.train_samples_per_s).toFixed(1)],
  ['(c) the same, 1 worker', `${oursOneCoreStep.toFixed(1)} ms = ${results.browser.train_samples_per_s_one_core.toFixed(0)} samples/s (${gf(128 * trainFlopPerSample(2), oursOneCoreStep)} GFLOP/s)`,
    '', (results.browser.train_samples_per_s_one_core / results.browser.tfjs.train_samples_per_s).toFixed(1)],
  ['(d) navigation → first grid, cold', `${results.browser.first_grid_ms.toFixed(0)} ms`, '', ''],
];
const c = results.conv_browser;
const convRows = [
  ['(e) conv 16-D: 20×20 grid, decode + paint, 2 workers', `${c.grid_ms.toFixed(1)} ms`, `${c.tfjs.grid_ms.toFixed(1)} ms`, (c.tfjs.grid_ms / c.grid_ms).toFixed(2)],
  ['(e) the same, main thread only', `${c.grid_ms_one_core.toFixed(1)} ms`, '', (c.tfjs.grid_ms / c.grid_ms_one_core).toFixed(2)],
  ['(f) conv 16-D: one drawing, encode + decode', `${c.drawing_ms.toFixed(3)} ms`, `${c.tfjs.drawing_ms.toFixed(3)} ms`, (c.tfjs.drawing_ms / c.drawing_ms).toFixed(2)],
  ['(g) conv 16-D: train step, batch 128, 2 workers', `${c.train_samples_per_s.toFixed(0)} samples/s`, `${c.tfjs.train_samples_per_s.toFixed(0)} samples/s${c.tfjs.train_backend === 'wasm' ? '' : ` (${c.tfjs.train_backend} backend¹)`}`,
    (c.train_samples_per_s / c.tfjs.train_samples_per_s).toFixed(1)],
  ['(g) the same, 1 worker', `${c.train_samples_per_s_one_core.toFixed(0)} samples/s`, '', (c.train_samples_per_s_one_core / c.tfjs.train_samples_per_s).toFixed(1)],
];
console.log(`\nbench ${results.date} on ${results.machine}; medians of ${runs} runs after warm-up\n`);
console.log('| browser | this app (candle, wasm) | TensorFlow.js (wasm, SIMD) | speed-up |\n|---|---|---|---|');
for (const r of [...rows, ...convRows]) console.log(`| ${r.join(' | ')} |`);
if (c.tfjs.train_wasm_error) console.log(`\n¹ TF.js's wasm backend cannot train the conv net ("${c.tfjs.train_wasm_error}"), so its row is TF.js's ${c.tfjs.train_backend} backend, what TF.js falls back to.`);
console.log(`\nconv grid: candle and TF.js agree to max |Δ| = ${c.grid_max_abs_diff_vs_tfjs.toExponential(1)} per pixel; TF.js conv loss ${c.tfjs.train_loss_first_last.map((v) => v.toFixed(1)).join(' → ')} over its steps`);
if (torchConv2) {
  const best = Math.max(c.train_samples_per_s, c.train_samples_per_s_one_core);
  console.log(`conv 16-D in the tab (the faster of 1 and 2 workers, what 'auto' keeps) / PyTorch on 2 threads: ${best.toFixed(0)} / ${torchConv2.toFixed(0)} = ${(best / torchConv2).toFixed(2)}`);
}
console.log('\n| native training, batch 128 | vae (samples/s) | PyTorch CPU (samples/s) | vae / PyTorch |\n|---|---|---|---|');
for (const [key, v] of Object.entries(native.out)) {
  const [arch, threads] = key.split('@');
  console.log(`| ${arch}, ${threads} thread${threads === '1' ? '' : 's'} | ${v.vae.toFixed(0)} (${(v.vae * v.gflop_per_sample).toFixed(1)} GFLOP/s) | ${v.torch ? v.torch.toFixed(0) : 'skipped'} | ${v.torch ? (v.vae / v.torch).toFixed(2) : ''} |`);
}
if (native.torchNote) console.log(`\n${native.torchNote}`);
console.log(`\nwasm: ${(wasmBytes / 1024).toFixed(0)} KiB, ${(wasmGzip / 1024).toFixed(0)} KiB gzipped; wasm memory of the two training workers together ${results.wasm.peak_memory_mb.toFixed(0)} MiB`);
if (!browserOnly) console.log('wrote bench/results.json');
