// Anomaly score: the current input's negative ELBO (mean of 16 draws of z) and IWAE estimate,
// and its percentile among the model's scores of the 10,000 test images (a shipped table).
import { fetchBytes } from '../fetch.js';
import { anomalyTableUrl } from '../models.js';
import { intFrom } from '../dom.js';

const SAMPLES = 16; // must match the CLI's `vae eval --anomaly-out`
const UNUSUAL = 99; // percentile
const $ = (id) => document.getElementById(id);

export class AnomalyPanel {
  constructor(ctx) {
    this.ctx = ctx;
    this.table = null;
    this.tableFor = null;
    $('anomaly-k').addEventListener('change', () => this.onInput());
  }

  async onModel() {
    const entry = this.ctx.entry();
    this.table = null;
    this.tableFor = entry;
    if (entry?.shipped) {
      try {
        const json = JSON.parse(new TextDecoder().decode(await fetchBytes(anomalyTableUrl(entry.file))));
        if (this.tableFor === entry) this.table = Float32Array.from(json.quantiles);
      } catch (err) {
        this.ctx.error(err, 'anomaly reference table');
      }
    }
    this.onInput();
  }

  onInput() {
    const model = this.ctx.model();
    const input = this.ctx.input();
    const verdict = $('anomaly-verdict');
    if (!model || !input) {
      for (const id of ['anomaly-score', 'anomaly-iwae', 'anomaly-percentile']) $(id).textContent = '–';
      verdict.textContent = 'Draw or load an input to score it.';
      verdict.className = 'verdict';
      return;
    }
    const score = model.anomalyScore(input.image, SAMPLES);
    const k = intFrom($('anomaly-k'), 1, 1000, 64);
    $('anomaly-score').textContent = score.toFixed(1);
    $('anomaly-iwae').textContent = `${model.iwae(input.image, k).toFixed(1)} (k = ${k})`;
    if (!this.table) {
      $('anomaly-percentile').textContent = '–';
      verdict.textContent = 'No test-set reference for this model (shipped models have one).';
      verdict.className = 'verdict';
      return;
    }
    const pct = this.ctx.wasm().percentileOf(this.table, score);
    $('anomaly-percentile').textContent = pct.toFixed(1);
    $('anomaly-mark').style.left = `${pct}%`;
    const unusual = pct >= UNUSUAL;
    const kind = this.ctx.entry().dataset === 'fashion' ? 'item' : 'digit';
    verdict.textContent = unusual
      ? `Unusual: scores higher than ${pct.toFixed(1)}% of test images.`
      : `Typical ${kind}: ${(100 - pct).toFixed(1)}% of test images score higher.`;
    verdict.className = `verdict ${unusual ? 'unusual' : 'typical'}`;
  }
}
