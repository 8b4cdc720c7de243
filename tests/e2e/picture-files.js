// Pictures the browser tests and the loading benchmark write: PNG files (npm pngjs) and a
// colour picture generator.
import { PNG } from 'pngjs';

/** A PNG of `width`×`height` RGBA bytes. */
export function png(rgba, width, height) {
  const image = new PNG({ width, height });
  image.data = Buffer.from(rgba);
  return PNG.sync.write(image);
}

/** Colour picture k (32×32): a disc and a square of varied hue, position and size on a dark ground. */
export function colourPicture(k) {
  const rgba = new Uint8Array(32 * 32 * 4);
  const hue = (k * 47) % 360;
  const rgb = (h) => [0, 8, 4].map((n) => {
    const x = (n + h / 30) % 12;
    return Math.round(255 * (0.5 - 0.5 * Math.max(-1, Math.min(x - 3, 9 - x, 1))));
  });
  const [r, g, b] = rgb(hue);
  const [r2, g2, b2] = rgb((hue + 150) % 360);
  const cx = 8 + (k * 7) % 16;
  const cy = 8 + (k * 11) % 16;
  const radius = 4 + (k % 5);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const i = 4 * (y * 32 + x);
      let px = [20, 20, 30];
      if (Math.abs(x - (31 - cx)) < 4 && Math.abs(y - (31 - cy)) < 4) px = [r2, g2, b2];
      if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) px = [r, g, b];
      rgba.set([...px, 255], i);
    }
  }
  return rgba;
}

