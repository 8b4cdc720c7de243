// Style transfer with a conditional VAE: the input's label is read as the one with the lowest
// negative ELBO, its style is the posterior mean given that label, and decoding the style with
// every label renders it as every label (the ten digits, or your folders for one trained in this
// tab). A label picker generates a chosen label.
import { paintEach } from '../images.js';
import { $, pixelCanvases, watchVisibility } from '../dom.js';
import { fetchBytes } from '../fetch.js';
import { modelUrl } from '../models.js';

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export class StyleTransferPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.models = new Map(); // file → Promise<Model>
    this.trained = null; // { model, names }: the conditional VAE training in this tab, its latest weights
    this.generated = pixelCanvases($('cvae-generated'), 8, (i) => `generated ${i + 1}`);
    this.#setNames(DIGITS);
    $('cvae-model').addEventListener('change', () => {
      this.#setNames(this.names());
      this.onInput();
      this.generate().catch((e) => this.ctx.error(e, 'conditional VAE'));
    });
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

  /** The label names of the selected model. */
  names() {
    return $('cvae-model').value === 'trained' ? this.trained.names : DIGITS;
  }

  #setNames(names) {
    if (this.shownNames === names) return;
    this.shownNames = names;
    this.styles = pixelCanvases($('cvae-styles'), names.length, (i) => `as ${names[i]}`);
    $('cvae-digit').replaceChildren(...names.map((name, d) => new Option(name, String(d))));
  }

  /** New weights of the conditional VAE training in this tab (label `names`): selectable, selected the first time. */
  onTrainedConditional(bytes, names) {
    const model = new (this.ctx.wasm().Model)(bytes);
    const first = this.trained === null;
    this.trained?.model.free();
    this.trained = { model, names: names?.length === model.classes ? names : Array.from({ length: model.classes }, (_, i) => String(i)) };
    const option = $('cvae-model').querySelector('option[value="trained"]');
    option.disabled = false;
    option.textContent = `trained in this tab (${model.description}, ${model.classes} labels)`;
    if (first) {
      $('cvae-model').value = 'trained';
      $('cvae-model').dispatchEvent(new Event('change'));
    } else if ($('cvae-model').value === 'trained') {
      this.#setNames(this.trained.names);
      this.onInput();
    }
  }

  /** The selected conditional model, loaded once per engine. */
  model() {
    const file = $('cvae-model').value;
    if (file === 'trained') return Promise.resolve(this.trained.model);
    if (!this.models.has(file)) {
      const wasm = this.ctx.wasm();
      this.models.set(file, fetchBytes(modelUrl(file)).then((bytes) => new wasm.Model(bytes)));
    }
    return this.models.get(file);
  }

  /** Forgets models of a dead engine (after a crash). */
  reset() {
    this.models.clear();
    this.trained = null; // its model belonged to the dead engine
    if ($('cvae-model').value === 'trained') $('cvae-model').value = 'cvae-mnist-2d.safetensors';
    $('cvae-model').querySelector('option[value="trained"]').disabled = true;
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
    const names = this.names();
    this.#setNames(names);
    let input = this.ctx.input();
    let images;
    if (input && input.image.length !== model.pixels) {
      // An input of another shape (your own pictures) than this conditional VAE reads.
      $('cvae-readout').textContent = `Style transfer needs a conditional VAE of the input's kind: this one reads ${model.width}×${model.height}${model.channels === 3 ? ' colour' : ''} images `
        + `and the input has ${input.image.length} values. Train one on your labelled pictures with “conditional on the labels” ticked. Shown: the average style as every label.`;
      input = null;
    }
    if (input) {
      const scores = model.labelScores(input.image, 8);
      const order = [...scores.keys()].sort((a, b) => scores[a] - scores[b]);
      images = model.renderAllLabels(input.image, order[0]);
      $('cvae-readout').textContent = `Read as ${names[order[0]]} (−ELBO ${scores[order[0]].toFixed(1)} nats; next best ${names[order[1]]}, ${scores[order[1]].toFixed(1)}). Its style, as every label:`;
    } else {
      const z = new Float32Array(names.length * model.latentSize);
      images = model.decode(z, Uint8Array.from({ length: names.length }, (_, d) => d));
      if (!this.ctx.input()) $('cvae-readout').textContent = 'No input: the average style (z = 0) as every label. Draw or load one to transfer its style.';
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
