// The benchmark: this app (candle → wasm, and the native `vae`) against TensorFlow.js (wasm, SIMD),
// onnxruntime-web (wasm, SIMD, 1 and 2 threads) and PyTorch (CPU) on the same model, weights, data,
// batch and optimiser, in one run.
// Prints a table and writes bench/results.json.
// Usage: node bench/run.js [runs=25] [--browser-only | --only training | --only startup | --only ort | --only panel]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, VAE_BIN, startServer, launchBrowser } from '../tests/e2e/harness.js';
import { serveBenchFiles } from './bench-files.js';
import { panelBench } from './panel.js';

const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 25);
// --browser-only: a quick look at the browser figures; prints them and writes nothing.
const browserOnly = process.argv.includes('--browser-only');
// --only training: just the in-tab training rows (both wasm builds, 1 and 2 workers, MLP and conv)
// and PyTorch's conv 16-D on 2 threads right after, the figures the conv issue's ratio needs.
// --only startup: just the cold and warm start-up rows. --only ort: the grid and drawing rows beside
// onnxruntime-web. --only panel: the training panel's own figures and responsiveness. These print
// and write nothing.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const GRID_FLOP = 400 * 2 * (2 * 512 + 512 * 784);
const DRAWING_FLOP = 2 * (784 * 512 + 512 * 4) + 2 * (2 * 512 + 512 * 784);
const trainFlopPerSample = (l, h = 512) => {
  const forward = 2 * (784 * h + h * 2 * l + l * h + h * 784);
  return forward + 2 * forward - 2 * 784 * h;
};

/** The models the training rows train from scratch. */
const TRAINED = { mlp: { arch: 'mlp', latent: 2 }, conv: { arch: 'conv', latent: 16 } };

/**
 * In-tab training on the app's own training worker: samples/s of each slice for each model on 2
 * and 1 workers, with the build the browser picks and, where that is the relaxed-SIMD one, the
 * plain SIMD128 build as well (the builds alternate, so a slow spell of the machine hits both).
 * Keys: `mlp@2@relaxed`, …; `picked` is the browser's own build.
 */
async function appTraining(page, steps) {
  const picked = await page.evaluate(async () => (await import('/www/wasm.js')).wasmBuild);
  const builds = picked === 'relaxed' ? ['relaxed', 'simd128'] : [picked];
  const out = { picked, builds, rates: {} };
  for (const [name, model] of Object.entries(TRAINED)) {
    for (const cores of [2, 1]) {
      for (const build of builds) {
        const r = await page.evaluate(([c, n, m, b]) => window.runAppTraining(c, n, 10, m, b), [cores, steps, model, build]);
        out.rates[`${name}@${cores}@${build}`] = { ...r, median: median(r.samplesPerSec) };
      }
    }
  }
  return out;
}

async function browserBench() {
  const server = await startServer();
  const { context, close } = await launchBrowser();
  try {
    await serveBenchFiles(context, server);
    const page = await context.newPage();
    await page.goto(`${server.url}bench/page.html`);
    await page.waitForFunction(() => window.benchReady);
    const version = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/([\d.]+)/)?.[1];
    const steps = Math.max(20, runs);
    if (only === 'startup') return { version, startup: await startupBench(server) };
    if (only === 'panel') return { version, panel: await panelBench(server) };
    const training = await appTraining(page, steps);
    if (only === 'training') return { version, training };
    if (only === 'ort') {
      const inPage = { mlp: await page.evaluate((n) => window.runBench(n), runs), conv: await page.evaluate((n) => window.runBench(n, 'conv-mnist-16d.safetensors'), runs) };
      return { version, inPage, ort: await ortBench(context, server) };
    }
    const inPage = await page.evaluate((n) => window.runBench(n), runs);
    const theirs = await page.evaluate((n) => window.runTrainWorker('/bench/tfjs-train-worker.js', 'classic', n), Math.min(steps, 20));
    // The same for the conv VAE (16-D): the shipped model's grid and drawing, and TF.js training it from scratch.
    const convInPage = await page.evaluate((n) => window.runBench(n, 'conv-mnist-16d.safetensors'), runs);
    const convTheirs = await page.evaluate(([n, m]) => window.runTrainWorker('/bench/tfjs-train-worker.js', 'classic', n, m), [10, TRAINED.conv]);
    await page.close();
    const ort = await ortBench(context, server);
    const startup = await startupBench(server);
    const panel = await panelBench(server);
    return { version, training, inPage, theirs, ort, startup, panel, conv: { inPage: convInPage, theirs: convTheirs } };
  } finally {
    await close();
    server.close();
  }
}

/**
 * (a) and (b) with onnxruntime-web on 1 and 2 threads (one page load each: ORT fixes its thread
 * count at its first session), for both models; null (with the reason) without the ONNX graphs,
 * which bench/onnx_export.py writes from the shipped weights into bench/onnx/.
 */
const ONNX_DIR = join(ROOT, 'bench/onnx');
async function ortBench(context, server) {
  const python = join(ROOT, 'bench/venv/bin/python');
  try {
    execFileSync(python, [join(ROOT, 'bench/onnx_export.py'), ONNX_DIR], { stdio: 'pipe' });
  } catch (err) {
    return { skipped: `onnxruntime-web skipped: the ONNX graphs could not be written (${String(err.stderr ?? err.message).trim().split('\n').pop()}; scripts/bench.sh sets up bench/venv with onnx)` };
  }
  const out = {};
  for (const threads of [1, 2]) {
    const page = await context.newPage();
    try {
      await page.goto(`${server.url}bench/ort-page.html?threads=${threads}`);
      await page.waitForFunction(() => window.benchReady);
      out[threads] = {
        mlp: await page.evaluate((n) => window.runOrt(n, 'mnist-2d.safetensors'), runs),
        conv: await page.evaluate((n) => window.runOrt(n, 'conv-mnist-16d.safetensors'), runs),
      };
    } finally {
      await page.close();
    }
  }
  return out;
}

/**
 * (d) Navigation to the first complete grid: cold (a fresh profile each time, nothing cached), with
 * where the time went (www/metrics.js `startup`), then warm: the same page reloaded once the
 * service worker has cached the build (it still fetches network-first). Medians of STARTUP_RUNS.
 */
const STARTUP_RUNS = 5;
async function startupBench(server) {
  const cold = [];
  const warm = [];
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const fresh = await launchBrowser();
    try {
      const p = await fresh.context.newPage();
      await p.goto(server.url, { waitUntil: 'commit' });
      await p.waitForFunction(() => window.vaeMetrics?.startup.scatterAt > 0, null, { timeout: 30000 });
      cold.push(await p.evaluate(() => window.vaeMetrics.startup));
      await p.waitForFunction(() => window.vaeMetrics.offlineReady, null, { timeout: 60000 });
      await p.reload({ waitUntil: 'commit' });
      await p.waitForFunction(() => window.vaeMetrics?.startup.firstGridAt > 0, null, { timeout: 30000 });
      warm.push(await p.evaluate(() => window.vaeMetrics.startup));
    } finally {
      await fresh.close();
    }
  }
  const medians = (xs) => Object.fromEntries(Object.keys(xs[0]).map((k) => [k, median(xs.map((x) => x[k]))]));
  return { cold: medians(cold), warm: medians(warm), coldRuns: cold, warmRuns: warm };
}

/** PyTorch's samples/s for `arch` at latent `latent` on `threads` threads, or null without bench/venv's torch. */
function torchRate(arch, latent, threads) {
  const python = join(ROOT, 'bench/venv/bin/python');
  if (!existsSync(python)) return null;
  try {
    return JSON.parse(execFileSync(python, [join(ROOT, 'bench/torch_bench.py'), String(latent), String(threads), '100', arch]).toString());
  } catch {
    return null;
  }
}

/**
 * onnxruntime-web beside this app: `inPage` holds runBench's figures by model ('mlp', 'conv'),
 * `ort` ortBench's. Ratios are ORT's time over ours (the issue's target: ≥ 1.5).
 */
function printOrt(inPage, ort) {
  if (ort.skipped) {
    console.log(`\n${ort.skipped}`);
    return;
  }
  const ms = (v, digits = 1) => `${v.toFixed(digits)} ms`;
  const row = (label, ours, theirs, digits = 1) => `| ${label} | ${ms(ours, digits)} | ${ms(theirs, digits)} | ${(theirs / ours).toFixed(2)} |`;
  console.log(`\n| browser | this app | onnxruntime-web (wasm, SIMD${ort[2].mlp.isolated ? ', threads' : ''}) | speed-up (target ≥ 1.5) |\n|---|---|---|---|`);
  for (const [model, label] of [['mlp', '784-512-2'], ['conv', 'conv 16-D']]) {
    const ours = inPage[model].ours;
    const [one, two] = [ort[1][model], ort[2][model]];
    console.log(row(`${label}: 20×20 grid, decode + paint, 2 workers / ORT 2 threads`, ours.grid.median, two.grid.median));
    console.log(row(`${label}: the same, main thread / ORT 1 thread`, ours.gridOneCore.median, one.grid.median));
    const faster = Math.min(one.drawing.median, two.drawing.median, inPage[model].tfjs.drawing.median);
    console.log(row(`${label}: one drawing, encode + decode / the faster of ORT and TF.js`, ours.drawing.median, faster, 3));
  }
  const diff = Math.max(...[1, 2].flatMap((n) => [ort[n].mlp.maxDiff, ort[n].conv.maxDiff]));
  console.log(`\nORT decodes the same grids as candle to max |Δ| = ${diff.toExponential(1)} per pixel (graphs: bench/onnx_export.py)`);
}

/** The panel's own figures (bench/panel.js): what a person sees while it trains, and while the map zooms. */
function printPanel(p) {
  console.log(`\nthe training panel, default settings, cores auto: ${p.samplesPerS.toFixed(0)} samples/s shown (${p.workers})`);
  for (const [what, r] of [['training', p.training], ['zooming the map (grids on the two grid workers)', p.zooming]]) {
    console.log(`while ${what}: longest main-thread task ${r.longestTaskMs.toFixed(1)} ms (target ≤ 50), 99th-percentile frame ${r.frameP99Ms.toFixed(1)} ms over ${r.frames} frames`);
  }
}

/** The in-tab training rates by build; with `torchConv2` (--training-only) the conv ratio to PyTorch measured right after. */
function printTraining(t, torchConv2) {
  console.log('| in-tab training, batch 128 | ' + t.builds.map((b) => `${b} build (samples/s)`).join(' | ') + ' |');
  console.log(`|---|${t.builds.map(() => '---|').join('')}`);
  for (const name of Object.keys(TRAINED)) {
    for (const cores of [2, 1]) {
      const cells = t.builds.map((b) => t.rates[`${name}@${cores}@${b}`].median.toFixed(0));
      console.log(`| ${name === 'mlp' ? '784-512-2' : 'conv 16-D'}, ${cores} worker${cores === 1 ? '' : 's'} | ${cells.join(' | ')} |`);
    }
  }
  if (torchConv2 === undefined) return;
  if (torchConv2) {
    const best = Math.max(t.rates[`conv@2@${t.picked}`].median, t.rates[`conv@1@${t.picked}`].median);
    console.log(`\nconv 16-D in the tab (${t.picked} build, the faster of 1 and 2 workers) / PyTorch ${torchConv2.torch} on 2 threads: ${best.toFixed(0)} / ${torchConv2.samples_per_s.toFixed(0)} = ${(best / torchConv2.samples_per_s).toFixed(2)}`);
  } else {
    console.log('\nPyTorch skipped: bench/venv has no torch (scripts/bench.sh --torch sets it up)');
  }
}

if (only === 'training') {
  const { training } = await browserBench();
  printTraining(training, torchRate('conv', 16, 2));
  process.exit(0);
}
if (only === 'ort') {
  const { inPage, ort } = await browserBench();
  printOrt(inPage, ort);
  process.exit(0);
}
if (only === 'panel') {
  printPanel((await browserBench()).panel);
  process.exit(0);
}
if (only === 'startup') {
  const { startup } = await browserBench();
  for (const kind of ['cold', 'warm']) console.log(`navigation → first grid, ${kind}: ${startup[kind].firstGridAt.toFixed(0)} ms (${startupSplit(startup[kind])})`);
  console.log(`runs (cold): ${startup.coldRuns.map((r) => r.firstGridAt.toFixed(0)).join(', ')}; (warm): ${startup.warmRuns.map((r) => r.firstGridAt.toFixed(0)).join(', ')}`);
  process.exit(0);
}

function nativeBench() {
  const hasTorch = torchRate('mlp', 2, 1) !== null;
  const torchNote = hasTorch ? null : 'PyTorch skipped: bench/venv has no torch (scripts/bench.sh --torch sets it up)';
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
          const t = torchRate(arch, latent, threads);
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
const t = b.training;
const rate = (name, cores, build = t.picked) => t.rates[`${name}@${cores}@${build}`].median;
const oursStep = 128 / rate('mlp', 2) * 1000; // ms per step of 128
const oursOneCoreStep = 128 / rate('mlp', 1) * 1000;
const tfjsStep = median(b.theirs.stepMs);
const torchConv2 = native.out['conv 16-D on 1×28×28@2']?.torch ?? null;
/** onnxruntime-web's figures for `model` ('mlp' or 'conv'): grid on 1 and 2 threads, the faster drawing; null when skipped. */
function ortKeys(model) {
  if (b.ort.skipped) return null;
  const [one, two] = [b.ort[1][model], b.ort[2][model]];
  return {
    grid_ms_1_thread: one.grid.median,
    grid_ms_2_threads: two.grid.median,
    drawing_ms: Math.min(one.drawing.median, two.drawing.median),
    cross_origin_isolated: two.isolated,
    grid_max_abs_diff_vs_candle: Math.max(one.maxDiff, two.maxDiff),
  };
}
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
    first_grid_ms: b.startup.cold.firstGridAt,
    first_grid_ms_warm: b.startup.warm.firstGridAt,
    warm_first_grid_ms: b.startup.warm.firstGridAt,
    train_cores_auto: b.panel.coresAuto,
    train_samples_per_s_auto: b.panel.coresAuto ? rate('mlp', b.panel.coresAuto) : null,
    train_speedup_two_cores: rate('mlp', 2) / rate('mlp', 1),
    panel_samples_per_s: b.panel.samplesPerS,
    longest_task_ms_training: b.panel.training.longestTaskMs,
    frame_p99_ms_training: b.panel.training.frameP99Ms,
    longest_task_ms_zooming: b.panel.zooming.longestTaskMs,
    frame_p99_ms_zooming: b.panel.zooming.frameP99Ms,
    startup: b.startup,
    tfjs: {
      grid_ms: b.inPage.tfjs.grid.median,
      drawing_ms: b.inPage.tfjs.drawing.median,
      train_samples_per_s: 128 / (tfjsStep / 1000),
      backend: b.inPage.tfjs.backend,
      conv_train_samples_per_s: 128 / (median(b.conv.theirs.stepMs) / 1000),
    },
    conv: { train_samples_per_s: rate('conv', 2), train_samples_per_s_one_core: rate('conv', 1), grid_ms: b.conv.inPage.ours.grid.median },
    ort: ortKeys('mlp'),
  },
  conv_browser: {
    grid_ms: b.conv.inPage.ours.grid.median,
    grid_ms_one_core: b.conv.inPage.ours.gridOneCore.median,
    drawing_ms: b.conv.inPage.ours.drawing.median,
    train_samples_per_s: rate('conv', 2),
    train_samples_per_s_one_core: rate('conv', 1),
    grid_max_abs_diff_vs_tfjs: b.conv.inPage.maxDiff,
    tfjs: {
      grid_ms: b.conv.inPage.tfjs.grid.median,
      drawing_ms: b.conv.inPage.tfjs.drawing.median,
      train_samples_per_s: 128 / (median(b.conv.theirs.stepMs) / 1000),
      train_loss_first_last: [b.conv.theirs.firstLoss, b.conv.theirs.lastLoss],
      train_backend: b.conv.theirs.backend,
      train_wasm_error: b.conv.theirs.wasmError ?? null,
    },
    ort: ortKeys('conv'),
  },
  native: { train_samples_per_s: native.out, note: native.torchNote },
  ort_note: b.ort.skipped ?? null,
  wasm: { bytes: wasmBytes, gzip_bytes: wasmGzip, peak_memory_mb: t.rates[`mlp@2@${t.picked}`].memoryBytes / 2 ** 20, relaxed_simd_used: t.picked === 'relaxed' },
  training_by_build: Object.fromEntries(Object.entries(t.rates).map(([k, v]) => [k, v.median])),
  wasm_build: t.picked,
};
if (!browserOnly) writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

/** Where a start-up's time went: each mark's share, as ms since the one before it. */
function startupSplit(s) {
  const steps = [['app module', s.appAt, 0], ['wasm ready', s.engineAt, s.appAt], ['model parsed', s.modelAt, s.engineAt],
    ['grid painted', s.firstGridAt, s.modelAt]];
  const parts = steps.map(([name, at, since]) => `${name} +${(at - since).toFixed(0)}`);
  return `${parts.join(', ')}; model bytes in at ${s.modelBytesAt.toFixed(0)}${s.scatterAt ? `, scatter at ${s.scatterAt.toFixed(0)}` : ''}`;
}
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
  ['(d) navigation → first grid, cold', `${results.browser.first_grid_ms.toFixed(0)} ms (${startupSplit(b.startup.cold)})`, '', ''],
  ['(d) the same, warm (reload, service worker installed; it fetches network-first)', `${results.browser.first_grid_ms_warm.toFixed(0)} ms (${startupSplit(b.startup.warm)})`, '', ''],
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
printOrt({ mlp: b.inPage, conv: b.conv.inPage }, b.ort);
printPanel(b.panel);
console.log('');
printTraining(t);
console.log('\n| native training, batch 128 | vae (samples/s) | PyTorch CPU (samples/s) | vae / PyTorch |\n|---|---|---|---|');
for (const [key, v] of Object.entries(native.out)) {
  const [arch, threads] = key.split('@');
  console.log(`| ${arch}, ${threads} thread${threads === '1' ? '' : 's'} | ${v.vae.toFixed(0)} (${(v.vae * v.gflop_per_sample).toFixed(1)} GFLOP/s) | ${v.torch ? v.torch.toFixed(0) : 'skipped'} | ${v.torch ? (v.vae / v.torch).toFixed(2) : ''} |`);
}
if (native.torchNote) console.log(`\n${native.torchNote}`);
console.log(`\nwasm: ${(wasmBytes / 1024).toFixed(0)} KiB, ${(wasmGzip / 1024).toFixed(0)} KiB gzipped; wasm memory of the two training workers together ${results.wasm.peak_memory_mb.toFixed(0)} MiB`);
if (!browserOnly) console.log('wrote bench/results.json');
