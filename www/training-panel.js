// The in-tab training panel: hyper-parameter controls, start/pause/resume/reset, progress, live
// loss curves, and a fixed row of test digits with their reconstructions. Training itself runs in
// www/train-worker.js; the weights it posts become the explorer's model.
import { LineChart } from './chart.js';
import { setStatus, showError } from './status.js';
import { onNextFrame } from './frame.js';
import { $ } from './dom.js';
import { Requests } from './requests.js';
import { STORES, get } from './library.js';

const num = (id) => Number($(id).value);
/** The live figures and curves are redrawn at most this often (progress comes every ~40 ms). */
const RENDER_EVERY_MS = 250;

export class TrainingPanel {
  /**
   * `onWeights(bytes, info)` receives each posted set of weights; `onScatter(scatter)` the test-set
   * means at epoch ends; `currentWeights()` returns the active model's bytes (for fine-tuning);
   * `onState(state, grid)` hears each change of state; while it is `running`, `grid` decodes the
   * latent map's grid in the training worker (see www/train-worker.js); `ownSet()` returns your
   * pictures (www/pictures.js), the data of `dataset: 'own'`; `onSaved(id)` hears that the worker
   * stored a checkpoint of run `id` in the library (www/library.js).
   */
  constructor({ onWeights, onScatter, currentWeights, onState, ownSet, onSaved }) {
    Object.assign(this, { onWeights, onScatter, currentWeights, onState, ownSet, onSaved });
    this.runId = null;
    this.resumable = null; // the library record a Resume training button offers
    this.grid = new TrainerGrid(this);
    this.worker = null;
    this.workerMemoryBytes = 0;
    this.crashes = 0;
    this.state = 'idle'; // idle | loading | running | paused | done
    this.totalSteps = 0;
    this.stepsPerEpoch = 1;
    this.config = null;
    this.chart = new LineChart($('loss-chart'), [
      { key: 'train', label: 'train −ELBO', colour: '#2f6fdf' },
      { key: 'recon', label: 'train recon', colour: '#f28e2b' },
      { key: 'kl', label: 'train KL', colour: '#59a14f' },
      { key: 'heldout', label: 'held-out −ELBO', colour: '#e15759', dash: [5, 3] },
    ]);
    this.chart.draw();
    this.latest = null; // the last progress message, shown at the next render
    this.renderTimer = 0;
    this.lastRender = 0;
    if ((navigator.hardwareConcurrency ?? 1) < 2) $('train-cores').value = '1';
    // The hidden width is the MLP's; the conv VAE's sizes are fixed by its architecture.
    $('train-arch').addEventListener('change', () => { $('train-hidden').disabled = $('train-arch').value !== 'mlp'; });
    // Your pictures are trained on whole (10% held out); the subset is MNIST's and Fashion-MNIST's.
    $('train-dataset').addEventListener('change', () => { $('train-subset').disabled = $('train-dataset').value === 'own'; });
    $('train-start').addEventListener('click', () => this.start());
    $('train-pause').addEventListener('click', () => this.togglePause());
    $('train-reset').addEventListener('click', () => this.reset());
    $('train-resume-run').addEventListener('click', () => this.resumable && this.resumeRun(this.resumable));
    // Hidden (another tab, a phone's app switcher) or closing: the browser may freeze or discard
    // the tab, so the worker stores the run now.
    const saveNow = (reason) => (this.state === 'running' || this.state === 'paused') && this.worker?.postMessage({ type: 'checkpoint', reason });
    document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && saveNow('the page was hidden'));
    window.addEventListener('pagehide', () => saveNow('the page was closed'));
    this.#render();
  }

  /** Offers to resume `record` (a library model with an unfinished run), or nothing with null. */
  offerResume(record) {
    this.resumable = record?.run && record.run.status !== 'done' ? record : null;
    const button = $('train-resume-run');
    button.hidden = this.resumable === null;
    if (this.resumable) {
      const { step, totalSteps } = record.run;
      button.textContent = `Resume training “${record.name}” (step ${step} of ${totalSteps}, saved ${new Date(record.updated).toLocaleTimeString()})`;
    }
  }

  /** Goes on with the run stored in `record` from its last checkpoint: its settings, curves and weights come back. */
  async resumeRun(listed) {
    const record = await get(STORES.models, listed.id).catch((err) => showError(err, 'library'));
    if (!record?.run?.checkpoint) {
      showError(`“${listed.name}” has no checkpoint in the library any more`, 'library');
      this.offerResume(null);
      return;
    }
    const config = record.run.config;
    for (const [id, value] of [['train-dataset', config.dataset], ['train-arch', config.arch], ['train-latent', config.latent],
      ['train-hidden', config.hidden], ['train-beta', config.beta], ['train-lr', config.lr], ['train-batch', config.batch],
      ['train-epochs', config.epochs], ['train-subset', config.subset], ['train-seed', config.seed]]) {
      if ($(id).querySelector?.(`option[value="${value}"]`) || $(id).tagName === 'INPUT') $(id).value = String(value);
    }
    $('train-conditional').checked = config.classes > 0;
    this.config = config;
    this.latest = null;
    this.chart.clear();
    this.#restoreCurves(record.curves);
    $('train-saved').textContent = '';
    this.offerResume(null);
    this.state = 'loading';
    this.#render();
    this.#ensureWorker().postMessage({ type: 'start', config, resume: record.id });
    setStatus(`Resuming “${record.name}” from step ${record.run.step}…`);
  }

  #restoreCurves(curves) {
    for (const key of ['train', 'recon', 'kl', 'heldout']) for (const [step, value] of curves?.[key] ?? []) this.chart.add(key, step, value);
    this.chart.draw();
  }

  #ensureWorker() {
    if (this.worker) return this.worker;
    this.worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }) => this.#onMessage(data);
    this.worker.onerror = (e) => {
      this.grid.requests.failAll(new Error('the training worker failed'));
      showError(e.message || 'the training worker failed', 'training');
      this.state = 'idle';
      this.#render();
    };
    return this.worker;
  }

  readConfig() {
    const config = {
      dataset: $('train-dataset').value,
      arch: $('train-arch').value,
      latent: num('train-latent'),
      hidden: num('train-hidden'),
      beta: num('train-beta'),
      lr: num('train-lr'),
      batch: num('train-batch'),
      epochs: num('train-epochs'),
      subset: num('train-subset'),
      seed: num('train-seed'),
      conditional: $('train-conditional').checked,
      cores: $('train-cores').value === 'auto' ? 'auto' : num('train-cores'),
    };
    const bad = [
      [!['mlp', 'conv'].includes(config.arch), 'the architecture must be MLP or conv'],
      [config.arch === 'mlp' && !(config.hidden >= 64 && config.hidden <= 1024), 'hidden size must be 64–1024'],
      [!(config.beta >= 0 && config.beta <= 4), 'β must be 0–4'],
      [!(config.lr > 0 && config.lr <= 10), 'learning rate must be in (0, 10]'],
      [!(config.batch >= 1 && config.batch <= 4096), 'batch size must be 1–4096'],
      [!(config.epochs >= 1 && config.epochs <= 1000), 'epochs must be 1–1000'],
      [config.dataset !== 'own' && !(config.subset >= 100), 'the subset needs at least 100 images'],
      [config.dataset === 'own' && !(this.ownSet()?.count >= 2), 'load at least two of your pictures first (Your pictures, above)'],
      [!(Number.isInteger(config.seed) && config.seed >= 0), 'the seed must be a whole number ≥ 0'],
    ].find(([isBad]) => isBad);
    if (bad) throw new Error(bad[1]);
    // A conditional VAE reads one label of the set's classes: the digits, the items, or your folders.
    const classes = config.dataset === 'own' ? this.ownSet()?.names.length ?? 0 : 10;
    if (config.conditional && classes < 2) throw new Error('a conditional VAE needs at least two labels: put your pictures in two or more folders');
    config.classes = config.conditional ? classes : 0;
    config.names = config.dataset === 'own' ? this.ownSet()?.names ?? [] : null;
    if (config.conditional && $('train-finetune').checked) throw new Error('fine-tuning takes the explorer\'s plain model; untick one of the two');
    if (config.dataset === 'own') {
      const own = this.ownSet();
      // The set as it is now: loading more pictures later does not change what this run trains on.
      config.own = own;
      config.subset = own.count;
      const { fit, background, invert } = own.options;
      config.extra = JSON.stringify({
        labels: JSON.stringify(own.names), images: 'your pictures (in the browser)', fit, background, invert: String(invert),
      });
    }
    return config;
  }

  start() {
    this.offerResume(null);
    let config;
    try {
      config = this.readConfig();
    } catch (err) {
      showError(err, 'training settings');
      return;
    }
    if ($('train-finetune').checked) config.init = this.currentWeights();
    this.config = config;
    this.latest = null;
    this.chart.clear();
    $('train-saved').textContent = '';
    this.state = 'loading';
    this.#render();
    this.#ensureWorker().postMessage({ type: 'start', config });
    setStatus('Training: loading data…');
  }

  togglePause() {
    if (this.state === 'running') this.worker.postMessage({ type: 'pause' });
    else if (this.state === 'paused') this.worker.postMessage({ type: 'resume' });
  }

  reset() {
    this.worker?.postMessage({ type: 'reset' });
    clearTimeout(this.renderTimer);
    this.renderTimer = 0;
    this.chart.clear();
    this.state = 'idle';
    this.runId = null;
    this.latest = null;
    $('train-progress').value = 0;
    $('train-workers').textContent = '';
    $('train-saved').textContent = '';
    for (const id of ['train-loss', 'train-heldout', 'train-throughput', 'train-epoch', 'train-step', 'train-eta']) $(id).textContent = '–';
    this.#render();
  }

  #onMessage(msg) {
    switch (msg.type) {
      case 'data-progress':
        $('train-progress').value = msg.fraction;
        setStatus(`Training: loading the ${msg.label}… ${Math.round(100 * msg.fraction)}%`);
        break;
      case 'started':
        this.runId = msg.runId;
        this.totalSteps = msg.totalSteps;
        this.stepsPerEpoch = msg.stepsPerEpoch;
        this.state = 'running';
        this.run = `Training ${msg.description} on ${msg.trainSize} images`;
        setStatus(`${msg.resumed ? `Resumed at step ${msg.step}: ` : ''}${this.run} ${msg.auto ? 'while timing one and two workers' : msg.cores === 2 ? 'in two workers (both cores)' : 'in a worker'}.`);
        $('train-workers').textContent = msg.auto ? 'Cores auto: timing one and two workers on the first steps…' : '';
        break;
      case 'cores':
        setStatus(`${this.run} in ${msg.workers === 2 ? 'two workers (both cores)' : 'a worker'}, as timed (cores auto).`);
        $('train-workers').textContent = coresNote(msg);
        break;
      case 'progress':
        this.#progress(msg);
        break;
      case 'checkpoint':
        $('train-saved').textContent = `Saved in the library at step ${msg.step} (${new Date().toLocaleTimeString()}${msg.reason ? `, ${msg.reason}` : ''}): `
          + 'a reload or a crash resumes from there.';
        this.onSaved?.(msg.id);
        break;
      case 'checkpoint-error':
        $('train-saved').textContent = `Not saved at step ${msg.step}: the last checkpoint in the library stays as it was.`;
        showError(msg.message, 'library');
        break;
      case 'heldout':
        $('train-heldout').textContent = msg.negElbo.toFixed(2);
        this.chart.add('heldout', msg.step, msg.negElbo);
        break;
      case 'weights':
        this.onWeights(msg.bytes, { epoch: msg.epoch, step: msg.step, config: this.config });
        break;
      case 'scatter':
        this.onScatter(msg);
        break;
      case 'grid':
        this.grid.requests.resolve(msg.id, msg.rgba);
        return;
      case 'grid-error':
        this.grid.requests.reject(msg.id, new Error(msg.message));
        return;
      case 'diverged':
        this.state = 'paused';
        $('train-lr').value = String(msg.lr);
        showError(`training diverged at step ${msg.step} (loss ${Number.isFinite(msg.loss) ? msg.loss.toExponential(2) : msg.loss}): `
          + `paused, restored the last good weights and halved the learning rate to ${msg.lr.toExponential(2)}. Press Resume to go on.`);
        break;
      case 'paused':
        this.state = 'paused';
        setStatus(`Training paused at step ${msg.step}.`);
        break;
      case 'resumed':
        this.state = 'running';
        setStatus(`Training resumed at step ${msg.step}.`);
        break;
      case 'done':
        this.state = 'done';
        $('train-progress').value = 1;
        setStatus(`Training finished: ${msg.epoch} epochs, ${msg.step} steps. The new model is active.`);
        break;
      case 'error':
        if (msg.crashed) {
          // The worker's wasm instance is dead: replace the worker; the explorer keeps the last weights.
          this.worker.terminate();
          this.worker = null;
          this.grid.requests.failAll(new Error('the training worker crashed'));
          this.state = 'idle';
          this.crashes += 1;
          showError(`the training worker crashed (${msg.message}) and was restarted; the last weights stay active. `
            + 'Press Resume training to go on from the last checkpoint, or Start to train again.');
          this.#ensureWorker();
          if (this.runId) get(STORES.models, this.runId).then((r) => this.state === 'idle' && this.offerResume(r)).catch(() => {});
        } else {
          this.state = this.state === 'loading' ? 'idle' : 'paused';
          showError(msg.message, 'training');
        }
        break;
      default:
        break;
    }
    if (this.state !== 'running' && this.state !== 'loading') this.#flushFigures();
    this.#render();
  }

  /** Records a slice's progress; the figures and curves are redrawn every RENDER_EVERY_MS. */
  #progress(msg) {
    this.workerMemoryBytes = msg.memoryBytes;
    this.chart.add('train', msg.step, msg.negElbo);
    this.chart.add('recon', msg.step, msg.recon);
    this.chart.add('kl', msg.step, msg.kl);
    this.latest = msg;
    if (this.renderTimer) return;
    const wait = Math.max(0, this.lastRender + RENDER_EVERY_MS - performance.now());
    this.renderTimer = setTimeout(() => onNextFrame('train-figures', () => {
      this.renderTimer = 0;
      this.lastRender = performance.now();
      if (this.latest) this.#showFigures(this.latest);
    }, 5), wait);
  }

  /** Shows the last progress now (training paused, ended or failed: nothing more is coming). */
  #flushFigures() {
    clearTimeout(this.renderTimer);
    this.renderTimer = 0;
    if (this.latest) this.#showFigures(this.latest);
  }

  #showFigures(msg) {
    const fraction = this.totalSteps ? msg.step / this.totalSteps : 0;
    $('train-progress').value = Math.min(1, fraction);
    $('train-epoch').textContent = `${Math.min(msg.epoch + 1, this.config.epochs)} / ${this.config.epochs}`;
    $('train-step').textContent = `${msg.step} / ${this.totalSteps}`;
    $('train-throughput').textContent = msg.samplesPerSec.toFixed(0);
    $('train-loss').textContent = msg.negElbo.toFixed(2);
    const remaining = ((this.totalSteps - msg.step) * this.config.batch) / Math.max(1, msg.samplesPerSec);
    $('train-eta').textContent = formatDuration(remaining);
    this.chart.draw();
  }

  /** Shows the state on the buttons; only a change of state touches the DOM (messages come every ~40 ms). */
  #render() {
    if ($('train-panel').dataset.state === this.state) return;
    const busy = this.state === 'running' || this.state === 'paused' || this.state === 'loading';
    $('train-start').disabled = this.state === 'loading';
    $('train-start').textContent = busy ? 'Restart' : 'Start';
    $('train-pause').disabled = !(this.state === 'running' || this.state === 'paused');
    $('train-pause').textContent = this.state === 'paused' ? 'Resume' : 'Pause';
    $('train-pause').setAttribute('aria-pressed', String(this.state === 'paused'));
    $('train-panel').dataset.state = this.state;
    this.onState?.(this.state, this.grid);
  }
}

/**
 * The latent map's grid decoder while training runs (the interface of GridWorkers): the training
 * worker decodes the grid with the weights it last posted, which are the page's active model.
 */
class TrainerGrid {
  constructor(panel) {
    this.panel = panel;
    this.requests = new Requests();
    this.metric = 'gridsFromTrainer';
  }

  get ready() {
    return this.panel.state === 'running' && this.panel.worker !== null;
  }

  /** Nothing to send: the worker decodes with the weights it posted, and only those become the page's model. */
  setModel() {}

  /** One band of all the rows (top to bottom): [{ row: 0, rows, rgba }]. */
  decode(xs, ys, dims, base) {
    // decodeGridRgba takes its rows bottom to top.
    return this.requests.ask((id) => this.panel.worker.postMessage({ type: 'grid', id, xs, ys: ys.slice().reverse(), dims, base }),
      (rgba) => [{ row: 0, rows: ys.length, rgba }]);
  }
}

/** What `cores: 'auto'` measured and chose, in words. */
function coresNote({ workers, oneWorker, twoWorkers, needed, hardwareCores }) {
  const rate = (x) => Math.round(x).toLocaleString('en-US');
  const ratio = twoWorkers / oneWorker;
  return `Cores auto: ${workers === 2 ? 'two workers' : 'one worker'}. Measured on this run's first steps: one worker ${rate(oneWorker)} samples/s, `
    + `two workers ${rate(twoWorkers)} (${ratio.toFixed(2)}×); two are kept at ≥ ${needed.toFixed(2)}× on ${hardwareCores} cores`
    + `${hardwareCores <= 2 ? ', where they leave the page no core of its own' : ''}.`;
}

function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
