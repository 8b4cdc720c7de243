// The drawing pad: smooth round strokes from pointer events (mouse, touch, pen), an eraser,
// undo of the last stroke and clear. The canvas's alpha channel is the ink; its colour is white
// unless a colour model's pen colour is chosen (`setColour`).

const LINE_WIDTH = 20; // px on the 280×280 canvas: about MNIST's stroke width after scaling

export class DrawingPad {
  /** `onChange()` is called whenever the ink changes. */
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.onChange = onChange;
    this.strokes = [];
    this.current = null;
    this.mode = 'pen';
    this.colour = '#ffffff';
    this.version = 0; // counts changes, so callers can tell whether the ink changed since a point
    canvas.addEventListener('pointerdown', (e) => this.#down(e));
    canvas.addEventListener('pointermove', (e) => this.#move(e));
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
      canvas.addEventListener(type, (e) => this.#up(e));
    }
  }

  setMode(mode) {
    this.mode = mode;
  }

  /** The colour of the strokes drawn from now on (CSS colour). */
  setColour(colour) {
    this.colour = colour;
  }

  get isEmpty() {
    return this.strokes.length === 0;
  }

  undo() {
    this.strokes.pop();
    this.#changed(true);
  }

  clear() {
    this.strokes = [];
    this.#changed(true);
  }

  /**
   * Replaces the ink with an image (channel-major intensities of `shape`), scaled up; it can be
   * erased or drawn over. A grey image becomes white ink of its intensities, a colour one opaque colour.
   */
  setImage(values, shape) {
    const { channels, height, width } = shape;
    const small = document.createElement('canvas');
    Object.assign(small, { width, height });
    const rgba = new ImageData(width, height);
    const byte = (v) => Math.round(255 * Math.max(0, Math.min(1, v)));
    const area = width * height;
    for (let p = 0; p < area; p++) {
      rgba.data.set(channels >= 3 ? [byte(values[p]), byte(values[area + p]), byte(values[2 * area + p]), 255] : [255, 255, 255, byte(values[p])], 4 * p);
    }
    small.getContext('2d').putImageData(rgba, 0, 0);
    this.strokes = [{ mode: 'image', image: small }];
    this.#changed(true);
  }

  /** The ink as plain data (for the session kept across reloads): strokes, and an image as a PNG data URL. */
  toJSON() {
    return this.strokes.map((s) => (s.mode === 'image' ? { mode: 'image', url: s.image.toDataURL() }
      : { mode: s.mode, colour: s.colour, points: s.points }));
  }

  /** Puts back ink saved by `toJSON`; resolves when it is drawn. */
  async restore(saved) {
    const strokes = [];
    for (const s of saved) {
      if (s.mode === 'image' && typeof s.url === 'string' && s.url.startsWith('data:image/png')) {
        const img = new Image();
        img.src = s.url;
        await img.decode();
        const small = document.createElement('canvas');
        Object.assign(small, { width: img.width, height: img.height });
        small.getContext('2d').drawImage(img, 0, 0);
        strokes.push({ mode: 'image', image: small });
      } else if ((s.mode === 'pen' || s.mode === 'eraser') && Array.isArray(s.points) && s.points.every((p) => p.length === 2 && p.every(Number.isFinite))) {
        strokes.push({ mode: s.mode, colour: typeof s.colour === 'string' ? s.colour : '#ffffff', points: s.points });
      }
    }
    this.strokes = strokes;
    this.#changed(true);
  }

  #changed(redraw) {
    if (redraw) this.#redraw();
    this.version += 1;
    this.onChange();
  }

  /** The ink: one byte per canvas pixel (its alpha), row-major. */
  ink() {
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    const alpha = new Uint8Array(width * height);
    for (let i = 0; i < alpha.length; i++) alpha[i] = rgba[4 * i + 3];
    return alpha;
  }

  /** The drawing over black, as opaque RGBA bytes (what a picture set's preprocessing reads). */
  rgbaOverBlack() {
    const { width, height } = this.canvas;
    const rgba = new Uint8Array(this.ctx.getImageData(0, 0, width, height).data.buffer);
    for (let i = 0; i < rgba.length; i += 4) {
      const a = rgba[i + 3];
      for (let c = 0; c < 3; c++) rgba[i + c] = Math.round((rgba[i + c] * a) / 255);
      rgba[i + 3] = 255;
    }
    return rgba;
  }

  #point(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [
      ((e.clientX - rect.left) * this.canvas.width) / rect.width,
      ((e.clientY - rect.top) * this.canvas.height) / rect.height,
    ];
  }

  #down(e) {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.current = { mode: this.mode, colour: this.colour, points: [this.#point(e)], pointerId: e.pointerId };
    this.strokes.push(this.current);
    this.#drawStroke(this.current, 0);
    this.#changed(false);
  }

  #move(e) {
    if (!this.current || e.pointerId !== this.current.pointerId) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    const from = this.current.points.length - 1;
    for (const ev of events.length ? events : [e]) this.current.points.push(this.#point(ev));
    this.#drawStroke(this.current, from);
    this.#changed(false);
  }

  #up(e) {
    if (this.current && e.pointerId === this.current.pointerId) this.current = null;
  }

  #redraw() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const stroke of this.strokes) this.#drawStroke(stroke, 0);
  }

  /** Draws `stroke` from point index `from` on, as quadratic curves through the midpoints. */
  #drawStroke(stroke, from) {
    const ctx = this.ctx;
    if (stroke.mode === 'image') {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(stroke.image, 0, 0, this.canvas.width, this.canvas.height);
      return;
    }
    const pts = stroke.points;
    ctx.save();
    ctx.globalCompositeOperation = stroke.mode === 'eraser' ? 'destination-out' : 'source-over';
    ctx.strokeStyle = ctx.fillStyle = stroke.colour ?? '#fff';
    ctx.lineWidth = stroke.mode === 'eraser' ? LINE_WIDTH * 1.6 : LINE_WIDTH;
    ctx.lineCap = ctx.lineJoin = 'round';
    if (pts.length === 1) {
      ctx.beginPath();
      ctx.arc(pts[0][0], pts[0][1], ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      const mid = (a, b) => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      ctx.beginPath();
      const start = Math.max(1, from);
      const m0 = start === 1 ? pts[0] : mid(pts[start - 2], pts[start - 1]);
      ctx.moveTo(m0[0], m0[1]);
      for (let i = start; i < pts.length; i++) {
        const m = mid(pts[i - 1], pts[i]);
        ctx.quadraticCurveTo(pts[i - 1][0], pts[i - 1][1], m[0], m[1]);
      }
      const last = pts[pts.length - 1];
      ctx.lineTo(last[0], last[1]);
      ctx.stroke();
    }
    ctx.restore();
  }
}
