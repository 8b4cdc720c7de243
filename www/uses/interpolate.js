// Interpolate and edit: the strip of decodings along the linear or spherical path between the
// posterior means of two inputs A and B (animated), and latent arithmetic C + (B − A).
import { paintImage, paintTiles, shapeOf } from '../images.js';
import { $, intFrom, watchVisibility } from '../dom.js';

const STEPS = 10; // tiles in the strip, endpoints included
const FRAMES = 48; // points along the animated walk

export class InterpolatePanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.slots = { a: null, b: null, c: null }; // a pasted input image, or null for "test image #"
    for (const key of ['a', 'b', 'c']) {
      $(`interp-${key}`).addEventListener('input', () => {
        this.slots[key] = null;
        this.update();
      });
      $(`interp-${key}-input`).addEventListener('click', () => {
        const input = this.ctx.input();
        if (!input) return this.ctx.say('Draw or load an input first.');
        this.slots[key] = Float32Array.from(input.image);
        $(`interp-${key}`).value = '';
        this.update();
      });
    }
    $('interp-path').addEventListener('change', () => this.update());
    this.walk = null;
    this.frame = 0;
    this.isVisible = watchVisibility($('interp-anim'), () => this.#animate(), '0px');
  }

  onModel() {
    this.update();
  }

  onInput() {}

  /** The image in slot `key`: the pasted input, or the test image whose index is typed. */
  async image(key) {
    if (this.slots[key]) return this.slots[key];
    const set = await this.ctx.testSet();
    return set.image(intFrom($(`interp-${key}`), 0, set.length - 1, 0));
  }

  async update() {
    const model = this.ctx.model();
    if (!model) return;
    const wasm = this.ctx.wasm();
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((k) => this.image(k)));
    if (model !== this.ctx.model()) return; // the model changed meanwhile
    const L = model.latentSize;
    const mean = (x) => model.encode(x).mu;
    const [za, zb, zc] = [mean(a), mean(b), mean(c)];
    paintImage($('interp-a-canvas'), a, model);
    paintImage($('interp-b-canvas'), b, model);
    paintImage($('interp-c-canvas'), c, model);
    const spherical = $('interp-path').value === 'spherical';
    const path = wasm.interpolate(za, zb, STEPS, spherical);
    paintTiles($('interp-strip'), model.decode(path), model, STEPS);
    paintImage($('interp-arith'), model.decode(wasm.addDifference(za, zb, zc)), model);
    this.walk = model.decode(wasm.interpolate(za, zb, FRAMES, spherical));
    this.walkShape = shapeOf(model);
    const fmt = (z) => `(${Array.from(z.slice(0, 4), (v) => v.toFixed(2)).join(', ')}${L > 4 ? ', …' : ''})`;
    $('interp-readout').textContent = `μ_A = ${fmt(za)}, μ_B = ${fmt(zb)}; ${spherical ? 'spherical' : 'linear'} path, ${STEPS} steps.`;
    const strip = $('interp-strip');
    strip.dataset.updates = String(Number(strip.dataset.updates ?? 0) + 1);
    this.#animate();
  }

  /** Walks A → B → A, one decoded point per frame, while the panel is on screen. */
  #animate() {
    if (this.animating || !this.isVisible() || !this.walk) return;
    this.animating = true;
    let last = 0;
    const tick = (now) => {
      if (!this.isVisible() || !this.walk) {
        this.animating = false;
        return;
      }
      if (now - last > 60) {
        last = now;
        this.frame = (this.frame + 1) % (2 * FRAMES - 2);
        const i = this.frame < FRAMES ? this.frame : 2 * FRAMES - 2 - this.frame;
        const { pixels } = this.walkShape;
        paintImage($('interp-anim'), this.walk.subarray(i * pixels, (i + 1) * pixels), this.walkShape);
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }
}
