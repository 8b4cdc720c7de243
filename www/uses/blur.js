// Why VAE samples are blurry, two ways: the same 2-D model trained with β = 0.5, 1 and 4, and the
// MLP beside the conv net at the same L. Each column shows its model's test-set reconstruction
// and KL, its reconstruction of the current input and samples decoded from one shared ε per group.
import { paintEach, paintImage } from '../images.js';
import { $, h, pixelCanvases, watchVisibility } from '../dom.js';
import { fetchBytes } from '../fetch.js';
import { ARCH_MODELS, BETA_MODELS, modelUrl } from '../models.js';

const SAMPLES = 6;

/** One column per model of `list` in the element `containerId`. */
function columns(list, containerId) {
  const cols = list.map(({ title, key }) => {
    const figures = h('p', '…');
    figures.className = 'readout';
    const recon = document.createElement('canvas');
    Object.assign(recon, { width: 1, height: 1, className: 'pixels' }); // sized by the model when painted
    recon.setAttribute('aria-label', `reconstruction by ${title}`);
    const samples = h('div');
    samples.className = 'gallery';
    const column = h('div', ['h4', title], figures, recon, samples);
    column.dataset.model = key;
    return { column, figures, recon, samples: pixelCanvases(samples, SAMPLES, (i) => `${title} sample ${i + 1}`) };
  });
  $(containerId).replaceChildren(...cols.map((c) => c.column));
  return cols;
}

export class BlurPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.groups = [
      { list: BETA_MODELS, cols: columns(BETA_MODELS, 'blur-columns') },
      { list: ARCH_MODELS, cols: columns(ARCH_MODELS, 'blur-arch-columns') },
    ];
    this.models = null;
    this.wanted = false; // its models load when the panel comes into view (or on prefetch)
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

  /** Per group, its models (loaded once). */
  async load() {
    if (!this.models) {
      const wasm = this.ctx.wasm();
      const one = ({ file }) => fetchBytes(modelUrl(file)).then((b) => new wasm.Model(b));
      this.models = Promise.all(this.groups.map(({ list }) => Promise.all(list.map(one))));
    }
    return this.models;
  }

  onModel() {} // it has its own models

  onInput() {
    if (!this.wanted) return;
    this.render().catch((e) => this.ctx.error(e, 'blur panel models'));
  }

  async render() {
    const groups = await this.load();
    // These are MNIST models: an input of your own pictures' shape is not theirs, so they show a test digit.
    const given = this.ctx.input();
    const input = given?.image.length === groups[0][0].pixels ? given : null;
    const set = input ? null : await this.ctx.testSet('mnist');
    const image = input ? input.image : set.image(0);
    groups.forEach((models, g) => {
      const eps = models[0].samplePrior(SAMPLES, 1); // one ε for every model of the group (same L)
      models.forEach((model, i) => {
        const { figures, recon, samples } = this.groups[g].cols[i];
        const meta = JSON.parse(model.metadata);
        figures.textContent = `test: reconstruction ${Number(meta.test_recon).toFixed(1)} + KL ${Number(meta.test_kl).toFixed(1)}`
          + ` = ${Number(meta.test_neg_elbo).toFixed(1)} nats`;
        paintImage(recon, model.decode(model.encode(image).mu), model);
        paintEach(samples, model.decode(eps), model);
      });
    });
    $('blur-columns').dataset.ready = 'true';
    $('blur-arch-columns').dataset.ready = 'true';
  }
}
