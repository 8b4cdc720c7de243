// In-tab training, end to end in headless Chromium: training from scratch (held-out loss falls, the
// latent grid changes, the main thread stays responsive, the sliders keep decoding), pause and
// resume, downloading the weights and checking them with the native `vae eval`, loading broken and
// valid weights files, and fine-tuning a shipped model. One server and one page for the whole file;
// the tests run in order (each builds on the state the previous one left) and each ends by checking
// that nothing went wrong in the page (console errors, uncaught exceptions, CSP violations,
// off-origin requests).
//
// Measured numbers quoted below are from Chromium 156 on a 2-core machine (in-tab trainer at
// 784-256-4, batch 128, two cores: about 9,800 samples/s, less when other work shares the machine).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, openApp, ROOT, VAE_BIN } from './harness.js';
import { safetensorsHeader, safetensorsTensors } from './safetensors.js';

// The training run of test 1. L and H differ from both shipped models (784-512-2, 784-512-16) so
// that a downloaded file can only match them if it really holds the weights trained in this tab.
const LATENT = 4;
const HIDDEN = 256;
const SUBSET = 10000;
const EPOCHS = 50; // 50 × 79 steps: far more than the ~20 s the test trains for
const TRAIN_SECONDS = 20;

// Held-out −ELBO (nats, on the first 1,000 test images) of the freshly initialised 784-256-4
// model: measured 551.3 (seed 0, so the same every run). After 20 s of training: measured
// 146.5–153.5 (365–711 steps). On the way it plateaus around 202–208 for a few seconds (the
// model has learned the mean image only). So: a fall of at least 300 nats (measured ~400) and an
// end value of at most 190, which needs more than the mean image.
const MIN_HELDOUT_DROP = 300;
const MAX_HELDOUT_AFTER = 190;
// The init value must look like an untrained model (an accidental fine-tune would start ≤ 200).
const MIN_HELDOUT_AT_INIT = 400;
// Mean absolute grey-level difference (0–255) of the 560×560 latent grid between the untrained
// model's grid (nearly uniform mid-grey) and the grid after 20 s (digits on black): measured
// 93–101. Half of that is the bar.
const MIN_GRID_CHANGE = 50;
// A main-thread task longer than this during training is a "long task" (the RAIL budget).
// Measured with `node bench/trace-training.js 20 --test-settings` (2 cores, cores auto): the main
// thread busy ~20% of the time, its longest tasks 25–45 ms. They are that long because the main
// thread waits for a core (CPU time 10–25 ms): so the training worker also decodes the grid while
// it trains (the grid workers would need a third and fourth core) and the scatter is rasterised in
// wasm (filling paths took up to 20 ms).
const LONG_TASK_MS = 50;
// The bound the test holds on a busy 2-core machine: a single task just over 50 ms comes from the
// main thread waiting for a core (seen at 55–58 ms in about one run in ten of the full suite,
// CPU time 12–25 ms), so at most MAX_LONG_TASKS of them are allowed, and none over GROSS_TASK_MS.
// The regressions it is for are far above that: one conv grid decoded on the main thread takes
// 100–160 ms here, and it would come every half second of training.
const MAX_LONG_TASKS = 2;
const GROSS_TASK_MS = 100;
// Fine-tuning the shipped 2-D model: its held-out −ELBO on those 1,000 images is ~148 (the file's
// own metadata says 147.6 on all 10,000), a fresh model starts at ~540.
const MAX_FINETUNE_START = 200;

let server;
let browser;
let page;
let problems;
let tmp;
/** Long tasks during test 1's training window: { windowMs, tasks: [{ at, ms }] }. */
let longTasks;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vae-training-test-'));
  server = await startServer();
  browser = await launchBrowser();
  ({ page, problems } = await openApp(browser.context, server.url));
  await page.evaluate(async () => {
    // The app's own wasm module (same URL, so the same, already initialised instance).
    window.__vae = await import('/pkg/vae.js');
    const T = {};
    /** Grey levels (red channel) of the canvas with data-testid `id`. */
    T.grey = (id) => {
      const c = document.querySelector(`[data-testid="${id}"]`);
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const g = new Uint8Array(d.length / 4);
      for (let i = 0; i < g.length; i++) g[i] = d[4 * i];
      return g;
    };
    T.meanAbsDiff = (a, b) => {
      if (a.length !== b.length) return Infinity;
      let s = 0;
      for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
      return s / a.length;
    };
    T.frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
    /** Records every text the element with `id` shows, with the time, from now on. */
    T.watchText = (id) => {
      const el = document.getElementById(id);
      const log = [];
      log.observer = new MutationObserver(() => log.push({ t: performance.now(), text: el.textContent }));
      log.observer.observe(el, { childList: true, characterData: true, subtree: true });
      return log;
    };
    window.__t = T;
  });
});

after(async () => {
  await browser?.close();
  server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers

const byId = (id) => page.locator(`#${id}`);
const tid = (id) => page.locator(`[data-testid="${id}"]`);
const text = async (id) => (await tid(id).textContent()).trim();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** The step counter: `step` of "step / total" in #train-step. */
async function step() {
  const m = (await byId('train-step').textContent()).match(/^(\d+) \/ (\d+)$/);
  assert.ok(m, 'train-step shows "step / total"');
  return Number(m[1]);
}
/** Held-out values (numbers) the page has shown since `watchHeldout()` was called. */
const heldoutLog = () => page.evaluate(() => window.__heldout.map((e) => ({ t: e.t, value: Number(e.text) }))
  .filter((e) => Number.isFinite(e.value)));
const watchHeldout = () => page.evaluate(() => { window.__heldout = window.__t.watchText('train-heldout'); });

/** Asserts that the status line shows an error mentioning `pattern`. */
async function assertStatusError(pattern) {
  await page.waitForFunction(() => document.getElementById('status').classList.contains('error'), null, { timeout: 5000 });
  const status = await text('status');
  assert.match(status, pattern, `status: ${status}`);
}

/**
 * Moves latent slider 0 with the keyboard (End, or Home when it is already at the end) and
 * measures in the page how many animation frames pass until decoded-canvas shows the new z.
 * Returns { frames, changed, label, ms }: frames is 1 or 2 when the canvas was repainted with
 * the slider's z within two frames, null when it was not.
 */
async function moveSlider() {
  const slider = tid('latent-slider-0');
  await slider.focus();
  const atEnd = Number(await slider.inputValue()) >= 4;
  const key = atEnd ? 'Home' : 'End';
  const target = atEnd ? '-4.00' : '4.00';
  await page.evaluate((target) => {
    const T = window.__t;
    const slider = document.getElementById('latent-slider-0');
    window.__slider = new Promise((resolve) => {
      // Registered after the app's own listener, so the app has already asked for its repaint.
      slider.addEventListener('input', async () => {
        const t0 = performance.now();
        const before = T.grey('decoded-canvas');
        for (let frame = 1; frame <= 2; frame++) {
          await T.frame();
          const changed = T.meanAbsDiff(before, T.grey('decoded-canvas'));
          const label = document.getElementById('decoded-label').textContent;
          if (changed > 0 && label.startsWith(`z = (${target}`)) {
            resolve({ frames: frame, changed, label, ms: performance.now() - t0 });
            return;
          }
        }
        resolve({ frames: null, changed: T.meanAbsDiff(before, T.grey('decoded-canvas')),
          label: document.getElementById('decoded-label').textContent, ms: performance.now() - t0 });
      }, { once: true });
    });
  }, target);
  await page.keyboard.press(key);
  const result = await page.evaluate(() => window.__slider);
  assert.equal(await slider.inputValue(), String(Number(target)), `${key} moves the slider to ${target}`);
  return result;
}

async function assertSliderDecodes(when) {
  const r = await moveSlider();
  assert.ok(r.frames !== null,
    `${when}: decoded-canvas shows the slider's z within two frames (mean change ${r.changed.toFixed(1)}, label "${r.label}")`);
  return r;
}

/** A .safetensors file: `tensors` = [[name, shape, Float32Array]], optional string metadata. */
function safetensors(tensors, metadata) {
  const header = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  out.write(json, 8, 'utf8');
  let at = 8 + json.length;
  for (const [, , data] of tensors) {
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, at);
    at += data.byteLength;
  }
  return out;
}

/** A valid 784-H-L VAE in PyTorch layout with small deterministic weights. */
function tinyVae(L = 1, H = 4, rename = {}) {
  let seed = 1;
  const fill = (n) => Float32Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed / 2 ** 32 - 0.5) * 0.1;
  });
  const shapes = [
    ['encoder.0.weight', [H, 784]], ['encoder.0.bias', [H]], ['encoder.2.weight', [2 * L, H]], ['encoder.2.bias', [2 * L]],
    ['decoder.0.weight', [H, L]], ['decoder.0.bias', [H]], ['decoder.2.weight', [784, H]], ['decoder.2.bias', [784]],
  ];
  return safetensors(shapes.map(([name, shape]) => [rename[name] ?? name, shape, fill(shape.reduce((a, b) => a * b, 1))]),
    { latent: String(L), hidden: String(H), dataset: 'mnist' });
}

const PYTORCH_NAMES = ['decoder.0.bias', 'decoder.0.weight', 'decoder.2.bias', 'decoder.2.weight',
  'encoder.0.bias', 'encoder.0.weight', 'encoder.2.bias', 'encoder.2.weight'];

// ---------------------------------------------------------------------------------------------
// Tests

test('training from scratch lowers the held-out loss, changes the grid and keeps the page responsive', async () => {
  await tid('train-subset').selectOption(String(SUBSET));
  await tid('train-epochs').fill(String(EPOCHS));
  await tid('train-latent').selectOption(String(LATENT));
  await tid('train-hidden').fill(String(HIDDEN));
  await tid('train-seed').fill('0');
  await tid('train-finetune').setChecked(false);
  assert.equal(await tid('train-dataset').inputValue(), 'mnist');

  // Instruments, installed before Start: long tasks, every held-out value, and the grid of the
  // untrained model (grabbed the first time the trained-in-tab model's grid is completely painted;
  // the worker posts the initial weights before its first step and the next ones ~0.5 s later).
  await watchHeldout();
  await page.evaluate(() => {
    window.__longtasks = [];
    window.__longtaskObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration });
    });
    window.__longtaskObserver.observe({ type: 'longtask', buffered: true });
    const paints = window.vaeMetrics.gridPaints;
    window.__initGrid = null;
    const poll = () => {
      if (document.getElementById('model-select').value === 'trained-in-tab.safetensors' && window.vaeMetrics.gridPaints > paints) {
        window.__initGrid = { px: window.__t.grey('latent-grid'), step: document.getElementById('train-step').textContent };
      } else requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
    document.querySelector('[data-testid=train-start]').addEventListener('click', () => {
      window.__clickedAt = performance.now();
      window.__gridsAtStart = { workers: window.vaeMetrics.gridsFromWorkers, trainer: window.vaeMetrics.gridsFromTrainer };
    }, { once: true });
  });

  await tid('train-start').click();
  // The first held-out value is posted right after the initial weights, before any step.
  await page.waitForFunction(() => window.__heldout.some((e) => Number.isFinite(Number(e.text))), null, { timeout: 30000 });
  const [first] = await heldoutLog();
  const loadSeconds = (first.t - await page.evaluate(() => window.__clickedAt)) / 1000;
  assert.ok(first.value >= MIN_HELDOUT_AT_INIT, `held-out −ELBO at init ${first.value} looks untrained (≥ ${MIN_HELDOUT_AT_INIT})`);
  assert.match(await text('status'), new RegExp(`^Training 784-${HIDDEN}-${LATENT} on ${SUBSET} images`));

  await page.waitForFunction(() => window.__initGrid, null, { timeout: 10000 });
  const initStep = await page.evaluate(() => window.__initGrid.step);

  // Halfway through, a slider move must still be decoded within a frame or two.
  await sleep((TRAIN_SECONDS / 2) * 1000);
  const sliderDuringTraining = await assertSliderDecodes('while training');
  const throughput = Number(await text('train-throughput'));
  assert.ok(Number.isFinite(throughput) && throughput > 0, `train-throughput shows a positive number: ${await text('train-throughput')}`);

  // The first held-out value posted ≥ 20 s after the initial one (they come every ~3 s).
  await page.waitForFunction(({ t0, seconds }) => window.__heldout.some((e) => Number.isFinite(Number(e.text)) && e.t - t0 >= seconds * 1000),
    { t0: first.t, seconds: TRAIN_SECONDS }, { timeout: (TRAIN_SECONDS + 15) * 1000 });
  const log = await heldoutLog();
  const last = log.find((e) => e.t - first.t >= TRAIN_SECONDS * 1000);
  const stepsDone = await step();

  // The grid: compare the untrained model's with the current one (after a complete repaint).
  await page.waitForFunction((n) => window.vaeMetrics.gridPaints > n, await page.evaluate(() => window.vaeMetrics.gridPaints), { timeout: 5000 });
  const gridChange = await page.evaluate(() => window.__t.meanAbsDiff(window.__initGrid.px, window.__t.grey('latent-grid')));

  // Long tasks from the click on Start to now: the whole training window, start-up included.
  longTasks = await page.evaluate(() => {
    const from = window.__clickedAt;
    const tasks = window.__longtasks.filter((e) => e.start + e.duration >= from)
      .map((e) => ({ at: Math.round(e.start - from), ms: Math.round(e.duration) }));
    return { windowMs: performance.now() - from, tasks };
  });
  longTasks.load = loadavg()[0].toFixed(1);
  // Cores are on auto (the default): the panel says what it timed and chose.
  longTasks.workers = await text('train-workers');
  assert.match(longTasks.workers, /^Cores auto: (one worker|two workers)\. Measured on this run's first steps: one worker [\d,]+ samples\/s, two workers [\d,]+ \(\d+\.\d\d×\)/,
    `the training panel shows the timed choice of workers: "${longTasks.workers}"`);
  const maxLongTask = Math.max(0, ...longTasks.tasks.map((e) => e.ms));

  console.log(`# training from scratch (784-${HIDDEN}-${LATENT}, ${SUBSET} images): data load + init ${loadSeconds.toFixed(1)} s; `
    + `held-out −ELBO ${first.value} at init → ${last.value} after ${((last.t - first.t) / 1000).toFixed(1)} s `
    + `(${log.map((e) => e.value).join(' → ')}); ${stepsDone} steps; throughput ${throughput} samples/s; `
    + `grid change ${gridChange.toFixed(1)}/255 (init grid at step "${initStep}"); slider repaint in ${sliderDuringTraining.frames} frame(s) `
    + `(${sliderDuringTraining.ms.toFixed(1)} ms); long tasks in the ${(longTasks.windowMs / 1000).toFixed(1)} s window: `
    + `${longTasks.tasks.length}, max ${maxLongTask} ms; 1-min load average ${longTasks.load}; ${longTasks.workers}`);

  assert.ok(first.value - last.value >= MIN_HELDOUT_DROP,
    `held-out −ELBO fell by ≥ ${MIN_HELDOUT_DROP} nats: ${first.value} → ${last.value}`);
  assert.ok(last.value <= MAX_HELDOUT_AFTER, `held-out −ELBO after ${TRAIN_SECONDS} s ≤ ${MAX_HELDOUT_AFTER}: ${last.value}`);
  assert.ok(gridChange >= MIN_GRID_CHANGE, `latent grid changed by ≥ ${MIN_GRID_CHANGE}/255 on average: ${gridChange.toFixed(1)}`);
  // While it trains, the training worker decodes the grids; the two grid workers stay idle.
  const grids = await page.evaluate(() => ({ workers: window.vaeMetrics.gridsFromWorkers - window.__gridsAtStart.workers,
    trainer: window.vaeMetrics.gridsFromTrainer - window.__gridsAtStart.trainer }));
  assert.ok(grids.trainer >= TRAIN_SECONDS, `the training worker decoded the grid about twice a second: ${grids.trainer} grids`);
  assert.equal(grids.workers, 0, 'no grid went to the grid workers while training ran');
  assert.deepEqual(problems, []);
});

test(`at most ${MAX_LONG_TASKS} main-thread tasks over ${LONG_TASK_MS} ms while training, none over ${GROSS_TASK_MS} ms`, async () => {
  assert.ok(longTasks, 'the training test recorded the long tasks of its window');
  // The observer itself works in this browser: a deliberate 80 ms task is reported. (It runs from
  // a timer: code run directly by page.evaluate is not an event-loop task and is never reported.)
  const observed = await page.evaluate(async () => {
    const t0 = await new Promise((resolve) => setTimeout(() => {
      const start = performance.now();
      while (performance.now() - start < 80) { /* busy */ }
      resolve(start);
    }, 0));
    // Entry times are coarsened (to ~0.1 ms and 1 ms), hence the slack.
    const covers = (e) => Math.abs(e.start - t0) <= 5 && e.duration >= 75;
    for (let i = 0; i < 20 && !window.__longtasks.some(covers); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    return window.__longtasks.some(covers);
  });
  assert.ok(observed, 'the long-task observer reports a deliberate 80 ms task');
  const over = longTasks.tasks.filter((e) => e.ms > LONG_TASK_MS);
  const max = Math.max(0, ...longTasks.tasks.map((e) => e.ms));
  if (over.length) console.log(`# ${over.length} main-thread task(s) over ${LONG_TASK_MS} ms (max ${max} ms) while training`);
  assert.ok(over.length <= MAX_LONG_TASKS && max <= GROSS_TASK_MS, `${over.length} main-thread task(s) over ${LONG_TASK_MS} ms in the ${(longTasks.windowMs / 1000).toFixed(1)} s `
    + `training window (max ${max} ms); ms after Start → duration: ${over.map((e) => `${e.at}→${e.ms}`).join(', ')}; `
    + `1-min load average ${longTasks.load} on ${availableParallelism()} cores; training: ${longTasks.workers}`);
  assert.deepEqual(problems, []);
});

test('pause stops the step counter and resume continues it', async () => {
  assert.equal(await text('train-pause'), 'Pause');
  await tid('train-pause').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=train-pause]').textContent === 'Resume', null, { timeout: 5000 });
  assert.equal(await tid('train-pause').getAttribute('aria-pressed'), 'true');
  assert.match(await text('status'), /^Training paused at step \d+\./);
  const paused = await step();
  await sleep(1500);
  assert.equal(await step(), paused, 'the step counter stays put for 1.5 s while paused');

  await tid('train-pause').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=train-pause]').textContent === 'Pause', null, { timeout: 5000 });
  await page.waitForFunction((s) => {
    const m = document.getElementById('train-step').textContent.match(/^(\d+) \//);
    return m && Number(m[1]) > s;
  }, paused, { timeout: 5000 });
  console.log(`# paused at step ${paused}; resumed to ${await step()}`);
  assert.deepEqual(problems, []);
});

test('the downloaded weights load in the native `vae eval` and carry the PyTorch names and metadata', async () => {
  // Pause so the file is the model the page shows; it must still be the one trained here.
  await tid('train-pause').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=train-pause]').textContent === 'Resume', null, { timeout: 5000 });
  const [download] = await Promise.all([page.waitForEvent('download'), tid('weights-download').click()]);
  assert.equal(download.suggestedFilename(), `vae-784-${HIDDEN}-${LATENT}.safetensors`);
  const path = join(tmp, download.suggestedFilename());
  await download.saveAs(path);
  const bytes = readFileSync(path);

  const header = safetensorsHeader(bytes);
  const names = Object.keys(header).filter((k) => k !== '__metadata__').sort();
  assert.deepEqual(names, PYTORCH_NAMES);
  assert.deepEqual(header['encoder.2.weight'].shape, [2 * LATENT, HIDDEN]);
  assert.deepEqual(header['decoder.2.weight'].shape, [784, HIDDEN]);
  const meta = header.__metadata__;
  assert.ok(meta, 'the header has __metadata__');
  for (const key of ['dataset', 'latent', 'hidden', 'beta', 'epochs']) assert.ok(key in meta, `__metadata__ has ${key}: ${JSON.stringify(meta)}`);
  assert.equal(meta.dataset, 'mnist');
  assert.equal(meta.latent, String(LATENT));
  assert.equal(meta.hidden, String(HIDDEN));
  assert.equal(Number(meta.beta), 1);
  assert.equal(meta.trained_in, 'browser');

  const result = JSON.parse(execFileSync(VAE_BIN, ['eval', '--weights', path, '--json'], { encoding: 'utf8', timeout: 60000 }));
  console.log(`# downloaded ${bytes.length} bytes; vae eval: ${JSON.stringify(result)}; metadata ${JSON.stringify(meta)}`);
  assert.ok(Number.isFinite(result.neg_elbo), `neg_elbo is a finite number: ${result.neg_elbo}`);
  // The same model on all 10,000 test images as in the page on 1,000 of them (measured ~170).
  assert.ok(result.neg_elbo < MAX_HELDOUT_AFTER, `the downloaded model is trained: neg_elbo ${result.neg_elbo} < ${MAX_HELDOUT_AFTER}`);
  assert.equal(result.latent, LATENT);
  assert.equal(result.hidden, HIDDEN);
  assert.equal(result.n, 10000);

  // Stop the worker: the trained model stays the active one.
  await tid('train-reset').click();
  await page.waitForFunction(() => document.getElementById('train-panel').dataset.state === 'idle');
  assert.equal(await text('train-heldout'), '–');
  assert.deepEqual(problems, []);
});

test('a broken weights file shows an error and leaves the old model working; a valid one becomes active', async () => {
  const model = await tid('model-select').inputValue();
  assert.equal(model, 'trained-in-tab.safetensors');
  const sliders = await page.locator('#sliders input[type=range]').count();
  assert.equal(sliders, LATENT);

  // Sanity check of the file builder: the untouched tiny file is a valid model for the app's wasm.
  const tiny = tinyVae();
  const tinyOk = await page.evaluate((bytes) => {
    const m = new window.__vae.Model(new Uint8Array(bytes));
    const shape = [m.latentSize, m.hiddenSize];
    m.free();
    return shape;
  }, [...tiny]);
  assert.deepEqual(tinyOk, [1, 4], 'the tiny 784-4-1 file built here is valid');

  let seed = 7;
  const garbage = Buffer.from(Array.from({ length: 4096 }, () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 16) & 255; }));
  const cases = [
    { name: 'garbage.safetensors', buffer: garbage, reason: /not a valid \.safetensors file/ },
    { name: 'truncated.safetensors', buffer: readFileSync(join(ROOT, 'www/models/mnist-2d.safetensors')).subarray(0, 1000), reason: /not a valid \.safetensors file/ },
    { name: 'renamed.safetensors', buffer: tinyVae(1, 4, { 'encoder.0.weight': 'encoder.1.weight' }), reason: /encoder\.1\.weight/ },
  ];
  for (const c of cases) {
    await tid('weights-file').setInputFiles({ name: c.name, mimeType: 'application/octet-stream', buffer: c.buffer });
    await assertStatusError(new RegExp(`cannot load ${c.name.replace('.', '\\.')}.*${c.reason.source}`));
    console.log(`# ${c.name}: status "${await text('status')}"`);
    assert.equal(await tid('model-select').inputValue(), model, `${c.name}: the model choice is unchanged`);
    assert.equal(await page.locator('#sliders input[type=range]').count(), sliders, `${c.name}: the sliders are unchanged`);
    await assertSliderDecodes(`after ${c.name}`);
  }

  const valid = readFileSync(join(ROOT, 'www/models/mnist-16d.safetensors'));
  await tid('weights-file').setInputFiles({ name: 'mnist-16d.safetensors', mimeType: 'application/octet-stream', buffer: valid });
  await page.waitForFunction(() => document.querySelectorAll('#sliders input[type=range]').length === 16, null, { timeout: 10000 });
  const status = await text('status');
  assert.match(status, /^Loaded mnist-16d\.safetensors: 784-512-16\. It is the active model, and kept in the library\./);
  assert.equal(await tid('status').evaluate((el) => el.classList.contains('error')), false);
  // A loaded file named like a shipped model gets its own entry and never shadows the shipped one.
  assert.equal(await tid('model-select').inputValue(), 'mnist-16d (loaded).safetensors');
  assert.equal(await tid('model-select').locator('option[value="mnist-16d.safetensors"]').textContent(), 'MNIST · 16-D latent');
  await assertSliderDecodes('with the loaded 16-D model');
  assert.deepEqual(problems, []);
});

test('fine-tuning starts from the active shipped model', async () => {
  await tid('model-select').selectOption('mnist-2d.safetensors');
  await page.waitForFunction(() => /^Ready: MNIST · 2-D latent/.test(document.getElementById('status').textContent), null, { timeout: 15000 });
  assert.equal(await page.locator('#sliders input[type=range]').count(), 2);

  // The panel still says L = 4, H = 256 from test 1: the file's sizes must win.
  await tid('train-finetune').setChecked(true);
  await tid('train-epochs').fill('1');
  await tid('train-subset').selectOption('1000');
  await watchHeldout();
  await tid('train-start').click();
  await page.waitForFunction(() => window.__heldout.some((e) => Number.isFinite(Number(e.text))), null, { timeout: 30000 });
  const [first] = await heldoutLog();
  await page.waitForFunction(() => document.getElementById('train-panel').dataset.state === 'done', null, { timeout: 30000 });
  const log = await heldoutLog();
  console.log(`# fine-tune of the shipped 2-D model: held-out −ELBO ${log.map((e) => e.value).join(' → ')}; status "${await text('status')}"; `
    + `model-select shows "${await tid('model-select').evaluate((el) => el.selectedOptions[0]?.text)}"`);
  assert.ok(first.value < MAX_FINETUNE_START, `first held-out −ELBO ${first.value} < ${MAX_FINETUNE_START}: training started from the loaded weights`);
  assert.match(await text('status'), /^Training finished: 1 epochs, 8 steps\./);
  assert.equal(await tid('model-select').inputValue(), 'trained-in-tab.safetensors');
  assert.equal(await page.locator('#sliders input[type=range]').count(), 2, 'the fine-tuned model keeps the shipped model\'s L = 2');
  await assertSliderDecodes('with the fine-tuned model');
  assert.deepEqual(problems, []);
});

test('training on two cores (two workers swapping half-batch gradients) gives the weights one core gives', async () => {
  // 2 epochs of 1,000 images at batch 128: 16 steps, each epoch ending with a batch of 104. From
  // scratch, a seed of its own, and the fine-tuned model of the last test must not leak in.
  await tid('train-finetune').setChecked(false);
  await tid('train-subset').selectOption('1000');
  await tid('train-epochs').fill('2');
  await tid('train-latent').selectOption('2');
  await tid('train-hidden').fill('128');
  await tid('train-seed').fill('7');
  const trained = {};
  for (const cores of ['1', '2']) {
    await tid('train-reset').click();
    await tid('train-cores').selectOption(cores);
    await tid('train-start').click();
    await page.waitForFunction(() => /^Training 784-128-2 on 1000 images/.test(document.getElementById('status').textContent), null, { timeout: 30000 });
    const started = await text('status');
    assert.match(started, cores === '2' ? /in two workers \(both cores\)/ : /in a worker\./, started);
    await page.waitForFunction(() => document.getElementById('train-panel').dataset.state === 'done', null, { timeout: 60000 });
    assert.match(await text('status'), /^Training finished: 2 epochs, 16 steps\./);
    const [download] = await Promise.all([page.waitForEvent('download'), tid('weights-download').click()]);
    const path = join(tmp, `cores-${cores}.safetensors`);
    await download.saveAs(path);
    trained[cores] = safetensorsTensors(readFileSync(path));
  }
  const names = Object.keys(trained['1']).sort();
  assert.deepEqual(names, PYTORCH_NAMES);
  const worst = names.map((name) => {
    const [a, b] = [trained['1'][name], trained['2'][name]];
    assert.equal(a.length, b.length, name);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    return [name, max];
  });
  console.log(`# largest |one core − two cores| after 16 steps: ${worst.map(([n, m]) => `${n} ${m.toExponential(1)}`).join(', ')}`);
  for (const [name, max] of worst) assert.ok(max < 1e-4, `${name}: the two runs differ by ${max}`);
  assert.deepEqual(problems, []);
});

test('the conv VAE trains in the tab: the held-out loss falls, two cores give one core\'s weights, and the file is the PyTorch module\'s', async () => {
  await tid('train-finetune').setChecked(false);
  await tid('train-arch').selectOption('conv');
  assert.equal(await tid('train-hidden').isDisabled(), true, 'the hidden width is the MLP\'s only');
  await tid('train-subset').selectOption('1000');
  await tid('train-epochs').fill('2');
  await tid('train-latent').selectOption('2');
  await tid('train-seed').fill('3');
  const trained = {};
  for (const cores of ['1', '2']) {
    await tid('train-reset').click();
    await tid('train-cores').selectOption(cores);
    await watchHeldout();
    await tid('train-start').click();
    await page.waitForFunction(() => /^Training conv 2-D on 1×28×28 on 1000 images/.test(document.getElementById('status').textContent), null, { timeout: 30000 });
    await page.waitForFunction(() => document.getElementById('train-panel').dataset.state === 'done', null, { timeout: 120000 });
    assert.match(await text('status'), /^Training finished: 2 epochs, 16 steps\./);
    const log = (await heldoutLog()).map((e) => e.value).filter(Number.isFinite);
    assert.ok(log.length >= 2 && log[0] - log[log.length - 1] > 100, `conv held-out −ELBO on ${cores} core(s): ${log.join(' → ')}`);
    const [download] = await Promise.all([page.waitForEvent('download'), tid('weights-download').click()]);
    const path = join(tmp, `conv-cores-${cores}.safetensors`);
    await download.saveAs(path);
    const bytes = readFileSync(path);
    assert.equal(safetensorsHeader(bytes).__metadata__.arch, 'conv');
    trained[cores] = safetensorsTensors(bytes);
  }
  const names = Object.keys(trained['1']).sort();
  assert.deepEqual(names, ['decoder.0.bias', 'decoder.0.weight', 'decoder.3.bias', 'decoder.3.weight', 'decoder.5.bias', 'decoder.5.weight',
    'encoder.0.bias', 'encoder.0.weight', 'encoder.2.bias', 'encoder.2.weight', 'encoder.5.bias', 'encoder.5.weight']);
  for (const name of names) {
    const [a, b] = [trained['1'][name], trained['2'][name]];
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    assert.ok(max < 1e-4, `conv ${name}: one and two cores differ by ${max}`);
  }
  await tid('train-arch').selectOption('mlp');
  assert.deepEqual(problems, []);
});
