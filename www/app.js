// Wires the explorer together: loads the wasm module and a model, connects the drawing pad, the
// latent map and the sliders, and keeps every view in step with the current model.
import { startEngine, wasm, memoryBytes } from './engine.js';
import { DrawingPad } from './draw.js';
import { LatentMap } from './latent-map.js';
import { GridWorkers } from './grid-workers.js';
import { LatentSliders } from './sliders.js';
import { paintImage, paintTiles, blank, shapeOf, CLASS_COLOURS } from './images.js';
import { onNextFrame } from './frame.js';
import { $, watchVisibility } from './dom.js';
import { setStatus, showError, setProgress, setCrashHandler } from './status.js';
import { fetchBytes } from './fetch.js';
import { metrics } from './metrics.js';
import { MODELS, CLASS_NAMES, modelUrl, testSetUrls } from './models.js';
import { explainModel } from './explain.js';
import { TrainingPanel } from './training-panel.js';
import { bindWeightsFiles } from './weights-files.js';
import { GalleryPanel } from './uses/gallery.js';
import { InterpolatePanel } from './uses/interpolate.js';
import { InpaintPanel } from './uses/inpaint.js';
import { AnomalyPanel } from './uses/anomaly.js';
import { StyleTransferPanel } from './uses/style-transfer.js';
import { CompressPanel } from './uses/compress.js';
import { BlurPanel } from './uses/blur.js';
import { PicturesPanel, droppedFiles } from './pictures.js';
import { LibraryPanel } from './library-panel.js';
import { registerOffline } from './offline.js';
import { parseShareHash, saveSession } from './session.js';
import { fetchModel, firstShipped, firstShippedBytes, session, shared } from './boot.js';
import { STORES, get as libraryGet } from './library.js';

const state = {
  model: null,
  entry: null,
  entries: [...MODELS], // shipped models, then trained or loaded ones (those carry their bytes)
  drawing: null, // the model input of the current drawing (one image of the drawing shape), or null when empty
  drawingMu: null,
  loadedTest: null, // { index, image, version, shape, source }: an image loaded into the pad, exact until the ink changes
  testSets: new Map(), // dataset → Promise<ImageSet>
  own: null, // your pictures as loaded now (see www/pictures.js), or null
  ownTestSets: new WeakMap(), // a picture set → Promise<ImageSet> of its held-out images
  scatterJob: 0,
};

const pad = new DrawingPad($('draw-canvas'), () => {
  onNextFrame('recon', updateReconstruction, 0);
  keepSession();
});
const sliders = new LatentSliders($('sliders'), (z) => {
  map.setBase(z);
  keepSession();
  onNextFrame('uses-point', () => forEachPanel((p) => p.onDecoderPoint?.()), 7);
  onNextFrame('decoded', () => showDecoded(z), 1);
});
/** The two grid workers, started once the first grid is up. */
let gridWorkers = null;
const map = new LatentMap({
  grid: $('latent-grid'),
  overlay: $('map-overlay'),
  markers: $('map-markers'),
  maths: {
    cdf: (z) => wasm().normalCdf(z),
    quantile: (p) => wasm().normalQuantile(p),
    points: (means, latent, dx, dy) => wasm().probabilityPoints(means, latent, dx, dy),
    scatterRgba: (...args) => wasm().scatterRgba(...args),
  },
  onHover: (z) => onNextFrame('decoded', () => showDecoded(z ?? sliders.values()), 1),
  onPick: (z, index) => {
    sliders.setValues(z);
    if (index >= 0) loadTestImage(index).catch((err) => showError(err, 'test image'));
  },
});

/** What the application panels share: the current model, input and test set. */
const uses = {
  wasm,
  model: () => state.model,
  entry: () => state.entry,
  /** The current input, `{ image, key }`, or null: a loaded test image exactly, else the drawing; `key` names it (metrics.input). */
  input: () => (state.drawing ? { image: state.drawing, key: metrics.input } : null),
  testSet: (dataset = state.entry?.dataset ?? 'mnist') => testSet(dataset),
  decoderPoint: () => sliders.values(),
  say: (text) => setStatus(text),
  error: (err, context) => showError(err, context),
};
const panels = [];
/** Panels that missed live model updates (weights streaming in) while out of view. */
const behind = new Set();
/** Per panel, whether it is in or near the view. */
const panelInView = new Map();

/** Adds `panel`, whose section is `root`; one out of view catches up on live updates when it comes into view. */
function addPanel(panel, root) {
  panels.push(panel);
  panelInView.set(panel, watchVisibility(root, () => {
    if (behind.delete(panel)) forEachPanel((p) => p === panel && p.onModel());
  }));
}

/**
 * Tells the panels the model changed, each in its own task. Live updates (new weights every
 * 0.5 s while training) reach only the panels in view; the others are told when they come into view.
 */
function modelChanged(live) {
  eachPanelInItsOwnTask((p) => {
    if (live && !panelInView.get(p)()) behind.add(p);
    else {
      behind.delete(p);
      return p.onModel();
    }
    return undefined;
  });
}

/**
 * Tells the panels the input changed, once the drawing pauses (they do more work than a frame
 * allows), each panel in its own task. Model changes alone (weights streaming in) do not count.
 */
let inputTimer = 0;
function inputChanged() {
  const key = `${pad.version}:${state.loadedTest?.index ?? ''}`;
  if (key === metrics.input) return;
  metrics.input = key;
  clearTimeout(inputTimer);
  inputTimer = setTimeout(() => eachPanelInItsOwnTask((p) => p.onInput()), 120);
}

function eachPanelInItsOwnTask(fn) {
  panels.forEach((panel, i) => setTimeout(() => forEachPanel((p) => p === panel && fn(p)), 8 * i));
}

function forEachPanel(fn) {
  for (const panel of panels) {
    try {
      const result = fn(panel);
      if (result?.catch) result.catch((err) => showError(err, 'panel'));
    } catch (err) {
      showError(err, 'panel');
    }
  }
}

/** Runs `fn` once the first grid is on screen: the panels' work never delays it. */
function afterFirstGrid(fn) {
  if (metrics.firstGridAt) setTimeout(fn, 0);
  else setTimeout(() => afterFirstGrid(fn), 50);
}

/** Loads test image `index` of the current dataset into the drawing pad as the current input. */
async function loadTestImage(index) {
  const set = await testSet(state.entry?.dataset ?? 'mnist');
  const i = Math.max(0, Math.min(set.length - 1, Math.round(index) || 0));
  const image = set.image(i);
  $('test-index').value = String(i);
  pad.setImage(image, set);
  state.loadedTest = { index: i, image, version: pad.version, shape: shapeOf(set), source: `test image #${i}` };
  onNextFrame('recon', updateReconstruction, 0);
}

function showDecoded(z) {
  if (!state.model) return;
  paintImage($('decoded-canvas'), state.model.decode(z), state.model);
  $('decoded-label').textContent = `z = (${formatVector(z)})`;
}

/** The shape of the model input a drawing becomes (the MNIST digit frame). */
let drawingShapeCache = null;
const drawingShape = () => (drawingShapeCache ??= JSON.parse(wasm().drawingShape()));
const describeShape = (s) => `${s.channels}×${s.height}×${s.width}`;

const formatVector = (v) => Array.from(v, (x) => x.toFixed(2)).join(', ');

/** The drawing as the current model's input: MNIST's digit frame, or a picture set's preprocessing. */
function drawingInput(canvas) {
  if (!state.pictureOptions) return wasm().drawingToInput(pad.ink(), canvas.width, canvas.height);
  return Float32Array.from(state.pictureOptions.apply(pad.rgbaOverBlack(), canvas.width, canvas.height), (v) => v / 255);
}

/** Re-encodes the drawing: input preview, reconstruction, latent readout and map marker. */
function updateReconstruction() {
  const t0 = performance.now();
  const canvas = $('draw-canvas');
  if (state.loadedTest && state.loadedTest.version !== pad.version) state.loadedTest = null; // edited: a drawing now
  const input = state.loadedTest ? state.loadedTest.image
    : pad.isEmpty ? new Float32Array(0) : drawingInput(canvas);
  inputChanged();
  if (input.length === 0) {
    state.drawing = state.drawingMu = null;
    blank($('input-preview'));
    blank($('recon-canvas'));
    $('drawing-latent').textContent = 'Draw a digit to encode it.';
    map.setDrawingMarker(null);
    return;
  }
  state.drawing = input;
  const inputShape = state.loadedTest ? state.loadedTest.shape : state.pictureOptions ? shapeOf(state.model) : drawingShape();
  paintImage($('input-preview'), input, inputShape);
  if (!state.model) return;
  if (input.length !== state.model.pixels) {
    $('drawing-latent').textContent = `This model reads ${describeShape(state.model)} images; the input is ${describeShape(inputShape)}.`;
    return;
  }
  const { mu, logVar } = state.model.encode(input);
  const sigma = Array.from(logVar, (lv) => Math.exp(lv / 2));
  state.drawingMu = mu;
  paintImage($('recon-canvas'), state.model.decode(mu), state.model);
  const source = state.loadedTest ? `${state.loadedTest.source}: ` : '';
  $('drawing-latent').textContent = `${source}μ = (${formatVector(mu)})  σ = (${sigma.map((s) => s.toFixed(2)).join(', ')})`;
  map.setDrawingMarker(mu);
  metrics.reconUpdates += 1;
  metrics.lastReconMs = performance.now() - t0;
}

function setupDims(L) {
  for (const [id, initial] of [['dim-x', 0], ['dim-y', Math.min(1, L - 1)]]) {
    const select = $(id);
    select.replaceChildren(...Array.from({ length: L }, (_, i) => new Option(`z${i}`, String(i), false, i === initial)));
    select.disabled = L <= 2;
  }
}

function setupLegend(names) {
  $('legend').replaceChildren(...names.map((name, i) => {
    const li = document.createElement('li');
    li.textContent = name;
    li.style.setProperty('--swatch', CLASS_COLOURS[i % CLASS_COLOURS.length]);
    return li;
  }));
}

/**
 * The test images of `dataset`: MNIST's or Fashion-MNIST's test split, or for `own` the held-out
 * images of the picture set the current model was trained on (else the pictures loaded now).
 */
function testSet(dataset) {
  if (dataset === 'own') return ownTestSet(state.entry?.own ?? state.own);
  if (!state.testSets.has(dataset)) {
    const urls = testSetUrls(dataset);
    state.testSets.set(dataset, Promise.all([fetchBytes(urls.images), fetchBytes(urls.labels)])
      .then(([images, labels]) => new (wasm().ImageSet)(images, labels)));
  }
  return state.testSets.get(dataset);
}

function ownTestSet(own) {
  if (!own) return Promise.reject(new Error('no pictures are loaded: load the pictures this model was trained on in “Your pictures”'));
  if (!state.ownTestSets.has(own)) {
    state.ownTestSets.set(own, Promise.resolve().then(() => {
      const full = wasm().ImageSet.fromPixels(own.channels, own.size, own.pixels, own.labels);
      try {
        return full.heldOut();
      } finally {
        full.free();
      }
    }));
  }
  return state.ownTestSets.get(own);
}

/** The class names of `entry`'s data: the digits, Fashion-MNIST's items, or a picture set's label folders. */
function classNames(entry, model) {
  if (entry.dataset !== 'own') return CLASS_NAMES[entry.dataset] ?? [];
  if (entry.own) return entry.own.names.length ? entry.own.names : ['your pictures'];
  const labels = JSON.parse(model.metadata).labels;
  return labels ? JSON.parse(labels) : ['your pictures'];
}

/**
 * How a drawing becomes the input of a model of your own pictures: the pad's ink as white on
 * black, through the set's options (the model's size and channels); null for MNIST models.
 */
function pictureOptions(entry, model) {
  if (entry?.dataset !== 'own') return null;
  const meta = JSON.parse(model.metadata);
  const o = entry.own?.options ?? { fit: meta.fit ?? 'crop', background: meta.background ?? 'ffffff', invert: meta.invert === 'true' };
  return new (wasm().PictureOptions)(model.height, model.channels === 3, o.fit, o.background, o.invert);
}

/** Encodes the test set's means in slices between frames, then scatters them on the map. */
async function computeScatter(model, dataset) {
  const job = state.scatterJob;
  metrics.scatterCount = 0;
  const set = await testSet(dataset);
  const count = set.length;
  const L = model.latentSize;
  const means = new Float32Array(count * L);
  const slice = 100; // about 4 ms of encoding per task, so a slice never holds up a frame
  for (let start = 0; start < count; start += slice) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (job !== state.scatterJob) return;
    means.set(model.encodeMeans(set, start, Math.min(slice, count - start)), start * L);
  }
  map.setScatter({ means, labels: set.labels(), count });
  metrics.scatterCount = count;
  metrics.startup.scatterAt ||= performance.now();
}

/** Loads `entry`'s model (its bytes, `bytes` if already being fetched, else fetched now) and makes it the current one. */
async function loadModel(entry, bytes = null) {
  setStatus(`Loading ${entry.label}…`);
  bytes = entry.bytes ?? await (bytes ?? fetchModel(entry));
  activateModel(new (wasm().Model)(bytes), bytes, entry);
}

/**
 * Makes `model` (loaded from `bytes`) the one every view uses and redraws everything. With `live` (weights streaming
 * from the training worker) the sliders, view and scatter stay as they are while new weights of the same model of
 * the same data come in; the first weights of a run (another model, other data) redraw everything, legend and
 * explanation included.
 */
function activateModel(model, bytes, entry, live = false) {
  const was = state.entry;
  const sameShape = live && was?.file === entry.file && was?.dataset === entry.dataset && was?.own === entry.own
    && state.model?.description === model.description;
  state.scatterJob += 1; // a scatter still being computed belongs to the old model
  state.model?.free();
  state.model = model;
  state.entry = entry;
  const L = model.latentSize;
  map.setModel(model, bytes, sameShape);
  if (sameShape) {
    onNextFrame('decoded', () => showDecoded(sliders.values()), 1); // the same point, decoded by the new weights
  } else {
    sliders.setSize(L);
    setupDims(L);
    sliders.setValues(new Float32Array(L));
  }
  syncModelSelect();
  onNextFrame('recon', updateReconstruction, 0);
  afterFirstGrid(() => modelChanged(live));
  afterFirstGrid(() => onNextFrame('train-recons', () => paintTestReconstructions().catch((err) => showError(err, 'test digits')), 4));
  if (sameShape) return; // weights streaming in: nothing else about the page changes
  state.pictureOptions?.free();
  state.pictureOptions = pictureOptions(entry, model);
  // A colour model's drawings can be in colour; others draw white ink.
  $('pen-colour').hidden = model.channels !== 3;
  pad.setColour(model.channels === 3 ? $('pen-colour').value : '#ffffff');
  setupLegend(classNames(entry, model));
  explainModel($('explain'), model, entry.label);
  if (live) return;
  setProgress(1);
  setStatus(`Ready: ${entry.label} (${model.description}). Draw, hover the map, or move the sliders.`);
  // The test set (a 1.6 MB download, parsed in about a tenth of a second) waits for the first grid.
  const job = state.scatterJob;
  afterFirstGrid(() => job === state.scatterJob && computeScatter(model, entry.dataset).catch((err) => showError(err, 'test-set scatter')));
}

/** Adds (or replaces) a model entry that carries its own bytes, e.g. one trained in this tab. */
function customEntry(file, label, dataset, bytes, own = null) {
  // Option values are file names; a loaded file never shadows a shipped model of the same name.
  const value = MODELS.some((m) => m.file === file) ? file.replace(/(\.safetensors)?$/, ' (loaded)$1') : file;
  const entry = { file: value, label, dataset, bytes, own };
  state.entries = [...state.entries.filter((e) => e.file !== value), entry];
  return entry;
}

const TRAINED_FILE = 'trained-in-tab.safetensors';

function syncModelSelect() {
  const select = $('model-select');
  const same = select.options.length === state.entries.length
    && state.entries.every((m, i) => select.options[i].value === m.file && select.options[i].text === m.label);
  if (!same) select.replaceChildren(...state.entries.map((m) => new Option(m.label, m.file)));
  select.value = state.entry.file;
}

/** The first eight test digits and their reconstructions (from the mean) under the current model. */
async function paintTestReconstructions() {
  if (!state.model || !state.entry) return;
  const set = await testSet(state.entry.dataset);
  const { pixels } = shapeOf(state.model);
  if (set.length === 0 || pixels !== set.channels * set.height * set.width) return;
  const n = Math.min(8, set.length); // a small picture set may hold out fewer; the rest stay black
  const images = new Float32Array(2 * 8 * pixels); // row 1: the test images, row 2: their reconstructions
  for (let k = 0; k < n; k++) images.set(set.image(k), k * pixels);
  images.set(state.model.decode(state.model.encode(images.subarray(0, n * pixels)).mu), 8 * pixels);
  paintTiles($('train-recons'), images, state.model, 8, 2);
  $('train-recons-caption').textContent = `${state.entry.dataset === 'own' ? 'held-out pictures' : 'test images'} (top) and their reconstructions (bottom)`;
}

/**
 * Validates `bytes` as a model and makes it active; on failure the current model stays. A file
 * trained on pictures (`vae train --images`, or in a tab) is explored on the pictures `own`
 * (those it was trained on), else on the pictures loaded now when they have its shape.
 */
function useWeights(bytes, name, { live = false, dataset, own = null, label: named = null } = {}) {
  const model = new (wasm().Model)(bytes); // throws with the reason on a bad file
  const meta = JSON.parse(model.metadata);
  dataset ??= meta.dataset === 'images' ? 'own' : ['mnist', 'fashion'].includes(meta.dataset) ? meta.dataset : state.entry?.dataset ?? 'mnist';
  if (dataset === 'own' && !own && state.own && state.own.size === model.height && state.own.channels === model.channels) own = state.own;
  if (model.classes > 0) {
    const classes = model.classes;
    model.free();
    throw new Error(`${name} is a conditional VAE (${classes} label inputs); the explorer takes plain VAEs. The shipped conditional models are in the style-transfer panel.`);
  }
  const label = named ?? (live ? `Trained in this tab (${model.description})` : `File: ${name}`);
  activateModel(model, bytes, customEntry(name, label, dataset, bytes, own), live);
}

function bindControls() {
  const penButton = $('pen-button');
  const eraserButton = $('eraser-button');
  const setMode = (mode) => {
    pad.setMode(mode);
    penButton.setAttribute('aria-pressed', String(mode === 'pen'));
    eraserButton.setAttribute('aria-pressed', String(mode === 'eraser'));
  };
  penButton.addEventListener('click', () => setMode('pen'));
  $('pen-colour').addEventListener('input', (e) => pad.setColour(e.target.value));
  eraserButton.addEventListener('click', () => setMode('eraser'));
  $('undo-button').addEventListener('click', () => pad.undo());
  $('clear-button').addEventListener('click', () => pad.clear());
  $('load-test').addEventListener('click', () => loadTestImage(Number($('test-index').value)).catch((err) => showError(err, 'test image')));
  $('test-index').addEventListener('keydown', (e) => e.key === 'Enter' && $('load-test').click());
  $('sample-button').addEventListener('click', () => state.model && sliders.setValues(state.model.samplePrior(1, 1)));
  $('zero-button').addEventListener('click', () => state.model && sliders.setValues(new Float32Array(state.model.latentSize)));
  $('use-drawing').addEventListener('click', () => {
    if (state.drawingMu) sliders.setValues(state.drawingMu);
    else setStatus('Draw something first: its encoding sets the sliders.');
  });
  $('grid-size').addEventListener('change', (e) => {
    e.target.value = String(map.setGridSize(Number(e.target.value)));
  });
  const dimsChanged = () => {
    const dx = Number($('dim-x').value);
    const dy = Number($('dim-y').value);
    if (dx === dy) return showError(`pick two different dimensions (both are z${dx})`);
    map.setDims(dx, dy);
  };
  $('dim-x').addEventListener('change', dimsChanged);
  $('dim-y').addEventListener('change', dimsChanged);
  $('show-scatter').addEventListener('change', (e) => {
    map.showScatter = e.target.checked;
    map.setScatter(map.scatter);
  });
  $('reset-view').addEventListener('click', () => map.resetView());
  const select = $('model-select');
  select.replaceChildren(...state.entries.map((m) => new Option(m.label, m.file)));
  select.addEventListener('change', async () => {
    const entry = state.entries.find((m) => m.file === select.value);
    try {
      await loadModel(entry);
    } catch (err) {
      showError(err, `cannot load ${entry.label}`);
      if (state.entry) select.value = state.entry.file;
    }
  });
}

function bindTraining() {
  const library = new LibraryPanel({
    openModel: (r) => {
      const names = r.run?.config?.names ?? CLASS_NAMES[r.dataset];
      const model = new (wasm().Model)(r.bytes);
      const conditional = model.classes > 0;
      model.free();
      if (conditional) {
        forEachPanel((p) => p.onTrainedConditional?.(r.bytes, names));
        setStatus(`Opened “${r.name}” from the library in the style-transfer panel (a conditional VAE).`);
      } else {
        useWeights(r.bytes, `${r.id}.safetensors`, { dataset: r.dataset, own: r.run?.config?.own ?? null, label: `Library: ${r.name}` });
        state.entry.libraryId = r.id;
        keepSession();
        setStatus(`Opened “${r.name}” from the library: ${state.model.description}. It is the active model.`);
      }
      if (r.run && r.run.status !== 'done' && training.state === 'idle') training.offerResume(r);
    },
    openSet: (r) => pictures.restore(r),
    // An unfinished run (a reload, a crash, a closed tab) is offered for resuming while nothing trains.
    onRecords: (models) => {
      if (training.state === 'idle' && !training.resumable) training.offerResume(models.find((r) => r.run && r.run.status !== 'done') ?? null);
    },
  });
  state.library = library;
  const training = new TrainingPanel({
    onWeights: (bytes, info) => {
      try {
        // A conditional VAE goes to the style-transfer panel; the explorer keeps its model.
        if (info.config.classes > 0) forEachPanel((p) => p.onTrainedConditional?.(bytes, info.config.names ?? CLASS_NAMES[info.config.dataset]));
        else useWeights(bytes, TRAINED_FILE, { live: true, dataset: info.config.dataset, own: info.config.own ?? null });
      } catch (err) {
        showError(err, 'trained weights');
      }
    },
    onScatter: (scatter) => training.config?.classes || map.setScatter(scatter),
    currentWeights: () => state.model.toSafetensors(),
    ownSet: () => state.own,
    // While it trains, the training worker decodes the grid: the grid workers would need cores it uses.
    // (Not for a conditional VAE, which is not the explorer's model.)
    onState: (s, trainerGrid) => map.useWorkers(s === 'running' && !trainerGrid.panel.config?.classes ? trainerGrid : gridWorkers),
    onSaved: () => library.refresh(),
  });
  const pictures = new PicturesPanel({
    // A thumbnail clicked: that picture (as the model sees it) becomes the current input.
    onPick: (image, shape, path) => {
      pad.setImage(image, shape);
      state.loadedTest = { index: `picture:${path}`, image, version: pad.version, shape, source: path };
      onNextFrame('recon', updateReconstruction, 0);
    },
    onSaved: () => library.refresh(),
    onSet: (set) => {
      state.own = set.count > 0 ? set : null;
      const option = $('train-dataset').querySelector('option[value="own"]');
      option.disabled = set.count < 2;
      option.textContent = set.count ? `your pictures (${set.count})` : 'your pictures';
      if (set.count < 2 && $('train-dataset').value === 'own') {
        $('train-dataset').value = 'mnist';
        $('train-dataset').dispatchEvent(new Event('change'));
      }
    },
  });
  $('images-use').addEventListener('click', () => {
    $('train-dataset').value = 'own';
    $('train-dataset').dispatchEvent(new Event('change'));
    $('train-panel').scrollIntoView({ behavior: 'smooth', block: 'start' });
    setStatus(`Training will use your ${state.own.count} pictures (${state.own.channels === 3 ? 'colour' : 'grey'} ${state.own.size}×${state.own.size}), `
      + `${wasm().heldOutCount(state.own.count)} held out. Press Start.`);
  });
  $('add-to-set').addEventListener('click', () => {
    if (pad.isEmpty) return setStatus('Draw something first: Add to set adds the drawing to your pictures.');
    const canvas = $('draw-canvas');
    pictures.addRgba('drawing', pad.rgbaOverBlack(), canvas.width, canvas.height);
    pad.clear();
    return undefined;
  });
  bindWeightsFiles({
    dropOther: (dataTransfer) => droppedFiles(dataTransfer).then((files) => pictures.addFiles(files)).catch((err) => showError(err, 'dropped files')),
    current: () => state.model && { bytes: state.model.toSafetensors(), model: state.model },
    load: (bytes, name) => {
      useWeights(bytes, name);
      setStatus(`Loaded ${name}: ${state.model.description}. It is the active model, and kept in the library.`);
      library.keepFile(bytes, name, state.entry.dataset, state.model.description);
    },
  });
  return training;
}

/**
 * After a wasm panic: the instance is dead, so start a fresh one and reload the active model into
 * it. Everything the user had (drawing, sliders, training worker) stays.
 */
async function recoverEngine(err) {
  if (state.recovering) return;
  state.recovering = true;
  metrics.crashes += 1;
  showError(`the WebAssembly engine crashed (${err.message}); restarting it…`);
  try {
    state.scatterJob += 1;
    state.model = null; // belonged to the dead instance: nothing to free
    await startEngine();
    // Anything made while the engine restarted belongs to the dead instance.
    state.testSets.clear();
    forEachPanel((p) => p.reset?.());
    const entry = state.entry;
    const z = sliders.values();
    const bytes = entry.bytes ?? await fetchBytes(modelUrl(entry.file));
    activateModel(new (wasm().Model)(bytes), bytes, entry, true);
    if (z.length === state.model.latentSize) sliders.setValues(z);
    computeScatter(state.model, entry.dataset).catch((e) => showError(e, 'test-set scatter'));
    setStatus(`Recovered from an internal error (${err.message}): the engine was restarted and ${entry.label} reloaded.`);
  } catch (e) {
    showError(e, 'could not restart the engine; reload the page');
  } finally {
    state.recovering = false;
  }
}

/** Hooks for tests and the soak script, only with `?debug` in the URL. */
function exposeDebugHooks(training) {
  if (!new URLSearchParams(location.search).has('debug')) return;
  window.vaeDebug = {
    memory: () => ({ mainWasmBytes: memoryBytes(), workerWasmBytes: training.workerMemoryBytes }),
    panicMain: () => onNextFrame('debug-panic', () => wasm().debugPanic('deliberate test panic (main thread)'), 0),
    panicWorker: () => training.worker?.postMessage({ type: 'debug-panic' }),
    panicHelper: () => training.worker?.postMessage({ type: 'debug-panic-helper' }),
    panicGridWorker: () => gridWorkers?.debugPanic(),
    currentWeights: () => state.model.toSafetensors(),
    /** The posterior mean of picture `i` of your pictures (in path order) under the current model. */
    encodePicture: (i) => {
      const per = state.own.channels * state.own.size * state.own.size;
      const image = Float32Array.from(state.own.pixels.subarray(i * per, (i + 1) * per), (v) => v / 255);
      return Array.from(state.model.encode(image).mu);
    },
  };
}

/** What comes back after a reload (www/session.js). */
function sessionSnapshot() {
  const entry = state.entry;
  const model = entry?.shipped ? entry.file : entry?.libraryId ? `library:${entry.libraryId}` : null;
  const train = Object.fromEntries([...document.querySelectorAll('#train-panel input, #train-panel select')]
    .filter((el) => el.id).map((el) => [el.id, el.type === 'checkbox' ? el.checked : el.value]));
  return { model, z: Array.from(sliders.values()), view: map.view, dims: map.dims, gridSize: map.n, strokes: pad.toJSON(), train };
}

const keepSession = () => state.restored && saveSession(sessionSnapshot, true);

/** The model entry the saved session names (a shipped model, or one of the library), or null. */
async function sessionEntry(session) {
  if (typeof session.model !== 'string') return null;
  if (!session.model.startsWith('library:')) return MODELS.find((m) => m.file === session.model) ?? null;
  const r = await libraryGet(STORES.models, session.model.slice('library:'.length)).catch(() => null);
  if (!r) return null;
  const entry = customEntry(`${r.id}.safetensors`, `Library: ${r.name}`, r.dataset, r.bytes, r.run?.config?.own ?? null);
  entry.libraryId = r.id;
  return entry;
}

/**
 * Puts back the drawing and training settings of the saved session and, when the model loaded is
 * the session's (`sameModel`), its point, view and dimensions.
 */
async function restoreSession(session, sameModel) {
  const L = state.model.latentSize;
  if (!sameModel) session = { strokes: session.strokes, train: session.train };
  if (Array.isArray(session.dims) && session.dims.length === 2 && session.dims.every((d) => Number.isInteger(d) && d >= 0 && d < L) && session.dims[0] !== session.dims[1]) {
    $('dim-x').value = String(session.dims[0]);
    $('dim-y').value = String(session.dims[1]);
    map.setDims(session.dims[0], session.dims[1]);
  }
  if (Number.isInteger(session.gridSize)) $('grid-size').value = String(map.setGridSize(session.gridSize));
  if (session.view) map.setView(session.view);
  if (Array.isArray(session.z) && session.z.length === L && session.z.every(Number.isFinite)) sliders.setValues(Float32Array.from(session.z));
  for (const [id, value] of Object.entries(session.train ?? {})) {
    const el = document.getElementById(id);
    if (!el?.closest('#train-panel') || (typeof value !== 'string' && typeof value !== 'boolean')) continue;
    if (el.type === 'checkbox') el.checked = value === true;
    else if (el.tagName !== 'SELECT' || el.querySelector(`option[value="${CSS.escape(String(value))}"]:not([disabled])`)) el.value = String(value);
    el.dispatchEvent(new Event('change'));
  }
  if (Array.isArray(session.strokes) && session.strokes.length) await pad.restore(session.strokes);
}

/** Opens the model and latent point of a shared link (`#model=…&z=…`), if the hash holds one. */
async function openSharedView() {
  const link = parseShareHash(location.hash);
  if (!link) return false;
  const entry = MODELS.find((m) => m.file === link.model);
  if (!entry) {
    showError(`the link names an unknown model “${link.model}”`);
    return false;
  }
  if (state.entry !== entry) await loadModel(entry);
  if (link.z.length !== state.model.latentSize) {
    showError(`the link's latent point has ${link.z.length} numbers; ${entry.label} has ${state.model.latentSize}`);
    return true;
  }
  sliders.setValues(link.z);
  setStatus(`Opened a shared view: ${entry.label} at z = (${formatVector(link.z)}).`);
  return true;
}

async function main() {
  metrics.startup.appAt = performance.now();
  bindControls();
  exposeDebugHooks(bindTraining());
  setCrashHandler(recoverEngine);
  blank($('input-preview'));
  blank($('recon-canvas'));
  setProgress(0.05);
  // The wasm module and the first shipped model are already on their way (www/boot.js).
  firstShippedBytes?.then(() => { metrics.startup.modelBytesAt = performance.now(); }, () => {});
  await startEngine();
  metrics.startup.engineAt = performance.now();
  setProgress(0.3);
  for (const [Panel, root] of [[GalleryPanel, 'gallery-panel'], [InterpolatePanel, 'interp-panel'], [InpaintPanel, 'inpaint-panel'],
    [AnomalyPanel, 'anomaly-panel'], [StyleTransferPanel, 'cvae-panel'], [CompressPanel, 'compress-panel'], [BlurPanel, 'blur-panel']]) {
    addPanel(new Panel(uses), $(root));
  }
  const resumed = shared ? null : await sessionEntry(session);
  const first = MODELS.find((m) => m.file === shared?.model) ?? resumed ?? MODELS[0];
  await loadModel(first, first === firstShipped ? firstShippedBytes : null);
  metrics.startup.modelAt = performance.now();
  // A link (or this tab's own hash, after a reload) names the model and point; the session brings back the rest.
  await restoreSession(session, !shared || shared.model === session.model).catch((err) => showError(err, 'the last session'));
  await openSharedView();
  state.restored = true;
  for (const type of ['pagehide', 'visibilitychange']) window.addEventListener(type, () => saveSession(sessionSnapshot));
  $('train-panel').addEventListener('change', keepSession);
  $('map-panel').addEventListener('pointerup', keepSession);
  $('map-panel').addEventListener('wheel', keepSession, { passive: true });
  window.addEventListener('hashchange', () => openSharedView().catch((err) => showError(err, 'shared link')));
  metrics.ready = true;
  // Grid decoding moves to two workers (both cores) once the first grid is up, so starting them
  // does not delay it.
  afterFirstGrid(() => {
    gridWorkers = new GridWorkers();
    if (map.workers === null) map.useWorkers(gridWorkers);
  });
  // The library (stored models and sets; an unfinished run to resume), once the first grid is up.
  afterFirstGrid(() => state.library.refresh());
  // Offline: the service worker caches this build once the page has settled (it fetches every file once).
  afterFirstGrid(() => setTimeout(() => registerOffline().catch((err) => showError(err, 'offline mode')), 2000));
  // The panels' own models (conditional, β), once the page has settled.
  afterFirstGrid(() => setTimeout(() => forEachPanel((p) => p.prefetch?.()), 3000));
}

main().catch((err) => showError(err, 'start-up failed'));
