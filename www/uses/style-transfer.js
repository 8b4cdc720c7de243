// Style transfer with a conditional VAE: the input's label is read as the one with the lowest
// negative ELBO, its style is the posterior mean given that label, and decoding the style with
// every label renders it as all ten digits. A digit picker generates a chosen digit.
import { paintEach } from '../images.js';
import { $, pixelCanvases, watchVisibility } from '../dom.js';
import { fetchBytes } from '../fetch.js';
import { modelUrl } from '../models.js';

export class StyleTransferPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.models = new Map(); // file → Promise<Model>
    this.styles = pixelCanvases($('cvae-styles'), 10, (i) => `digit ${i}`);
    this.generated = pixelCanvases($('cvae-generated'), 8, (i) => `generated ${i + 1}`);
    $('cvae-digit').replaceChildren(...Array.from({ length: 10 }, (_, d) => new Option(String(d), String(d))));
    $('cvae-model').addEventListener('change', () => this.onInput());
    $('cvae-sample').addEventListener('click', () => this.generate().catch((e) => this.ctx.error(e, 'conditional VAE')));
    $('cvae-digit').addEventListener('change', () => this.generate().catch((e) => this.ctx.error(e, 'conditional VAE')));
    // Its 3 MB model loads when the panel comes into view (or after start-up, see prefetch).
    this.wanted = false;
    watchVisibility($('cvae-panel'), () => this.#show());
  }

  #show() {
    if (this.wanted) return;
    this.wanted = true;
    this.#showFirst();
  }

  prefetch() {
    this.#show();
  }

  /** The selected conditional model, loaded once per engine. */
  model() {
    const file = $('cvae-model').value;
    if (!this.models.has(file)) {
      const wasm = this.ctx.wasm();
      this.models.set(file, fetchBytes(modelUrl(file)).then((bytes) => new wasm.Model(bytes)));
    }
    return this.models.get(file);
  }

  /** Forgets models of a dead engine (after a crash). */
  reset() {
    this.models.clear();
  }

  onModel() {} // it has its own models

  #showFirst() {
    this.onInput();
    this.generate().catch((e) => this.ctx.error(e, 'conditional VAE'));
  }

  onInput() {
    if (!this.wanted) return;
    this.render().catch((e) => this.ctx.error(e, 'conditional VAE'));
  }

  async render() {
    const model = await this.model();
    let input = this.ctx.input();
    let images;
    if (input && input.image.length !== model.pixels) {
      // An input of your own pictures' shape: these conditional VAEs read MNIST digits.
      $('cvae-readout').textContent = `Style transfer needs a conditional VAE of the input's labels; these read 28×28 grey digits and the input has ${input.image.length} values. `
        + 'The tab trains plain VAEs: train a conditional one on a labelled folder with vae train --images DIR --conditional. Shown: the average style as every digit.';
      input = null;
    }
    if (input) {
      const scores = model.labelScores(input.image, 8);
      const order = [...scores.keys()].sort((a, b) => scores[a] - scores[b]);
      images = model.renderAllLabels(input.image, order[0]);
      $('cvae-readout').textContent = `Read as a ${order[0]} (−ELBO ${scores[order[0]].toFixed(1)} nats; next best ${order[1]}, ${scores[order[1]].toFixed(1)}). Its style, as every digit:`;
    } else {
      const z = new Float32Array(10 * model.latentSize);
      images = model.decode(z, Uint8Array.from({ length: 10 }, (_, d) => d));
      if (!this.ctx.input()) $('cvae-readout').textContent = 'No input: the average style (z = 0) as every digit. Draw or load one to transfer its style.';
    }
    paintEach(this.styles, images, model);
    const el = $('cvae-styles');
    el.dataset.ready = input ? 'input' : 'prior';
    el.dataset.renders = String(Number(el.dataset.renders ?? 0) + 1);
  }

  async generate() {
    const model = await this.model();
    const digit = Number($('cvae-digit').value);
    const z = model.samplePrior(this.generated.length, 1);
    const images = model.decode(z, new Uint8Array(this.generated.length).fill(digit));
    paintEach(this.generated, images, model);
  }
}
