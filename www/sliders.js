// One labelled range input per latent dimension, keyboard-usable; reports every move.

export class LatentSliders {
  /** `onInput(values)` fires on every slider move. */
  constructor(container, onInput) {
    this.container = container;
    this.onInput = onInput;
    this.inputs = [];
    this.outputs = [];
  }

  /** Rebuilds the sliders for `size` latent dimensions. */
  setSize(size) {
    this.container.replaceChildren();
    this.inputs = [];
    this.outputs = [];
    for (let i = 0; i < size; i++) {
      const label = document.createElement('label');
      label.htmlFor = `latent-slider-${i}`;
      label.textContent = `z${String(i).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[d])}`;
      const input = document.createElement('input');
      Object.assign(input, { type: 'range', min: '-4', max: '4', step: '0.01', value: '0', id: `latent-slider-${i}` });
      input.dataset.testid = `latent-slider-${i}`;
      const output = document.createElement('output');
      output.htmlFor = input.id;
      output.textContent = '0.00';
      input.addEventListener('input', () => {
        output.textContent = Number(input.value).toFixed(2);
        this.onInput(this.values());
      });
      this.container.append(label, input, output);
      this.inputs.push(input);
      this.outputs.push(output);
    }
  }

  values() {
    return Float32Array.from(this.inputs, (input) => Number(input.value));
  }

  /** Moves the sliders to `values` (clamped to their range) and reports it. */
  setValues(values) {
    this.inputs.forEach((input, i) => {
      input.value = String(Math.max(-4, Math.min(4, values[i] ?? 0)));
      this.outputs[i].textContent = Number(input.value).toFixed(2);
    });
    this.onInput(this.values());
  }
}
