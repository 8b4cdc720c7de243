// Inpaint: paint a mask over part of an image; the VAE fills the masked pixels two ways, side by
// side: by optimising z (Adam on −log p(known|z) − log p(z), candle autograd in wasm), and by the
// loop encode → decode → put the known pixels back.
import { paintGrey } from '../images.js';
import { intFrom } from '../dom.js';
import { onNextFrame } from '../frame.js';

const SCALE = 8; // canvas pixels per image pixel
const ITERATIONS = 200; // Adam steps on z
const PER_FRAME = 10;
const LOOP_STEPS = 20;
const RESTARTS = 8;
const BRUSH = 1.6; // mask brush radius in image pixels
const $ = (id) => document.getElementById(id);

export class InpaintPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.image = new Float32Array(784);
    this.mask = new Float32Array(784); // 1 = unknown (to fill)
    this.run = 0;
    this.canvas = $('inpaint-canvas');
    this.painting = null;
    $('inpaint-index').addEventListener('input', () => this.loadTest());
    $('inpaint-use-input').addEventListener('click', () => {
      const input = this.ctx.input();
      if (!input) return this.ctx.say('Draw or load an input first.');
      this.#setImage(input.image);
    });
    const toggle = $('inpaint-mask-toggle');
    toggle.addEventListener('click', () => toggle.setAttribute('aria-pressed', String(toggle.getAttribute('aria-pressed') !== 'true')));
    $('inpaint-lower-half').addEventListener('click', () => {
      this.mask.fill(0, 0, 392);
      this.mask.fill(1, 392);
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
    this.#setImage(set.image(intFrom($('inpaint-index'), 0, set.length - 1, 0)));
  }

  #setImage(image) {
    this.image = Float32Array.from(image);
    this.run += 1; // a run in progress belongs to the old image
    this.#paintSource();
  }

  /** The image in grey with the masked pixels in red. */
  #paintSource() {
    const n = 28 * SCALE;
    if (this.canvas.width !== n) this.canvas.width = this.canvas.height = n;
    const ctx = this.canvas.getContext('2d');
    for (let p = 0; p < 784; p++) {
      const g = Math.round(255 * this.image[p]);
      ctx.fillStyle = this.mask[p] ? `rgb(${Math.round(120 + g / 2)}, 20, 30)` : `rgb(${g}, ${g}, ${g})`;
      ctx.fillRect((p % 28) * SCALE, Math.floor(p / 28) * SCALE, SCALE, SCALE);
    }
  }

  #listen() {
    const at = (e) => {
      const rect = this.canvas.getBoundingClientRect();
      return [(28 * (e.clientX - rect.left)) / rect.width, (28 * (e.clientY - rect.top)) / rect.height];
    };
    const brush = ([x, y]) => {
      for (let r = Math.floor(y - BRUSH); r <= y + BRUSH; r++) {
        for (let c = Math.floor(x - BRUSH); c <= x + BRUSH; c++) {
          if (r >= 0 && r < 28 && c >= 0 && c < 28 && Math.hypot(c + 0.5 - x, r + 0.5 - y) <= BRUSH) this.mask[r * 28 + c] = 1;
        }
      }
      onNextFrame('inpaint-source', () => this.#paintSource(), 5);
    };
    this.canvas.addEventListener('pointerdown', (e) => {
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
    const masked = this.mask.reduce((s, m) => s + m, 0);
    if (masked === 0) return this.ctx.say('Paint a mask first (or “Mask lower half”): nothing is unknown yet.');
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
        paintGrey($('inpaint-result'), solver.result(model));
        if (step < LOOP_STEPS) {
          current = wasm.encodeDecodeFill(model, current, image, known);
          paintGrey($('inpaint-loop-result'), current);
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
