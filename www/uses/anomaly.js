// Anomaly score: the current input's negative ELBO (mean of 16 draws of z) and IWAE estimate,
// and its percentile among the scoring model's scores of the 10,000 test images (a shipped table).
import { fetchBytes } from '../fetch.js';
import { MODELS, anomalyTableUrl, modelUrl } from '../models.js';
import { $, intFrom } from '../dom.js';

const SAMPLES = 16; // must match the CLI's `vae eval --anomaly-out`
const UNUSUAL = 99; // percentile

export class AnomalyPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.scorers = new Map(); // file → Promise<Model>
    this.tables = new Map(); // file → Promise<Float32Array>
    this.ownTables = new WeakMap(); // a model of your pictures → its table on the held-out pictures
    this.job = 0;
    for (const id of ['anomaly-k', 'anomaly-model']) $(id).addEventListener('change', () => this.onInput());
  }

  reset() {
    this.scorers.clear();
  }

  /** Rescores only when the scoring model changed (not for weights streaming into another one). */
  onModel() {
    const key = $('anomaly-model').value === 'current' ? this.ctx.model() : this.ctx.entry()?.dataset;
    if (key === this.scoredBy) return;
    this.scoredBy = key;
    this.onInput();
  }

  /** The scoring model and its table: a 16-D model of the data (the explorer's own if it is one), or the explorer's own. */
  async scorer() {
    const current = this.ctx.entry();
    const sixteen = (m) => m?.shipped && m.file.endsWith('-16d.safetensors');
    const best = sixteen(current) ? current : MODELS.find((m) => m.dataset === current?.dataset && sixteen(m));
    const entry = $('anomaly-model').value === 'best' && best ? best : current;
    if (entry?.dataset === 'own') return { model: this.ctx.model(), table: await this.ownTable(this.ctx.model()), entry };
    if (!entry?.shipped) return { model: this.ctx.model(), table: null, entry };
    if (entry === current) return { model: this.ctx.model(), table: await this.table(entry), entry };
    if (!this.scorers.has(entry.file)) {
      const wasm = this.ctx.wasm();
      this.scorers.set(entry.file, fetchBytes(modelUrl(entry.file)).then((bytes) => new wasm.Model(bytes)));
    }
    return { model: await this.scorers.get(entry.file), table: await this.table(entry), entry };
  }

  async table(entry) {
    if (!this.tables.has(entry.file)) {
      this.tables.set(entry.file, fetchBytes(anomalyTableUrl(entry.file))
        .then((bytes) => Float32Array.from(JSON.parse(new TextDecoder().decode(bytes)).quantiles)));
    }
    return this.tables.get(entry.file);
  }

  /** A model of your pictures is ranked against its held-out pictures, scored here once per model. */
  async ownTable(model) {
    if (!this.ownTables.has(model)) {
      this.ownTables.set(model, this.ctx.testSet('own').then((set) => model.anomalyTable(set, SAMPLES)).catch(() => null));
    }
    return this.ownTables.get(model);
  }

  onInput() {
    const job = ++this.job;
    this.score(job).catch((err) => this.ctx.error(err, 'anomaly score'));
  }

  async score(job) {
    const input = this.ctx.input();
    const verdict = $('anomaly-verdict');
    const show = (score, iwae, pct, text, kind) => {
      $('anomaly-score').textContent = score;
      $('anomaly-iwae').textContent = iwae;
      $('anomaly-percentile').textContent = pct;
      verdict.textContent = text;
      verdict.className = `verdict ${kind}`;
      const el = $('anomaly-score');
      el.dataset.updates = String(Number(el.dataset.updates ?? 0) + 1); // lets tests wait for a fresh score
      el.dataset.input = input?.key ?? ''; // and for the score of a given input (metrics.input)
    };
    if (!this.ctx.model() || !input) return show('–', '–', '–', 'Draw or load an input to score it.', '');
    const { model, table, entry } = await this.scorer();
    if (job !== this.job) return; // a newer input is being scored
    const score = model.anomalyScore(input.image, SAMPLES);
    const k = intFrom($('anomaly-k'), 1, 1000, 64);
    const iwae = `${model.iwae(input.image, k).toFixed(1)} (k = ${k})`;
    if (!table) return show(score.toFixed(1), iwae, '–', 'No test-set reference for this model (shipped models have one).', '');
    const pct = this.ctx.wasm().percentileOf(table, score);
    $('anomaly-mark').style.left = `${pct}%`;
    const unusual = pct >= UNUSUAL;
    const kind = entry.dataset === 'fashion' ? 'item' : entry.dataset === 'own' ? 'picture' : 'digit';
    const images = entry.dataset === 'own' ? 'held-out pictures' : 'test images';
    show(score.toFixed(1), iwae, pct.toFixed(1), unusual
      ? `Unusual: scores higher than ${pct.toFixed(1)}% of ${images} (${entry.label}).`
      : `Typical ${kind}: ${(100 - pct).toFixed(1)}% of ${images} score higher (${entry.label}).`, unusual ? 'unusual' : 'typical');
  }
}
