// Painting model images (intensities in [0, 1]) onto canvases at their own resolution; CSS scales
// them up with pixelated rendering, so they stay crisp and tests can read them with getImageData.

/** Paints `values` (width·height intensities) as grey pixels onto `canvas`. */
export function paintGrey(canvas, values, width = 28, height = 28) {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const g = Math.round(Math.max(0, Math.min(1, values[i])) * 255);
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = g;
    rgba[4 * i + 3] = 255;
  }
  paintRgba(canvas, rgba, width, height);
}

/** Paints RGBA bytes onto `canvas`, resizing it to width×height. */
export function paintRgba(canvas, rgba, width, height) {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const bytes = rgba instanceof Uint8ClampedArray ? rgba : new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length);
  canvas.getContext('2d').putImageData(new ImageData(bytes, width, height), 0, 0);
}

/** Fills `canvas` with black (the empty image). */
export function blank(canvas) {
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

/** Ten distinguishable colours for classes 0–9. */
export const CLASS_COLOURS = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
];

/** Paints `cols`·`rows` 28×28 images (784 intensities each, row-major order) as one grid onto `canvas`. */
export function paintTiles(canvas, images, cols, rows = 1) {
  const width = 28 * cols;
  const rgba = new Uint8ClampedArray(width * 28 * rows * 4);
  for (let k = 0; k < cols * rows; k++) {
    const [tx, ty] = [k % cols, Math.floor(k / cols)];
    for (let p = 0; p < 784; p++) {
      const i = 4 * ((ty * 28 + Math.floor(p / 28)) * width + tx * 28 + (p % 28));
      rgba[i] = rgba[i + 1] = rgba[i + 2] = Math.round(255 * Math.max(0, Math.min(1, images[k * 784 + p])));
      rgba[i + 3] = 255;
    }
  }
  paintRgba(canvas, rgba, width, 28 * rows);
}

/** Paints image k of `images` (784 intensities each) onto `canvases[k]`. */
export function paintEach(canvases, images) {
  canvases.forEach((canvas, k) => paintGrey(canvas, images.subarray(k * 784, (k + 1) * 784)));
}
