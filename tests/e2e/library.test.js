// Nothing lost: training checkpoints itself into the library (IndexedDB); after a reload, a crash of
// the training worker or of the whole tab, Resume training goes on from the last checkpoint and
// reaches exactly the weights of a run never interrupted (two workers); the Library panel lists,
// renames, duplicates, downloads (the file passes the native `vae eval`) and deletes; the app
// loads, draws and trains offline after one visit, and picks up a new build on the next load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, VAE_BIN, launchBrowser, openApp, startServer, drawStrokes } from './harness.js';
import { safetensorsTensors } from './safetensors.js';
import { colourPicture, png } from './picture-files.js';
import { unzipSync } from 'fflate';

let server;
let browser;
let page;
let problems;
const tmp = mkdtempSync(join(tmpdir(), 'vae-library-'));
const tid = (id) => page.getByTestId(id);
const text = (id) => page.textContent(`#${id}`);

// 1,000 images at batch 32: 32 steps an epoch; 24 epochs = 768 steps, a few seconds of training.
const EPOCHS = 24;
const STEPS = 32 * EPOCHS;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  ({ page, problems } = await openApp(browser.context, server.url, '?debug'));
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function settings() {
  await tid('train-dataset').selectOption('mnist');
  await tid('train-subset').selectOption('1000');
  await tid('train-latent').selectOption('2');
  await tid('train-hidden').fill('128');
  await tid('train-batch').selectOption('32');
  await tid('train-epochs').fill(String(EPOCHS));
  await tid('train-seed').fill('5');
  await tid('train-cores').selectOption('2');
}

/** The step of the next checkpoint the page reports after `after`. */
async function nextCheckpoint(after = 0) {
  await page.waitForFunction((n) => {
    const m = document.getElementById('train-saved').textContent.match(/^Saved in the library at step (\d+)/);
    return m && Number(m[1]) > n;
  }, after, { timeout: 60000, polling: 20 });
  return Number((await text('train-saved')).match(/step (\d+)/)[1]);
}

async function downloadWeights(name) {
  const [download] = await Promise.all([page.waitForEvent('download'), tid('weights-download').click()]);
  const path = join(tmp, name);
  await download.saveAs(path);
  return path;
}

const waitDone = () => page.waitForFunction(() => document.getElementById('train-panel').dataset.state === 'done', null, { timeout: 180000 });

/** The stored records of the library, read with IndexedDB itself (not the app's code). */
const stored = () => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('vae-library');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const get = open.result.transaction('models').objectStore('models').getAll();
    get.onsuccess = () => {
      resolve(get.result.map((r) => ({ id: r.id, name: r.name, status: r.run?.status, step: r.run?.step, curve: r.curves?.train.map(([s]) => s) ?? [] })));
      open.result.close();
    };
  };
}));

let uninterrupted;

test('a run stopped by a reload resumes from its checkpoint to the weights of an uninterrupted run (two workers)', async () => {
  await settings();
  await tid('train-start').click();
  await waitDone();
  assert.match(await text('status'), new RegExp(`^Training finished: ${EPOCHS} epochs, ${STEPS} steps\\.`));
  uninterrupted = safetensorsTensors(readFileSync(await downloadWeights('uninterrupted.safetensors')));
  await tid('train-reset').click();

  // The same run, reloaded mid-way (right after a checkpoint: what came after it is lost).
  await tid('train-start').click();
  const saved = await nextCheckpoint();
  await page.reload({ waitUntil: 'commit' });
  await page.waitForFunction(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0, null, { timeout: 30000 });
  await page.waitForFunction(() => !document.getElementById('train-resume-run').hidden, null, { timeout: 20000 })
    .catch(async (err) => { throw new Error(`${err.message}; library: ${await text('library-list')}; status: ${await text('status')}`); });
  const offered = await text('train-resume-run');
  assert.match(offered, /^Resume training “784-128-2 on MNIST, seed 5” \(step \d+ of 768/);
  const step = Number(offered.match(/step (\d+)/)[1]);
  assert.ok(step >= saved && step < STEPS, `offered step ${step} (a checkpoint at ${saved} was reported before the reload)`);
  const items = await page.$$eval('[data-testid=library-item]', (lis) => lis.map((li) => li.textContent));
  assert.equal(items.length, 2, items.join('\n'));
  assert.ok(items.some((t) => /training \(step \d+ of 768\)/.test(t)), items.join('\n'));
  await tid('resume-training').click();
  await page.waitForFunction((s) => document.getElementById('status').textContent.startsWith(`Resumed at step ${s}:`), step, { timeout: 30000 });
  await waitDone();
  assert.match(await text('status'), new RegExp(`^Training finished: ${EPOCHS} epochs, ${STEPS} steps\\.`));
  const resumed = safetensorsTensors(readFileSync(await downloadWeights('resumed.safetensors')));
  for (const name of Object.keys(uninterrupted)) {
    let max = 0;
    for (let i = 0; i < uninterrupted[name].length; i++) max = Math.max(max, Math.abs(uninterrupted[name][i] - resumed[name][i]));
    assert.ok(max <= 1e-5, `${name}: the resumed run differs from the uninterrupted one by ${max}`);
  }
  // The curves continue: the stored run has points before and after the step it resumed from.
  const runs = await stored();
  const run = runs.find((r) => r.status === 'done' && r.curve.some((s) => s > step) && r.name.endsWith('seed 5'));
  assert.ok(run.curve.some((s) => s < step) && run.curve.at(-1) === STEPS, `curve steps ${run.curve.slice(0, 3)}…${run.curve.slice(-3)}`);
  assert.deepEqual(problems, []);
});

test('a crashed training worker and a crashed tab resume, losing at most one checkpoint interval', async () => {
  await tid('train-reset').click();
  await settings();
  await tid('train-epochs').fill('200');
  await tid('train-start').click();
  const saved = await nextCheckpoint();
  await page.evaluate(() => window.vaeDebug.panicWorker());
  await page.waitForFunction(() => /the training worker crashed/.test(document.getElementById('status').textContent), null, { timeout: 20000 });
  await page.waitForFunction(() => !document.getElementById('train-resume-run').hidden, null, { timeout: 20000 });
  const step = Number((await text('train-resume-run')).match(/step (\d+)/)[1]);
  assert.ok(step >= saved, `resumes from step ${step}, the last checkpoint reported was ${saved}`);
  problems.length = 0; // the deliberate panic's console error
  await tid('resume-training').click();
  await page.waitForFunction((s) => document.getElementById('status').textContent.startsWith(`Resumed at step ${s}:`), step, { timeout: 30000 });
  const again = await nextCheckpoint(step);
  // The tab itself crashes (no unload handler runs): a new tab offers the last checkpoint.
  const cdp = await page.context().newCDPSession(page);
  const crashed = page.waitForEvent('crash');
  cdp.send('Page.crash').catch(() => {}); // answers only when the page is gone
  await crashed;
  await page.close();
  ({ page, problems } = await openApp(browser.context, server.url, '?debug'));
  await page.waitForFunction(() => !document.getElementById('train-resume-run').hidden, null, { timeout: 20000 });
  const after = Number((await text('train-resume-run')).match(/step (\d+)/)[1]);
  assert.ok(after >= again, `after the tab crashed: resumes from step ${after}, the last checkpoint reported was ${again}`);
  await tid('resume-training').click();
  await page.waitForFunction((s) => document.getElementById('status').textContent.startsWith(`Resumed at step ${s}:`), after, { timeout: 30000 });
  await nextCheckpoint(after);
  // Hidden (another tab, a phone's app switcher): the run is stored at once, before the browser may freeze the tab.
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.waitForFunction(() => /^Saved in the library at step \d+ \([^)]*, the page was hidden\)/.test(document.getElementById('train-saved').textContent), null, { timeout: 10000 });
  await page.evaluate(() => delete document.visibilityState);
  await tid('train-pause').click();
  await page.waitForFunction(() => document.getElementById('train-panel').dataset.state === 'paused');
  assert.deepEqual(problems, []);
});

test('the library renames, duplicates, downloads (the file passes `vae eval`), opens and deletes; Delete all asks first', async () => {
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=library-item]').length >= 1);
  const names = () => page.$$eval('[data-testid=library-item] .library-name', (els) => els.map((e) => e.textContent));
  const item = (name) => page.locator('[data-testid=library-item]', { has: page.getByText(name, { exact: true }) }).first();
  const first = (await names())[0];
  await item(first).getByRole('button', { name: /^Rename/ }).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('my digits');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => [...document.querySelectorAll('.library-name')].some((e) => e.textContent === 'my digits'));
  const count = (await names()).length;
  await item('my digits').getByRole('button', { name: /^Duplicate/ }).click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=library-item]').length === n + 1, count);
  assert.ok((await names()).includes('my digits (copy)'));
  const [download] = await Promise.all([page.waitForEvent('download'), item('my digits (copy)').getByRole('button', { name: /^Download/ }).click()]);
  assert.equal(download.suggestedFilename(), 'my-digits-copy.safetensors');
  const path = join(tmp, download.suggestedFilename());
  await download.saveAs(path);
  const result = JSON.parse(execFileSync(VAE_BIN, ['eval', '--weights', path, '--json'], { encoding: 'utf8', timeout: 120000 }));
  assert.ok(result.neg_elbo > 100 && result.neg_elbo < 250, `vae eval of the downloaded model: ${JSON.stringify(result)}`);
  await item('my digits').getByRole('button', { name: /^Open/ }).click();
  await page.waitForFunction(() => /^Opened “my digits” from the library/.test(document.getElementById('status').textContent), null, { timeout: 10000 })
    .catch(async (err) => { throw new Error(`${err.message}: status ${await text('status')}`); });
  assert.equal(await tid('model-select').evaluate((el) => el.selectedOptions[0].text), 'Library: my digits');
  await item('my digits (copy)').getByRole('button', { name: /^Delete/ }).click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=library-item]').length === n, count);
  // Delete all: dismissed, nothing goes; accepted, everything does.
  page.once('dialog', (d) => d.dismiss());
  await tid('library-delete-all').click();
  await page.waitForTimeout(300);
  assert.equal((await names()).length, count);
  page.once('dialog', (d) => d.accept());
  await tid('library-delete-all').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=library-item]').length === 0);
  assert.deepEqual(await stored(), []);
  assert.match(await text('library-storage'), /^Using [\d.]+ MB of the [\d.]+ MB this browser allows this site\./);
  assert.deepEqual(problems, []);
});

test('a picture set is kept: it downloads as a .zip of its files and reopens after a clear, options and all', async () => {
  const files = Array.from({ length: 6 }, (_, k) => ({ name: `p${k}.png`, mimeType: 'image/png', buffer: png(colourPicture(k), 32, 32) }));
  await tid('images-size').selectOption('16');
  await tid('images-colour').setChecked(true);
  await page.setInputFiles('[data-testid=images-files]', files);
  await page.waitForFunction(() => document.getElementById('images-count').textContent === '6');
  const sheet = () => page.evaluate(() => Array.from(document.getElementById('images-sheet').getContext('2d').getImageData(0, 0, 96, 16).data));
  const before = await sheet();
  const item = page.locator('[data-testid=library-item][data-kind=set]', { has: page.getByText('6 pictures', { exact: true }) });
  await item.waitFor({ timeout: 10000 });
  assert.match(await item.textContent(), /6 pictures, colour 16×16/);
  const [download] = await Promise.all([page.waitForEvent('download'), item.getByRole('button', { name: /^Download/ }).click()]);
  assert.equal(download.suggestedFilename(), '6-pictures.zip');
  const path = join(tmp, download.suggestedFilename());
  await download.saveAs(path);
  const zipped = unzipSync(readFileSync(path));
  assert.deepEqual(Object.keys(zipped).sort(), files.map((f) => f.name));
  for (const f of files) assert.deepEqual(Buffer.from(zipped[f.name]), f.buffer, `${f.name} is the file as it was added`);
  // Cleared and the options changed: opening the set brings back its pictures under its options.
  await tid('images-clear').click();
  await page.waitForFunction(() => document.getElementById('images-count').textContent === '0');
  await tid('images-size').selectOption('28');
  await tid('images-colour').setChecked(false);
  await item.getByRole('button', { name: /^Open/ }).click();
  await page.waitForFunction(() => document.getElementById('images-count').textContent === '6');
  assert.equal(await tid('images-size').inputValue(), '16');
  assert.equal(await tid('images-colour').isChecked(), true);
  assert.deepEqual(await sheet(), before, 'the reopened set is the one that was kept, pixel for pixel');
  assert.equal(await page.locator('[data-testid=library-item][data-kind=set]').count(), 1, 'reopened, not copied');
  await tid('images-clear').click();
  assert.deepEqual(problems, []);
});

test('the drawing, the decoder\'s point, the model and the training settings come back after a reload', async () => {
  await tid('model-select').selectOption('mnist-2d.safetensors');
  await page.waitForFunction(() => /^Ready: MNIST · 2-D/.test(document.getElementById('status').textContent));
  await tid('draw-canvas').scrollIntoViewIfNeeded();
  await drawStrokes(page, [[[140, 40], [140, 240]], [[100, 60], [140, 40]]], 4);
  await page.getByTestId('latent-slider-0').focus();
  for (let i = 0; i < 12; i++) await page.keyboard.press('ArrowRight');
  await tid('train-epochs').fill('7');
  await tid('train-epochs').dispatchEvent('change');
  const ink = () => page.evaluate(() => Array.from(document.getElementById('draw-canvas').getContext('2d').getImageData(0, 0, 280, 280).data.filter((_, i) => i % 4 === 3)));
  const before = await ink();
  const z = await page.evaluate(() => Number(document.querySelector('[data-testid=latent-slider-0]').value));
  assert.ok(before.some((a) => a > 0) && z === 0.12, `ink drawn, z0 = ${z}`);
  await page.reload({ waitUntil: 'commit' });
  await page.waitForFunction(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0, null, { timeout: 30000 });
  // The session is put back before `ready`; the wait is long only so that a busy machine cannot fail it.
  await page.waitForFunction(() => document.getElementById('draw-canvas').getContext('2d').getImageData(140, 140, 1, 1).data[3] > 0, null, { timeout: 30000 })
    .catch(async (err) => {
      const seen = await page.evaluate(() => ({ session: localStorage.getItem('vae-session')?.slice(0, 300), status: document.getElementById('status').textContent }));
      throw new Error(`${err.message}; the drawing did not come back: ${JSON.stringify(seen)}`);
    });
  // Stroke for stroke: redrawn whole, the curves' antialiased edges differ a little from the
  // segment-by-segment drawing, and nothing else does.
  const after = await ink();
  const off = after.filter((a, i) => Math.abs(a - before[i]) > 64).length;
  const inked = before.filter((a) => a > 0).length;
  assert.ok(off < 0.02 * inked, `${off} of ${inked} inked pixels differ by more than a quarter after the reload`);
  assert.equal(await page.evaluate(() => Number(document.querySelector('[data-testid=latent-slider-0]').value)), 0.12);
  assert.equal(await tid('train-epochs').inputValue(), '7');
  assert.equal(await tid('model-select').inputValue(), 'mnist-2d.safetensors');
  await tid('clear-button').click();
  assert.deepEqual(problems, []);
});

test('damaged and foreign records are left alone with a message, and a page without IndexedDB works in memory', async () => {
  // Written with IndexedDB itself: a record that is not this app's, and a model whose weights are missing.
  await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('vae-library');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('models', 'readwrite');
      tx.objectStore('models').put({ id: 'foreign', name: 42 });
      tx.objectStore('models').put({ id: 'model-damaged', name: 'half a model', updated: Date.now(), description: '784-64-2', run: null });
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }));
  await page.reload({ waitUntil: 'commit' });
  await page.waitForFunction(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0, null, { timeout: 30000 });
  await page.waitForFunction(() => /^1 stored record is not this app's or damaged, and left alone\./.test(document.getElementById('library-foreign').textContent), null, { timeout: 10000 });
  const item = page.locator('[data-testid=library-item]', { has: page.getByText('half a model', { exact: true }) });
  await item.getByRole('button', { name: /^Open/ }).click();
  await page.waitForFunction(() => /cannot be read back from the library \(it is missing or damaged\); delete it/.test(document.getElementById('status').textContent));
  assert.match(await tid('model-select').evaluate((el) => el.selectedOptions[0].text), /^MNIST/, 'the model in use stays');
  await item.getByRole('button', { name: /^Delete/ }).click();
  await item.waitFor({ state: 'detached' });
  problems.length = 0;
  // A window without IndexedDB (some private windows): the library says so; drawing and decoding work.
  const other = await browser.context.newPage();
  const otherProblems = [];
  other.on('pageerror', (err) => otherProblems.push(err.message));
  await other.addInitScript(() => Object.defineProperty(window, 'indexedDB', { value: undefined }));
  await other.goto(`${server.url}?debug`, { waitUntil: 'commit' });
  await other.waitForFunction(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0, null, { timeout: 30000 });
  await other.waitForFunction(() => /^The library is unavailable: .*no IndexedDB here/.test(document.getElementById('library-storage').textContent), null, { timeout: 10000 });
  assert.deepEqual(otherProblems, []);
  await other.close();
});

test('after one visit the app loads, draws, reconstructs and trains offline, and a new build is picked up on the next load', async () => {
  await page.waitForFunction(() => window.vaeMetrics.offlineReady, null, { timeout: 120000 });
  const version = await page.evaluate(() => window.vaeMetrics.offlineVersion);
  await browser.context.setOffline(true);
  try {
    await page.reload({ waitUntil: 'commit' });
    await page.waitForFunction(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0, null, { timeout: 30000 });
    const recons = await page.evaluate(() => window.vaeMetrics.reconUpdates);
    await drawStrokes(page, [[[140, 40], [140, 240]]], 4);
    await page.waitForFunction((n) => window.vaeMetrics.reconUpdates > n, recons, { timeout: 30000 }).catch(async (err) => {
      const seen = await page.evaluate(() => ({ recons: window.vaeMetrics.reconUpdates, inked: document.getElementById('draw-canvas').getContext('2d').getImageData(140, 140, 1, 1).data[3],
        status: document.getElementById('status').textContent, model: Boolean(window.vaeMetrics.ready), readyState: document.readyState, scrollY }));
      throw new Error(`${err.message}; no reconstruction of the stroke: ${JSON.stringify(seen)}`);
    });
    await tid('train-subset').selectOption('1000');
    await tid('train-batch').selectOption('32');
    await tid('train-epochs').fill('1');
    await tid('train-cores').selectOption('1');
    await tid('train-start').click();
    await waitDone();
    assert.match(await text('status'), /^Training finished: 1 epochs, 32 steps\./);
    assert.deepEqual(problems, [], 'nothing failed while offline');
  } finally {
    await browser.context.setOffline(false);
  }
  // A new build: the offline list changes; the next load installs it and replaces the cache whole.
  const precache = join(ROOT, 'www', 'precache.js');
  const original = readFileSync(precache, 'utf8');
  try {
    writeFileSync(precache, original.replace(version, 'testbuild000000'));
    await page.reload({ waitUntil: 'commit' });
    await page.waitForFunction(() => window.vaeMetrics?.offlineVersion === 'testbuild000000', null, { timeout: 120000 });
    assert.match(await text('status'), /^A new version of the app is installed/);
    // The old build's cache goes when the new worker has finished activating.
    await page.waitForFunction(async () => (await caches.keys()).join() === 'vae-testbuild000000', null, { timeout: 30000 })
      .catch(async (err) => { throw new Error(`${err.message}: caches ${await page.evaluate(() => caches.keys())}`); });
  } finally {
    writeFileSync(precache, original);
  }
});
