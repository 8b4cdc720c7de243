// A small live line chart on a canvas: several named series of (step, value) points.

const PAD = { left: 44, right: 10, top: 10, bottom: 22 };
/** Points kept per series: past this every other point is dropped, so memory stays bounded in long runs. */
const MAX_POINTS = 1000;

export class LineChart {
  /** `series` = [{ key, label, colour, dash? }] in legend order. */
  constructor(canvas, series) {
    this.canvas = canvas;
    this.series = series;
    this.data = new Map(series.map((s) => [s.key, []]));
  }

  clear() {
    for (const points of this.data.values()) points.length = 0;
    this.draw();
  }

  add(key, step, value) {
    if (!Number.isFinite(value)) return;
    let points = this.data.get(key);
    if (points.length >= MAX_POINTS) {
      points = points.filter((_, i) => i % 2 === 1);
      this.data.set(key, points);
    }
    points.push([step, value]);
  }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(this.canvas.clientWidth * dpr) || this.canvas.width;
    const h = Math.round(this.canvas.clientHeight * dpr) || this.canvas.height;
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const cw = w / dpr;
    const ch = h / dpr;
    ctx.clearRect(0, 0, cw, ch);
    const all = [...this.data.values()].flat();
    ctx.font = '11px system-ui, sans-serif';
    if (all.length === 0) {
      ctx.fillStyle = '#667085';
      ctx.fillText('Loss curves appear here while training runs.', PAD.left, ch / 2);
      return;
    }
    const maxStep = Math.max(1, ...all.map((p) => p[0]));
    // Skip the first 3% of steps when scaling, so the initial loss does not flatten the curves.
    const settled = all.filter((p) => p[0] >= 0.03 * maxStep);
    const values = (settled.length ? settled : all).map((p) => p[1]);
    const top = Math.max(...values) * 1.05;
    const bottom = Math.min(0, ...values);
    const x = (s) => PAD.left + (s / maxStep) * (cw - PAD.left - PAD.right);
    const y = (v) => PAD.top + (1 - (Math.min(v, top) - bottom) / (top - bottom || 1)) * (ch - PAD.top - PAD.bottom);
    ctx.strokeStyle = '#dfe3ea';
    ctx.fillStyle = '#667085';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = bottom + ((top - bottom) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(PAD.left, y(v));
      ctx.lineTo(cw - PAD.right, y(v));
      ctx.stroke();
      ctx.fillText(v.toFixed(0), 4, y(v) + 4);
    }
    ctx.fillText(`step ${maxStep}`, cw - PAD.right - 70, PAD.top + 10);
    let legendX = PAD.left + 6;
    for (const s of this.series) {
      const points = this.data.get(s.key);
      ctx.strokeStyle = ctx.fillStyle = s.colour;
      ctx.setLineDash(s.dash ?? []);
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      points.forEach(([step, v], i) => (i ? ctx.lineTo(x(step), y(v)) : ctx.moveTo(x(step), y(v))));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillText(s.label, legendX, ch - 6);
      legendX += ctx.measureText(s.label).width + 14;
    }
  }
}
