// Your own pictures, measured: `node bench/pictures.js [N]` writes N (default 10,000) 32×32 colour
// PNGs in two label folders, loads the folder through the page's folder input in headless
// Chromium and prints the time to a ready set (files/s); then trains on the set in the tab
// (3072-512-16 MLP and the conv net, 16-D, one worker, SECONDS each) and prints samples/s beside
// TensorFlow.js (wasm backend, one thread) training the same model in the same browser; with
// --screenshot it trains the conv model SCREENSHOT_SECONDS longer and saves docs/own-pictures.png
// of the explorer on it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, screenshotAllPanels, ROOT } from '../tests/e2e/harness.js';
import { png, colourPicture } from '../tests/e2e/picture-files.js';
import { serveBenchFiles } from './bench-files.js';

const N = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 10000);
const SECONDS = 15;
/** With --screenshot, the conv model trains this much longer before the picture. */
const SCREENSHOT_SECONDS = 120;
const screenshot = process.argv.includes('--screenshot');

const tmp = mkdtempSync(join(tmpdir(), 'vae-bench-pictures-'));
for (let k = 0; k < N; k++) {
  const dir = join(tmp, 'shapes', k % 2 ? 'odd' : 'even');
  if (k < 2) mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `p${String(k).padStart(5, '0')}.png`), png(colourPicture(k), 32, 32));
}
const app = await startApp();
const { page } = app;
page.on('console', (m) => m.text().startsWith('TIMES') && console.log(m.text()));
await serveBenchFiles(app.browser.context, app.server);
try {
  await page.selectOption('[data-testid=images-size]', '32');
  await page.check('[data-testid=images-colour]');
  await page.waitForTimeout(500);
  const t0 = Date.now();
  await page.setInputFiles('[data-testid=images-folder]', join(tmp, 'shapes'));
  await page.waitForFunction((n) => document.querySelector('[data-testid=images-count]').textContent === String(n), N, { timeout: 600000, polling: 20 });
  const seconds = (Date.now() - t0) / 1000;
  const inPage = await page.evaluate(() => window.vaeMetrics.picturesLoadMs / 1000);
  console.log(`  in the page (from the files handed to the worker to the set): ${inPage.toFixed(2)} s (${(N / inPage).toFixed(0)} files/s); `
    + `${await page.textContent('[data-testid=status]')}`);
  console.log(`loading ${N} PNGs of 32×32 colour from a folder: ${seconds.toFixed(2)} s to a ready set (${(N / seconds).toFixed(0)} files/s; `
    + 'from the file input to the set counted, including handing the files to the worker)');
  await page.click('[data-testid=images-use]');
  for (const arch of ['mlp', 'conv']) {
    await page.selectOption('[data-testid=train-arch]', arch);
    await page.selectOption('[data-testid=train-latent]', '16');
    if (arch === 'mlp') await page.fill('[data-testid=train-hidden]', '512');
    await page.fill('[data-testid=train-epochs]', '100');
    await page.selectOption('[data-testid=train-batch]', '128');
    await page.selectOption('[data-testid=train-cores]', '1');
    await page.click('[data-testid=train-start]');
    await page.waitForTimeout(SECONDS * 1000);
    const rate = await page.textContent('[data-testid=train-throughput]');
    const heldout = await page.textContent('[data-testid=train-heldout]');
    console.log(`in-tab training on 32×32×3 (${arch === 'mlp' ? '3072-512-16 MLP' : 'conv 16-D'}, batch 128, one worker): ${rate} samples/s after ${SECONDS} s; held-out −ELBO ${heldout}`);
    if (arch === 'conv' && screenshot) {
      await page.waitForTimeout(SCREENSHOT_SECONDS * 1000); // train on, for a picture worth showing
      await page.click('[data-testid=train-pause]');
      await page.waitForTimeout(2000);
      await page.fill('[data-testid=test-index]', '5');
      await page.click('[data-testid=load-test]');
      await page.waitForTimeout(2000);
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshotAllPanels(page, page.locator('main.explorer'), join(ROOT, 'docs', 'own-pictures.png'));
      console.log('wrote docs/own-pictures.png');
    }
    await page.click('[data-testid=train-reset]');
    const tfjs = await app.browser.context.newPage();
    await tfjs.goto(`${app.server.url}bench/page.html`);
    await tfjs.waitForFunction(() => window.benchReady);
    const r = await tfjs.evaluate((m) => window.runTrainWorker('/bench/tfjs-train-worker.js', 'classic', m.arch === 'conv' ? 3 : 20, m),
      { arch, latent: 16, channels: 3, side: 32 });
    const ms = [...r.stepMs].sort((a, b) => a - b)[r.stepMs.length >> 1];
    console.log(`TensorFlow.js (${r.backend}${r.wasmError ? `: the wasm backend cannot (${r.wasmError.slice(0, 60)}…)` : ''}) on the same model: `
      + `${(128000 / ms).toFixed(0)} samples/s (median step ${ms.toFixed(0)} ms)`);
    await tfjs.close();
  }
} finally {
  await app.close();
  rmSync(tmp, { recursive: true, force: true });
}
