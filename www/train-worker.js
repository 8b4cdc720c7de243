// The training worker: its own wasm instance and Trainer. Trains in slices of ~40 ms so that
// pause/resume/reset messages are handled promptly; posts progress after every slice, the weights
// every ~0.5 s, the held-out loss every few seconds and the test-set scatter at each epoch's end.
//
// With `config.cores` = 2 it starts a helper: this same script in a nested worker, with its own
// wasm instance and a Trainer made alike but without data. Each step this worker draws the batch
// and sends the helper the second half's images and noise; the two compute one half of the
// gradient each (on two cores), swap the halves and apply the same sum, so they stay identical
// (src/parallel.rs). The helper only computes; this worker does everything else.
//
// While it trains, this worker also decodes the page's latent grid (a `grid` message) with the
// weights it last posted, so the grid workers stay idle and the page's main thread keeps the other
// core: on two cores, training plus two grid workers left the main thread waiting for a core in the
// middle of its frames. The weights are posted less often when decoding the grid takes long (the
// conv VAE), so that decoding takes at most a tenth of the training time.
//
// With `config.cores` = 'auto' (the panel's default) it measures instead of guessing: the first
// seconds of the run alternate two workers, one worker and two workers again (real steps of the
// run, with the page doing its usual work meanwhile; while this worker steps alone the helper
// applies the same gradient, so it stays in step), then keeps two workers only if they were
// clearly faster. On a two-core machine two workers leave the page's main thread no core of its
// own, so there they must be faster still (TWO_WORKERS_GAIN).
//
// Nothing lost: this worker checkpoints the run (weights, Adam's moments, step, RNG, data order:
// `Trainer.checkpoint`, and the curves) into the library (www/library.js) every CHECKPOINT_EVERY_MS,
// at epoch ends (at least EPOCH_CHECKPOINT_MIN_MS apart), when paused, when done and when the page
// is hidden; a start with `resume` goes on from the stored checkpoint exactly.
import init, { ImageSet, Model, Trainer, debugPanic } from '../pkg/vae.js';
import { wasmUrl } from './wasm.js';
import { fetchBytes } from './fetch.js';
import { STORES, addPoint, get, newId, put, thumbnailOf } from './library.js';

const SLICE_MS = 40;
const WEIGHTS_EVERY_MS = 500;
/** Decoding the page's grid may take at most this share of the time between posted weights. */
const GRID_SHARE = 0.1;
const HELDOUT_EVERY_MS = 3000;
const CHECKPOINT_EVERY_MS = 10000;
const EPOCH_CHECKPOINT_MIN_MS = 2000;
const HELDOUT_IMAGES = 1000;
// The measuring phases of `cores: 'auto'`: workers and how long (ms of steps; at least
// CALIBRATION_MIN_STEPS steps each). The first phase (one worker: the first weights of a new shape
// reach the page then, and it needs a core) warms up and is not
// counted; then one and two workers take turns in short phases, so that the machine's speed,
// which drifts by tens of per cent within seconds here, favours neither.
const CALIBRATION = [{ workers: 1, ms: 1500, counted: false },
  ...Array.from({ length: 10 }, (_, i) => ({ workers: 1 + (i % 2), ms: 300 }))];
const CALIBRATION_MIN_STEPS = 4;
/** How much faster two workers must be to be kept: on two cores or fewer, and on more. */
const TWO_WORKERS_GAIN = { fewCores: 1.3, manyCores: 1.1 };

const wasmReady = init({ module_or_path: wasmUrl() });
let wasmMemory = null;
wasmReady.then((exports) => { wasmMemory = exports.memory; });
const memoryBytes = () => wasmMemory?.buffer.byteLength ?? 0;

/** Reports an error; a wasm trap (a panic) means this worker's instance is dead and must be replaced. */
function postError(err) {
  const crashed = err instanceof WebAssembly.RuntimeError || err.crashed === true;
  if (err.id !== undefined && !crashed) post({ type: 'grid-error', id: err.id, message: err.message ?? String(err) });
  else post({ type: 'error', message: err.message ?? String(err), crashed });
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

/** Your pictures (`config.own`, from www/pictures.js): the training images and the held-out ones, as the CLI splits them. */
function ownSets(own) {
  const full = ImageSet.fromPixels(own.channels, own.size, own.pixels, own.labels);
  try {
    return [full.withoutHeldOut(), full.heldOut()];
  } finally {
    full.free();
  }
}

/** Counts starts and resets: a start still loading when a newer one (or a reset) comes gives up. */
let starts = 0;

/** Starts a run, or with `resumeId` goes on from that library record's checkpoint. */
async function start(config, resumeId = null) {
  const generation = ++starts;
  stop();
  await wasmReady;
  const saved = resumeId ? await get(STORES.models, resumeId) : null;
  if (resumeId && !saved?.run?.checkpoint) throw new Error('that run has no checkpoint in the library any more');
  if (generation !== starts) return;
  post({ type: 'status', text: `Loading the ${config.dataset} data…` });
  const auto = config.cores === 'auto' && (self.navigator.hardwareConcurrency ?? 1) >= 2;
  const cores = config.cores === 2 || auto ? 2 : 1;
  if (cores === 1) stopHelper(); // one left from an earlier two-worker run
  const helperReady = cores === 2 ? startHelper(config, saved?.run.checkpoint) : null;
  const own = config.dataset === 'own';
  const [train, test] = own ? ownSets(config.own) : await Promise.all([imageSet(config.dataset, 'train'), imageSet(config.dataset, 't10k')]);
  if (generation !== starts) return;
  let trainer;
  try {
    trainer = saved
      ? Trainer.resume(train, config.subset, test, HELDOUT_IMAGES, saved.run.checkpoint, config.extra ?? undefined)
      : new Trainer(train, config.subset, test, HELDOUT_IMAGES, own ? 'images' : config.dataset, config.arch, config.latent, config.hidden,
        config.classes ?? 0, config.beta, config.lr, config.batch, BigInt(config.seed), config.init ?? undefined, config.extra ?? undefined);
  } finally {
    if (own) train.free(); // the trainer keeps its own copy
  }
  // While measuring, the phase says how many workers step (the helper runs from the start either way).
  job = { trainer, config, test, ownTest: own ? test : null, cores: auto ? CALIBRATION[0].workers : cores, running: false, lastWeights: 0, lastHeldout: 0, rate: 0,
    epoch: trainer.epoch, shown: null, gridMs: 0,
    calibration: auto ? { phase: 0, steps: 0, ms: 0, tally: { 1: [0, 0], 2: [0, 0] } } : null,
    run: {
      id: saved?.id ?? newId('model'), created: saved?.created ?? Date.now(), name: saved?.name ?? runName(config, trainer),
      curves: saved?.curves ?? { train: [], recon: [], kl: [], heldout: [] }, heldout: saved?.heldout ?? null, lastSaved: performance.now(), saving: null,
    } };
  const j = job;
  try {
    await helperReady;
  } catch (err) {
    if (generation !== starts) return; // superseded: the newer start already stopped this job
    stop();
    throw err;
  }
  if (generation !== starts) return;
  j.running = true;
  post({
    type: 'started', cores, auto, trainSize: trainer.trainSize, stepsPerEpoch: trainer.stepsPerEpoch,
    totalSteps: trainer.stepsPerEpoch * config.epochs, latent: trainer.latentSize, hidden: trainer.hiddenSize,
    arch: trainer.arch, description: trainer.description, runId: j.run.id, resumed: saved !== null, step: trainer.steps,
    curves: saved ? j.run.curves : null,
  });
  postHeldout(job);
  postWeights(job);
  postScatter(job);
  setTimeout(runSlice, 0);
}

/** The library's name of a new run: "784-512-2 on MNIST, seed 0". */
function runName(config, trainer) {
  const data = config.dataset === 'own' ? 'your pictures' : config.dataset === 'fashion' ? 'Fashion-MNIST' : 'MNIST';
  return `${config.classes ? 'conditional ' : ''}${trainer.description} on ${data}, seed ${config.seed}`;
}

/**
 * Stores the run as it stands (`status`: training, paused or done) in the library. One write at a
 * time; a checkpoint asked for while one is written follows it. A failed write (a full quota)
 * leaves the last stored checkpoint as it was and is reported; training goes on.
 */
function saveCheckpoint(j, status, reason = null) {
  const run = j.run;
  if (run.saving) {
    run.again = { status, reason };
    return run.saving;
  }
  run.lastSaved = performance.now();
  const t0 = performance.now();
  const { own, init, ...rest } = j.config;
  const bytes = j.trainer.weights();
  const checkpoint = j.trainer.checkpoint();
  const record = {
    id: run.id, name: run.name, created: run.created, updated: Date.now(), description: j.trainer.description, arch: j.trainer.arch,
    latent: j.trainer.latentSize, shape: own ? { channels: own.channels, size: own.size } : { channels: 1, size: 28 }, dataset: j.config.dataset,
    heldout: run.heldout, bytes, curves: run.curves, size: bytes.length + checkpoint.length, thumb: thumbnail(bytes),
    run: { config: own ? { ...rest, own } : rest, checkpoint, status, step: j.trainer.steps, epoch: j.trainer.epoch,
      totalSteps: j.trainer.stepsPerEpoch * j.config.epochs },
  };
  const captureMs = performance.now() - t0;
  run.saving = put(STORES.models, record, { keepName: true }).then(
    () => post({ type: 'checkpoint', id: run.id, step: record.run.step, status, reason, captureMs, ms: performance.now() - t0, bytes: record.run.checkpoint.length }),
    (err) => post({ type: 'checkpoint-error', id: run.id, step: record.run.step, message: err.message ?? String(err) }),
  ).finally(() => {
    run.saving = null;
    if (run.again && job === j) {
      const { status: next, reason: why } = run.again;
      run.again = null;
      saveCheckpoint(j, next, why);
    }
  });
  return run.saving;
}

/** The library's thumbnail of a model's weights (`thumbnailOf`). */
function thumbnail(bytes) {
  const model = new Model(bytes);
  try {
    return thumbnailOf(model);
  } finally {
    model.free();
  }
}

/** Ends the job; a step in flight (waiting for the helper) frees the trainer when it returns. */
function stop() {
  if (job) {
    job.running = false;
    job.stopped = true;
    job.shown?.model?.free();
    job.ownTest?.free();
    if (!job.busy) job.trainer.free();
    job = null;
  }
}

// ---- The helper (two cores) ----------------------------------------------------------------
// Seen from this worker: a nested worker and the replies it owes, one at a time.
let helper = null; // { worker, waiting: { type, resolve, reject } | null, memoryBytes }
let helperFailure = null; // why the last helper stopped, for the step that finds it gone

function helperFailed(err) {
  const waiting = helper?.waiting;
  helper?.worker.terminate();
  helper = null;
  helperFailure = err;
  waiting?.reject(err);
}

/** Ends the helper (auto chose one worker): its thread and memory are freed. */
function stopHelper() {
  helper?.worker.terminate();
  helper?.waiting?.reject(new Error('the helper was stopped'));
  helper = null;
}

/** The error for a step that needs the helper after it failed. */
const helperGone = () => helperFailure ?? Object.assign(new Error('the helper worker is gone'), { crashed: true });

/** Starts (or restarts) the helper's trainer (from `checkpoint` when resuming); resolves when it is ready. */
function startHelper(config, checkpoint) {
  if (!helper) {
    const worker = new Worker(new URL(import.meta.url), { type: 'module' });
    helper = { worker, waiting: null, memoryBytes: 0 };
    helperFailure = null;
    worker.onmessage = ({ data }) => {
      if (data.type === 'error') helperFailed(Object.assign(new Error(`the helper worker failed: ${data.message}`), { crashed: data.crashed }));
      else if (data.type === helper?.waiting?.type) {
        const { resolve } = helper.waiting;
        helper.waiting = null;
        if (data.memoryBytes) helper.memoryBytes = data.memoryBytes;
        resolve(data);
      }
    };
    worker.onerror = (e) => { e.preventDefault(); helperFailed(Object.assign(new Error(`the helper worker failed: ${e.message}`), { crashed: true })); };
  }
  helper.waiting?.reject(new Error('superseded'));
  helper.waiting = null;
  // The helper needs the images' shape, not the pictures themselves.
  const own = config.own && { channels: config.own.channels, size: config.own.size };
  helper.worker.postMessage({ type: 'helper-start', config: { ...config, own }, checkpoint });
  return fromHelper('helper-ready');
}

/** The helper's next message of `type`. */
function fromHelper(type) {
  return new Promise((resolve, reject) => {
    if (!helper) reject(helperGone());
    else helper.waiting = { type, resolve, reject };
  });
}

/** One step on two cores: this worker computes the first half, the helper the second. */
async function twoCoreStep(trainer) {
  if (!helper) throw helperGone();
  const batchSize = trainer.beginStep();
  const images = trainer.partImages(1, 2);
  const noise = trainer.partNoise(1, 2);
  const labels = trainer.partLabels(1, 2);
  const reply = fromHelper('helper-part');
  helper.worker.postMessage({ type: 'helper-step', images, noise, labels, batchSize }, [images.buffer, noise.buffer, labels.buffer]);
  const grads = trainer.partGradient(0, 2);
  const { recon, kl } = trainer.partSums();
  const other = await reply;
  helper.worker.postMessage({ type: 'helper-finish', grads, recon, kl }, [grads.buffer]);
  return trainer.finishStep(other.grads, other.recon, other.kl);
}

/** One step on this worker alone while measuring; the helper applies the same gradient. */
function followedStep(trainer) {
  if (!helper) throw helperGone();
  const batchSize = trainer.beginStep();
  const grads = trainer.partGradient(0, 1);
  const { recon, kl } = trainer.partSums();
  helper.worker.postMessage({ type: 'helper-apply', grads, recon, kl, batchSize }, [grads.buffer]);
  return trainer.finishStepAlone();
}

/**
 * Counts a step of `cores: 'auto'` (`n` images in `ms`) towards its phase; past the last phase,
 * keeps the faster setting and reports what was measured.
 */
function calibrate(j, n, ms) {
  const c = j.calibration;
  const phase = CALIBRATION[c.phase];
  c.steps += 1;
  c.ms += ms;
  if (phase.counted !== false) {
    c.tally[phase.workers][0] += n;
    c.tally[phase.workers][1] += ms;
  }
  if (c.steps < CALIBRATION_MIN_STEPS || c.ms < phase.ms) return;
  c.phase += 1;
  c.steps = 0;
  c.ms = 0;
  if (c.phase < CALIBRATION.length) {
    j.cores = CALIBRATION[c.phase].workers;
    return;
  }
  const [one, two] = [1, 2].map((w) => (1000 * c.tally[w][0]) / c.tally[w][1]);
  const cores = self.navigator.hardwareConcurrency ?? 1;
  const needed = cores <= 2 ? TWO_WORKERS_GAIN.fewCores : TWO_WORKERS_GAIN.manyCores;
  j.cores = two >= needed * one ? 2 : 1;
  j.calibration = null;
  if (j.cores === 1) stopHelper();
  post({ type: 'cores', workers: j.cores, oneWorker: one, twoWorkers: two, needed, hardwareCores: cores });
}

// Seen from the helper: its own trainer, driven by the main training worker.
let helperTrainer = null;

async function onHelperMessage(msg) {
  if (msg.type === 'helper-start') {
    helperTrainer?.free();
    helperTrainer = null;
    await wasmReady;
    const c = msg.config;
    const [channels, side] = c.own ? [c.own.channels, c.own.size] : [1, 28];
    helperTrainer = msg.checkpoint ? Trainer.helperFrom(msg.checkpoint)
      : Trainer.helper(channels, side, c.arch, c.latent, c.hidden, c.classes ?? 0, c.beta, c.lr, c.batch, BigInt(c.seed), c.init ?? undefined);
    post({ type: 'helper-ready' });
  } else if (msg.type === 'helper-step') {
    const grads = helperTrainer.partGradientOf(msg.images, msg.noise, msg.labels, msg.batchSize);
    const { recon, kl } = helperTrainer.partSums();
    post({ type: 'helper-part', grads, recon, kl, memoryBytes: memoryBytes() }, [grads.buffer]);
  } else if (msg.type === 'helper-finish') {
    helperTrainer.finishStep(msg.grads, msg.recon, msg.kl);
  } else if (msg.type === 'helper-apply') {
    helperTrainer.applyGradient(msg.grads, msg.recon, msg.kl, msg.batchSize);
  } else if (msg.type === 'helper-debug-panic') {
    debugPanic('deliberate test panic (helper worker)');
  }
}

function postWeights(j) {
  const bytes = j.trainer.weights();
  j.lastWeights = performance.now();
  // What the page will show: the grid it asks for is decoded from these weights (parsed when first asked).
  j.shown?.model?.free();
  j.shown = { bytes: bytes.slice(), model: null };
  post({ type: 'weights', bytes, epoch: j.trainer.epoch, step: j.trainer.steps }, [bytes.buffer]);
}

function postHeldout(j) {
  const { negElbo, recon, kl } = j.trainer.evaluateHeldout();
  j.lastHeldout = performance.now();
  j.run.heldout = negElbo;
  addPoint(j.run.curves.heldout, j.trainer.steps, negElbo);
  post({ type: 'heldout', step: j.trainer.steps, negElbo, recon, kl });
}

/** Decodes the page's latent grid (as the grid workers would) with the weights last posted. */
function decodeGrid(j, { id, xs, ys, dims, base }) {
  if (!j?.shown) throw Object.assign(new Error('no weights posted yet'), { id });
  const t0 = performance.now();
  try {
    const rgba = shownModel(j).decodeGridRgba(xs, ys, dims[0], dims[1], base);
    j.gridMs = performance.now() - t0;
    post({ type: 'grid', id, rgba }, [rgba.buffer]);
  } catch (err) {
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { id });
  }
}

/** The model of the weights last posted (the page's model), parsed once when first needed. */
function shownModel(j) {
  j.shown.model ??= new Model(j.shown.bytes);
  return j.shown.model;
}

/** Encodes the test set's means with the weights last posted (always just before) for the scatter. */
function postScatter(j) {
  const count = j.test.length;
  const means = shownModel(j).encodeMeans(j.test, 0, count);
  post({ type: 'scatter', means, labels: j.test.labels(), count }, [means.buffer]);
}

/** Steps for ~SLICE_MS, then reports. A pause or reset that arrives while a two-core step waits
 *  for the helper takes effect when that step returns. */
async function runSlice() {
  const j = job;
  if (!j || !j.running || j.slicing) return;
  j.slicing = true;
  const t0 = performance.now();
  let sum = [0, 0, 0];
  let samples = 0;
  let epochEnded = false;
  try {
    while (performance.now() - t0 < SLICE_MS && j.running) {
      j.busy = true;
      const started = performance.now();
      const result = j.cores === 2 ? await twoCoreStep(j.trainer) : j.calibration ? followedStep(j.trainer) : j.trainer.step();
      j.busy = false;
      if (j.stopped) break;
      const { negElbo, recon, kl, batchSize: n, diverged } = result;
      if (j.calibration) calibrate(j, n, performance.now() - started);
      if (diverged) {
        // The trainer already went back to its last good weights and halved the learning rate.
        j.running = false;
        post({ type: 'diverged', step: j.trainer.steps, loss: negElbo, lr: j.trainer.learningRate });
        postWeights(j);
        samples = 0;
        break;
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
    j.busy = false;
    if (!j.stopped) {
      j.running = false;
      postError(err);
    }
    samples = 0;
  } finally {
    j.slicing = false;
  }
  if (j.stopped) {
    j.trainer.free();
    return;
  }
  if (samples > 0) report(j, samples, sum, (performance.now() - t0) / 1000, epochEnded);
}

/** Progress after a slice, the periodic posts, and the next slice or the end. */
function report(j, samples, sum, seconds, epochEnded) {
  const rate = samples / seconds;
  j.rate = j.rate ? 0.8 * j.rate + 0.2 * rate : rate;
  const done = j.trainer.epoch >= j.config.epochs;
  post({
    type: 'progress', epoch: j.trainer.epoch, step: j.trainer.steps, samplesPerSec: j.rate, sliceSamples: samples, sliceSeconds: seconds,
    memoryBytes: memoryBytes() + (helper?.memoryBytes ?? 0),
    negElbo: sum[0] / samples, recon: sum[1] / samples, kl: sum[2] / samples,
  });
  for (const [key, value] of [['train', sum[0]], ['recon', sum[1]], ['kl', sum[2]]]) addPoint(j.run.curves[key], j.trainer.steps, value / samples);
  const now = performance.now();
  if (epochEnded || done || now - j.lastHeldout > HELDOUT_EVERY_MS) postHeldout(j);
  const weightsEvery = Math.max(WEIGHTS_EVERY_MS, j.gridMs / GRID_SHARE);
  // While two workers are timed they hold both cores: the page gets no new weights to redraw then.
  const timingTwo = j.calibration && j.cores === 2;
  if (epochEnded || done || (!timingTwo && now - j.lastWeights > weightsEvery)) postWeights(j);
  if (epochEnded || done) postScatter(j);
  const sinceSaved = now - j.run.lastSaved;
  if (done || !j.running || j.checkpointAsked || sinceSaved > CHECKPOINT_EVERY_MS || (epochEnded && sinceSaved > EPOCH_CHECKPOINT_MIN_MS)) {
    saveCheckpoint(j, done ? 'done' : j.running ? 'training' : 'paused', j.checkpointAsked);
    j.checkpointAsked = null;
  }
  if (done) {
    j.running = false;
    post({ type: 'done', epoch: j.trainer.epoch, step: j.trainer.steps });
  } else if (j.running) {
    setTimeout(runSlice, 0);
  } else {
    post({ type: 'paused', step: j.trainer.steps }); // paused during the slice
  }
}

self.onmessage = async ({ data: msg }) => {
  try {
    if (msg.type.startsWith('helper-')) await onHelperMessage(msg);
    else if (msg.type === 'start') await start(msg.config, msg.resume ?? null);
    else if (msg.type === 'grid') decodeGrid(job, msg);
    else if (msg.type === 'checkpoint' && job) {
      // The page is being hidden or closed: store the run now, or after the slice in progress (no step is half done then).
      if (job.slicing || job.busy) job.checkpointAsked = msg.reason;
      else await saveCheckpoint(job, job.running ? 'training' : job.trainer.epoch >= job.config.epochs ? 'done' : 'paused', msg.reason);
    } else if (msg.type === 'pause' && job) {
      job.running = false;
      if (!job.slicing) {
        post({ type: 'paused', step: job.trainer.steps });
        saveCheckpoint(job, 'paused');
      }
    } else if (msg.type === 'resume' && job && !job.running && job.trainer.epoch < job.config.epochs) {
      job.running = true;
      post({ type: 'resumed', step: job.trainer.steps });
      setTimeout(runSlice, 0);
    } else if (msg.type === 'reset') {
      starts += 1;
      stop();
      post({ type: 'reset' });
    } else if (msg.type === 'debug-panic') {
      await wasmReady;
      debugPanic('deliberate test panic (training worker)');
    } else if (msg.type === 'debug-panic-helper') {
      helper?.worker.postMessage({ type: 'helper-debug-panic' });
    }
  } catch (err) {
    postError(err);
  }
};
