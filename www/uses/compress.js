// Compression: the latent code (L numbers stored as half-precision floats) next to the one-byte-per-value
// image, the ratio, and the image decoded from the code alone. The URL hash holds the model and
// the decoder's latent point (what the Decoder panel shows, exactly), so a copied link reopens
// the view the sender sees.
import { paintImage, blank, shapeOf } from '../images.js';
import { $ } from '../dom.js';

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** The shortest decimal that reads back as the same float32 `v`, so a link holds the point exactly. */
export function shortestF32(v) {
  for (let digits = 1; digits < 10; digits++) {
    const s = String(Number(v.toPrecision(digits)));
    if (Math.fround(Number(s)) === v) return s;
  }
  return String(v);
}

export class CompressPanel {
  constructor(ctx) {
    this.ctx = ctx;
    const link = $('share-link');
    link.addEventListener('click', async (e) => {
      e.preventDefault();
      if (link.getAttribute('aria-disabled') === 'true') return;
      try {
        await navigator.clipboard.writeText(link.href);
        $('share-status').textContent = 'Link copied.';
      } catch {
        $('share-status').textContent = 'Copy the link from the address bar (clipboard unavailable).';
      }
    });
  }

  onModel() {
    this.update();
  }

  onInput() {
    this.update();
  }

  onDecoderPoint() {
    if (this.ctx.input()) this.#link();
    else this.update();
  }

  /** The code of the current input's posterior mean, or of the decoder's point without an input. */
  update() {
    const model = this.ctx.model();
    const entry = this.ctx.entry();
    if (!model) return;
    const wasm = this.ctx.wasm();
    const input = this.ctx.input();
    const L = model.latentSize;
    const z = input ? model.encode(input.image).mu : this.ctx.decoderPoint();
    const code = wasm.latentToF16Bytes(z);
    const zq = wasm.latentFromF16Bytes(code); // the point the code holds
    const decoded = model.decode(zq);
    const { pixels } = shapeOf(model); // one byte per pixel value
    if (input) paintImage($('compress-input'), input.image, model);
    else blank($('compress-input'));
    $('compress-input-caption').textContent = input ? `input: ${pixels} bytes` : 'no input (code of the decoder’s point)';
    paintImage($('compress-recon'), decoded, model);
    const shown = Array.from(zq.slice(0, 8), (v) => v.toFixed(3)).join(', ') + (L > 8 ? ', …' : '');
    $('latent-code').dataset.updates = String(Number($('latent-code').dataset.updates ?? 0) + 1);
    $('latent-code').textContent = `z = (${shown}) → ${code.length} bytes: ${hex(code)}`;
    $('compress-ratio').textContent = `${pixels} bytes → ${code.length} bytes (${L} × f16): ${(pixels / code.length).toFixed(1)}× smaller.`;
    this.#link();
  }

  /** The share link (and the URL hash): the model and the decoder's point, as the Decoder panel shows them. */
  #link() {
    const model = this.ctx.model();
    const entry = this.ctx.entry();
    const link = $('share-link');
    if (entry?.shipped) {
      const z = this.ctx.decoderPoint();
      const hash = `#model=${encodeURIComponent(entry.file)}&z=${Array.from(z, shortestF32).join(',')}`;
      link.href = new URL(hash, location.href).href;
      link.removeAttribute('aria-disabled');
      const shown = Array.from(z.slice(0, 4), (v) => v.toFixed(2)).join(', ') + (z.length > 4 ? ', …' : '');
      $('share-status').textContent = `The link opens ${model.description} with the decoder at z = (${shown}), as shown in the Decoder panel.`;
      if (location.hash !== hash) history.replaceState(null, '', hash);
    } else {
      link.href = '#';
      link.setAttribute('aria-disabled', 'true');
      $('share-status').textContent = 'Links name shipped models only; download this one’s weights instead.';
    }
  }
}
