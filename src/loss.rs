//! The negative evidence lower bound (ELBO) and the importance-weighted bound (IWAE,
//! Burda et al. 2016), per image, in nats.
//!
//! Reconstruction is the Bernoulli negative log-likelihood summed over pixels, computed from the
//! decoder's logits so it stays finite however saturated the decoder is; the KL term is the closed
//! form of KL(N(mu, diag σ²) || N(0, I)).

use candle_core::{Result, Tensor, D};

use crate::model::Vae;
use crate::rng::Rng;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Per-image terms of the negative ELBO, each [B].
pub struct NegativeElbo {
    /// −E_q[log p(x|z)] (one sample of z): binary cross-entropy summed over the pixels.
    pub recon: Tensor,
    /// KL(q(z|x) || N(0, I)).
    pub kl: Tensor,
}

impl NegativeElbo {
    /// `recon + beta * kl`, [B]. With `beta = 1` this is the negative ELBO.
    pub fn total(&self, beta: f64) -> Result<Tensor> {
        &self.recon + (&self.kl * beta)?
    }

    /// The scalar training objective: the batch mean of [`Self::total`].
    pub fn mean_total(&self, beta: f64) -> Result<Tensor> {
        self.total(beta)?.mean_all()
    }
}

/// Binary cross-entropy of targets `x` under Bernoulli(sigmoid(`logits`)), summed over the last
/// dimension: `[.., P]` → `[..]`. Uses `max(l, 0) − l·x + log(1 + e^{−|l|})`, exact and finite
/// for any logit.
pub fn bce_with_logits(logits: &Tensor, x: &Tensor) -> Result<Tensor> {
    bce_with_logits_elementwise(logits, x)?.sum(D::Minus1)
}

/// [`bce_with_logits`] pixel by pixel, not summed: same shape as `logits`.
pub fn bce_with_logits_elementwise(logits: &Tensor, x: &Tensor) -> Result<Tensor> {
    let softplus_neg_abs = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    (logits.relu()? - (logits * x)?)? + softplus_neg_abs
}

/// KL(N(mu, exp(log_var)) || N(0, I)) summed over the latent dimension: [B, L] → [B].
pub fn kl_standard_normal(mu: &Tensor, log_var: &Tensor) -> Result<Tensor> {
    let inner = ((log_var + 1.0)? - mu.sqr()?)? - log_var.exp()?;
    inner?.sum(D::Minus1)? * -0.5
}

/// The negative ELBO of images `x` [B, P] (labels `y` [B, C] for a conditional model) with one
/// reparameterised sample of z per image.
pub fn negative_elbo(vae: &Vae, x: &Tensor, y: Option<&Tensor>, rng: &mut Rng) -> Result<NegativeElbo> {
    let eps = rng.normal((x.dim(0)?, vae.config().latent), x.device())?;
    negative_elbo_with_noise(vae, x, y, &eps)
}

/// The negative ELBO of images `x` [B, P] (labels `y` [B, C] if conditional) with
/// z = mu + `eps`·σ for the given noise `eps` [B, L].
pub fn negative_elbo_with_noise(vae: &Vae, x: &Tensor, y: Option<&Tensor>, eps: &Tensor) -> Result<NegativeElbo> {
    let (mu, log_var) = vae.encode(x, y)?;
    let z = (&mu + eps.mul(&(&log_var * 0.5)?.exp()?)?)?;
    let logits = vae.decode_logits(&z, y)?;
    Ok(NegativeElbo { recon: bce_with_logits(&logits, x)?, kl: kl_standard_normal(&mu, &log_var)? })
}

/// The IWAE estimate of −log p(x) (−log p(x|y) for a conditional model with labels `y` [B, C])
/// for images `x` [B, P] with `k` importance samples: [B].
///
/// `−log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x)`, z_i ~ q(z|x). It is an upper bound on −log p(x)
/// that tightens as `k` grows, and equals the (one-sample) negative ELBO in expectation at k = 1.
/// Samples are processed `chunk` at a time to bound memory.
pub fn iwae_nll(vae: &Vae, x: &Tensor, y: Option<&Tensor>, k: usize, rng: &mut Rng) -> Result<Tensor> {
    if k == 0 {
        candle_core::bail!("the IWAE bound needs k ≥ 1 samples");
    }
    let (b, _) = x.dims2()?;
    let l = vae.config().latent;
    let (mu, log_var) = vae.encode(x, y)?;
    let std = (&log_var * 0.5)?.exp()?;
    let log_var_sum = log_var.sum(D::Minus1)?; // [B]
    let chunk = (4096 / b.max(1)).clamp(1, k);
    let mut log_weights = Vec::new(); // each [c, B]
    let mut done = 0;
    while done < k {
        let c = chunk.min(k - done);
        let eps = rng.normal((c, b, l), x.device())?;
        let z = eps.broadcast_mul(&std)?.broadcast_add(&mu)?; // [c, B, L]
        let ys = match y {
            Some(y) => Some(y.unsqueeze(0)?.broadcast_as((c, b, y.dim(1)?))?.reshape((c * b, ()))?),
            None => None,
        };
        let logits = vae.decode_logits(&z.reshape((c * b, l))?, ys.as_ref())?;
        let xs = x.unsqueeze(0)?.broadcast_as((c, b, x.dim(1)?))?.reshape((c * b, ()))?;
        let log_px_z = bce_with_logits(&logits, &xs)?.reshape((c, b))?.neg()?;
        let log_pz = ((z.sqr()?.sum(D::Minus1)? + (l as f64) * LN_2PI)? * -0.5)?;
        let log_qz = ((eps.sqr()?.sum(D::Minus1)?.broadcast_add(&log_var_sum)? + (l as f64) * LN_2PI)? * -0.5)?;
        log_weights.push(((log_px_z + log_pz)? - log_qz)?);
        done += c;
    }
    let log_w = Tensor::cat(&log_weights, 0)?; // [k, B]
    (log_w.log_sum_exp(0)? - (k as f64).ln())?.neg()
}
