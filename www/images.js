// Painting model images (intensities in [0, 1]) onto canvases at their own resolution; CSS scales
// them up with pixelated rendering, so they stay crisp and tests can read them with getImageData.

/**
 * The image shape of `source` — a wasm Model or ImageSet, or any `{ channels, height, width }` —
 * read once, as a plain object with `pixels` (values per image, channel-major).
 */
export function shapeOf(source) {
  const { channels, height, width } = source;
  return { channels, height, width, pixels: channels * height * width };
}

/** Writes image `values` (channel-major intensities of `shape`) as RGBA at pixel (x0, y0) of `rgba`, `stride` pixels wide. */
function writeImage(rgba, stride, x0, y0, values, shape) {
  const { channels, height, width } = shape;
  const area = height * width;
  const byte = (v) => Math.round(255 * Math.max(0, Math.min(1, v)));
  for (let p = 0; p < area; p++) {
    const i = 4 * ((y0 + Math.floor(p / width)) * stride + x0 + (p % width));
    const r = byte(values[p]);
    rgba[i] = r;
    rgba[i + 1] = channels >= 3 ? byte(values[area + p]) : r;
    rgba[i + 2] = channels >= 3 ? byte(values[2 * area + p]) : r;
    rgba[i + 3] = 255;
  }
}

/** Paints one image (`values`: channel-major intensities of `shape`, grey or RGB) onto `canvas`. */
export function paintImage(canvas, values, shape) {
  const { height, width } = shapeOf(shape);
  const rgba = new Uint8ClampedArray(width * height * 4);
  writeImage(rgba, width, 0, 0, values, shapeOf(shape));
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

/** Paints `cols`·`rows` images of `shape` (row-major order) as one grid onto `canvas`. */
export function paintTiles(canvas, images, shape, cols, rows = 1) {
  const s = shapeOf(shape);
  const width = s.width * cols;
  const rgba = new Uint8ClampedArray(width * s.height * rows * 4);
  for (let k = 0; k < cols * rows; k++) {
    writeImage(rgba, width, (k % cols) * s.width, Math.floor(k / cols) * s.height, images.subarray(k * s.pixels, (k + 1) * s.pixels), s);
  }
  paintRgba(canvas, rgba, width, s.height * rows);
}

/** Paints image k of `images` (each of `shape`) onto `canvases[k]`. */
export function paintEach(canvases, images, shape) {
  const s = shapeOf(shape);
  canvases.forEach((canvas, k) => paintImage(canvas, images.subarray(k * s.pixels, (k + 1) * s.pixels), s));
}
