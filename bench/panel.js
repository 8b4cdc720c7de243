// What a person sees, measured on the app's own page: training with the panel's default settings
// (cores on auto) and, after it, the latent map zoomed continuously (grids decoded on the two grid
// workers). For each: the longest main-thread task (from a Chromium performance trace) and the
// 99th-percentile frame time (requestAnimationFrame intervals); for training also the samples/s
// the panel shows and the core count it chose.
import { launchBrowser } from '../tests/e2e/harness.js';

const TRAIN_SECONDS = 15;
const ZOOM_SECONDS = 5;

/** The renderer main thread of the app's page in trace `events`: its complete events and its top-level tasks. */
export function rendererMainThread(events) {
  const names = new Map(); // "pid:tid" → thread name
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name);
  const tasksOf = (key) => events.filter((e) => `${e.pid}:${e.tid}` === key && e.ph === 'X' && e.name === 'RunTask');
  // The app's renderer: the main thread with the most top-level tasks.
  const key = [...names].filter(([, n]) => n === 'CrRendererMain').map(([k]) => k).sort((a, b) => tasksOf(b).length - tasksOf(a).length)[0];
  const onMain = events.filter((e) => `${e.pid}:${e.tid}` === key && e.ph === 'X');
  const tasks = onMain.filter((e) => e.name === 'RunTask').sort((a, b) => a.ts - b.ts);
  return { key, names, onMain, tasks };
}

/** Runs `during()` while tracing the page and recording its frames: the longest main-thread task and the frame times' 99th percentile, ms. */
async function responsiveness(context, page, during) {
  const cdp = await context.newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', ({ value }) => events.push(...value));
  const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline'] }, transferMode: 'ReportEvents' });
  await page.evaluate(() => {
    window.benchFrames = [];
    const frame = (t) => {
      if (!window.benchFrames) return; // the recording has ended
      window.benchFrames.push(t);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  await during();
  const frames = await page.evaluate(() => {
    const t = window.benchFrames;
    window.benchFrames = null;
    return t.slice(1).map((v, i) => v - t[i]);
  });
  await cdp.send('Tracing.end');
  await complete;
  await cdp.detach();
  const { tasks } = rendererMainThread(events);
  const sorted = frames.sort((a, b) => a - b);
  return {
    longestTaskMs: Math.max(0, ...tasks.map((e) => (e.dur ?? 0) / 1000)),
    frameP99Ms: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? 0,
    frames: sorted.length,
  };
}

/** The panel measurement on `server`'s app, in a fresh browser. */
export async function panelBench(server) {
  const { context, close } = await launchBrowser();
  try {
    const page = await context.newPage();
    await page.goto(server.url, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0, null, { timeout: 30000 });
    await page.waitForTimeout(4000); // the panels' own models load 3 s after the first grid
    const tid = (id) => page.locator(`[data-testid=${id}]`);
    await tid('train-epochs').fill('100'); // the defaults otherwise; long enough not to finish
    await tid('train-start').click();
    await page.waitForFunction(() => Number(document.getElementById('train-throughput').textContent) > 0, null, { timeout: 60000 });
    const training = await responsiveness(context, page, () => page.waitForTimeout(TRAIN_SECONDS * 1000));
    const shown = await page.evaluate(() => ({
      samplesPerS: Number(document.getElementById('train-throughput').textContent),
      workers: document.getElementById('train-workers').textContent,
    }));
    await tid('train-pause').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=train-pause]').textContent === 'Resume', null, { timeout: 10000 });
    // The map zoomed in and out by the wheel, as fast as the page takes it.
    const map = tid('latent-grid');
    await map.scrollIntoViewIfNeeded();
    const box = await map.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const zooming = await responsiveness(context, page, async () => {
      const end = Date.now() + ZOOM_SECONDS * 1000;
      for (let i = 0; Date.now() < end; i++) {
        await page.mouse.wheel(0, i % 8 < 4 ? -120 : 120);
        await page.waitForTimeout(30);
      }
    });
    const cores = /^Cores auto: two workers/.test(shown.workers) ? 2 : /^Cores auto: one worker/.test(shown.workers) ? 1 : null;
    return { samplesPerS: shown.samplesPerS, workers: shown.workers, coresAuto: cores, training, zooming };
  } finally {
    await close();
  }
}
