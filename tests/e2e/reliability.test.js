// Reliability in the browser: a wasm panic on the main thread or in the training worker is caught
// and the engine or worker replaced; a diverging run (lr = 10) pauses, restores its last good
// weights and halves the learning rate; the page's content policy is strict and enforced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startApp } from './harness.js';

let app;
let page;
let problems;

before(async () => {
  app = await startApp('?debug');
  ({ page, problems } = app);
});

after(async () => {
  await app?.close();
});

const status = () => page.locator('[data-testid=status]').textContent();
const decodedPixels = () => page.evaluate(() => {
  const c = document.querySelector('[data-testid=decoded-canvas]');
  return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
});

/** Problems other than the console lines a deliberate panic prints. */
const unexpected = () => problems.filter((p) => !/deliberate test panic|RuntimeError: unreachable/.test(p));

async function sliderStillDecodes(what) {
  const before = await decodedPixels();
  const slider = page.locator('[data-testid=latent-slider-0]');
  await slider.focus();
  await page.keyboard.press(before.length && (await slider.inputValue()) === '4' ? 'Home' : 'End');
  await page.waitForFunction((b) => {
    const c = document.querySelector('[data-testid=decoded-canvas]');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return d.some((v, i) => v !== b[i]);
  }, before, { timeout: 5000 });
  assert.ok(true, `${what}: a slider move still decodes`);
}

test('a wasm panic on the main thread is caught, shown, and the engine is restarted', async () => {
  await page.evaluate(() => window.vaeDebug.panicMain());
  await page.waitForFunction(() => /Recovered from an internal error/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 15000 });
  assert.match(await status(), /deliberate test panic|unreachable/);
  assert.equal(await page.evaluate(() => window.vaeMetrics.crashes), 1);
  assert.ok(problems.some((p) => /deliberate test panic/.test(p)), 'the panic message reached the console (panic hook)');
  await sliderStillDecodes('after the restart');
  // The grid repaints with the new instance.
  const paints = await page.evaluate(() => window.vaeMetrics.gridPaints);
  await page.click('[data-testid=reset-view]');
  await page.waitForFunction((n) => window.vaeMetrics.gridPaints > n, paints);
  assert.deepEqual(unexpected(), []);
});

test('a diverging run (lr = 10) pauses, restores its last good weights and halves the learning rate', async () => {
  await page.selectOption('[data-testid=train-subset]', '1000');
  await page.fill('[data-testid=train-lr]', '10');
  await page.fill('[data-testid=train-epochs]', '50');
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(() => /diverged/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 30000 });
  const text = await status();
  assert.match(text, /restored the last good weights and halved the learning rate to 5\.00e\+0/);
  assert.equal(await page.inputValue('[data-testid=train-lr]'), '5');
  assert.equal(await page.locator('[data-testid=train-pause]').textContent(), 'Resume');
  // The restored weights are finite: the explorer still decodes sensible pixels.
  await sliderStillDecodes('after divergence');
  // NaN weights would decode to NaN intensities, which a canvas paints black: the decoding has ink
  // and shades of grey, as a digit does.
  const greys = (await decodedPixels()).filter((_, i) => i % 4 === 0);
  assert.ok(greys.some((g) => g > 100), 'the decoded image has ink');
  assert.ok(new Set(greys).size > 10, `the decoded image has shades of grey (${new Set(greys).size} levels)`);
  // Resuming goes on (and may diverge again, halving once more) without breaking the page.
  const step = await page.locator('#train-step').textContent();
  await page.click('[data-testid=train-pause]');
  await page.waitForFunction((s) => document.getElementById('train-step').textContent !== s
    || /diverged/.test(document.querySelector('[data-testid=status]').textContent), step, { timeout: 15000 });
  await page.click('[data-testid=train-reset]');
  assert.deepEqual(unexpected(), []);
});

test('a panic in the training worker is caught and the worker replaced; training starts again', async () => {
  await page.fill('[data-testid=train-lr]', '0.001');
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(() => /^\d+ \//.test(document.getElementById('train-step').textContent), null, { timeout: 30000 });
  await page.evaluate(() => window.vaeDebug.panicWorker());
  await page.waitForFunction(() => /training worker crashed/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 15000 });
  assert.equal(await page.locator('[data-testid=train-start]').textContent(), 'Start');
  await sliderStillDecodes('after the worker crash');
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(() => /^Training 784/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 30000 });
  const first = await page.locator('#train-step').textContent();
  await page.waitForFunction((s) => document.getElementById('train-step').textContent !== s, first, { timeout: 15000 });
  await page.click('[data-testid=train-reset]');
  assert.deepEqual(unexpected(), []);
});

test('a panic in the helper worker of two-core training is caught, the workers replaced, and training starts again', async () => {
  await page.selectOption('[data-testid=train-cores]', '2');
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(() => /two workers/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 30000 });
  await page.waitForFunction(() => /^\d+ \//.test(document.getElementById('train-step').textContent), null, { timeout: 30000 });
  await page.evaluate(() => window.vaeDebug.panicHelper());
  await page.waitForFunction(() => /training worker crashed \(the helper worker failed/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 15000 });
  assert.equal(await page.locator('[data-testid=train-start]').textContent(), 'Start');
  await sliderStillDecodes('after the helper crash');
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(() => /^Training 784.*two workers/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 30000 });
  const first = await page.locator('#train-step').textContent();
  await page.waitForFunction((s) => document.getElementById('train-step').textContent !== s, first, { timeout: 15000 });
  await page.click('[data-testid=train-reset]');
  assert.deepEqual(unexpected(), []);
});

test('a panic in a grid worker hands grid decoding back to the main thread', async () => {
  const metrics = () => page.evaluate(() => ({ ...window.vaeMetrics }));
  const repaint = async () => {
    const before = (await metrics()).gridPaints;
    await page.click('[data-testid=reset-view]');
    await page.waitForFunction((n) => window.vaeMetrics.gridPaints > n, before, { timeout: 10000 });
  };
  for (let i = 0; i < 20 && !((await metrics()).gridsFromWorkers > 0); i++) await repaint();
  const fromWorkers = (await metrics()).gridsFromWorkers;
  assert.ok(fromWorkers > 0, 'grids come from the grid workers before the panic');
  await page.evaluate(() => window.vaeDebug.panicGridWorker());
  await new Promise((resolve) => setTimeout(resolve, 500));
  const paints = (await metrics()).gridPaints;
  await repaint();
  await repaint();
  const after = await metrics();
  assert.ok(after.gridPaints >= paints + 2, 'the grid keeps being painted');
  assert.equal(after.gridsFromWorkers, fromWorkers, 'by the main thread, once a grid worker failed');
  await sliderStillDecodes('after the grid worker crash');
  assert.deepEqual(unexpected(), []);
});

test('the page has a strict content policy, no inline scripts or handlers, and violations are detected', async () => {
  const html = readFileSync(join(ROOT, 'index.html'), 'utf8');
  const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1] ?? '';
  for (const directive of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'", "object-src 'none'", "base-uri 'none'"]) {
    assert.ok(csp.includes(directive), `CSP has ${directive}`);
  }
  assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'|\*/);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline <script>');
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
  // The policy is enforced, and the harness notices: an injected inline script is blocked and reported.
  const count = problems.length;
  const ran = await page.evaluate(async () => {
    window.injected = false;
    const s = document.createElement('script');
    s.textContent = 'window.injected = true';
    document.body.append(s);
    await new Promise((r) => setTimeout(r, 100));
    return window.injected;
  });
  assert.equal(ran, false, 'the inline script did not run');
  assert.ok(problems.slice(count).some((p) => /CSP violation: script-src/.test(p)), `violation recorded: ${problems.slice(count)}`);
  problems.splice(count);
  assert.deepEqual(unexpected(), []);
});
