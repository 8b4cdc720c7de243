// The training worker: its own wasm instance and Trainer. Trains in slices of ~40 ms so that
// pause/resume/reset messages are handled promptly; posts progress after every slice, the weights
// every ~0.5 s, the held-out loss every few seconds and the test-set scatter at each epoch's end.
import init, { ImageSet, Model, Trainer, debugPanic } from '../pkg/vae.js';
import { fetchBytes } from './fetch.js';

const SLICE_MS = 40;
const WEIGHTS_EVERY_MS = 500;
const HELDOUT_EVERY_MS = 3000;
const HELDOUT_IMAGES = 1000;

const wasmReady = init({ module_or_path: new URL('../pkg/vae_bg.wasm', import.meta.url) });
let wasmMemory = null;
wasmReady.then((exports) => { wasmMemory = exports.memory; });
const memoryBytes = () => wasmMemory?.buffer.byteLength ?? 0;

/** Reports an error; a wasm trap (a panic) means this worker's instance is dead and must be replaced. */
function postError(err) {
  post({ type: 'error', message: err.message ?? String(err), crashed: err instanceof WebAssembly.RuntimeError });
}
const sets = new Map();
let job = null; // { trainer, config, test, running, ... }

const post = (msg, transfer = []) => self.postMessage(msg, transfer);

/** The `split` ('train' or 't10k') of `dataset`, fetched once and parsed in wasm. */
async function imageSet(dataset, split) {
  const key = `${dataset}-${split}`;
  if (!sets.has(key)) {
    const url = (kind) => new URL(`data/${dataset}-${split}-${kind}.idx.gz`, import.meta.url);
    sets.set(key, (async () => {
      const label = `${dataset} ${split === 'train' ? 'training' : 'test'} set`;
      const images = await fetchBytes(url('images'), (loaded, total) => total && post({ type: 'data-progress', fraction: loaded / total, label }));
      const labels = await fetchBytes(url('labels'), () => {});
      post({ type: 'data-progress', fraction: 1, label });
      return new ImageSet(images, labels);
    })().catch((err) => { sets.delete(key); throw err; }));
  }
  return sets.get(key);
}

async function start(config) {
  stop();
  await wasmReady;
  post({ type: 'status', text: `Loading the ${config.dataset} data…` });
  const [train, test] = await Promise.all([imageSet(config.dataset, 'train'), imageSet(config.dataset, 't10k')]);
  const trainer = new Trainer(train, config.subset, test, HELDOUT_IMAGES, config.dataset, config.latent, config.hidden,
    config.beta, config.lr, config.batch, BigInt(config.seed), config.init ?? undefined);
  job = { trainer, config, test, running: true, lastWeights: 0, lastHeldout: 0, rate: 0, epoch: 0 };
  post({
    type: 'started', trainSize: trainer.trainSize, stepsPerEpoch: trainer.stepsPerEpoch,
    totalSteps: trainer.stepsPerEpoch * config.epochs, latent: trainer.latentSize, hidden: trainer.hiddenSize,
  });
  postHeldout(job);
  postWeights(job);
  postScatter(job);
  setTimeout(runSlice, 0);
}

function stop() {
  if (job) {
    job.running = false;
    job.trainer.free();
    job = null;
  }
}

function postWeights(j) {
  const bytes = j.trainer.weights();
  j.lastWeights = performance.now();
  post({ type: 'weights', bytes, epoch: j.trainer.epoch, step: j.trainer.steps }, [bytes.buffer]);
}

function postHeldout(j) {
  const [negElbo, recon, kl] = j.trainer.evaluateHeldout();
  j.lastHeldout = performance.now();
  post({ type: 'heldout', step: j.trainer.steps, negElbo, recon, kl });
}

/** Encodes the test set's means with the current weights (a throwaway Model) for the scatter. */
function postScatter(j) {
  const model = new Model(j.trainer.weights());
  try {
    const count = j.test.length;
    const means = model.encodeMeans(j.test, 0, count);
    post({ type: 'scatter', means, labels: j.test.labels(), count }, [means.buffer]);
  } finally {
    model.free();
  }
}

function runSlice() {
  const j = job;
  if (!j || !j.running) return;
  const t0 = performance.now();
  let sum = [0, 0, 0];
  let samples = 0;
  let epochEnded = false;
  try {
    while (performance.now() - t0 < SLICE_MS) {
      const [negElbo, recon, kl, n, diverged] = j.trainer.step();
      if (diverged) {
        // The trainer already went back to its last good weights and halved the learning rate.
        j.running = false;
        post({ type: 'diverged', step: j.trainer.steps, loss: negElbo, lr: j.trainer.learningRate });
        postWeights(j);
        return;
      }
      sum = [sum[0] + negElbo * n, sum[1] + recon * n, sum[2] + kl * n];
      samples += n;
      if (j.trainer.epoch !== j.epoch) {
        j.epoch = j.trainer.epoch;
        epochEnded = true;
        break;
      }
    }
  } catch (err) {
    j.running = false;
    postError(err);
    return;
  }
  const seconds = (performance.now() - t0) / 1000;
  const rate = samples / seconds;
  j.rate = j.rate ? 0.8 * j.rate + 0.2 * rate : rate;
  const done = j.trainer.epoch >= j.config.epochs;
  post({
    type: 'progress', epoch: j.trainer.epoch, step: j.trainer.steps, samplesPerSec: j.rate, memoryBytes: memoryBytes(),
    negElbo: sum[0] / samples, recon: sum[1] / samples, kl: sum[2] / samples,
  });
  const now = performance.now();
  if (epochEnded || done || now - j.lastHeldout > HELDOUT_EVERY_MS) postHeldout(j);
  if (epochEnded || done || now - j.lastWeights > WEIGHTS_EVERY_MS) postWeights(j);
  if (epochEnded || done) postScatter(j);
  if (done) {
    j.running = false;
    post({ type: 'done', epoch: j.trainer.epoch, step: j.trainer.steps });
    return;
  }
  setTimeout(runSlice, 0);
}

self.onmessage = async ({ data: msg }) => {
  try {
    if (msg.type === 'start') await start(msg.config);
    else if (msg.type === 'pause' && job) {
      job.running = false;
      post({ type: 'paused', step: job.trainer.steps });
    } else if (msg.type === 'resume' && job && !job.running && job.trainer.epoch < job.config.epochs) {
      job.running = true;
      post({ type: 'resumed', step: job.trainer.steps });
      setTimeout(runSlice, 0);
    } else if (msg.type === 'reset') {
      stop();
      post({ type: 'reset' });
    } else if (msg.type === 'debug-panic') {
      await wasmReady;
      debugPanic('deliberate test panic (training worker)');
    }
  } catch (err) {
    postError(err);
  }
};
post({ type: 'hello' });
