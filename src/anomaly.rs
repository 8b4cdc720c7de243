//! Anomaly scores: how surprising an input is to a model, as its negative ELBO averaged over
//! several draws of z, and where that score falls among the scores of a reference set (the test
//! set), as a percentile.

use candle_core::{Result, Tensor};

use crate::data::Dataset;
use crate::loss::negative_elbo;
use crate::model::Vae;
use crate::rng::Rng;

/// Draws of z averaged per score: the one-sample negative ELBO's noise shrinks by 1/√16.
pub const SCORE_SAMPLES: usize = 16;

/// Points in a shipped quantile table: the 0th, 0.1th, …, 100th percentiles.
pub const QUANTILE_POINTS: usize = 1001;

/// The negative ELBO of images `x` [B, P] (labels `y` [B, C] if conditional), averaged over
/// `samples` draws of z: [B] nats.
pub fn anomaly_scores(vae: &Vae, x: &Tensor, y: Option<&Tensor>, samples: usize, rng: &mut Rng) -> Result<Tensor> {
    if samples == 0 {
        candle_core::bail!("an anomaly score needs at least one sample of z");
    }
    let mut total = negative_elbo(vae, x, y, rng)?.total(1.0)?;
    for _ in 1..samples {
        total = (total + negative_elbo(vae, x, y, rng)?.total(1.0)?)?;
    }
    total / samples as f64
}

/// [`anomaly_scores`] of every image of `data`, in order.
pub fn score_dataset(vae: &Vae, data: &Dataset, samples: usize, rng: &mut Rng) -> Result<Vec<f32>> {
    let mut scores = Vec::with_capacity(data.len());
    for start in (0..data.len()).step_by(500) {
        let (x, y) = data.model_input_range(start, 500, vae.config().classes, vae.device())?;
        scores.extend(anomaly_scores(vae, &x, y.as_ref(), samples, rng)?.to_vec1::<f32>()?);
    }
    Ok(scores)
}

/// The `points` evenly spaced quantiles (0th to 100th percentile, linearly interpolated) of
/// `scores`, ascending. Non-finite scores are dropped.
pub fn quantile_table(scores: &[f32], points: usize) -> Vec<f32> {
    let mut sorted: Vec<f32> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    sorted.sort_by(f32::total_cmp);
    if sorted.is_empty() || points < 2 {
        return sorted;
    }
    let last = (sorted.len() - 1) as f64;
    (0..points)
        .map(|i| {
            let pos = last * i as f64 / (points - 1) as f64;
            let (lo, frac) = (pos.floor() as usize, pos.fract());
            let hi = (lo + 1).min(sorted.len() - 1);
            (sorted[lo] as f64 * (1.0 - frac) + sorted[hi] as f64 * frac) as f32
        })
        .collect()
}

/// The percentile (0–100) of `score` in an ascending quantile `table` from [`quantile_table`]:
/// the share of the reference set scoring at most `score`, interpolated between table points.
pub fn percentile(table: &[f32], score: f32) -> f32 {
    let n = table.len();
    if n < 2 || score.is_nan() {
        return f32::NAN;
    }
    if score <= table[0] {
        return 0.0;
    }
    if score >= table[n - 1] {
        return 100.0;
    }
    let above = table.partition_point(|&q| q <= score); // 1..n−1
    let (lo, hi) = (table[above - 1], table[above]);
    let frac = if hi > lo { (score - lo) / (hi - lo) } else { 1.0 };
    100.0 * ((above - 1) as f32 + frac) / (n - 1) as f32
}
