// Measures the explorer in headless Chromium (not a test; run `node tests/e2e/measure-explorer.js`):
//   (a) decoding and painting the 20×20 latent grid: the app's own vaeMetrics.lastGridMs (wasm decode
//       + putImageData, summed over the bands it paints in) and end to end, from the click on
//       "Reset view" to the grid being complete (gridPaints incremented);
//   (b) a pointer move on the drawing canvas to the updated reconstruction: vaeMetrics.lastReconMs
//       and end to end, from the pointermove's dispatch to the update being done, and to the next
//       animation frame after it;
//   (c) cold-cache load: a fresh browser profile per run, from navigation start to the first
//       complete grid.
// Prints a table and a JSON object with medians (and min / max) over the runs after warm-up.
// Options: --runs N (default 30), --cold N (default 7), --warmup N (default 5).
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { startServer, launchBrowser, openApp } from './harness.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = Math.max(20, arg('runs', 30));
const COLD_RUNS = Math.max(5, arg('cold', 7));
const WARMUP = arg('warmup', 5);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });

/**
 * In the page: a check that runs right after every animation frame's callbacks (rAF, then a
 * message task), so a change made inside a frame callback is seen in the same frame.
 */
const AFTER_FRAME_HELPER = () => {
  window.__afterFrames = (predicate) => new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      if (predicate()) {
        channel.port1.close();
        resolve(performance.now());
      } else {
        requestAnimationFrame(() => channel.port2.postMessage(0));
      }
    };
    channel.port2.postMessage(0);
  });
};

async function measureGrid(page) {
  const samples = { lastGridMs: [], endToEndMs: [] };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const r = await page.evaluate(async () => {
      const before = window.vaeMetrics.gridPaints;
      const t0 = performance.now();
      document.querySelector('[data-testid=reset-view]').click();
      const t1 = await window.__afterFrames(() => window.vaeMetrics.gridPaints > before);
      return { endToEndMs: t1 - t0, lastGridMs: window.vaeMetrics.lastGridMs, width: document.querySelector('[data-testid=latent-grid]').width };
    });
    if (r.width !== 560) throw new Error(`the grid is ${r.width} px wide, not 560 (N = 20)`);
    if (i >= WARMUP) {
      samples.lastGridMs.push(r.lastGridMs);
      samples.endToEndMs.push(r.endToEndMs);
    }
  }
  return { lastGridMs: summary(samples.lastGridMs), endToEndMs: summary(samples.endToEndMs) };
}

async function measureRecon(page) {
  await page.evaluate(() => {
    const canvas = document.querySelector('[data-testid=draw-canvas]');
    const label = document.getElementById('drawing-latent');
    window.__recon = { pending: null, samples: [] };
    canvas.addEventListener('pointermove', (e) => {
      if (e.buttons) window.__recon.pending = { tEvent: performance.now(), updates: window.vaeMetrics.reconUpdates };
    }, { capture: true });
    // The readout is rewritten at the end of every reconstruction, inside the frame callback.
    new MutationObserver(() => {
      const p = window.__recon.pending;
      if (!p || window.vaeMetrics.reconUpdates === p.updates) return;
      window.__recon.pending = null;
      const tDone = performance.now();
      const lastReconMs = window.vaeMetrics.lastReconMs;
      requestAnimationFrame(() => {
        window.__recon.samples.push({ doneMs: tDone - p.tEvent, nextFrameMs: performance.now() - p.tEvent, lastReconMs });
      });
    }).observe(label, { childList: true, characterData: true, subtree: true });
  });
  const box = await page.locator('[data-testid=draw-canvas]').boundingBox();
  const at = (x, y) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  const total = WARMUP + RUNS;
  const perStroke = 12;
  let done = 0;
  for (let stroke = 0; done < total; stroke++) {
    await page.click('[data-testid=clear-button]');
    // Zig-zag strokes across the canvas, so every move adds ink and changes the input.
    const x0 = 50 + (stroke % 4) * 50;
    await page.mouse.move(...at(x0, 30));
    await page.mouse.down();
    for (let k = 1; k <= perStroke && done < total; k++, done++) {
      const count = await page.evaluate(() => window.__recon.samples.length);
      await page.mouse.move(...at(x0 + (k % 2 ? 30 : 0), 30 + k * 18));
      await page.waitForFunction((n) => window.__recon.samples.length > n, count, { timeout: 5000 });
    }
    await page.mouse.up();
  }
  const samples = (await page.evaluate(() => window.__recon.samples)).slice(WARMUP);
  return {
    lastReconMs: summary(samples.map((s) => s.lastReconMs)),
    eventToReconMs: summary(samples.map((s) => s.doneMs)),
    eventToNextFrameMs: summary(samples.map((s) => s.nextFrameMs)),
  };
}

async function measureColdLoad(url) {
  const firstGrid = [];
  const bytes = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const browser = await launchBrowser(); // a fresh, empty profile: nothing cached
    try {
      const page = await browser.context.newPage();
      await page.addInitScript(AFTER_FRAME_HELPER);
      await page.addInitScript(() => {
        window.__firstGrid = new Promise((resolve) => {
          const wait = () => (window.__afterFrames ? window.__afterFrames(() => window.vaeMetrics?.gridPaints > 0).then(resolve) : setTimeout(wait, 0));
          wait();
        });
      });
      await page.goto(url, { waitUntil: 'commit' });
      const r = await page.evaluate(async () => {
        const t = await window.__firstGrid;
        const entries = performance.getEntriesByType('resource');
        const transferred = entries.reduce((s, e) => s + (e.transferSize || 0), 0);
        const cached = entries.filter((e) => e.transferSize === 0 && e.decodedBodySize > 0).length;
        return { firstGridMs: t, transferred, cached };
      });
      if (r.cached) throw new Error(`cold run ${i}: ${r.cached} resources came from a cache`);
      firstGrid.push(r.firstGridMs);
      bytes.push(r.transferred);
    } finally {
      await browser.close();
    }
  }
  return { navigationToFirstGridMs: summary(firstGrid), bytesTransferred: median(bytes) };
}

async function main() {
  const server = await startServer();
  const browser = await launchBrowser();
  const result = {};
  try {
    const { page, problems } = await openApp(browser.context, server.url);
    await page.evaluate(AFTER_FRAME_HELPER);
    result.chromium = (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/([\d.]+)/)?.[1];
    try {
      result.chromiumBinary = execFileSync(process.env.CHROMIUM_PATH || '/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // The user agent above is enough.
    }
    result.cpu = `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`;
    result.model = await page.textContent('[data-testid=status]');
    await page.waitForFunction(() => window.vaeMetrics.scatterCount > 0, null, { timeout: 30000 }); // quiet page
    result.grid = await measureGrid(page);
    result.recon = await measureRecon(page);
    if (problems.length) throw new Error(`page problems: ${problems.join('; ')}`);
    result.coldLoad = await measureColdLoad(server.url);
  } finally {
    await browser.close();
    server.close();
  }

  const ms = (s) => `${s.median.toFixed(1).padStart(7)}  ${s.min.toFixed(1).padStart(7)}  ${s.max.toFixed(1).padStart(7)}  ${String(s.n).padStart(3)}`;
  const rows = [
    ['(a) 20×20 grid: vaeMetrics.lastGridMs', result.grid.lastGridMs],
    ['(a) 20×20 grid: Reset view click → grid complete', result.grid.endToEndMs],
    ['(b) drawing: vaeMetrics.lastReconMs', result.recon.lastReconMs],
    ['(b) drawing: pointermove → reconstruction done', result.recon.eventToReconMs],
    ['(b) drawing: pointermove → next frame after it', result.recon.eventToNextFrameMs],
    ['(c) cold load: navigation → first complete grid', result.coldLoad.navigationToFirstGridMs],
  ];
  console.log(`Chromium ${result.chromium} (${result.chromiumBinary ?? 'headless'}), ${result.cpu}`);
  console.log(result.model);
  console.log(`${'measurement'.padEnd(52)}  median      min      max    n   (ms)`);
  for (const [name, s] of rows) console.log(`${name.padEnd(52)}  ${ms(s)}`);
  console.log(`cold load transfers ${(result.coldLoad.bytesTransferred / 1e6).toFixed(1)} MB (median)`);
  console.log(JSON.stringify(result, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
