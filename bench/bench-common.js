// What the benchmark pages share: timers (medians of runs after a warm-up), the drawn "7" both
// runtimes encode, the 20×20 grid's latent points, and painting a grid of 28×28 tiles.
import { quantileAxis } from '/pkg/vae.js';

export const N = 20; // the grid is N×N

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function timeAsync(fn, runs, warmup = 5) {
  for (let i = 0; i < warmup; i++) await fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { median: median(ms), min: Math.min(...ms), runs };
}

/** Like `time`, for work far shorter than the timer's 0.1 ms resolution: each run is `reps` calls. */
export function timeRepeated(fn, runs, reps = 50) {
  const t = time(() => { for (let i = 0; i < reps; i++) fn(); }, runs);
  return { median: t.median / reps, min: t.min / reps, runs, reps };
}

export function time(fn, runs, warmup = 5) {
  for (let i = 0; i < warmup; i++) fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return { median: median(ms), min: Math.min(...ms), runs };
}

/** The ink of a drawn "7" on a 280×280 canvas (alpha channel), as the app's drawing pad makes it. */
export function drawingInk() {
  const c = new OffscreenCanvas(280, 280);
  const ctx = c.getContext('2d');
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 20;
  ctx.lineCap = ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(70, 60);
  ctx.lineTo(210, 60);
  ctx.quadraticCurveTo(150, 140, 120, 230);
  ctx.stroke();
  const rgba = ctx.getImageData(0, 0, 280, 280).data;
  return Uint8Array.from({ length: 280 * 280 }, (_, i) => rgba[4 * i + 3]);
}

export function paint(rgba) {
  const ctx = document.getElementById('out').getContext('2d');
  ctx.putImageData(new ImageData(rgba, 28 * N, 28 * N), 0, 0);
}

/** Grey 28×28 tiles (B·784 values, row-major grid) → RGBA of the (28N)² image. */
export function tile(values) {
  const side = 28 * N;
  const rgba = new Uint8ClampedArray(side * side * 4);
  for (let k = 0; k < N * N; k++) {
    const gr = Math.floor(k / N);
    const gc = k % N;
    for (let p = 0; p < 784; p++) {
      const i = 4 * ((gr * 28 + Math.floor(p / 28)) * side + gc * 28 + (p % 28));
      const g = values[k * 784 + p] * 255;
      rgba[i] = rgba[i + 1] = rgba[i + 2] = g;
      rgba[i + 3] = 255;
    }
  }
  return rgba;
}

/** The grid's latent points, row-major from the top row: [N², L], dimensions 0 and 1 varied. */
export function gridPoints(L) {
  const qs = Array.from(quantileAxis(N));
  const zs = new Float32Array(N * N * L);
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < N; c++) {
      zs[(r * N + c) * L] = qs[c];
      zs[(r * N + c) * L + 1] = qs[N - 1 - r];
    }
  }
  return zs;
}

