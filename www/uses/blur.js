// Why VAE samples are blurry: the same 2-D model trained with β = 0.5, 1 and 4, with each
// one's test-set reconstruction and KL, its reconstruction of the current input and samples.
import { paintEach, paintImage } from '../images.js';
import { $, h, pixelCanvases, watchVisibility } from '../dom.js';
import { fetchBytes } from '../fetch.js';
import { BETA_MODELS, modelUrl } from '../models.js';

const SAMPLES = 6;

export class BlurPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.models = null;
    this.columns = BETA_MODELS.map(({ beta }) => {
      const figures = h('p', '…');
      const recon = document.createElement('canvas');
      Object.assign(recon, { width: 1, height: 1, className: 'pixels' }); // sized by the model when painted
      recon.setAttribute('aria-label', `reconstruction at β = ${beta}`);
      const samples = h('div');
      samples.className = 'gallery';
      const column = h('div', ['h4', `β = ${beta}`], figures, recon, samples);
      column.dataset.beta = String(beta);
      figures.className = 'readout';
      return { column, figures, recon, samples: pixelCanvases(samples, SAMPLES, (i) => `β = ${beta} sample ${i + 1}`) };
    });
    $('blur-columns').replaceChildren(...this.columns.map((c) => c.column));
    this.wanted = false; // its three models load when the panel comes into view (or on prefetch)
    watchVisibility($('blur-panel'), () => this.prefetch());
  }

  prefetch() {
    if (this.wanted) return;
    this.wanted = true;
    this.onInput();
  }

  reset() {
    this.models = null;
  }

  async load() {
    if (!this.models) {
      const wasm = this.ctx.wasm();
      this.models = Promise.all(BETA_MODELS.map(({ file }) => fetchBytes(modelUrl(file)).then((b) => new wasm.Model(b))));
    }
    return this.models;
  }

  onModel() {} // it has its own models

  onInput() {
    if (!this.wanted) return;
    this.render().catch((e) => this.ctx.error(e, 'β models'));
  }

  async render() {
    const models = await this.load();
    const input = this.ctx.input();
    const set = input ? null : await this.ctx.testSet('mnist');
    const image = input ? input.image : set.image(0);
    const eps = models[0].samplePrior(SAMPLES, 1);
    models.forEach((model, i) => {
      const { figures, recon, samples } = this.columns[i];
      const meta = JSON.parse(model.metadata);
      figures.textContent = `test: reconstruction ${Number(meta.test_recon).toFixed(1)} + KL ${Number(meta.test_kl).toFixed(1)}`
        + ` = ${Number(meta.test_neg_elbo).toFixed(1)} nats`;
      paintImage(recon, model.decode(model.encode(image).slice(0, model.latentSize)), model);
      paintEach(samples, model.decode(eps), model);
    });
    $('blur-columns').dataset.ready = 'true';
  }
}
