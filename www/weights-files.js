// Saving and loading weights: the download button, the file picker, and drag-and-drop anywhere on
// the page. Every loaded file is validated by the wasm loader; a bad one leaves the model as it was.
import { showError } from './status.js';

/**
 * `current()` returns { bytes, model } of the active model (or null); `load(bytes, name)` makes a
 * file the active model and throws with the reason when it is not a valid VAE. A drop that is not
 * one `.safetensors` file (pictures, folders, a .zip) goes to `dropOther(dataTransfer)`, called
 * while the drop event lasts.
 */
export function bindWeightsFiles({ current, load, dropOther }) {
  document.getElementById('weights-download').addEventListener('click', () => {
    try {
      const active = current();
      if (!active) throw new Error('no model is loaded yet');
      const { bytes, model } = active;
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      link.download = model.arch === 'mlp' ? `vae-${model.pixels}-${model.hiddenSize}-${model.latentSize}.safetensors` : `vae-${model.arch}-${model.latentSize}d.safetensors`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (err) {
      showError(err, 'cannot save the weights');
    }
  });

  const loadFile = async (file) => {
    try {
      load(new Uint8Array(await file.arrayBuffer()), file.name);
    } catch (err) {
      showError(err, `cannot load ${file.name}; the previous model stays active`);
    }
  };
  const input = document.getElementById('weights-file');
  input.addEventListener('change', () => {
    if (input.files?.[0]) loadFile(input.files[0]);
    input.value = '';
  });
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length === 1 && /\.safetensors$/i.test(files[0].name)) loadFile(files[0]);
    else if (e.dataTransfer) dropOther(e.dataTransfer);
  });
}
