// The latent map: an N×N grid of decoded images over two latent dimensions, with the test set's
// encoded means scattered on top. The view is a rectangle in probability space [0,1]²: grid cells
// sit at the Gaussian quantiles Φ⁻¹(u) of evenly spaced u (Kingma & Welling's figure 4), and a
// point z is drawn at (Φ(z_x), Φ(z_y)). Wheel or pinch zooms, dragging pans, hovering decodes.
import { CLASS_COLOURS } from './images.js';
import { onNextFrame } from './frame.js';
import { metrics } from './metrics.js';

const FULL_VIEW = { u0: 0, u1: 1, v0: 0, v1: 1 };
const MIN_SPAN = 1e-4;
const BAND_ROWS = 4; // grid rows decoded per call on the main thread
/** A frame decodes further bands while the next one (as long as the last) fits in this many ms. */
const GRID_FRAME_MS = 10;
/** The class colours as RGB bytes, for the scatter's rasteriser. */
const SCATTER_RGB = Uint8Array.from(CLASS_COLOURS.flatMap((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16))));

export class LatentMap {
  /**
   * Canvases: `grid` for the decoded images, `overlay` for the scatter over it and `markers` for
   * the two rings on top (they move far more often than the 10,000 scatter points do).
   * `maths` = { cdf, quantile, points, scatterRgba } (from wasm); `onHover(z | null)` while the pointer is over the map;
   * `onPick(z, index)` on a click (a press without a drag), with the index of the scatter point
   * clicked (within a few pixels), or −1.
   */
  constructor({ grid, overlay, markers, maths, onHover, onPick }) {
    Object.assign(this, { grid, overlay, markersCanvas: markers, maths, onHover, onPick });
    this.model = null;
    this.modelBytes = null;
    this.workers = null; // the grid decoder (GridWorkers, or the training worker's while it trains)
    this.n = 20;
    this.dims = [0, 1];
    this.base = new Float32Array(2);
    this.view = { ...FULL_VIEW };
    this.scatter = null;
    this.markers = { drawing: null, point: null };
    this.pointers = new Map();
    this.#listen();
    new ResizeObserver(() => this.#requestOverlay()).observe(overlay);
  }

  /**
   * Decodes grids with `workers` from now on, whenever it is ready (null: on the main thread): an
   * object with `ready`, `setModel(bytes)`, `decode(xs, ys, dims, base)` → [{ row, rows, rgba }]
   * and `metric` (the metrics counter of its grids), as GridWorkers has.
   */
  useWorkers(workers) {
    if (workers === this.workers) return;
    this.workers = workers;
    if (this.modelBytes) workers?.setModel(this.modelBytes);
  }

  /**
   * Uses `model`, loaded from `bytes` (its `.safetensors` file, for the grid workers); keeps the
   * view, dimensions and scatter when `keepView` and the latent size match.
   */
  setModel(model, bytes, keepView = false) {
    this.modelBytes = bytes;
    this.workers?.setModel(bytes);
    if (keepView && this.model && model.latentSize === this.base.length) {
      this.model = model;
      this.#requestGrid(false); // same view and scatter: the overlay stays as it is
      return;
    }
    this.model = model;
    this.base = new Float32Array(model.latentSize);
    this.dims = [0, Math.min(1, model.latentSize - 1)];
    this.scatter = null;
    this.view = { ...FULL_VIEW };
    this.#requestGrid();
  }

  setGridSize(n) {
    this.n = Math.max(5, Math.min(30, Math.round(n) || 20));
    this.#requestGrid();
    return this.n;
  }

  setDims(dx, dy) {
    this.dims = [dx, dy];
    this.#requestGrid();
  }

  /** The latent point the grid's other dimensions are held at (and the slider marker). */
  setBase(z) {
    // Weights streaming in while training re-send the same point: nothing to redraw for it.
    const shown = this.markers.point;
    if (shown && z.length === shown.length && z.every((v, i) => v === shown[i]) && shown.every((v, i) => v === this.base[i])) return;
    const changedOther = [...z].some((v, i) => !this.dims.includes(i) && v !== this.base[i]);
    this.base = Float32Array.from(z);
    this.markers.point = this.base;
    if (changedOther) this.#requestGrid();
    else this.#requestMarkers();
  }

  setDrawingMarker(z) {
    const shown = this.markers.drawing;
    if (shown === z || (shown && z && shown.length === z.length && shown.every((v, i) => v === z[i]))) return;
    this.markers.drawing = z;
    this.#requestMarkers();
  }

  /** `scatter` = { means: Float32Array (count·L), labels: Uint8Array, count, names } or null. */
  setScatter(scatter) {
    this.scatter = scatter;
    onNextFrame('scatter', () => this.#paintScatter(), 3);
  }

  /** Shows the part of the plane `view` ({ u0, u1, v0, v1 } in probability space) saved from an earlier visit. */
  setView(view) {
    const ok = ['u0', 'u1', 'v0', 'v1'].every((k) => Number.isFinite(view?.[k]) && view[k] >= 0 && view[k] <= 1) && view.u0 < view.u1 && view.v0 < view.v1;
    if (!ok) return;
    this.view = { u0: view.u0, u1: view.u1, v0: view.v0, v1: view.v1 };
    this.#requestGrid();
  }

  resetView() {
    this.view = { ...FULL_VIEW };
    this.#requestGrid();
  }

  /** The full latent point under client coordinates. */
  zAt(clientX, clientY) {
    const rect = this.grid.getBoundingClientRect();
    const fx = (clientX - rect.left) / rect.width;
    const fy = (clientY - rect.top) / rect.height;
    const { u0, u1, v0, v1 } = this.view;
    const z = Float32Array.from(this.base);
    z[this.dims[0]] = this.maths.quantile(u0 + fx * (u1 - u0));
    z[this.dims[1]] = this.maths.quantile(v1 - fy * (v1 - v0));
    return z;
  }

  /** The index of the scatter point nearest client coordinates, within `radius` CSS pixels, or −1. */
  scatterIndexAt(clientX, clientY, radius = 6) {
    const s = this.scatter;
    if (!s || this.showScatter === false) return -1;
    const rect = this.grid.getBoundingClientRect();
    const uv = this.#scatterUv();
    const { u0, u1, v0, v1 } = this.view;
    let best = -1;
    let bestDistance = radius;
    for (let i = 0; i < s.count; i++) {
      const x = ((uv[2 * i] - u0) / (u1 - u0)) * rect.width;
      const y = ((v1 - uv[2 * i + 1]) / (v1 - v0)) * rect.height;
      const d = Math.hypot(x - (clientX - rect.left), y - (clientY - rect.top));
      if (d < bestDistance) [best, bestDistance] = [i, d];
    }
    return best;
  }

  #axis(a, b) {
    const n = this.n;
    return Float32Array.from({ length: n }, (_, i) => this.maths.quantile(a + ((i + 0.5) / n) * (b - a)));
  }

  /**
   * Repaints the grid: decoded on the grid workers (both cores) and painted in one frame, or, until
   * they are ready, decoded here in bands of rows, one band per frame, so no frame waits on the
   * whole grid. A paint in progress finishes with the view it started with; changes meanwhile
   * start one more.
   */
  #requestGrid(overlayToo = true) {
    if (this.paint && !this.paint.done) this.paint.stale = true;
    else this.#startPaint();
    if (overlayToo) this.#requestOverlay();
  }

  /** Repaints the scatter and the markers (the view or the canvas size changed). */
  #requestOverlay() {
    onNextFrame('scatter', () => this.#paintScatter(), 3);
    this.#requestMarkers();
  }

  #requestMarkers() {
    onNextFrame('markers', () => this.#paintMarkers(), 3);
  }

  #startPaint() {
    const { u0, u1, v0, v1 } = this.view;
    const job = {
      n: this.n,
      xs: this.#axis(u0, u1),
      ys: this.#axis(v0, v1).reverse(), // rows top to bottom: the y axis from its largest value down
      dims: [...this.dims],
      base: Float32Array.from(this.base),
      tile: { height: this.model?.height ?? 1, width: this.model?.width ?? 1 }, // one decoded image's size
      row: 0,
      ms: 0,
      done: false,
      stale: false,
    };
    this.paint = job;
    if (this.workers?.ready) this.#paintFromWorkers(job);
    else onNextFrame('grid', () => this.#paintBand(job), 2);
  }

  async #paintFromWorkers(job) {
    const t0 = performance.now();
    const decoder = this.workers;
    let bands;
    try {
      bands = await decoder.decode(job.xs, job.ys, job.dims, job.base);
    } catch {
      if (job === this.paint) onNextFrame('grid', () => this.#paintBand(job), 2); // decode here instead
      return;
    }
    if (job !== this.paint) return;
    onNextFrame('grid', () => {
      if (job !== this.paint) return;
      this.#sizeGrid(job);
      for (const { row, rows, rgba } of bands) this.#putRows(job, rgba, row, rows);
      job.ms = performance.now() - t0;
      metrics.gridBands += bands.length;
      metrics[decoder.metric] += 1;
      this.#finish(job);
    }, 2);
  }

  #sizeGrid(job) {
    const [width, height] = [job.tile.width * job.n, job.tile.height * job.n];
    if (this.grid.width !== width) this.grid.width = width;
    if (this.grid.height !== height) this.grid.height = height;
  }

  /** Puts the decoded RGBA of grid rows `row .. row + rows` (images of `job.tile`) on the grid canvas. */
  #putRows(job, rgba, row, rows) {
    const image = new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), this.grid.width, job.tile.height * rows);
    this.grid.getContext('2d').putImageData(image, 0, job.tile.height * row);
  }

  #finish(job) {
    job.done = true;
    metrics.gridPaints += 1;
    metrics.lastGridMs = job.ms;
    metrics.firstGridAt ||= performance.now(); // ms since navigation start
    metrics.startup.firstGridAt ||= metrics.firstGridAt;
    if (job.stale) this.#startPaint();
  }

  #paintBand(job) {
    if (job !== this.paint) return;
    if (!this.model) {
      job.done = true;
      return;
    }
    if (job.base.length !== this.model.latentSize || job.tile.height !== this.model.height || job.tile.width !== this.model.width) {
      this.#startPaint(); // the model changed shape mid-paint
      return;
    }
    try {
      this.#paintRows(job);
    } catch (err) {
      job.done = true; // so the next request starts afresh
      throw err;
    }
  }

  #paintRows(job) {
    const t0 = performance.now();
    if (job.row === 0) this.#sizeGrid(job);
    let bandMs = 0;
    do {
      const b0 = performance.now();
      const rows = Math.min(BAND_ROWS, job.n - job.row);
      const band = job.ys.slice(job.row, job.row + rows).reverse();
      this.#putRows(job, this.model.decodeGridRgba(job.xs, band, job.dims[0], job.dims[1], job.base), job.row, rows);
      job.row += rows;
      metrics.gridBands += 1;
      bandMs = performance.now() - b0;
    } while (job.row < job.n && performance.now() - t0 + bandMs <= GRID_FRAME_MS);
    job.ms += performance.now() - t0;
    if (job.row < job.n) onNextFrame('grid', () => this.#paintBand(job), 2);
    else this.#finish(job);
  }

  #toScreen(zx, zy, w, h) {
    const { u0, u1, v0, v1 } = this.view;
    return [((this.maths.cdf(zx) - u0) / (u1 - u0)) * w, ((v1 - this.maths.cdf(zy)) / (v1 - v0)) * h];
  }

  /** Clears `canvas`, sized to its CSS box at the device's pixel ratio; returns { ctx, w, h, dpr }. */
  #clearLayer(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, w, h);
    return { ctx, w, h, dpr };
  }

  /** The scatter's points in probability space, (Φ(z_x), Φ(z_y)) per point, kept until the scatter or the dimensions change. */
  #scatterUv() {
    const s = this.scatter;
    const [dx, dy] = this.dims;
    if (this.uv?.scatter !== s || this.uv.dx !== dx || this.uv.dy !== dy) {
      this.uv = { scatter: s, dx, dy, points: this.maths.points(s.means, s.means.length / s.count, dx, dy) };
    }
    return this.uv.points;
  }

  /** The scatter: a square of about 2.4 px per point at half opacity, rasterised in wasm (filling paths took 5–20 ms a frame). */
  #paintScatter() {
    const { ctx, w, h, dpr } = this.#clearLayer(this.overlay);
    const s = this.scatter;
    if (!s || this.showScatter === false) return;
    const { u0, u1, v0, v1 } = this.view;
    const rgba = this.maths.scatterRgba(this.#scatterUv(), s.labels, SCATTER_RGB, Float32Array.of(u0, u1, v0, v1), w, h, 1.2 * dpr);
    ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), w, h), 0, 0);
  }

  #paintMarkers() {
    const { ctx, w, h, dpr } = this.#clearLayer(this.markersCanvas);
    const [dx, dy] = this.dims;
    const ring = (z, colour, radius) => {
      if (!z) return;
      const [x, y] = this.#toScreen(z[dx], z[dy], w, h);
      ctx.lineWidth = 2.5 * dpr;
      ctx.strokeStyle = '#000';
      ctx.beginPath();
      ctx.arc(x, y, radius * dpr, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.lineWidth = 1.5 * dpr;
      ctx.strokeStyle = colour;
      ctx.stroke();
    };
    ring(this.markers.point, '#ffffff', 6);
    ring(this.markers.drawing, '#ff3b30', 9);
  }

  #zoom(factor, clientX, clientY) {
    const rect = this.grid.getBoundingClientRect();
    const fx = (clientX - rect.left) / rect.width;
    const fy = (clientY - rect.top) / rect.height;
    const { u0, u1, v0, v1 } = this.view;
    const uc = u0 + fx * (u1 - u0);
    const vc = v1 - fy * (v1 - v0);
    const su = Math.min(1, Math.max(MIN_SPAN, (u1 - u0) * factor));
    const sv = Math.min(1, Math.max(MIN_SPAN, (v1 - v0) * factor));
    this.#setView(uc - fx * su, su, vc - (1 - fy) * sv, sv);
  }

  #pan(dxPx, dyPx) {
    const rect = this.grid.getBoundingClientRect();
    const { u0, u1, v0, v1 } = this.view;
    const su = u1 - u0;
    const sv = v1 - v0;
    this.#setView(u0 - (dxPx / rect.width) * su, su, v0 + (dyPx / rect.height) * sv, sv);
  }

  /** Sets the view from its lower corner and spans, kept inside [0,1]². */
  #setView(u0, su, v0, sv) {
    u0 = Math.max(0, Math.min(1 - su, u0));
    v0 = Math.max(0, Math.min(1 - sv, v0));
    this.view = { u0, u1: u0 + su, v0, v1: v0 + sv };
    this.#requestGrid();
  }

  #listen() {
    const el = this.grid;
    el.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.#zoom(Math.exp(e.deltaY * 0.0015), e.clientX, e.clientY);
    }, { passive: false });
    el.addEventListener('pointerdown', (e) => {
      el.setPointerCapture(e.pointerId);
      this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY, startX: e.clientX, startY: e.clientY, moved: 0 });
    });
    el.addEventListener('pointermove', (e) => {
      const p = this.pointers.get(e.pointerId);
      if (!p) {
        if (this.model) this.onHover(this.zAt(e.clientX, e.clientY));
        return;
      }
      if (this.pointers.size === 2) {
        const [a, b] = [...this.pointers.values()];
        const before = Math.hypot(a.x - b.x, a.y - b.y);
        p.x = e.clientX;
        p.y = e.clientY;
        const after = Math.hypot(a.x - b.x, a.y - b.y);
        if (before > 0 && after > 0) this.#zoom(before / after, (a.x + b.x) / 2, (a.y + b.y) / 2);
        p.moved = Infinity;
        return;
      }
      this.#pan(e.clientX - p.x, e.clientY - p.y);
      p.moved = Math.max(p.moved, Math.hypot(e.clientX - p.startX, e.clientY - p.startY));
      p.x = e.clientX;
      p.y = e.clientY;
      if (this.model) this.onHover(this.zAt(e.clientX, e.clientY));
    });
    const release = (e) => {
      const p = this.pointers.get(e.pointerId);
      if (!p) return;
      this.pointers.delete(e.pointerId);
      if (e.type === 'pointerup' && p.moved < 4 && this.model) {
        this.onPick(this.zAt(e.clientX, e.clientY), this.scatterIndexAt(e.clientX, e.clientY));
      }
    };
    el.addEventListener('pointerup', release);
    el.addEventListener('pointercancel', release);
    el.addEventListener('pointerleave', () => {
      if (this.pointers.size === 0) this.onHover(null);
    });
  }
}
