// Generate: a gallery of samples from the prior, z = temperature · ε, with a re-roll button.
import { paintEach } from '../images.js';
import { $, pixelCanvases } from '../dom.js';

const COUNT = 24;

export class GalleryPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.eps = null;
    this.canvases = pixelCanvases($('gallery'), COUNT, (i) => `sample ${i + 1}`);
    $('temperature').addEventListener('input', () => this.paint());
    $('reroll').addEventListener('click', () => {
      this.eps = null;
      this.paint();
    });
  }

  /** Keeps the same ε while the latent size stays (so training shows the same samples sharpen). */
  onModel() {
    this.paint();
  }

  onInput() {}

  paint() {
    const model = this.ctx.model();
    const t = Number($('temperature').value);
    $('temperature-value').textContent = t.toFixed(2);
    if (!model) return;
    const L = model.latentSize;
    if (!this.eps || this.eps.length !== COUNT * L) this.eps = model.samplePrior(COUNT, 1);
    const images = model.decode(this.eps.map((e) => e * t));
    paintEach(this.canvases, images, model);
    const gallery = $('gallery');
    gallery.dataset.paints = String(Number(gallery.dataset.paints ?? 0) + 1);
  }
}
