// The application panels driven as a person would: the sample gallery and its temperature, the
// interpolation strip and latent arithmetic, inpainting a masked test digit, the anomaly gauge on
// real digits and on scribbles, the conditional VAE's style transfer, the compressed code and its
// share link, Fashion-MNIST models and the β panel. Expectations come from the real test set, read
// here from the same files the page loads; every test ends by checking the page had no errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, drawStrokes, openApp, screenshotAllPanels, startApp } from './harness.js';

let app;
let page;
let problems;

/** MNIST's test set from the page's own data files: { images: Uint8Array[], labels }. */
function readTestSet(dataset = 'mnist') {
  const file = (name) => gunzipSync(readFileSync(join(ROOT, 'www', 'data', `${dataset}-t10k-${name}.idx.gz`)));
  const images = file('images');
  const labels = file('labels');
  const count = labels.readUInt32BE(4);
  return {
    images: Array.from({ length: count }, (_, i) => images.subarray(16 + 784 * i, 16 + 784 * (i + 1))),
    labels: labels.subarray(8, 8 + count),
  };
}
const mnist = readTestSet();

/** The mean image of each class and of all test images, as grey levels 0–255. */
function means(set) {
  const perClass = Array.from({ length: 10 }, () => new Float64Array(784));
  const counts = new Array(10).fill(0);
  const all = new Float64Array(784);
  set.images.forEach((img, i) => {
    counts[set.labels[i]] += 1;
    for (let p = 0; p < 784; p++) {
      perClass[set.labels[i]][p] += img[p];
      all[p] += img[p];
    }
  });
  perClass.forEach((m, c) => m.forEach((v, p) => { m[p] = v / counts[c]; }));
  all.forEach((v, p) => { all[p] = v / set.images.length; });
  return { perClass, all };
}
const MEANS = means(mnist);

before(async () => {
  app = await startApp();
  ({ page, problems } = app);
  await app.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(app.server.url).origin });
});

after(async () => {
  await app?.close();
});

const assertNoProblems = () => assert.deepEqual(problems, [], 'the page reported problems');

/** Grey levels (red channel) of a canvas, by element id: { width, height, px }. */
const readCanvas = (id) => page.evaluate((id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const px = Array.from({ length: canvas.width * canvas.height }, (_, i) => data[4 * i]);
  return { width: canvas.width, height: canvas.height, px };
}, id);

/** Tile k (in reading order) of a canvas read with readCanvas, 784 grey levels. */
function tile(canvas, k) {
  const cols = canvas.width / 28;
  const [tx, ty] = [k % cols, Math.floor(k / cols)];
  const out = [];
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out.push(canvas.px[(ty * 28 + y) * canvas.width + tx * 28 + x]);
  return out;
}

const counter = (id) => page.evaluate((id) => Number(document.getElementById(id).dataset.updates ?? 0), id);
/** Runs `action`, then waits until element `id`'s update counter moves past where it was. */
async function afterUpdate(id, action) {
  const before = await counter(id);
  await action();
  await page.waitForFunction(([id, n]) => Number(document.getElementById(id).dataset.updates ?? 0) > n, [id, before], { timeout: 10000 });
}

/**
 * Does `action` (a drawing, a loaded image), then waits for the anomaly score of the input it left:
 * a stroke changes the input many times, and the panels score it as it pauses, so the first fresh
 * score may be of half a stroke. Two frames on, the explorer has taken the last change (metrics.input).
 */
async function afterScore(action) {
  await action();
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  await page.waitForFunction(() => document.getElementById('anomaly-score').dataset.input === window.vaeMetrics.input, null, { timeout: 10000 });
}

async function loadTestImage(index) {
  await page.getByTestId('test-index').fill(String(index));
  await afterScore(() => page.getByTestId('load-test').click());
}

const draw = (strokes) => drawStrokes(page, strokes, 2);

function sumSquares(a, b, from = 0, to = a.length) {
  let s = 0;
  for (let i = from; i < to; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

test('the gallery decodes prior samples; temperature scales z and re-roll draws new ones', async () => {
  const gallery = page.getByTestId('gallery');
  await page.waitForFunction(() => Number(document.getElementById('gallery').dataset.paints) > 0, null, { timeout: 10000 });
  const count = await gallery.locator('canvas').count();
  assert.ok(count >= 16, `${count} samples`);
  const read = () => page.evaluate(() => [...document.querySelectorAll('[data-testid=gallery] canvas')]
    .map((c) => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))));
  const spread = (images) => { // mean per-pixel variance across the samples
    let total = 0;
    for (let p = 0; p < 784; p++) {
      const m = images.reduce((s, img) => s + img[p], 0) / images.length;
      total += images.reduce((s, img) => s + (img[p] - m) ** 2, 0) / images.length;
    }
    return total / 784;
  };
  const normal = await read();
  assert.ok(normal.every((img) => img.some((v) => v > 128)), 'every sample has ink');
  // Temperature from the keyboard: Home = 0.1.
  await page.getByTestId('temperature').focus();
  await page.keyboard.press('Home');
  const cold = await read();
  await page.keyboard.press('End');
  const hot = await read();
  assert.ok(spread(cold) < 0.5 * spread(normal), `samples at t=0.1 vary less (${spread(cold).toFixed(0)} vs ${spread(normal).toFixed(0)})`);
  assert.ok(spread(hot) > spread(cold), 'samples at t=2 vary more than at 0.1');
  await page.getByTestId('reroll').click();
  const rerolled = await read();
  assert.ok(rerolled.some((img, i) => img.some((v, p) => v !== hot[i][p])), 're-roll gives new samples');
  assertNoProblems();
});

test('the interpolation strip runs from the decode of A to the decode of B, on both paths', async () => {
  // The explorer's reconstruction of test image #3 is decode(μ) of that image: the strip's first tile.
  await loadTestImage(3);
  const reconA = (await readCanvas('recon-canvas')).px;
  await loadTestImage(5);
  const reconB = (await readCanvas('recon-canvas')).px;
  await afterUpdate('interp-strip', () => page.getByTestId('interp-a').fill('3'));
  await afterUpdate('interp-strip', () => page.getByTestId('interp-b').fill('5'));
  const linear = await readCanvas('interp-strip');
  const tiles = linear.width / 28;
  assert.ok(tiles >= 8, `${tiles} tiles`);
  assert.deepEqual(tile(linear, 0), reconA, 'first tile = decode(μ_A)');
  assert.deepEqual(tile(linear, tiles - 1), reconB, 'last tile = decode(μ_B)');
  await afterUpdate('interp-strip', () => page.getByTestId('interp-path').selectOption('spherical'));
  const spherical = await readCanvas('interp-strip');
  assert.deepEqual(tile(spherical, 0), reconA);
  assert.deepEqual(tile(spherical, tiles - 1), reconB);
  const mid = Math.floor(tiles / 2);
  assert.ok(sumSquares(tile(spherical, mid), tile(linear, mid)) > 0, 'the spherical path passes elsewhere');
  // "B ← current input" takes the loaded image; arithmetic C + (B − A) with A = B is decode(μ_C).
  await afterUpdate('interp-strip', () => page.getByTestId('interp-a-input').click());
  await afterUpdate('interp-strip', () => page.getByTestId('interp-b-input').click());
  await afterUpdate('interp-strip', () => page.getByTestId('interp-c').fill('5'));
  assert.deepEqual((await readCanvas('interp-arith')).px, reconB, 'C + (B − A) with A = B gives decode(μ_C)');
  assertNoProblems();
});

test('inpainting a test digit with its lower half masked keeps the known half and beats the mean image', async () => {
  const index = 7;
  const truth = mnist.images[index];
  await page.getByTestId('inpaint-index').fill(String(index));
  // Painting the mask needs the toggle: without it a stroke paints nothing.
  const box = await page.getByTestId('inpaint-canvas').boundingBox();
  const stroke = async () => {
    await page.mouse.move(box.x + 5, box.y + box.height * 0.9);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 5, box.y + box.height * 0.9, { steps: 10 });
    await page.mouse.up();
  };
  const redPixels = async () => {
    const c = await page.evaluate(() => {
      const canvas = document.getElementById('inpaint-canvas');
      const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let red = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > d[i + 1] + 60) red += 1;
      return red;
    });
    return c;
  };
  await stroke();
  assert.equal(await redPixels(), 0, 'no mask without the toggle');
  await page.getByTestId('inpaint-mask-toggle').click();
  await stroke();
  await page.waitForTimeout(100);
  assert.ok(await redPixels() > 500, 'the stroke painted a mask');
  await page.getByTestId('inpaint-clear-mask').click();
  await page.getByTestId('inpaint-lower-half').click();
  await page.getByTestId('inpaint-run').click();
  await page.waitForFunction(() => document.getElementById('inpaint-result').dataset.iterations === '200', null, { timeout: 60000 });
  const result = (await readCanvas('inpaint-result')).px;
  const loop = (await readCanvas('inpaint-loop-result')).px;
  assert.deepEqual(result.slice(0, 392), Array.from(truth.subarray(0, 392)), 'the known upper half is unchanged');
  assert.deepEqual(loop.slice(0, 392), Array.from(truth.subarray(0, 392)), 'the loop keeps it too');
  const errVae = sumSquares(result, truth, 392, 784);
  const errMean = sumSquares(Array.from(MEANS.all), truth, 392, 784);
  assert.ok(errVae < errMean, `masked-pixel error ${errVae.toFixed(0)} vs mean image ${errMean.toFixed(0)}`);
  assert.match(await page.getByTestId('inpaint-readout').textContent(), /iteration 200\/200/);
  assertNoProblems();
});

test('anomaly percentiles: real test digits are mostly typical, scribbles mostly unusual', async () => {
  const percentile = async () => Number(await page.getByTestId('anomaly-percentile').textContent());
  const digits = [];
  for (let i = 0; i < 20; i++) {
    await loadTestImage(1000 + 37 * i);
    const score = Number(await page.getByTestId('anomaly-score').textContent());
    assert.ok(Number.isFinite(score) && score > 0, `score ${score}`);
    digits.push(await percentile());
  }
  const scribbles = [];
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 20; i++) {
    await page.getByTestId('clear-button').click();
    const points = Array.from({ length: 16 }, () => [20 + 240 * rand(), 20 + 240 * rand()]); // a 16-point tangle
    await afterScore(() => draw([points]));
    scribbles.push(await percentile());
  }
  const typical = digits.filter((p) => p < 90).length;
  const unusual = scribbles.filter((p) => p > 99).length;
  assert.ok(typical >= 15, `test digits below the 90th percentile: ${typical}/20 (${digits.join(', ')})`);
  assert.ok(unusual >= 15, `scribbles above the 99th percentile: ${unusual}/20 (${scribbles.join(', ')})`);
  assert.match(await page.getByTestId('anomaly-verdict').textContent(), /Unusual.*16-D/);
  // Scored by the explorer's own (2-D) model instead: a different score, still with a percentile.
  const sixteen = Number(await page.getByTestId('anomaly-score').textContent());
  await afterUpdate('anomaly-score', () => page.getByTestId('anomaly-model').selectOption('current'));
  const two = Number(await page.getByTestId('anomaly-score').textContent());
  assert.ok(Math.abs(two - sixteen) > 1, `2-D score ${two} vs 16-D ${sixteen}`);
  assert.match(await page.getByTestId('anomaly-verdict').textContent(), /2-D/);
  await page.getByTestId('anomaly-model').selectOption('best');
  assertNoProblems();
});

test('the conditional VAE renders the input\'s style as ten recognisable digits, on both models', async () => {
  const nearestClass = (img) => {
    let best = -1;
    let bestD = Infinity;
    MEANS.perClass.forEach((m, c) => {
      const d = sumSquares(img, m);
      if (d < bestD) [best, bestD] = [c, d];
    });
    return best;
  };
  for (const file of ['cvae-mnist-2d.safetensors', 'cvae-mnist-8d.safetensors']) {
    for (const index of [0, 11]) {
      const renders = await page.evaluate(() => Number(document.getElementById('cvae-styles').dataset.renders ?? 0));
      await page.getByTestId('cvae-model').selectOption(file);
      await loadTestImage(index);
      await page.waitForFunction((n) => Number(document.getElementById('cvae-styles').dataset.renders) > n
        && document.getElementById('cvae-styles').dataset.ready === 'input', renders, { timeout: 20000 });
      await page.waitForTimeout(200); // the debounced render after the load has finished
      const canvases = await page.evaluate(() => [...document.querySelectorAll('[data-testid=cvae-styles] canvas')]
        .map((c) => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))));
      assert.equal(canvases.length, 10);
      const right = canvases.filter((img, digit) => nearestClass(img) === digit).length;
      assert.ok(right >= 8, `${file}, test image #${index}: ${right}/10 digits nearest their own class mean`);
      assert.match(await page.getByTestId('cvae-readout').textContent(), new RegExp(`^Read as ${mnist.labels[index]} \\(`));
    }
  }
  // The digit picker generates the chosen digit.
  await page.getByTestId('cvae-digit').selectOption('4');
  await page.waitForTimeout(300);
  const generated = await page.evaluate(() => [...document.querySelectorAll('[data-testid=cvae-generated] canvas')]
    .map((c) => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))));
  const fours = generated.filter((img) => nearestClass(img) === 4).length;
  assert.ok(fours >= generated.length - 2, `${fours}/${generated.length} generated images are 4s`);
  assertNoProblems();
});

test('the latent code compresses 784 bytes to 2·L and a copied link reopens the same latent point', async () => {
  await page.getByTestId('clear-button').click();
  await page.waitForTimeout(300);
  // No input: the code is the decoder's point, moved here with the keyboard.
  await page.getByTestId('latent-slider-0').focus();
  for (let i = 0; i < 37; i++) await page.keyboard.press('ArrowRight');
  await page.getByTestId('latent-slider-1').focus();
  for (let i = 0; i < 52; i++) await page.keyboard.press('ArrowLeft');
  await page.waitForTimeout(200);
  const z = await page.evaluate(() => [0, 1].map((i) => Number(document.querySelector(`[data-testid=latent-slider-${i}]`).value)));
  assert.deepEqual(z, [0.37, -0.52]);
  const code = await page.getByTestId('latent-code').textContent();
  assert.match(code, /0\.37\d*, -0\.52\d*\) → 4 bytes: [0-9a-f]{8}/);
  assert.match(await page.getByTestId('compress-ratio').textContent(), /784 bytes → 4 bytes.*196\.0×/);
  await page.getByTestId('share-link').click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, await page.getByTestId('share-link').getAttribute('href'));
  assert.match(copied, /#model=mnist-2d\.safetensors&z=0\.37\d*,-0\.52\d*/);
  const decoded = (await readCanvas('decoded-canvas')).px;
  const other = await openApp(app.browser.context, copied.replace(/#.*/, ''), copied.slice(copied.indexOf('#')).replace(/^/, ''));
  try {
    await other.page.waitForFunction(() => Number(document.querySelector('[data-testid=latent-slider-0]').value) !== 0, null, { timeout: 10000 });
    const reopened = await other.page.evaluate(() => [0, 1].map((i) => Number(document.querySelector(`[data-testid=latent-slider-${i}]`).value)));
    assert.deepEqual(reopened, z, 'the link reproduces the latent point');
    const px = await other.page.evaluate(() => {
      const d = document.getElementById('decoded-canvas').getContext('2d').getImageData(0, 0, 28, 28).data;
      return Array.from(d.filter((_, i) => i % 4 === 0));
    });
    assert.deepEqual(px, decoded, 'and the same decoded image');
    assert.deepEqual(other.problems, []);
  } finally {
    await other.page.close();
  }
  // With an input, the panel shows the input's code, and the link still holds the decoder's point:
  // what the sender's Decoder panel shows (the link once held the input's code, and opened another image).
  await loadTestImage(2);
  await page.waitForFunction(() => /^The link opens/.test(document.getElementById('share-status').textContent));
  const href = await page.getByTestId('share-link').getAttribute('href');
  assert.match(href, /#model=mnist-2d\.safetensors&z=0\.37,-0\.52$/, href);
  assert.match(await page.textContent('#share-status'), /decoder at z = \(0\.37, -0\.52\)/);
  assertNoProblems();
});

test('Fashion-MNIST models are selectable, with class names, and drawing still works', async () => {
  await page.getByTestId('model-select').selectOption('fashion-2d.safetensors');
  await page.waitForFunction(() => /Ready: Fashion-MNIST · 2-D/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 20000 });
  const legend = await page.locator('#legend li').allTextContents();
  assert.deepEqual(legend.slice(0, 3), ['T-shirt', 'Trouser', 'Pullover']);
  await page.waitForFunction(() => window.vaeMetrics.scatterCount === 10000, null, { timeout: 20000 });
  await page.getByTestId('clear-button').click();
  await afterScore(() => draw([[[140, 40], [140, 240]]]));
  const input = (await readCanvas('input-preview')).px;
  const recon = (await readCanvas('recon-canvas')).px;
  assert.ok(input.some((v) => v > 200), 'the stroke became the model input');
  assert.ok(Math.max(...recon) > 60, `the drawing is reconstructed by the Fashion model (max grey ${Math.max(...recon)})`);
  // A Fashion test image is typical for the Fashion model.
  await loadTestImage(0);
  assert.ok(Number(await page.getByTestId('anomaly-percentile').textContent()) < 99);
  await page.getByTestId('model-select').selectOption('fashion-16d.safetensors');
  await page.waitForFunction(() => /Ready: Fashion-MNIST · 16-D/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 20000 });
  // The conv model of Fashion-MNIST: it reconstructs a test image and scores it with its own table.
  await page.getByTestId('model-select').selectOption('conv-fashion-16d.safetensors');
  await page.waitForFunction(() => /Ready: Fashion-MNIST · conv, 16-D/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 20000 });
  await loadTestImage(1);
  assert.ok(Math.max(...(await readCanvas('recon-canvas')).px) > 100, 'the conv model reconstructs a Fashion test image');
  assert.match(await page.getByTestId('anomaly-verdict').textContent(), /Fashion-MNIST · conv, 16-D/);
  assert.ok(Number(await page.getByTestId('anomaly-percentile').textContent()) < 99, 'a Fashion test image is typical for the conv model');
  await page.getByTestId('model-select').selectOption('mnist-2d.safetensors');
  await page.waitForFunction(() => /Ready: MNIST · 2-D/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 20000 });
  assertNoProblems();
});

test('the blur panel shows the β = 0.5, 1, 4 models: KL falls and reconstruction worsens as β grows', async () => {
  await page.waitForFunction(() => document.getElementById('blur-columns').dataset.ready === 'true', null, { timeout: 20000 });
  const figures = await page.locator('#blur-columns .readout').allTextContents();
  assert.equal(figures.length, 3);
  const parsed = figures.map((t) => t.match(/reconstruction ([\d.]+) \+ KL ([\d.]+)/).slice(1).map(Number));
  assert.ok(parsed[0][1] > parsed[1][1] && parsed[1][1] > parsed[2][1], `KL by β: ${figures.join(' | ')}`);
  assert.ok(parsed[0][0] < parsed[1][0] && parsed[1][0] < parsed[2][0], `reconstruction by β: ${figures.join(' | ')}`);
  assertNoProblems();
});

test('screenshot of the panels with a test digit as the input (docs/uses.png)', async () => {
  await loadTestImage(18);
  await page.getByTestId('inpaint-index').fill('18');
  await page.getByTestId('inpaint-lower-half').click();
  await page.getByTestId('inpaint-run').click();
  await page.waitForFunction(() => document.getElementById('inpaint-result').dataset.iterations === '200', null, { timeout: 60000 });
  await page.waitForFunction(() => document.getElementById('blur-columns').dataset.ready === 'true');
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  const shot = await screenshotAllPanels(page, page.locator('.uses'), join(ROOT, 'docs', 'uses.png'));
  // The picture, decoded by the browser: as large as the panels, and where the inpainting result
  // sits it shows that canvas (ink and grey levels), not a blank.
  const seen = await page.evaluate(async (b64) => {
    const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
    const uses = document.querySelector('.uses').getBoundingClientRect();
    const target = document.getElementById('inpaint-result').getBoundingClientRect();
    const scale = bitmap.width / uses.width;
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const d = ctx.getImageData(Math.round((target.left - uses.left) * scale), Math.round((target.top - uses.top) * scale),
      Math.round(target.width * scale), Math.round(target.height * scale)).data;
    const greys = new Set();
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) {
      greys.add(d[i]);
      if (d[i] > 128) ink += 1;
    }
    return { width: bitmap.width, height: bitmap.height, expected: [uses.width * devicePixelRatio, uses.height * devicePixelRatio], ink, pixels: d.length / 4, greys: greys.size };
  }, shot.toString('base64'));
  assert.ok(Math.abs(seen.width - seen.expected[0]) <= 2 && Math.abs(seen.height - seen.expected[1]) <= 2, `screenshot ${seen.width}×${seen.height} vs panels ${seen.expected}`);
  assert.ok(seen.ink > 0.03 * seen.pixels && seen.ink < 0.6 * seen.pixels, `the inpainted digit in the picture: ${seen.ink} of ${seen.pixels} pixels with ink`);
  assert.ok(seen.greys > 10, `grey levels where the inpainting result is: ${seen.greys}`);
  assertNoProblems();
});

test('a conditional VAE file loaded into the explorer is refused with a clear message; the model stays', async () => {
  await page.getByTestId('weights-file').setInputFiles(join(ROOT, 'www', 'models', 'cvae-mnist-2d.safetensors'));
  await page.waitForFunction(() => /conditional VAE/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 10000 });
  assert.equal(await page.getByTestId('model-select').inputValue(), 'mnist-2d.safetensors');
  await page.getByTestId('sample-button').click(); // the explorer still works
  assert.ok((await readCanvas('decoded-canvas')).px.some((v) => v > 100));
  assertNoProblems();
});

test('the conv 16-D model works in every panel: reconstruction, grid, sliders, gallery, interpolation, inpainting keeps the known half and beats the mean image, anomaly, compression, share link', async () => {
  const errMean = (img) => sumSquares(Array.from(MEANS.all), img);
  await page.getByTestId('model-select').selectOption('conv-mnist-16d.safetensors');
  await page.waitForFunction(() => /^Ready: MNIST · conv, 16-D/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 20000 });
  assert.equal(await page.locator('[data-testid^=latent-slider-]').count(), 16);
  await page.waitForFunction(() => window.vaeMetrics.scatterCount === 10000, null, { timeout: 30000 });
  // Reconstruction of a test digit: far closer to it than the mean image is.
  await loadTestImage(3);
  const recon = (await readCanvas('recon-canvas')).px;
  const truth = Array.from(mnist.images[3]);
  assert.ok(sumSquares(recon, truth) < 0.25 * errMean(truth), `conv reconstruction error ${sumSquares(recon, truth)} vs mean image ${errMean(truth)}`);
  // A drawn stroke is reconstructed.
  await page.getByTestId('clear-button').click();
  await afterScore(() => draw([[[140, 40], [140, 240]]]));
  assert.ok(Math.max(...(await readCanvas('recon-canvas')).px) > 128, 'the drawn 1 is reconstructed with ink');
  // The grid: tiles differ from their neighbours.
  const grid = await readCanvas('latent-grid');
  const n = grid.width / 28;
  let distinct = 0;
  for (let k = 0; k + 1 < n * n; k++) if (k % n !== n - 1 && sumSquares(tile(grid, k), tile(grid, k + 1)) > 0) distinct += 1;
  assert.ok(distinct >= 0.75 * n * (n - 1), `conv grid: ${distinct} of ${n * (n - 1)} tiles differ from their right neighbour`);
  // Gallery samples have ink.
  const samples = await page.evaluate(() => [...document.querySelectorAll('[data-testid=gallery] canvas')]
    .map((c) => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))));
  assert.ok(samples.length >= 16 && samples.every((img) => img.some((v) => v > 128)), 'every conv sample has ink');
  // Interpolation runs from decode(μ_A) to decode(μ_B).
  await loadTestImage(3);
  const reconA = (await readCanvas('recon-canvas')).px;
  await loadTestImage(5);
  const reconB = (await readCanvas('recon-canvas')).px;
  await afterUpdate('interp-strip', () => page.getByTestId('interp-a').fill('4'));
  await afterUpdate('interp-strip', () => page.getByTestId('interp-a').fill('3'));
  await afterUpdate('interp-strip', () => page.getByTestId('interp-b').fill('6'));
  await afterUpdate('interp-strip', () => page.getByTestId('interp-b').fill('5'));
  const strip = await readCanvas('interp-strip');
  assert.deepEqual(tile(strip, 0), reconA, 'first tile = decode(μ_A) by the conv model');
  assert.deepEqual(tile(strip, strip.width / 28 - 1), reconB, 'last tile = decode(μ_B)');
  // Anomaly: scored by the conv model itself against its own test-set table.
  await loadTestImage(1000);
  assert.match(await page.getByTestId('anomaly-verdict').textContent(), /conv, 16-D/);
  assert.ok(Number(await page.getByTestId('anomaly-percentile').textContent()) < 99, 'a test digit is typical');
  // Inpainting the lower half keeps the upper half and fills it better than the mean image
  // (tests/applications.rs checks ten digits with both 16-D models; on test digit 7 neither
  // beats the mean image, so this uses digit 3).
  await page.getByTestId('inpaint-index').fill('3');
  await page.getByTestId('inpaint-clear-mask').click();
  await page.getByTestId('inpaint-lower-half').click();
  await page.getByTestId('inpaint-run').click();
  await page.waitForFunction(() => document.getElementById('inpaint-result').dataset.iterations === '200', null, { timeout: 60000 });
  const filled = (await readCanvas('inpaint-result')).px;
  const three = Array.from(mnist.images[3]);
  assert.deepEqual(filled.slice(0, 392), three.slice(0, 392), 'the known upper half is unchanged');
  const [errConv, errMeanHalf] = [sumSquares(filled, three, 392, 784), sumSquares(Array.from(MEANS.all), three, 392, 784)];
  assert.ok(errConv < 0.5 * errMeanHalf, `conv 16-D masked-pixel error ${errConv.toFixed(0)} vs mean image ${errMeanHalf.toFixed(0)}`);
  // Compression: 16 half floats, and the link names the conv model.
  assert.match(await page.getByTestId('compress-ratio').textContent(), /784 bytes → 32 bytes/);
  assert.match(await page.getByTestId('share-link').getAttribute('href'), /#model=conv-mnist-16d\.safetensors&z=/);
  // The blur panel: the conv net reconstructs the test set better than the MLP of the same L.
  await page.waitForFunction(() => document.getElementById('blur-arch-columns').dataset.ready === 'true', null, { timeout: 20000 });
  const [mlp, conv] = (await page.locator('#blur-arch-columns .readout').allTextContents())
    .map((t) => Number(t.match(/reconstruction ([\d.]+)/)[1]));
  assert.ok(conv < mlp, `test reconstruction term: conv ${conv} vs MLP ${mlp}`);
  await page.getByTestId('model-select').selectOption('mnist-2d.safetensors');
  await page.waitForFunction(() => /Ready: MNIST · 2-D/.test(document.querySelector('[data-testid=status]').textContent), null, { timeout: 20000 });
  assertNoProblems();
});
