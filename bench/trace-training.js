// Where the main thread's time goes while the page trains: records a Chromium performance trace of
// the app training with the panel's settings as a person would leave them (or the training test's
// with --test-settings), then prints every main-thread task over 50 ms (with its CPU time: a task
// whose wall time is far above its CPU time waited for a core), the busiest kinds of work on the
// main thread, and the training speed and worker count the panel showed.
//
// For each long task it also names the other threads that ran during it (a main thread that waits
// for a core shares the machine with them) and times the page's own frame work.
//
// Usage: node bench/trace-training.js [seconds=20] [--test-settings] [--cores=auto|1|2] [--out=trace.json]
//        node bench/trace-training.js --from=trace.json   (report on a trace saved with --out)
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { startServer, launchBrowser, openApp } from '../tests/e2e/harness.js';
import { rendererMainThread } from './panel.js';

const args = process.argv.slice(2);
const seconds = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const LONG_MS = 50;

if (option('from')) {
  report(JSON.parse(readFileSync(option('from'), 'utf8')).traceEvents, null);
  process.exit(0);
}

const server = await startServer();
const browser = await launchBrowser();
try {
  const { page } = await openApp(browser.context, server.url);
  const fill = async (id, value) => {
    const el = page.locator(`[data-testid=${id}]`);
    if (await el.evaluate((e) => e.tagName === 'SELECT')) await el.selectOption(value);
    else await el.fill(value);
  };
  if (args.includes('--test-settings')) {
    for (const [id, v] of [['train-subset', '10000'], ['train-epochs', '50'], ['train-latent', '4'], ['train-hidden', '256']]) await fill(id, v);
  }
  if (option('cores')) await fill('train-cores', option('cores'));
  await page.waitForTimeout(3500); // the panels' own models load 3 s after the first grid

  const cdp = await browser.context.newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', ({ value }) => events.push(...value));
  const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.start', {
    traceConfig: {
      includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'blink.user_timing', 'toplevel', 'v8', 'blink'],
      enableSampling: false,
    },
    transferMode: 'ReportEvents',
  });
  await page.locator('[data-testid=train-start]').click();
  await page.waitForTimeout(seconds * 1000);
  const shown = await page.evaluate(() => ({
    throughput: document.getElementById('train-throughput').textContent,
    step: document.getElementById('train-step').textContent,
    workers: document.getElementById('train-workers').textContent,
    status: document.getElementById('status').textContent,
  }));
  await cdp.send('Tracing.end');
  await complete;
  if (option('out')) writeFileSync(option('out'), JSON.stringify({ traceEvents: events }));
  report(events, shown);
} finally {
  await browser.close();
  server.close();
}

function report(events, shown) {
  const { key, names, onMain, tasks } = rendererMainThread(events);
  const t0 = tasks[0]?.ts ?? 0;
  const span = ((tasks.at(-1)?.ts ?? 0) - t0) / 1e6;
  const wall = tasks.reduce((s, e) => s + (e.dur ?? 0), 0) / 1000;
  const cpu = tasks.reduce((s, e) => s + (e.tdur ?? e.dur ?? 0), 0) / 1000;
  if (shown) {
    console.log(`training: ${shown.throughput} samples/s shown, step ${shown.step}\n${shown.workers}`);
    console.log(`status: ${shown.status}`);
  }
  console.log(`main thread over ${span.toFixed(1)} s: tasks ${(wall).toFixed(0)} ms wall (${(100 * wall / 1000 / span).toFixed(1)}%), `
    + `${cpu.toFixed(0)} ms CPU${shown ? `; 1-min load average ${loadavg()[0].toFixed(1)}` : ''}`);

  // What a task spent its time on: its children's self time by kind.
  const kindOf = (e) => {
    const d = e.args?.data ?? {};
    if (e.name === 'FunctionCall' || e.name === 'EvaluateScript') return `${e.name} ${d.functionName || '(anonymous)'} ${(d.url ?? '').split('/').pop()}:${d.lineNumber ?? ''}`;
    if (e.name === 'TimerFire' || e.name === 'FireAnimationFrame' || e.name === 'EventDispatch') return `${e.name}${d.type ? ` ${d.type}` : ''}`;
    return e.name;
  };
  const selfTimes = (task) => {
    const inside = onMain.filter((e) => e !== task && e.ts >= task.ts && e.ts + (e.dur ?? 0) <= task.ts + task.dur && e.dur > 0)
      .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    // Self time: duration less the children's (events nest properly on one thread).
    const self = new Map();
    const stack = [];
    for (const e of inside) {
      while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
      const parent = stack.at(-1);
      if (parent) self.set(parent, (self.get(parent) ?? parent.dur) - e.dur);
      self.set(e, self.get(e) ?? e.dur);
      stack.push(e);
    }
    const byKind = new Map();
    for (const [e, us] of self) byKind.set(kindOf(e), (byKind.get(kindOf(e)) ?? 0) + us / 1000);
    return [...byKind].sort((a, b) => b[1] - a[1]);
  };
  // Worker threads by the script they run (the app's are named after their files).
  const scripts = new Map();
  for (const e of events) {
    const url = e.args?.data?.url;
    if (url && names.get(`${e.pid}:${e.tid}`) === 'DedicatedWorker thread' && !scripts.has(`${e.pid}:${e.tid}`)) {
      scripts.set(`${e.pid}:${e.tid}`, url.split('/').pop());
    }
  }
  const threadName = (k) => (scripts.has(k) ? `worker ${scripts.get(k)}` : names.get(k) ?? k);
  /** Per other thread, its top-level task time inside `task`'s span, largest first. */
  const busyDuring = (task) => {
    const busy = new Map();
    for (const e of events) {
      const k = `${e.pid}:${e.tid}`;
      if (k === key || e.ph !== 'X' || e.name !== 'ThreadControllerImpl::RunTask') continue;
      const overlap = Math.min(e.ts + (e.dur ?? 0), task.ts + task.dur) - Math.max(e.ts, task.ts);
      if (overlap > 0) busy.set(threadName(k), (busy.get(threadName(k)) ?? 0) + overlap / 1000);
    }
    return [...busy].filter(([, ms]) => ms >= 1).sort((a, b) => b[1] - a[1]);
  };
  const long = tasks.filter((e) => e.dur / 1000 > LONG_MS);
  console.log(`\n${long.length} task(s) over ${LONG_MS} ms (at s after the trace began: wall ms / CPU ms — largest parts):`);
  for (const task of long) {
    const parts = selfTimes(task).slice(0, 4).map(([k, ms]) => `${k} ${ms.toFixed(1)}`).join('; ');
    console.log(`  ${((task.ts - t0) / 1e6).toFixed(2)} s: ${(task.dur / 1000).toFixed(1)} / ${((task.tdur ?? 0) / 1000).toFixed(1)} — ${parts}`);
    console.log(`    other threads busy meanwhile (ms): ${busyDuring(task).map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ') || 'none'}`);
  }
  const all = new Map();
  for (const task of tasks.filter((e) => e.dur > 1000)) {
    for (const [k, ms] of selfTimes(task)) all.set(k, (all.get(k) ?? 0) + ms);
  }
  console.log('\nbusiest work in tasks over 1 ms (self time, ms, whole trace):');
  for (const [k, ms] of [...all].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${ms.toFixed(0).padStart(7)}  ${k}`);
  const hist = [5, 10, 20, 30, 50, 100, Infinity].map((b, i, bs) => [b, tasks.filter((e) => e.dur / 1000 > (bs[i - 1] ?? 0) && e.dur / 1000 <= b).length]);
  console.log(`\ntask durations: ${hist.map(([b, n]) => `≤${b} ms: ${n}`).join(', ')}`);
}
