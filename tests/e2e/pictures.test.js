// Your own pictures, end to end in headless Chromium: a folder of real MNIST test digits written
// as PNGs in 0/…9/ loads through the folder input with the IDX pixels and labels exactly, trains
// in the tab and is explored; the same digits in a .zip and dropped on the page give the same set;
// bad files are each skipped with a reason; a 32×32 colour set trains and reconstructs in colour;
// drawings are added to the set with "Add to set"; the fake webcam adds a burst of frames; a
// thumbnail becomes the input and a colour model's pen draws in colour; a model
// trained with `vae train --images` on the folder gives the page's encoding to 1e-4.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { zipSync } from 'fflate';
import { startServer, openApp, drawStrokes, ROOT, VAE_BIN } from './harness.js';
import { png, colourPicture } from './picture-files.js';

/** MNIST test digits written as PNGs: the first DIGITS of the test split. */
const DIGITS = 200;
/** Colour pictures rendered by the test. */
const COLOURS = 120;

let server;
let context;
let profile;
let page;
let problems;
let tmp;
let digits; // { images: Uint8Array (N·784), labels: Uint8Array }

/** The first `n` test digits and labels from the shipped IDX files. */
function mnistTest(n) {
  const images = gunzipSync(readFileSync(join(ROOT, 'www/data/mnist-t10k-images.idx.gz'))).subarray(16, 16 + n * 784);
  const labels = gunzipSync(readFileSync(join(ROOT, 'www/data/mnist-t10k-labels.idx.gz'))).subarray(8, 8 + n);
  return { images, labels };
}

const greyRgba = (values) => Uint8Array.from({ length: values.length * 4 }, (_, i) => (i % 4 === 3 ? 255 : values[i >> 2]));

/** Path (inside a set) of digit i: `label/iiiii.png`, so sorting by path sorts by label, then index. */
const digitPath = (i) => `${digits.labels[i]}/${String(i).padStart(5, '0')}.png`;

/** The set's images in the order the page holds them (sorted by path). */
const sortedDigits = () => Array.from({ length: DIGITS }, (_, i) => i).sort((a, b) => (digitPath(a) < digitPath(b) ? -1 : 1));

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'vae-pictures-test-'));
  digits = mnistTest(DIGITS);
  for (let i = 0; i < DIGITS; i++) {
    mkdirSync(join(tmp, 'digits', String(digits.labels[i])), { recursive: true });
    writeFileSync(join(tmp, 'digits', digitPath(i)), png(greyRgba(digits.images.subarray(i * 784, (i + 1) * 784)), 28, 28));
  }
  // The same digits in a zip, under a top folder (which becomes the root, as a picked folder does).
  const entries = {};
  for (let i = 0; i < DIGITS; i++) entries[`mnist-digits/${digitPath(i)}`] = readFileSync(join(tmp, 'digits', digitPath(i)));
  writeFileSync(join(tmp, 'digits.zip'), zipSync(entries));
  // Bad files, each with the reason the page must give.
  const bad = join(tmp, 'bad');
  mkdirSync(join(bad, 'a'), { recursive: true });
  mkdirSync(join(bad, 'b'), { recursive: true });
  const good = png(greyRgba(digits.images.subarray(0, 784)), 28, 28);
  writeFileSync(join(bad, 'a', 'notes.txt'), 'not a picture\n');
  writeFileSync(join(bad, 'a', 'empty.png'), Buffer.alloc(0));
  writeFileSync(join(bad, 'a', 'truncated.png'), good.subarray(0, Math.floor(good.length / 2)));
  writeFileSync(join(bad, 'a', 'tiny.png'), png(new Uint8Array([200, 10, 10, 255]), 1, 1));
  // A 20,000×20,000 PNG header (IHDR only): refused from its size, never decoded.
  const huge = Buffer.from(good);
  huge.writeUInt32BE(20000, 16);
  huge.writeUInt32BE(20000, 20);
  writeFileSync(join(bad, 'a', 'huge.png'), huge);
  // Ten files of one name in different folders: all kept.
  writeFileSync(join(bad, 'a', 'same.png'), good);
  writeFileSync(join(bad, 'b', 'same.png'), good);
  for (let k = 1; k <= 8; k++) {
    mkdirSync(join(bad, 'a', `sub${k}`));
    writeFileSync(join(bad, 'a', `sub${k}`, 'same.png'), good);
  }
  writeFileSync(join(bad, 'a', 'bomb.zip'), zipSync({ 'ok.png': good, '../escape.png': good, 'big.png': new Uint8Array(80 << 20) }, { level: 9 }));
  // Colour pictures at 32×32 in two labels.
  for (let k = 0; k < COLOURS; k++) {
    const dir = join(tmp, 'colour', k % 2 ? 'odd' : 'even');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `c${String(k).padStart(3, '0')}.png`), png(colourPicture(k), 32, 32));
  }
  server = await startServer();
  profile = mkdtempSync(join(tmpdir(), 'vae-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
  ({ page, problems } = await openApp(context, server.url, '?debug'));
});

after(async () => {
  await context?.close();
  server?.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

/** Waits for the set to have `count` images (the worker posts the set after every change). */
async function waitForCount(count, timeout = 60000) {
  await page.waitForFunction((n) => document.querySelector('[data-testid=images-count]').textContent === String(n), count, { timeout });
}

/** The sheet's RGBA and size. */
const readSheet = () => page.evaluate(() => {
  const c = document.querySelector('[data-testid=images-sheet]');
  return { width: c.width, height: c.height, rgba: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
});

/** Grey tile k (side s, 20 per row) of a sheet. */
function tile(sheet, k, s) {
  const out = new Uint8Array(s * s);
  const [x0, y0] = [(k % 20) * s, Math.floor(k / 20) * s];
  for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) out[y * s + x] = sheet.rgba[4 * ((y0 + y) * sheet.width + x0 + x)];
  return out;
}

async function checkDigitSet() {
  await waitForCount(DIGITS);
  assert.equal(await page.textContent('[data-testid=images-labels]'), '10');
  const sheet = await readSheet();
  assert.equal(sheet.width, 20 * 28);
  const order = sortedDigits();
  for (let k = 0; k < DIGITS; k++) {
    const want = digits.images.subarray(order[k] * 784, (order[k] + 1) * 784);
    const got = tile(sheet, k, 28);
    const differing = got.filter((v, p) => v !== want[p]).length;
    assert.equal(differing, 0, `tile ${k} (test digit ${order[k]}): ${differing} pixels differ from the IDX pixels`);
  }
  const counts = await page.$$eval('[data-testid=images-label-counts] li', (lis) => lis.map((li) => li.textContent));
  const expected = Array.from({ length: 10 }, (_, d) => `${d}: ${digits.labels.filter((l) => l === d).length}`);
  assert.deepEqual(counts, expected);
}

test('a folder of MNIST digits as PNGs loads with the IDX pixels and labels exactly', async () => {
  await page.setInputFiles('[data-testid=images-folder]', join(tmp, 'digits'));
  await checkDigitSet();
  assert.equal(await page.textContent('[data-testid=images-skipped]'), '');
  // Changing an option prepares the set again: inverted, then at 16×16, then back as it was.
  const first = digits.images.subarray(sortedDigits()[0] * 784, (sortedDigits()[0] + 1) * 784);
  await page.check('[data-testid=images-invert]');
  await page.waitForFunction(() => document.querySelector('[data-testid=images-sheet]').getContext('2d').getImageData(0, 0, 1, 1).data[0] === 255, null, { timeout: 30000 });
  assert.ok(tile(await readSheet(), 0, 28).every((v, p) => v === 255 - first[p]), 'the inverted picture is 255 − the IDX pixels');
  await page.uncheck('[data-testid=images-invert]');
  await page.selectOption('[data-testid=images-size]', '16');
  await page.waitForFunction(() => document.querySelector('[data-testid=images-sheet]').width === 20 * 16, null, { timeout: 30000 });
  await page.selectOption('[data-testid=images-size]', '28');
  await page.waitForFunction(() => document.querySelector('[data-testid=images-sheet]').width === 20 * 28, null, { timeout: 30000 });
  await checkDigitSet();
});

test('the set trains in the tab, and every panel works on the result', async () => {
  await page.click('[data-testid=images-use]');
  assert.equal(await page.inputValue('[data-testid=train-dataset]'), 'own');
  await page.selectOption('[data-testid=train-arch]', 'mlp');
  await page.selectOption('[data-testid=train-latent]', '2');
  await page.fill('[data-testid=train-hidden]', '256');
  await page.fill('[data-testid=train-epochs]', '60');
  await page.selectOption('[data-testid=train-batch]', '32');
  await page.selectOption('[data-testid=train-cores]', '1');
  await page.click('[data-testid=train-start]');
  const heldout = () => page.textContent('[data-testid=train-heldout]').then(Number);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=train-heldout]').textContent) > 0, null, { timeout: 30000 });
  const first = await heldout();
  await page.waitForFunction(() => document.querySelector('#train-panel').dataset.state === 'done', null, { timeout: 180000 });
  const last = await heldout();
  // 180 training digits, 20 held out: a fresh model starts near 540 nats; 60 epochs reach ~200.
  assert.ok(first > 400 && last < first - 200, `held-out −ELBO ${first} → ${last}`);
  const status = await page.textContent('[data-testid=status]');
  assert.match(status, /Training finished/);
  // The explorer: a test picture loads, encodes and reconstructs at 28×28.
  await page.fill('[data-testid=test-index]', '3');
  await page.click('[data-testid=load-test]');
  await page.waitForFunction(() => document.querySelector('#drawing-latent').textContent.startsWith('test image #3'), null, { timeout: 10000 });
  const legend = await page.$$eval('#legend li', (lis) => lis.map((li) => li.textContent));
  assert.deepEqual(legend, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  // The explanation is the trained model's, not the shipped MNIST model's it replaced (same L).
  assert.match(await page.textContent('#explain'), /^Trained in this tab \(784-256-2\)/);
  assert.equal(await page.isDisabled('[data-testid=train-subset]'), true);
  // Anomaly: ranked against the held-out pictures.
  await page.waitForFunction(() => /held-out pictures/.test(document.querySelector('#anomaly-verdict').textContent), null, { timeout: 30000 });
  // Style transfer cannot apply to these pictures with a plain VAE, and says so (or uses the MNIST CVAEs for 28×28 grey).
  const weights = await page.evaluate(async () => {
    const bytes = window.vaeDebug.currentWeights();
    return Array.from(bytes);
  });
  const meta = JSON.parse(Buffer.from(weights.slice(8, 8 + Number(Buffer.from(weights.slice(0, 8)).readBigUInt64LE()))).toString()).__metadata__;
  assert.equal(meta.dataset, 'images');
  assert.deepEqual(JSON.parse(meta.labels), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(problems, []);
});

test('a conditional VAE trains on the folders as labels, on two workers, and renders an input as every label', async () => {
  const explorerModel = await page.inputValue('[data-testid=model-select]');
  await page.check('[data-testid=train-conditional]');
  await page.selectOption('[data-testid=train-cores]', '2');
  await page.fill('[data-testid=train-epochs]', '40');
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(() => document.querySelector('#train-panel').dataset.state === 'done', null, { timeout: 180000 });
  await page.uncheck('[data-testid=train-conditional]');
  // The explorer kept its model; the style-transfer panel has the new one, with the ten folders as labels.
  assert.equal(await page.inputValue('[data-testid=model-select]'), explorerModel);
  assert.equal(await page.inputValue('[data-testid=cvae-model]'), 'trained');
  assert.deepEqual(await page.$$eval('[data-testid=cvae-digit] option', (os) => os.map((o) => o.textContent)), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await page.fill('[data-testid=test-index]', '3');
  await page.click('[data-testid=load-test]');
  await page.locator('#cvae-panel').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /^Read as \d/.test(document.querySelector('[data-testid=cvae-readout]').textContent), null, { timeout: 20000 });
  const tiles = await page.$$eval('[data-testid=cvae-styles] canvas', (cs) => cs.map((c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)));
  assert.equal(tiles.length, 10);
  // Ten different renderings: the label changes the picture.
  const distinct = new Set(tiles.map((t) => t.join(','))).size;
  assert.equal(distinct, 10);
  await page.selectOption('[data-testid=train-cores]', '1');
  assert.deepEqual(problems, []);
});

test('the same digits in a .zip, and dropped as a folder, give the same set', async () => {
  await page.click('[data-testid=images-clear]');
  await waitForCount(0);
  await page.setInputFiles('[data-testid=images-files]', join(tmp, 'digits.zip'));
  await checkDigitSet();
  // A drop of the same files (a DataTransfer of files with their folder paths, as a folder drop gives).
  await page.click('[data-testid=images-clear]');
  await waitForCount(0);
  const files = sortedDigits().map((i) => ({ path: digitPath(i), bytes: Array.from(readFileSync(join(tmp, 'digits', digitPath(i)))) }));
  await page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const { path, bytes } of list) dt.items.add(new File([new Uint8Array(bytes)], path.replace('/', '_'), { type: 'image/png' }));
    // File names carry no folders in a synthetic drop: the labels come from the name prefix here, so the set is one class.
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
  await waitForCount(DIGITS);
  assert.equal(await page.textContent('[data-testid=images-labels]'), '0');
  assert.deepEqual(problems, []);
});

/** A 24-bit BMP (bottom-up rows, 4-byte aligned) of `width`×`height` RGB bytes. */
function bmp(rgb, width, height) {
  const row = Math.ceil((width * 3) / 4) * 4;
  const out = Buffer.alloc(54 + row * height);
  out.write('BM', 0);
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = rgb.subarray(3 * (y * width + x), 3 * (y * width + x) + 3);
      out.set([b, g, r], 54 + (height - 1 - y) * row + 3 * x);
    }
  }
  return out;
}

test('PNG, JPEG, WebP, GIF and BMP pictures all load, each as the model sees it', async () => {
  await page.click('[data-testid=images-clear]');
  await waitForCount(0);
  // JPEG and WebP from the browser's own encoders (a digit drawn grey on black at 56×56).
  const encoded = await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(56, 56);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, 56, 56);
    ctx.fillStyle = '#fff';
    ctx.fillRect(20, 8, 16, 40);
    const bytes = async (type) => Array.from(new Uint8Array(await (await canvas.convertToBlob({ type, quality: 1 })).arrayBuffer()));
    return { jpeg: await bytes('image/jpeg'), webp: await bytes('image/webp') };
  });
  // The same bar as a BMP, and a 1×1 white GIF.
  const rgb = new Uint8Array(56 * 56 * 3);
  for (let y = 8; y < 48; y++) for (let x = 20; x < 36; x++) rgb.fill(255, 3 * (y * 56 + x), 3 * (y * 56 + x) + 3);
  const gif = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
  await page.setInputFiles('[data-testid=images-files]', [
    { name: 'bar.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(encoded.jpeg) },
    { name: 'bar.webp', mimeType: 'image/webp', buffer: Buffer.from(encoded.webp) },
    { name: 'bar.bmp', mimeType: 'image/bmp', buffer: bmp(rgb, 56, 56) },
    { name: 'bar.png', mimeType: 'image/png', buffer: png(Uint8Array.from({ length: 56 * 56 * 4 }, (_, i) => (i % 4 === 3 ? 255 : rgb[(i >> 2) * 3])), 56, 56) },
    { name: 'white.gif', mimeType: 'image/gif', buffer: gif },
  ]);
  await waitForCount(5);
  assert.equal(await page.textContent('[data-testid=images-skipped]'), '');
  // In path order: bar.bmp, bar.jpg, bar.png, bar.webp, white.gif. The bar, halved to 28×28, is
  // columns 10–17 of rows 4–23: exact for the lossless ones, close for JPEG.
  const sheet = await readSheet();
  const bar = new Uint8Array(784);
  for (let y = 4; y < 24; y++) bar.fill(255, y * 28 + 10, y * 28 + 18);
  for (const [k, name, tolerance] of [[0, 'BMP', 0], [1, 'JPEG', 24], [2, 'PNG', 0], [3, 'WebP', 0]]) {
    const worst = tile(sheet, k, 28).reduce((m, v, p) => Math.max(m, Math.abs(v - bar[p])), 0);
    assert.ok(worst <= tolerance, `${name}: a pixel is ${worst} grey levels off`);
  }
  assert.ok(tile(sheet, 4, 28).every((v) => v === 255), 'the 1×1 white GIF becomes a white square');
  assert.deepEqual(problems, []);
});

test('bad files are each skipped with a reason and the rest loads', async () => {
  await page.click('[data-testid=images-clear]');
  await waitForCount(0);
  await page.setInputFiles('[data-testid=images-folder]', join(tmp, 'bad'));
  // Kept: tiny.png (1×1 is a picture), the ten same.png, ok.png of a/bomb.zip (in label a).
  await waitForCount(12);
  const skipped = await page.textContent('[data-testid=images-skipped]');
  for (const reason of [/notes\.txt is not an image/, /empty\.png is empty/, /truncated\.png is corrupt/, /huge\.png is 20000×20000, larger than the 32 megapixels/,
    /\.\.\/escape\.png has a path outside the archive/, /big\.png is larger than the 64 MiB/]) {
    assert.match(skipped, reason);
  }
  assert.match(skipped, /^6 files skipped:/);
  // The model in use kept working all along.
  assert.match(await page.textContent('[data-testid=status]'), /Your pictures: 12 images of grey 28×28 in 2 labels/);
  assert.deepEqual(problems, []);
});

test('drawings and a webcam burst are added to the set through the same options', async () => {
  await page.click('[data-testid=images-clear]');
  await waitForCount(0);
  await page.fill('[data-testid=images-label]', 'mine');
  for (let k = 0; k < 3; k++) {
    await drawStrokes(page, [[[60 + 20 * k, 60], [200, 220]], [[200, 60], [70, 210]]], 6);
    await page.click('[data-testid=add-to-set]');
    await waitForCount(k + 1);
  }
  assert.equal(await page.textContent('[data-testid=images-labels]'), '1');
  assert.match(await page.textContent('[data-testid=images-label-counts]'), /mine: 3/);
  await page.click('[data-testid=camera-start]');
  await page.waitForFunction(() => document.querySelector('[data-testid=camera-video]').videoWidth > 0, null, { timeout: 15000 });
  await page.fill('[data-testid=camera-burst]', '5');
  await page.click('[data-testid=camera-burst-run]');
  await waitForCount(8);
  assert.match(await page.textContent('[data-testid=images-label-counts]'), /mine: 8/);
  await page.click('[data-testid=camera-start]');
  assert.deepEqual(problems, []);
});

test('a 32×32 colour set trains and reconstructs each channel', async () => {
  await page.click('[data-testid=images-clear]');
  await waitForCount(0);
  await page.selectOption('[data-testid=images-size]', '32');
  await page.check('[data-testid=images-colour]');
  await page.setInputFiles('[data-testid=images-folder]', join(tmp, 'colour'));
  await waitForCount(COLOURS);
  const sheet = await readSheet();
  assert.equal(sheet.width, 20 * 32);
  const px = sheet.rgba;
  let colourful = 0;
  for (let i = 0; i < px.length; i += 4) if (Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) colourful += 1;
  assert.ok(colourful > 1000, `the sheet has ${colourful} saturated pixels`);
  await page.click('[data-testid=images-use]');
  await page.selectOption('[data-testid=train-arch]', 'conv');
  await page.selectOption('[data-testid=train-latent]', '16');
  await page.fill('[data-testid=train-epochs]', '150');
  await page.selectOption('[data-testid=train-batch]', '32');
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(() => document.querySelector('#train-panel').dataset.state === 'done', null, { timeout: 300000 });
  // Each channel of the reconstruction of a held-out picture correlates with its input.
  const result = await page.evaluate(async () => {
    document.querySelector('[data-testid=test-index]').value = '0';
    document.querySelector('[data-testid=load-test]').click();
    await new Promise((r) => setTimeout(r, 1500));
    const read = (id) => {
      const c = document.getElementById(id);
      return { w: c.width, h: c.height, d: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
    };
    return { input: read('input-preview'), recon: read('recon-canvas'), grid: read('latent-grid') };
  });
  assert.equal(result.recon.w, 32);
  const corr = (a, b) => {
    const n = a.length;
    const ma = a.reduce((s, v) => s + v, 0) / n;
    const mb = b.reduce((s, v) => s + v, 0) / n;
    let sab = 0; let saa = 0; let sbb = 0;
    for (let i = 0; i < n; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
    return sab / Math.sqrt(saa * sbb);
  };
  for (let c = 0; c < 3; c++) {
    const a = result.input.d.filter((_, i) => i % 4 === c);
    const b = result.recon.d.filter((_, i) => i % 4 === c);
    const r = corr(a, b);
    assert.ok(r > 0.6, `channel ${c}: correlation ${r.toFixed(3)}`);
  }
  // A thumbnail clicked becomes the input: the first picture of the sheet (even/c000.png).
  await page.locator('[data-testid=images-sheet]').scrollIntoViewIfNeeded();
  const box = await page.locator('[data-testid=images-sheet]').boundingBox();
  const rows = Math.ceil(COLOURS / 20);
  await page.mouse.click(box.x + box.width / 40, box.y + box.height / rows / 2);
  await page.waitForFunction(() => document.querySelector('#drawing-latent').textContent.startsWith('even/c000.png: μ = ('), null, { timeout: 10000 });
  // The pen draws in the chosen colour for a colour model, and the input is that colour.
  await page.click('[data-testid=clear-button]');
  assert.equal(await page.isVisible('[data-testid=pen-colour]'), true);
  await page.fill('[data-testid=pen-colour]', '#ff0000');
  await drawStrokes(page, [[[80, 80], [200, 200]], [[200, 80], [80, 200]]], 6);
  await page.waitForFunction(() => /^μ = \(/.test(document.querySelector('#drawing-latent').textContent), null, { timeout: 10000 });
  const means = await page.evaluate(() => {
    const c = document.querySelector('[data-testid=input-preview]');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const sum = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) sum[k] += d[i + k];
    return { width: c.width, rgb: sum.map((v) => v / (d.length / 4)) };
  });
  assert.equal(means.width, 32);
  assert.ok(means.rgb[0] > 20 && means.rgb[1] < 2 && means.rgb[2] < 2, `input means ${means.rgb.map((v) => v.toFixed(1))}`);
  // The panels work at the model's shape: 32×32 colour tiles in the gallery, the interpolation
  // strip (A and B are held-out pictures), the latent code, and inpainting the input.
  const colourAt32 = (sel) => page.waitForFunction((q) => {
    const c = document.querySelector(q);
    if (!c || c.height !== 32) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 30) return true;
    return false;
  }, sel, { timeout: 20000 });
  for (const [panel, sel] of [['gallery-panel', '#gallery canvas'], ['interp-panel', '#interp-strip'], ['compress-panel', '#compress-recon']]) {
    await page.locator(`#${panel}`).scrollIntoViewIfNeeded();
    await colourAt32(sel);
  }
  await page.locator('#inpaint-panel').scrollIntoViewIfNeeded();
  await page.click('[data-testid=inpaint-use-input]');
  await page.click('[data-testid=inpaint-lower-half]');
  await page.click('[data-testid=inpaint-run]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=inpaint-canvas]').dataset.done) > 0, null, { timeout: 60000 });
  await colourAt32('#inpaint-result');
  let gridColour = 0;
  const g = result.grid.d;
  for (let i = 0; i < g.length; i += 4) if (Math.max(g[i], g[i + 1], g[i + 2]) - Math.min(g[i], g[i + 1], g[i + 2]) > 40) gridColour += 1;
  assert.ok(gridColour > 2000, `the latent grid has ${gridColour} coloured pixels`);
  assert.deepEqual(problems, []);
});

test('a model trained with vae train --images on the folder encodes in the page as natively (1e-4)', async () => {
  const out = join(tmp, 'native.safetensors');
  execFileSync(VAE_BIN, ['--threads', '1', 'train', '--images', join(tmp, 'digits'), '--latent', '2', '--hidden', '64', '--epochs', '1', '--seed', '3', '--out', out], { stdio: 'pipe' });
  const native = JSON.parse(execFileSync(VAE_BIN, ['encode', '--weights', out, '--images', join(tmp, 'digits'), '--count', '5'], { encoding: 'utf8' }));
  // The page: the file loaded (with the digits loaded as your pictures again), its first five pictures encoded.
  await page.click('[data-testid=images-clear]');
  await page.selectOption('[data-testid=images-size]', '28');
  await page.uncheck('[data-testid=images-colour]');
  await page.setInputFiles('[data-testid=images-folder]', join(tmp, 'digits'));
  await waitForCount(DIGITS);
  await page.setInputFiles('[data-testid=weights-file]', out);
  await page.waitForFunction(() => /Loaded native\.safetensors/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 15000 });
  const mus = [];
  for (let k = 0; k < 5; k++) {
    // The page's pictures in path order; the native command encodes the same order.
    mus.push(await page.evaluate((i) => window.vaeDebug.encodePicture(i), k));
  }
  for (let k = 0; k < 5; k++) {
    for (let d = 0; d < 2; d++) assert.ok(Math.abs(mus[k][d] - native.mu[k][d]) < 1e-4, `picture ${k} z${d}: page ${mus[k][d]}, native ${native.mu[k][d]}`);
  }
  assert.deepEqual(problems, []);
});
