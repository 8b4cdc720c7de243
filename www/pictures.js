// The "Your pictures" panel: files, a folder, a .zip, drops, drawings and webcam frames become a
// set of model images in www/picture-worker.js (never on this thread); this panel shows the
// options, the progress, a thumbnail sheet as the model sees it, the count per label and what was
// skipped. `onSet(set)` hears each new set: { count, channels, size, pixels, labels, names,
// paths, skipped, options } (pixels: count·C·S·S bytes, channel-major); `onPick(image, shape,
// path)` hears a click on a thumbnail (image: C·S·S intensities in [0, 1]).
import { $ } from './dom.js';
import { paintTiles, CLASS_COLOURS } from './images.js';
import { showError, setStatus } from './status.js';
import { metrics } from './metrics.js';
import { stripCommonRoot } from './picture-paths.js';

/** Thumbnails on the sheet: SHEET_COLUMNS per row, at most SHEET_ROWS rows. */
const SHEET_COLUMNS = 20;
const SHEET_ROWS = 10;
/** Files per message to the picture worker. */
const ADD_CHUNK = 500;
/** Frames of a burst are this far apart (ms). */
const BURST_EVERY_MS = 100;

export class PicturesPanel {
  constructor({ onSet, onPick, onSaved }) {
    Object.assign(this, { onSet, onPick, onSaved });
    this.set = null;
    this.added = 0; // drawings and frames added, for their file names
    this.worker = null; // started with the first pictures (its wasm would compete with the page's start)
    for (const id of ['images-files', 'images-folder']) {
      const input = $(id);
      input.addEventListener('change', () => {
        this.addFiles([...input.files].map((file) => ({ path: file.webkitRelativePath || file.name, file })));
        input.value = '';
      });
    }
    for (const id of ['images-size', 'images-fit', 'images-colour', 'images-invert', 'images-background']) {
      $(id).addEventListener('change', () => this.#post({ type: 'options', options: this.options() }));
    }
    $('images-clear').addEventListener('click', () => this.#post({ type: 'clear' }));
    $('images-sheet').addEventListener('click', (e) => this.#pick(e));
    $('camera-start').addEventListener('click', () => this.#toggleCamera().catch((err) => showError(err, 'camera')));
    $('camera-capture').addEventListener('click', () => this.#captureFrames(1));
    $('camera-burst-run').addEventListener('click', () => this.#captureFrames(Math.max(1, Math.min(100, Math.round(Number($('camera-burst').value)) || 1))));
  }

  /** The loader's options, from the controls. */
  options() {
    return {
      size: Number($('images-size').value),
      colour: $('images-colour').checked,
      fit: $('images-fit').value,
      background: $('images-background').value.replace('#', ''),
      invert: $('images-invert').checked,
    };
  }

  /** Adds files ([{ path, file }], paths `/`-separated; a .zip is unpacked) to the set. */
  addFiles(files) {
    if (files.length === 0) return;
    setStatus(`Reading ${files.length} file${files.length === 1 ? '' : 's'} in a worker…`);
    this.loadStarted = performance.now();
    // In chunks, so that the worker decodes the first files while the rest are still handed over
    // (cloning a File for another thread is not free). The worker drops a folder's common root
    // itself only within one message, so it is dropped here, over all of them.
    const paths = stripCommonRoot(files.map((f) => f.path));
    for (let i = 0; i < files.length; i += ADD_CHUNK) {
      this.#post({ type: 'add', files: files.slice(i, i + ADD_CHUNK).map((f, k) => ({ path: paths[i + k], file: f.file })), rooted: true });
    }
  }

  /** Makes a picture set of the library (www/library.js) the current set, with its options. */
  restore(record) {
    const o = record.options;
    $('images-size').value = String(o.size);
    $('images-colour').checked = o.colour;
    $('images-fit').value = o.fit;
    $('images-background').value = `#${o.background}`;
    $('images-invert').checked = o.invert;
    setStatus(`Opening “${record.name}” from the library…`);
    this.loadStarted = performance.now();
    this.#post({ type: 'restore', id: record.id });
    $('pictures-panel').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  /** Adds a picture given as RGBA bytes (a drawing, a webcam frame) under the label for added pictures. */
  addRgba(kind, rgba, width, height) {
    const label = $('images-label').value.trim().replace(/[/\\]/g, '-');
    this.added += 1;
    const name = `${kind}-${String(this.added).padStart(4, '0')}.png`;
    this.#post({ type: 'add-rgba', path: label ? `${label}/${name}` : name, rgba, width, height }, [rgba.buffer]);
  }

  #post(msg, transfer) {
    $('images-progress').removeAttribute('value'); // busy until the worker reports
    if (!this.worker) {
      this.worker = new Worker(new URL('./picture-worker.js', import.meta.url), { type: 'module' });
      this.worker.onmessage = ({ data }) => this.#onMessage(data);
      this.worker.onerror = (e) => showError(e.message || 'the picture worker failed', 'your pictures');
      if (msg.type !== 'options') this.worker.postMessage({ type: 'options', options: this.options() });
    }
    this.worker.postMessage(msg, transfer);
  }

  #onMessage(msg) {
    if (msg.type === 'progress') {
      $('images-progress').value = msg.total ? msg.done / msg.total : 1;
      const rate = msg.done / Math.max(1e-3, msg.seconds);
      $('images-rate').textContent = msg.done ? rate.toFixed(0) : '–';
      $('images-eta').textContent = msg.done < msg.total ? `${Math.ceil((msg.total - msg.done) / rate)} s` : '–';
    } else if (msg.type === 'set') {
      this.set = msg;
      if (this.loadStarted) metrics.picturesLoadMs = performance.now() - this.loadStarted;
      this.loadStarted = 0;
      $('images-progress').value = 1;
      this.#show(msg);
      this.onSet(msg);
      if (msg.decoded > 0) {
        setStatus(`Your pictures: ${msg.count} image${msg.count === 1 ? '' : 's'} of ${msg.channels === 3 ? 'colour' : 'grey'} ${msg.size}×${msg.size}`
          + `${msg.names.length ? ` in ${msg.names.length} labels` : ''}, ${msg.decoded} read in ${msg.seconds.toFixed(1)} s`
          + `${msg.skipped.length ? `; ${msg.skipped.length} skipped (listed in the panel)` : ''}.`);
      }
    } else if (msg.type === 'saved') {
      this.onSaved?.(msg.id);
    } else if (msg.type === 'save-error') {
      showError(msg.message, 'library');
    } else if (msg.type === 'error') {
      $('images-progress').value = 0;
      showError(msg.message, 'your pictures');
    }
  }

  #show(set) {
    $('images-count').textContent = String(set.count);
    $('images-labels').textContent = String(set.names.length);
    const shape = { channels: set.channels, height: set.size, width: set.size };
    const per = set.channels * set.size * set.size;
    const shown = Math.min(set.count, SHEET_COLUMNS * SHEET_ROWS);
    const rows = Math.max(1, Math.ceil(shown / SHEET_COLUMNS));
    const values = new Float32Array(SHEET_COLUMNS * rows * per);
    for (let i = 0; i < shown * per; i++) values[i] = set.pixels[i] / 255;
    paintTiles($('images-sheet'), values, shape, SHEET_COLUMNS, rows);
    const counts = new Map();
    for (const label of set.labels) counts.set(label, (counts.get(label) ?? 0) + 1);
    const names = set.names.length ? set.names : ['(no label folders)'];
    $('images-label-counts').replaceChildren(...names.map((name, i) => {
      const li = document.createElement('li');
      li.textContent = `${name}: ${counts.get(i) ?? 0}`;
      li.style.setProperty('--swatch', CLASS_COLOURS[i % CLASS_COLOURS.length]);
      return li;
    }));
    const n = set.skipped.length;
    $('images-skipped').textContent = n ? `${n} file${n === 1 ? '' : 's'} skipped:\n${set.skipped.join('\n')}` : '';
    $('images-use').disabled = set.count < 2;
  }

  /** The thumbnail under a click, as the current input. */
  #pick(e) {
    const set = this.set;
    if (!set?.count) return;
    const canvas = $('images-sheet');
    const rect = canvas.getBoundingClientRect();
    const col = Math.floor(((e.clientX - rect.left) / rect.width) * (canvas.width / set.size));
    const row = Math.floor(((e.clientY - rect.top) / rect.height) * (canvas.height / set.size));
    const k = row * SHEET_COLUMNS + col;
    if (col >= SHEET_COLUMNS || k >= Math.min(set.count, SHEET_COLUMNS * SHEET_ROWS)) return;
    const per = set.channels * set.size * set.size;
    const image = Float32Array.from(set.pixels.subarray(k * per, (k + 1) * per), (v) => v / 255);
    this.onPick(image, { channels: set.channels, height: set.size, width: set.size, pixels: per }, set.paths[k]);
  }

  async #toggleCamera() {
    const video = $('camera-video');
    if (this.stream) {
      for (const track of this.stream.getTracks()) track.stop();
      this.stream = null;
      video.hidden = true;
    } else {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      video.srcObject = this.stream;
      video.hidden = false;
      await video.play();
    }
    const on = Boolean(this.stream);
    $('camera-start').setAttribute('aria-pressed', String(on));
    $('camera-capture').disabled = $('camera-burst-run').disabled = !on;
  }

  /** Adds `count` frames of the camera, BURST_EVERY_MS apart, through the same options as files. */
  async #captureFrames(count) {
    const video = $('camera-video');
    if (!this.stream || !video.videoWidth) return showError('the camera is not running', 'camera');
    const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    for (let k = 0; k < count; k++) {
      if (k) await new Promise((resolve) => setTimeout(resolve, BURST_EVERY_MS));
      ctx.drawImage(video, 0, 0);
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      this.addRgba('webcam', new Uint8Array(data.buffer), canvas.width, canvas.height);
    }
    return undefined;
  }
}

/** The files of a drop (folders walked recursively) as [{ path, file }]; read while the event lasts. */
export async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.length === 0) return [...dataTransfer.files].map((file) => ({ path: file.name, file }));
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      out.push({ path: prefix + entry.name, file: await new Promise((resolve, reject) => entry.file(resolve, reject)) });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const entry of entries) await walk(entry, '');
  return out;
}
