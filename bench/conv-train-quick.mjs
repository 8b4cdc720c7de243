// Quick look at in-tab conv training speed for each wasm build.  node bench/conv-train-quick.mjs [cores=1,2] [builds=simd128,relaxed]
import { startServer, launchBrowser } from '../tests/e2e/harness.js';
import { serveBenchFiles } from './bench-files.js';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const server = await startServer();
const { context, close } = await launchBrowser();
try {
  await serveBenchFiles(context, server);
  const page = await context.newPage();
  await page.goto(`${server.url}bench/page.html`);
  await page.waitForFunction(() => window.benchReady);
  const conv = { arch: process.argv[4] ?? 'conv', latent: 16 };
  for (const cores of (process.argv[2] ?? '1,2').split(',').map(Number)) {
    for (const build of (process.argv[3] ?? 'simd128,relaxed').split(',')) {
      const r = await page.evaluate(([c, m, b]) => window.runAppTraining(c, 20, 10, m, b), [cores, conv, build]);
      console.log(`${conv.arch} 16-D, ${cores} worker(s), ${build}: ${median(r.samplesPerSec).toFixed(0)} samples/s`, process.env.SLICES ? r.samplesPerSec.map((x) => x.toFixed(0)).join(" ") : "");
    }
  }
} finally { await close(); server.close(); }
