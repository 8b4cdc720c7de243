// The durable parts in Firefox (Debian firefox-esr through geckodriver and selenium-webdriver):
// IndexedDB, the storage quota and service workers differ between engines. A run reloaded mid-way
// resumes from its checkpoint to the weights of an uninterrupted run, and after one visit the app
// loads, draws and trains with the server gone (the service worker's cache).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';
import firefox from 'selenium-webdriver/firefox.js';
import { startServer } from './harness.js';

let server;
let driver;
const profile = mkdtempSync(join(tmpdir(), 'vae-firefox-'));

before(async () => {
  server = await startServer();
  const options = new firefox.Options().setBinary('/usr/bin/firefox-esr').addArguments('-headless', '-profile', profile);
  // geckodriver from PATH (scripts/setup.sh installs it), named so that Selenium never looks for one online.
  const geckodriver = execFileSync('sh', ['-c', 'command -v geckodriver'], { encoding: 'utf8' }).trim();
  driver = await new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(new firefox.ServiceBuilder(geckodriver)).build();
  await driver.manage().setTimeouts({ script: 120000 });
});

after(async () => {
  await driver?.quit();
  server?.close();
  rmSync(profile, { recursive: true, force: true });
});

/** Waits until `fn` (a function source run in the page) returns something truthy; returns it. */
async function waitFor(fn, timeout = 60000, ...args) {
  return driver.wait(async () => driver.executeScript(`try { return (${fn})(...arguments); } catch { return false; }`, ...args), timeout);
}

async function open(url) {
  await driver.get(url);
  await waitFor(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0, 60000);
}

const select = (id, value) => driver.executeScript((i, v) => {
  const el = document.getElementById(i);
  el.value = v;
  el.dispatchEvent(new Event('change'));
}, id, value);
const click = async (id) => (await driver.findElement(By.id(id))).click();
const textOf = (id) => driver.executeScript((i) => document.getElementById(i).textContent, id);

/** A digest of the active model's weights: the tensor bytes of its .safetensors file (not the metadata). */
const weightsDigest = () => driver.executeAsyncScript(`
  const done = arguments[arguments.length - 1];
  const bytes = window.vaeDebug.currentWeights();
  const header = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  crypto.subtle.digest('SHA-256', bytes.subarray(8 + header)).then((d) => done(Array.from(new Uint8Array(d)).join(',')));`);

async function settings(epochs) {
  for (const [id, value] of [['train-dataset', 'mnist'], ['train-subset', '1000'], ['train-latent', '2'], ['train-hidden', '128'],
    ['train-batch', '32'], ['train-epochs', String(epochs)], ['train-seed', '9'], ['train-cores', '2']]) await select(id, value);
}

test('Firefox: a run reloaded mid-way resumes from its checkpoint to the uninterrupted run\'s weights', async () => {
  await open(`${server.url}?debug`);
  await settings(12);
  await click('train-start');
  await waitFor(() => document.getElementById('train-panel').dataset.state === 'done', 180000);
  assert.match(await textOf('status'), /^Training finished: 12 epochs, 384 steps\./);
  const straight = await weightsDigest();
  await click('train-reset');
  await click('train-start');
  const saved = await waitFor(() => Number(document.getElementById('train-saved').textContent.match(/^Saved in the library at step (\d+)/)?.[1] ?? 0), 60000);
  await driver.navigate().refresh();
  await waitFor(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0);
  const offered = await waitFor(() => !document.getElementById('train-resume-run').hidden && document.getElementById('train-resume-run').textContent, 30000);
  const step = Number(offered.match(/step (\d+) of 384/)[1]);
  assert.ok(step >= saved && step < 384, `offered ${offered}; a checkpoint at ${saved} was reported`);
  await click('train-resume-run');
  await waitFor(() => document.getElementById('train-panel').dataset.state === 'done', 180000);
  assert.match(await textOf('status'), /^Training finished: 12 epochs, 384 steps\./);
  assert.equal(await weightsDigest(), straight, 'the resumed run ends with the uninterrupted run\'s weights');
});

test('Firefox: after one visit the app loads, draws and trains with the server gone', async () => {
  await waitFor(() => window.vaeMetrics.offlineReady, 180000);
  await click('train-reset');
  server.close();
  // A new navigation (geckodriver's refresh bypasses the service worker, as a hard reload does).
  await driver.get(`${server.url}?debug`);
  await waitFor(() => window.vaeMetrics?.ready && window.vaeMetrics.gridPaints > 0, 60000);
  const recons = await driver.executeScript(() => window.vaeMetrics.reconUpdates);
  const canvas = await driver.findElement(By.css('[data-testid=draw-canvas]'));
  const actions = driver.actions({ async: true });
  await actions.move({ origin: canvas, x: 0, y: -80 }).press().move({ origin: canvas, x: 0, y: 80, duration: 300 }).release().perform();
  await waitFor((n) => window.vaeMetrics.reconUpdates > n, 20000, recons);
  await settings(1);
  await select('train-cores', '1');
  await click('train-start');
  await waitFor(() => document.getElementById('train-panel').dataset.state === 'done', 180000);
  assert.match(await textOf('status'), /^Training finished: 1 epochs, 32 steps\./);
  server = null;
});

test('Firefox: a full quota gives a clear message, training goes on in memory, and what was saved before stays', async () => {
  // A browser whose storage for this site holds about 10 MB (Firefox's smallest group limit).
  const small = mkdtempSync(join(tmpdir(), 'vae-firefox-quota-'));
  const options = new firefox.Options().setBinary('/usr/bin/firefox-esr').addArguments('-headless', '-profile', small)
    .setPreference('dom.quotaManager.temporaryStorage.fixedLimit', 40960);
  const geckodriver = execFileSync('sh', ['-c', 'command -v geckodriver'], { encoding: 'utf8' }).trim();
  const quota = await new Builder().forBrowser('firefox').setFirefoxOptions(options).setFirefoxService(new firefox.ServiceBuilder(geckodriver)).build();
  const served = await startServer();
  const [was, wasServer] = [driver, server];
  driver = quota;
  server = served;
  try {
    await open(`${server.url}?debug`);
    // A small model (784-64-2: about 1 MB with its checkpoint) is saved.
    await settings(2);
    await select('train-hidden', '64');
    await click('train-start');
    await waitFor(() => document.getElementById('train-panel').dataset.state === 'done', 120000);
    await waitFor(() => /trained/.test(document.getElementById('library-list').textContent), 30000);
    // A large one (784-1024-2: about 32 MB with its checkpoint) does not fit.
    await click('train-reset');
    await settings(20);
    await select('train-hidden', '1024');
    await click('train-start');
    const message = await waitFor(() => /could not save/.test(document.getElementById('status').textContent) && document.getElementById('status').textContent, 120000);
    assert.match(message, /storage for this site is full.*Everything keeps working in memory/, message);
    assert.match(await textOf('train-saved'), /^Not saved at step \d+: the last checkpoint in the library stays as it was\./);
    // Training goes on; the small model is still listed, whole.
    const step = await driver.executeScript(() => Number(document.getElementById('train-step').textContent.split(' ')[0]));
    await waitFor((s) => Number(document.getElementById('train-step').textContent.split(' ')[0]) > s, 30000, step);
    const items = await driver.executeScript(() => [...document.querySelectorAll('[data-testid=library-item]')].map((li) => li.textContent));
    assert.ok(items.some((t) => /784-64-2 on MNIST, seed 9.*trained/.test(t)), items.join('\n'));
  } finally {
    await quota.quit();
    served.close();
    rmSync(small, { recursive: true, force: true });
    [driver, server] = [was, wasServer];
  }
});
