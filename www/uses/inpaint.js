// Inpaint: paint a mask over part of an image; the VAE fills the masked pixels two ways, side by
// side: by optimising z (Adam on −log p(known|z) − log p(z), candle autograd in wasm), and by the
// loop encode → decode → put the known pixels back.
import { paintImage, shapeOf } from '../images.js';
import { $, intFrom } from '../dom.js';
import { onNextFrame } from '../frame.js';

const SCALE = 8; // canvas pixels per image pixel
const ITERATIONS = 200; // Adam steps on z
const PER_FRAME = 10;
const LOOP_STEPS = 20;
const RESTARTS = 8;
const BRUSH = 1.6; // mask brush radius in image pixels

export class InpaintPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.shape = null; // the image's shape, from the test set or the model
    this.image = new Float32Array(0);
    this.mask = new Float32Array(0); // per pixel value, 1 = unknown (to fill)
    this.run = 0;
    this.canvas = $('inpaint-canvas');
    this.painting = null;
    $('inpaint-index').addEventListener('input', () => this.loadTest());
    $('inpaint-use-input').addEventListener('click', () => {
      const input = this.ctx.input();
      if (!input) return this.ctx.say('Draw or load an input first.');
      const model = this.ctx.model();
      if (model) this.#setImage(input.image, shapeOf(model));
    });
    const toggle = $('inpaint-mask-toggle');
    toggle.addEventListener('click', () => toggle.setAttribute('aria-pressed', String(toggle.getAttribute('aria-pressed') !== 'true')));
    $('inpaint-lower-half').addEventListener('click', () => {
      if (!this.shape) return;
      const { channels, height, width } = this.shape;
      for (let c = 0; c < channels; c++) {
        const start = c * height * width;
        this.mask.fill(0, start, start + Math.floor(height / 2) * width);
        this.mask.fill(1, start + Math.floor(height / 2) * width, start + height * width);
      }
      this.#paintSource();
    });
    $('inpaint-clear-mask').addEventListener('click', () => {
      this.mask.fill(0);
      this.#paintSource();
    });
    $('inpaint-run').addEventListener('click', () => this.inpaint().catch((e) => this.ctx.error(e, 'inpainting')));
    this.#listen();
  }

  onModel() {
    if (!this.loaded) this.loadTest();
  }

  onInput() {}

  async loadTest() {
    const set = await this.ctx.testSet();
    this.loaded = true;
    this.#setImage(set.image(intFrom($('inpaint-index'), 0, set.length - 1, 0)), shapeOf(set));
  }

  #setImage(image, shape) {
    if (this.shape?.pixels !== shape.pixels) this.mask = new Float32Array(shape.pixels);
    this.shape = shape;
    this.image = Float32Array.from(image);
    this.run += 1; // a run in progress belongs to the old image
    this.#paintSource();
  }

  /** The image (its first channel) in grey with the masked pixels in red. */
  #paintSource() {
    if (!this.shape) return;
    const { height, width } = this.shape;
    if (this.canvas.width !== width * SCALE) this.canvas.width = width * SCALE;
    if (this.canvas.height !== height * SCALE) this.canvas.height = height * SCALE;
    const ctx = this.canvas.getContext('2d');
    for (let p = 0; p < height * width; p++) {
      const g = Math.round(255 * this.image[p]);
      ctx.fillStyle = this.mask[p] ? `rgb(${Math.round(120 + g / 2)}, 20, 30)` : `rgb(${g}, ${g}, ${g})`;
      ctx.fillRect((p % width) * SCALE, Math.floor(p / width) * SCALE, SCALE, SCALE);
    }
  }

  #listen() {
    const at = (e) => {
      const rect = this.canvas.getBoundingClientRect();
      const { height, width } = this.shape;
      return [(width * (e.clientX - rect.left)) / rect.width, (height * (e.clientY - rect.top)) / rect.height];
    };
    const brush = ([x, y]) => {
      const { channels, height, width } = this.shape;
      for (let r = Math.floor(y - BRUSH); r <= y + BRUSH; r++) {
        for (let c = Math.floor(x - BRUSH); c <= x + BRUSH; c++) {
          if (r < 0 || r >= height || c < 0 || c >= width || Math.hypot(c + 0.5 - x, r + 0.5 - y) > BRUSH) continue;
          for (let ch = 0; ch < channels; ch++) this.mask[ch * height * width + r * width + c] = 1;
        }
      }
      onNextFrame('inpaint-source', () => this.#paintSource(), 5);
    };
    this.canvas.addEventListener('pointerdown', (e) => {
      if (!this.shape) return;
      if ($('inpaint-mask-toggle').getAttribute('aria-pressed') !== 'true') {
        this.ctx.say('Press “Paint mask” to paint the pixels to fill.');
        return;
      }
      e.preventDefault();
      this.canvas.setPointerCapture(e.pointerId);
      this.painting = e.pointerId;
      brush(at(e));
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (this.painting !== e.pointerId) return;
      for (const ev of e.getCoalescedEvents ? e.getCoalescedEvents() : [e]) brush(at(ev));
    });
    for (const type of ['pointerup', 'pointercancel']) {
      this.canvas.addEventListener(type, () => { this.painting = null; });
    }
  }

  /** Runs both methods, a few iterations per frame, painting as they go. */
  async inpaint() {
    const model = this.ctx.model();
    if (!model) return;
    const masked = this.mask.reduce((s, m) => s + m, 0) / (this.shape?.channels ?? 1);
    if (masked === 0) return this.ctx.say('Paint a mask first (or “Mask lower half”): nothing is unknown yet.');
    if (this.image.length !== model.pixels) return this.ctx.say(`This model reads ${model.description}; the image here has ${this.image.length} values.`);
    const wasm = this.ctx.wasm();
    const run = ++this.run;
    const known = this.mask.map((m) => 1 - m);
    const image = this.image;
    const solver = new wasm.Inpainter(model, image, known, RESTARTS, run);
    let current = image.map((v, p) => v * known[p]);
    const readout = $('inpaint-readout');
    $('inpaint-run').disabled = true;
    try {
      for (let step = 0; solver.iterations < ITERATIONS; step++) {
        if (run !== this.run || model !== this.ctx.model()) return; // superseded
        const objective = solver.run(model, PER_FRAME);
        paintImage($('inpaint-result'), solver.result(model), model);
        if (step < LOOP_STEPS) {
          current = wasm.encodeDecodeFill(model, current, image, known);
          paintImage($('inpaint-loop-result'), current, model);
        }
        readout.textContent = `Adam on z: iteration ${solver.iterations}/${ITERATIONS}, −log p(known|z) − log p(z) = ${objective.toFixed(1)} nats`
          + ` (best of ${RESTARTS} starts) · loop: ${Math.min(step + 1, LOOP_STEPS)}/${LOOP_STEPS} passes · ${masked} pixels filled.`;
        await new Promise((resolve) => requestAnimationFrame(resolve));
      }
      this.canvas.dataset.done = String(run);
      $('inpaint-result').dataset.iterations = String(solver.iterations);
    } finally {
      solver.free();
      $('inpaint-run').disabled = false;
    }
  }
}
