// The explorer driven as a person would: drawing with the mouse, the undo and clear buttons, the
// latent sliders from the keyboard, the latent map (grid size, wheel zoom, reset, hover), sampling,
// switching models, and the test-set scatter. One server and one page for the whole file; the
// tests run in order and each one ends by checking that nothing went wrong in the page (console
// errors, uncaught exceptions, CSP violations, off-origin requests).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, drawStrokes, screenshotAllPanels, startApp } from './harness.js';
import { staticModuleGraph } from './module-graph.js';

// Pearson correlation of the 28×28 input with its reconstruction. Measured (Chromium 156): the
// 2-D model gives 0.79 for the "1" and 0.73 for the "0", the 16-D model 0.97–0.99; an input against
// the reconstruction of the *other* digit gives 0.05–0.18. The thresholds sit between the two.
const MIN_CORRELATION_2D = 0.5;
const MIN_CORRELATION_16D = 0.8;

let app;
let page;
let problems;

before(async () => {
  app = await startApp();
  ({ page, problems } = app);
  // The wasm module the app uses (same URL, so the same instance), for computing expectations.
  await page.evaluate(async () => { window.__vae = await import('/pkg/vae.js'); });
});

after(async () => {
  await app?.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers

const line = (a, b, n) => Array.from({ length: n + 1 }, (_, i) => [a[0] + ((b[0] - a[0]) * i) / n, a[1] + ((b[1] - a[1]) * i) / n]);
const ellipse = (cx, cy, rx, ry, n) =>
  Array.from({ length: n + 1 }, (_, i) => [cx + rx * Math.sin((2 * Math.PI * i) / n), cy - ry * Math.cos((2 * Math.PI * i) / n)]);
/** Strokes in the 280×280 drawing canvas's own pixels. */
const ONE = [line([140, 40], [140, 240], 20)];
const ZERO = [ellipse(140, 140, 60, 95, 48)];
const BASE = line([90, 240], [190, 240], 10);

const metrics = () => page.evaluate(() => ({ ...window.vaeMetrics }));

/** Waits `n` animation frames in the page. */
const frames = (n = 2) => page.evaluate((n) => new Promise((resolve) => {
  const step = (k) => (k ? requestAnimationFrame(() => step(k - 1)) : resolve());
  step(n);
}), n);

/** The grey level (red channel) of every pixel of the canvas with data-testid `id`: { width, height, px }. */
const readCanvas = (id) => page.evaluate((id) => {
  const canvas = document.querySelector(`[data-testid="${id}"]`);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const px = new Array(canvas.width * canvas.height);
  for (let i = 0; i < px.length; i++) px[i] = data[4 * i];
  return { width: canvas.width, height: canvas.height, px };
}, id);

function pearson(a, b) {
  assert.equal(a.length, b.length);
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma;
    const y = b[i] - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  assert.ok(saa > 0 && sbb > 0, 'correlation of a constant image is undefined (blank canvas?)');
  return sab / Math.sqrt(saa * sbb);
}

const equal = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
/** Asserts two grey-level images are identical, with a short message (not a 300,000-line diff). */
function assertSameImage(actual, expected, message) {
  assert.equal(actual.length, expected.length, `${message}: size`);
  let differing = 0;
  let worst = 0;
  actual.forEach((v, i) => {
    if (v !== expected[i]) differing += 1;
    worst = Math.max(worst, Math.abs(v - expected[i]));
  });
  assert.ok(differing === 0, `${message}: ${differing} of ${actual.length} pixels differ (max ${worst}/255)`);
}
const inked = (px) => px.filter((v) => v > 0).length;
const meanAbsDiff = (a, b) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

/** Tile (tx, ty) of a grid canvas read with readCanvas: 784 grey levels. */
function tile(grid, tx, ty) {
  const out = [];
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out.push(grid.px[(ty * 28 + y) * grid.width + tx * 28 + x]);
  return out;
}

/**
 * Waits until the input preview shows the model input of what is on the drawing canvas now, and the
 * reconstruction is the current model's reconstruction of that input (both recomputed here with the
 * app's own wasm module and the same weights file); returns { input, recon } grey levels.
 */
async function settledDrawing() {
  await page.waitForFunction(() => {
    const { drawingToInput } = window.__vae;
    const draw = document.querySelector('[data-testid=draw-canvas]');
    const rgba = draw.getContext('2d').getImageData(0, 0, draw.width, draw.height).data;
    const ink = new Uint8Array(draw.width * draw.height);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i + 3];
    const input = drawingToInput(ink, draw.width, draw.height);
    const preview = document.querySelector('[data-testid=input-preview]');
    const shown = preview.getContext('2d').getImageData(0, 0, 28, 28).data;
    for (let i = 0; i < 784; i++) {
      const want = input.length ? Math.round(Math.min(1, Math.max(0, input[i])) * 255) : 0;
      if (shown[4 * i] !== want) return false;
    }
    return true;
  }, null, { timeout: 5000 });
  await frames(1);
  const [input, recon] = [await readCanvas('input-preview'), await readCanvas('recon-canvas')];
  if (inked(input.px) > 0) {
    const expected = await page.evaluate(async () => {
      const { Model, drawingToInput } = window.__vae;
      const draw = document.querySelector('[data-testid=draw-canvas]');
      const rgba = draw.getContext('2d').getImageData(0, 0, draw.width, draw.height).data;
      const ink = new Uint8Array(draw.width * draw.height);
      for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i + 3];
      const file = document.querySelector('[data-testid=model-select]').value;
      const model = new Model(new Uint8Array(await (await fetch(`/www/models/${file}`)).arrayBuffer()));
      try {
        const { mu } = model.encode(drawingToInput(ink, draw.width, draw.height));
        return Array.from(model.decode(mu), (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
      } finally {
        model.free();
      }
    });
    const worst = Math.max(...expected.map((v, i) => Math.abs(v - recon.px[i])));
    assert.ok(worst <= 1, `the reconstruction is the model's reconstruction of the drawing (max diff ${worst}/255)`);
  }
  return { input: input.px, recon: recon.px };
}

/** Draws the given strokes (each a list of [x, y] in drawing-canvas pixels) with the mouse. */
async function draw(strokes) {
  await drawStrokes(page, strokes);
  return settledDrawing();
}

async function clearDrawing() {
  await page.click('[data-testid=clear-button]');
  const { input, recon } = await settledDrawing();
  assert.equal(inked(input), 0, 'the cleared preview is blank');
  assert.equal(inked(recon), 0, 'the cleared reconstruction is blank');
}

async function assertStatusOk() {
  const status = page.locator('[data-testid=status]');
  assert.equal(await status.evaluate((el) => el.classList.contains('error')), false, `status shows an error: ${await status.textContent()}`);
  assert.doesNotMatch(await status.textContent(), /error|failed|cannot/i);
}

/**
 * Runs `action` and waits until the grid has been completely repainted after it (the map paints in
 * bands over several frames; `gridPaints` counts finished grids); returns the grid's pixels.
 */
async function repaint(action) {
  const before = (await metrics()).gridPaints;
  await action();
  await page.waitForFunction((n) => window.vaeMetrics.gridPaints > n, before, { timeout: 10000 });
  return readCanvas('latent-grid');
}

const sliderValues = () => page.$$eval('[data-testid^=latent-slider-]', (inputs) => inputs.map((i) => Number(i.value)));

/** Moves the mouse off the latent map so hovering does not drive the decoded view. */
const mouseAway = () => page.mouse.move(2, 2);

// ---------------------------------------------------------------------------------------------
// Tests

test('index.html preloads every module of the start-up (the import graph of boot.js and app.js) and the wasm glue, and nothing else', async () => {
  const preloaded = await page.evaluate(() => [...document.querySelectorAll('link[rel=modulepreload]')].map((l) => new URL(l.href).pathname.slice(1)));
  const graph = staticModuleGraph(ROOT, ['www/boot.js', 'www/app.js']).filter((m) => m !== 'www/boot.js' && m !== 'www/app.js');
  assert.deepEqual([...preloaded].sort(), [...graph, 'pkg/vae.js'].sort());
  assert.equal(new Set(preloaded).size, preloaded.length, 'each module once');
  // Start-up is timed from navigation: the app's module ran, the wasm was ready, the first model was parsed, then the grid was painted.
  const s = await page.evaluate(() => window.vaeMetrics.startup);
  assert.ok(s.appAt > 0 && s.appAt <= s.engineAt && s.engineAt <= s.modelAt && s.modelAt <= s.firstGridAt, JSON.stringify(s));
  assert.deepEqual(problems, []);
});

test('the page loads the 2-D model and scatters the whole test set', async () => {
  assert.match(await page.textContent('[data-testid=status]'), /^Ready: .*784-512-2\)/);
  await page.waitForFunction(() => window.vaeMetrics.scatterCount === 10000, null, { timeout: 30000 });
  await frames(2);
  const overlayInk = () => page.evaluate(() => {
    const c = document.getElementById('map-overlay');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
  const withScatter = await overlayInk();
  await page.uncheck('#show-scatter');
  await frames(2);
  const without = await overlayInk();
  await page.check('#show-scatter');
  await frames(2);
  assert.ok(withScatter > 20000, `the scatter covers the map (${withScatter} overlay pixels)`);
  assert.ok(without < withScatter / 10, `hiding the test set removes the dots (${without} vs ${withScatter})`);
  assert.equal(await overlayInk(), withScatter);
  await assertStatusOk();
  assert.deepEqual(problems, []);
});

test('drawing a 1 and a 0 reconstructs them; clear blanks both views; undo removes the last stroke', async (t) => {
  await clearDrawing();
  const one = await draw(ONE);
  assert.ok(inked(one.input) >= 20, `the "1" shows in the preview (${inked(one.input)} pixels)`);
  assert.ok(inked(one.recon) >= 100, 'the reconstruction is not blank');
  const r1 = pearson(one.input, one.recon);

  await clearDrawing();
  await assertStatusOk();

  const zero = await draw(ZERO);
  assert.ok(inked(zero.input) >= 60, `the "0" shows in the preview (${inked(zero.input)} pixels)`);
  const r0 = pearson(zero.input, zero.recon);
  const cross = [pearson(one.input, zero.recon), pearson(zero.input, one.recon)];
  t.diagnostic(`correlation input/recon: "1" ${r1.toFixed(3)}, "0" ${r0.toFixed(3)}; crossed ${cross.map((c) => c.toFixed(3))}`);
  assert.ok(r1 > MIN_CORRELATION_2D, `"1": correlation ${r1}`);
  assert.ok(r0 > MIN_CORRELATION_2D, `"0": correlation ${r0}`);
  // The reconstructions are specific to their input, not a generic blob.
  assert.ok(cross.every((c) => c < Math.min(r0, r1) - 0.2), `crossed correlations ${cross} vs ${r0}, ${r1}`);
  assert.ok(!equal(one.recon, zero.recon));

  // Undo after two strokes removes only the second.
  await clearDrawing();
  const first = await draw(ONE);
  const both = await draw([BASE]);
  assert.ok(!equal(first.input, both.input), 'the second stroke changes the input');
  await page.click('[data-testid=undo-button]');
  const undone = await settledDrawing();
  assert.ok(!equal(undone.input, both.input), 'undo changes the preview');
  assert.ok(inked(undone.input) > 0, 'undo keeps the first stroke');
  // Redrawing the kept stroke anti-aliases slightly differently from drawing it live.
  const back = pearson(undone.input, first.input);
  assert.ok(back > 0.97, `after undo the input is the first stroke's again (correlation ${back})`);
  assert.ok(pearson(undone.input, both.input) < back);
  await page.click('[data-testid=undo-button]');
  const empty = await settledDrawing();
  assert.equal(inked(empty.input), 0, 'undoing the only stroke left empties the drawing');
  assert.equal(inked(empty.recon), 0);
  await assertStatusOk();
  assert.deepEqual(problems, []);
});

test('the reconstruction updates while the stroke is being drawn', async () => {
  await clearDrawing();
  const box = await page.locator('[data-testid=draw-canvas]').boundingBox();
  const at = ([x, y]) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  const points = line([140, 40], [140, 240], 8);
  const start = (await metrics()).reconUpdates;
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  const seen = [];
  const recons = [];
  for (const p of points.slice(1)) {
    const n = (await metrics()).reconUpdates;
    await page.mouse.move(...at(p));
    // Still inside the stroke: the button is down.
    await page.waitForFunction((n) => window.vaeMetrics.reconUpdates > n, n, { timeout: 5000 });
    seen.push((await metrics()).reconUpdates);
    recons.push((await readCanvas('recon-canvas')).px);
  }
  await page.mouse.up();
  assert.ok(seen[0] > start, 'the first move already reconstructs');
  assert.ok(seen.length === points.length - 1 && seen.every((v, i) => i === 0 || v > seen[i - 1]), `updates during the stroke: ${seen}`);
  const distinct = new Set(recons.map((r) => r.join(','))).size;
  assert.ok(distinct >= 3, `the reconstruction changes as the stroke grows (${distinct} distinct images)`);
  const last = await metrics();
  assert.ok(last.lastReconMs > 0 && last.lastReconMs < 1000, `lastReconMs = ${last.lastReconMs}`);
  await settledDrawing();
  assert.deepEqual(problems, []);
});

test('the latent sliders work from the keyboard and drive the decoded image', async () => {
  await mouseAway();
  await page.click('#zero-button');
  await page.waitForFunction(() => document.getElementById('decoded-label').textContent === 'z = (0.00, 0.00)');
  await frames(1);
  const atZero = (await readCanvas('decoded-canvas')).px;
  assert.ok(inked(atZero) > 0, 'z = 0 decodes to something');

  const slider = page.locator('[data-testid=latent-slider-0]');
  await slider.focus();
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
  assert.equal(await slider.inputValue(), '0.05');
  await page.waitForFunction(() => document.getElementById('decoded-label').textContent === 'z = (0.05, 0.00)');
  assert.equal(await page.textContent('#sliders output'), '0.05');

  await page.keyboard.press('End');
  assert.equal(await slider.inputValue(), '4');
  await page.waitForFunction(() => document.getElementById('decoded-label').textContent === 'z = (4.00, 0.00)');
  assert.equal(await page.textContent('#sliders output'), '4.00');
  await frames(1);
  const atFour = (await readCanvas('decoded-canvas')).px;
  assert.ok(meanAbsDiff(atZero, atFour) > 5, `z0 = 4 decodes to a different image (mean diff ${meanAbsDiff(atZero, atFour)})`);

  // The decoded image is the model's decoding of the slider values.
  const expected = await page.evaluate(async () => {
    const bytes = new Uint8Array(await (await fetch('/www/models/mnist-2d.safetensors')).arrayBuffer());
    const model = new window.__vae.Model(bytes);
    const image = model.decode(new Float32Array([4, 0]));
    model.free();
    return Array.from(image, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  });
  assertSameImage(atFour, expected, 'the decoded image is decode([4, 0])');

  await page.keyboard.press('Home');
  await page.waitForFunction(() => document.getElementById('decoded-label').textContent === 'z = (-4.00, 0.00)');
  assert.ok(!equal((await readCanvas('decoded-canvas')).px, atFour));
  await assertStatusOk();
  assert.deepEqual(problems, []);
});

test('the latent grid is 20×20 distinct digits and follows the grid size', async () => {
  const grid = await repaint(() => page.click('[data-testid=reset-view]'));
  assert.equal(grid.width, 560);
  assert.equal(grid.height, 560);
  let distinct = 0;
  let blank = 0;
  for (let ty = 0; ty < 20; ty++) {
    for (let tx = 0; tx < 20; tx++) {
      const t = tile(grid, tx, ty);
      if (Math.max(...t) < 64) blank += 1;
      if (tx < 19 && !equal(t, tile(grid, tx + 1, ty))) distinct += 1;
    }
  }
  assert.equal(blank, 0, 'every tile has ink');
  assert.ok(distinct >= 300, `${distinct} of 380 tiles differ from their right neighbour`);
  // Opposite corners of the plane decode to clearly different digits.
  assert.ok(meanAbsDiff(tile(grid, 0, 0), tile(grid, 19, 19)) > 20);

  const setSize = (value, key) => repaint(async () => {
    await page.fill('[data-testid=grid-size]', value);
    await page.press('[data-testid=grid-size]', key);
  });
  const small = await setSize('10', 'Enter');
  assert.equal(small.width, 280);
  assert.equal(small.height, 280);
  let smallBlank = 0;
  for (let ty = 0; ty < 10; ty++) for (let tx = 0; tx < 10; tx++) smallBlank += Math.max(...tile(small, tx, ty)) < 64 ? 1 : 0;
  assert.equal(smallBlank, 0, 'every tile of the 10×10 grid has ink');

  // Out-of-range sizes are clamped, and the field shows the size used.
  const tiny = await setSize('2', 'Tab');
  assert.equal(tiny.width, 140);
  assert.equal(await page.inputValue('[data-testid=grid-size]'), '5');

  const back = await setSize('20', 'Tab');
  assertSameImage(back.px, grid.px, 'back at N = 20 the grid is the same');
  assert.deepEqual(problems, []);
});

test('once the page settles, the grid is decoded on two workers, pixel for pixel what this thread decodes', async () => {
  // The workers start after the first grid; wait until a repaint comes from them.
  let grid;
  for (let i = 0; i < 20 && !((await metrics()).gridsFromWorkers > 0); i++) {
    grid = await repaint(() => page.click('[data-testid=reset-view]'));
  }
  assert.ok((await metrics()).gridsFromWorkers > 0, 'a grid was decoded on the workers');
  grid = await repaint(() => page.click('[data-testid=reset-view]'));
  assert.ok((await metrics()).gridsFromWorkers > 1);
  const expected = await page.evaluate(async () => {
    const bytes = new Uint8Array(await (await fetch('/www/models/mnist-2d.safetensors')).arrayBuffer());
    const model = new window.__vae.Model(bytes);
    const axis = window.__vae.quantileAxis(20);
    const rgba = model.decodeGridRgba(axis, axis, 0, 1, new Float32Array(2));
    model.free();
    return Array.from({ length: rgba.length / 4 }, (_, i) => rgba[4 * i]);
  });
  assertSameImage(grid.px, expected, 'the workers\' grid is the main thread\'s decodeGridRgba of the full view');
  assert.deepEqual(problems, []);
});

test('the wheel zooms the latent map and reset view restores it exactly', async () => {
  const original = await readCanvas('latent-grid');
  const box = await page.locator('[data-testid=latent-grid]').boundingBox();
  // Zoom towards a point off-centre, so the zoomed view is not symmetric to the full one.
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.6);
  const zoomed = await repaint(() => page.mouse.wheel(0, -600));
  assert.equal(zoomed.width, 560, 'zooming keeps the grid size');
  assert.ok(!equal(zoomed.px, original.px), 'zooming changes the grid');
  // Zoomed in, neighbouring tiles are closer to each other than at full view.
  const neighbourDiff = (g) => {
    let s = 0;
    for (let ty = 0; ty < 20; ty++) for (let tx = 0; tx < 19; tx++) s += meanAbsDiff(tile(g, tx, ty), tile(g, tx + 1, ty));
    return s / 380;
  };
  assert.ok(neighbourDiff(zoomed) < neighbourDiff(original), `zoomed ${neighbourDiff(zoomed)} vs ${neighbourDiff(original)}`);
  const { lastGridMs } = await metrics();
  assert.ok(lastGridMs > 0 && lastGridMs < 5000, `lastGridMs = ${lastGridMs}`);

  // Zooming far out stops at the full view, which is the original grid again.
  const out = await repaint(() => page.mouse.wheel(0, 3000));
  assertSameImage(out.px, original.px, 'zoomed out to the full plane');

  // Zoom in again (elsewhere), then reset.
  await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.25);
  const again = await repaint(() => page.mouse.wheel(0, -900));
  assert.ok(!equal(again.px, original.px));
  await mouseAway();
  const reset = await repaint(() => page.click('[data-testid=reset-view]'));
  assertSameImage(reset.px, original.px, 'reset view restores the original grid exactly');
  assert.deepEqual(problems, []);
});

test('hovering the map decodes the point under the pointer', async () => {
  const grid = await readCanvas('latent-grid');
  const box = await page.locator('[data-testid=latent-grid]').boundingBox();
  const centre = (tx, ty) => [box.x + ((tx + 0.5) / 20) * box.width, box.y + ((ty + 0.5) / 20) * box.height];
  const label = () => page.textContent('#decoded-label');
  const seen = [];
  for (const [tx, ty] of [[3, 4], [15, 12]]) {
    const previous = await label();
    await page.mouse.move(...centre(tx, ty));
    await page.waitForFunction((prev) => document.getElementById('decoded-label').textContent !== prev, previous, { timeout: 5000 });
    await frames(1);
    const decoded = (await readCanvas('decoded-canvas')).px;
    const own = meanAbsDiff(decoded, tile(grid, tx, ty));
    const other = meanAbsDiff(decoded, tile(grid, 19 - tx, 19 - ty));
    assert.ok(own < 3, `the decoded image is the tile under the pointer (${tx}, ${ty}): mean diff ${own}`);
    assert.ok(other > 10, `and not the tile opposite (mean diff ${other})`);
    seen.push(decoded);
  }
  assert.ok(!equal(seen[0], seen[1]), 'two points of the map decode differently');
  await mouseAway();
  assert.deepEqual(problems, []);
});

test('sampling z sets the sliders to new values and decodes them', async () => {
  await mouseAway();
  const before = await sliderValues();
  const samples = [];
  for (let i = 0; i < 3; i++) {
    const previous = await sliderValues();
    await page.click('[data-testid=sample-button]');
    const now = await sliderValues();
    assert.equal(now.length, 2);
    assert.ok(now.every((v) => v >= -4 && v <= 4));
    assert.notDeepEqual(now, previous, `sample ${i} moved the sliders`);
    samples.push(now);
  }
  assert.notDeepEqual(samples[0], before);
  const last = samples.at(-1);
  const outputs = await page.$$eval('#sliders output', (els) => els.map((e) => e.textContent));
  assert.deepEqual(outputs, last.map((v) => v.toFixed(2)));
  await page.waitForFunction((text) => document.getElementById('decoded-label').textContent === text,
    `z = (${last.map((v) => v.toFixed(2)).join(', ')})`, { timeout: 5000 });
  assert.deepEqual(problems, []);
});

test('switching to the 16-D model rebuilds the sliders and the map, and drawing still works', async (t) => {
  const paints = (await metrics()).gridPaints;
  await page.selectOption('[data-testid=model-select]', 'mnist-16d.safetensors');
  await page.waitForFunction(() => /784-512-16\)/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 15000 });
  assert.match(await page.textContent('[data-testid=status]'), /^Ready: MNIST · 16-D latent \(784-512-16\)/);
  assert.equal(await page.locator('[data-testid^=latent-slider-]').count(), 16);
  for (let i = 0; i < 16; i++) assert.equal(await page.locator(`[data-testid=latent-slider-${i}]`).count(), 1);
  assert.equal(await page.locator('#dim-x option').count(), 16);
  assert.equal(await page.locator('#dim-x').isDisabled(), false);
  await page.waitForFunction((n) => window.vaeMetrics.gridPaints > n, paints, { timeout: 10000 });
  const grid = await readCanvas('latent-grid');
  let distinct = 0;
  for (let ty = 0; ty < 20; ty++) for (let tx = 0; tx < 19; tx++) distinct += equal(tile(grid, tx, ty), tile(grid, tx + 1, ty)) ? 0 : 1;
  assert.ok(distinct >= 300, `16-D grid: ${distinct} of 380 tiles differ from their right neighbour`);

  // A slider of a dimension that is not on the map's axes moves the whole grid.
  const moved = await repaint(async () => {
    await page.locator('[data-testid=latent-slider-5]').focus();
    await page.keyboard.press('End');
  });
  assert.ok(!equal(moved.px, grid.px), 'z5 = 4 changes the grid');
  await repaint(() => page.click('#zero-button'));

  await clearDrawing();
  const zero = await draw(ZERO);
  const r0 = pearson(zero.input, zero.recon);
  await clearDrawing();
  const one = await draw(ONE);
  const r1 = pearson(one.input, one.recon);
  t.diagnostic(`16-D correlation input/recon: "0" ${r0.toFixed(3)}, "1" ${r1.toFixed(3)}`);
  assert.ok(r0 > MIN_CORRELATION_16D, `"0": correlation ${r0}`);
  assert.ok(r1 > MIN_CORRELATION_16D, `"1": correlation ${r1}`);
  assert.match(await page.textContent('#drawing-latent'), /^μ = \((-?\d+\.\d\d, ){15}-?\d+\.\d\d\)/);

  const updates = (await metrics()).reconUpdates;
  await page.selectOption('[data-testid=model-select]', 'mnist-2d.safetensors');
  await page.waitForFunction(() => /784-512-2\)/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 15000 });
  assert.equal(await page.locator('[data-testid^=latent-slider-]').count(), 2);
  assert.equal(await page.locator('#dim-x').isDisabled(), true);
  // The drawing is re-encoded by the 2-D model.
  await page.waitForFunction((n) => window.vaeMetrics.reconUpdates > n, updates, { timeout: 5000 });
  const again = await settledDrawing();
  assert.ok(pearson(again.input, again.recon) > MIN_CORRELATION_2D);
  assert.match(await page.textContent('#drawing-latent'), /^μ = \(-?\d+\.\d\d, -?\d+\.\d\d\)/);
  await assertStatusOk();
  assert.deepEqual(problems, []);
});

test('screenshot of the explorer with a drawn digit (docs/screenshot.png)', async () => {
  await clearDrawing();
  // A "7": the top bar, then the diagonal.
  await draw([line([75, 55], [205, 55], 12), line([205, 55], [125, 235], 16)]);
  await page.waitForFunction(() => window.vaeMetrics.scatterCount === 10000, null, { timeout: 30000 });
  await page.click('[data-testid=use-drawing]');
  await mouseAway();
  await frames(3);
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  const path = join(ROOT, 'docs', 'screenshot.png');
  await screenshotAllPanels(page, page, path);
  const png = readFileSync(path);
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  // The whole page, at the viewport's width: the PNG header's size against the document's.
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  const page_ = await page.evaluate(() => ({ width: window.innerWidth, height: document.documentElement.scrollHeight, dpr: window.devicePixelRatio }));
  assert.equal(width, Math.round(page_.width * page_.dpr), 'the screenshot is as wide as the viewport');
  assert.ok(height >= Math.round(page_.height * page_.dpr) - 2, `the screenshot is the full page (${height} px for ${page_.height} CSS px)`);
  // What it shows: the drawing's reconstruction has ink.
  const recon = await page.evaluate(() => {
    const c = document.querySelector('[data-testid=recon-canvas]');
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0));
  });
  assert.ok(recon.filter((g) => g > 128).length > 20, 'the screenshot shows the drawing reconstructed');
  await assertStatusOk();
  assert.deepEqual(problems, []);
});
