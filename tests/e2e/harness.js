// Shared by the browser tests and the benchmark: starts `vae serve` on a free port and headless
// Debian Chromium (playwright-core, never a downloaded browser), and records everything a test
// must fail on: console errors, uncaught exceptions, CSP violations and requests that leave the
// page's origin.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VAE_BIN = join(ROOT, 'target', 'release', 'vae');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Starts `vae serve` on an ephemeral port; resolves to { url, close }. */
export async function startServer(extraArgs = []) {
  const child = spawn(VAE_BIN, ['serve', '--port', '0', '--root', ROOT, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`vae serve did not start: ${out}`)), 10000);
    const onData = (d) => {
      out += d;
      const m = out.match(/http:\/\/[\d.:]+\//);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`vae serve exited with ${code}: ${out}`)));
  });
  return { url, close: () => child.kill() };
}

/** Launches headless Chromium with a fresh profile; resolves to { context, close }. */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'vae-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
}

/**
 * Opens the app in a new page and waits until the first grid is painted. Returns { page, problems }:
 * `problems` collects console errors, page errors, CSP violations and off-origin requests.
 */
export async function openApp(context, baseUrl, path = '') {
  const page = await context.newPage();
  const origin = new URL(baseUrl).origin;
  const problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:')) problems.push(`off-origin request: ${u}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(baseUrl + path, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0, null, { timeout: 30000 });
  return { page, problems };
}

/**
 * Draws strokes on the drawing canvas with the mouse: each stroke a list of [x, y] in the 280×280
 * canvas's own pixels; `steps` mouse moves between consecutive points.
 */
export async function drawStrokes(page, strokes, steps = 1) {
  const canvas = page.locator('[data-testid=draw-canvas]');
  // Where the pointer goes now: the canvas scrolled into view, then (as a person sees it) drawn on
  // screen. A panel out of view is not rendered (content-visibility: auto) and its contents take no
  // pointer events until the frame after it scrolls into view, so a stroke at once would miss.
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const [x0, y0] = strokes[0][0];
  await page.waitForFunction(([x, y]) => document.elementFromPoint(x, y)?.id === 'draw-canvas',
    [box.x + (x0 * box.width) / 280, box.y + (y0 * box.height) / 280], { timeout: 10000 });
  const at = ([x, y]) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  for (const points of strokes) {
    await page.mouse.move(...at(points[0]));
    await page.mouse.down();
    for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps });
    await page.mouse.up();
  }
}

/**
 * A served app in a fresh browser, opened at `path` (see openApp); `close()` ends both. The usual
 * before/after pair of a test file.
 */
export async function startApp(path = '') {
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const { page, problems } = await openApp(browser.context, server.url, path);
    return { server, browser, page, problems, close: async () => { await browser.close(); server.close(); } };
  } catch (err) {
    await browser.close();
    server.close();
    throw err;
  }
}

/**
 * Takes a screenshot with every panel rendered: panels below the fold skip rendering
 * (content-visibility: auto), so a picture of the whole page or of many panels would show blanks.
 * `target` is the page (full page) or a locator; resolves to the PNG bytes.
 */
export async function screenshotAllPanels(page, target, path) {
  const setPanels = (value) => page.evaluate((v) => document.querySelectorAll('.panel').forEach((p) => { p.style.contentVisibility = v; }), value);
  await setPanels('visible');
  try {
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    return await (target === page ? page.screenshot({ path, fullPage: true }) : target.screenshot({ path }));
  } finally {
    await setPanels('');
  }
}
