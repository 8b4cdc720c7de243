// Memory soak: trains in the worker while the main thread redraws the latent grid continuously,
// sampling the main thread's and the worker's wasm memory and the page's JS heap (after a forced
// GC). Growth compares the medians of the first and last thirds after warm-up (a quarter of the run).
//
//   node tests/e2e/soak.js [seconds=600]      prints the samples and the growth as JSON
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, openApp } from './harness.js';

const MB = 1024 * 1024;

/** Runs the soak for `seconds`; resolves to { samples, growth, problems }. */
export async function runSoak(seconds, { log = () => {} } = {}) {
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const { page, problems } = await openApp(browser.context, server.url, '?debug');
    const cdp = await browser.context.newCDPSession(page);
    await page.selectOption('[data-testid=train-subset]', '10000');
    await page.fill('[data-testid=train-epochs]', '1000');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => window.vaeDebug.memory().workerWasmBytes > 0, null, { timeout: 30000 });
    // The main thread redraws the grid continuously: zoom in and out on every frame.
    await page.evaluate(() => {
      const grid = document.querySelector('[data-testid=latent-grid]');
      const r = grid.getBoundingClientRect();
      let i = 0;
      const spin = () => {
        grid.dispatchEvent(new WheelEvent('wheel', { deltaY: i++ % 2 ? 120 : -120, clientX: r.left + r.width / 3, clientY: r.top + r.height / 2, cancelable: true }));
        window.soakFrame = requestAnimationFrame(spin);
      };
      spin();
    });
    const samples = [];
    const start = Date.now();
    const every = Math.max(2, seconds / 30) * 1000;
    while (Date.now() - start < seconds * 1000) {
      await page.waitForTimeout(every);
      await cdp.send('HeapProfiler.collectGarbage');
      const heap = await cdp.send('Runtime.getHeapUsage');
      const mem = await page.evaluate(() => ({ ...window.vaeDebug.memory(), grids: window.vaeMetrics.gridPaints, step: document.getElementById('train-step').textContent }));
      const sample = { t: Math.round((Date.now() - start) / 1000), jsHeapMB: heap.usedSize / MB, mainWasmMB: mem.mainWasmBytes / MB, workerWasmMB: mem.workerWasmBytes / MB, grids: mem.grids, step: mem.step };
      samples.push(sample);
      log(sample);
    }
    await page.evaluate(() => cancelAnimationFrame(window.soakFrame));
    // Medians over the first and the last third after warm-up, so one noisy GC sample decides nothing.
    const steady = samples.slice(Math.floor(samples.length / 4));
    const third = Math.max(1, Math.floor(steady.length / 3));
    const median = (key, part) => part.map((s) => s[key]).sort((a, b) => a - b)[Math.floor(part.length / 2)];
    const early = steady.slice(0, third);
    const late = steady.slice(-third);
    const grow = (key) => median(key, late) / median(key, early) - 1;
    const growth = {
      jsHeap: grow('jsHeapMB'),
      mainWasm: grow('mainWasmMB'),
      workerWasm: grow('workerWasmMB'),
      gridsPainted: steady[steady.length - 1].grids - steady[0].grids,
    };
    return { samples, growth, problems };
  } finally {
    await browser.close();
    server.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.argv[2] ?? 600);
  const result = await runSoak(seconds, { log: (s) => console.log(JSON.stringify(s)) });
  console.log(JSON.stringify({ seconds, growth: result.growth, problems: result.problems }, null, 1));
}
