//! The training gradient. For the MLP it is written by hand: one forward and one backward pass, with the
//! bias, ReLU, reparameterisation, KL and sigmoid/binary-cross-entropy work fused into single
//! loops and only the products the gradient needs, each through [`crate::matmul`] (gemm's blocking;
//! the relaxed-SIMD browser build's fused multiply-add kernels).
//!
//! candle's autograd gives the same numbers (tests/gradient.rs checks them to 1e-4) but costs more
//! here: it also computes the gradient of the input images (a product as large as the encoder's
//! first layer, a sixth of a step's arithmetic), and builds each weight's gradient through extra
//! passes over it (a zero tensor to add into, and a strided add for the transposed weight). In
//! wasm, the encoder's first layer, whose input is mostly blank pixels (about 80% of an MNIST
//! digit's), runs its two products over the non-zero pixels only ([`FirstLayer`]).
//!
//! With `n` images, scale c = 1/B (B the whole batch), the loss Σᵢ (reconᵢ + β·klᵢ)·c and
//!   a₁ = x W₁ᵀ + b₁, h₁ = relu(a₁)   s = h₁ W₂ᵀ + b₂ = [μ, log σ²]   z = μ + ε·σ
//!   a₃ = z W₃ᵀ + b₃, h₃ = relu(a₃)   ℓ = h₃ W₄ᵀ + b₄
//! the backward pass is
//!   dℓ = c·(sigmoid(ℓ) − x)          dW₄ = dℓᵀ h₃   dh₃ = dℓ W₄   da₃ = dh₃ ⊙ [a₃ > 0]
//!   dW₃ = da₃ᵀ z   dz = da₃ W₃        dμ = dz + cβ·μ   dlog σ² = dz·ε·σ/2 + cβ·(σ² − 1)/2
//!   dW₂ = dsᵀ h₁   dh₁ = ds W₂        da₁ = dh₁ ⊙ [a₁ > 0]   dW₁ = da₁ᵀ x
//! and each bias gradient is the column sum of its layer's output gradient. A conditional model
//! appends the one-hot labels to x and to z, and dz keeps z's first L columns.
//!
//! The conv VAE has its own hand-written pass ([`crate::conv_gradient`]), which shares the
//! reparameterisation, KL and BCE steps below. An architecture without one takes candle's
//! autograd over [`crate::loss::negative_elbo_with_noise`] ([`autograd_gradient`]), which is also
//! the reference both hand-written passes are tested against.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor};

use crate::loss::negative_elbo_with_noise;
use crate::matmul::{column_sums, multiply, View};
use crate::model::Vae;
use crate::parallel::{Minibatch, PartGradient};

/// The gradient of `part`, images of a step on `batch_size` images, for `vae` with KL weight
/// `beta` (see [`crate::parallel`]); keyed by the model's parameter tensors.
pub fn negative_elbo_gradient(vae: &Vae, part: &Minibatch, batch_size: usize, beta: f64) -> Result<PartGradient> {
    if vae.mlp().is_some() {
        negative_elbo_gradient_with(vae, part, batch_size, beta, FirstLayer::FOR_THIS_TARGET)
    } else if vae.conv().is_some() {
        crate::conv_gradient::negative_elbo_gradient(vae, part, batch_size, beta)
    } else {
        autograd_gradient(vae, part, batch_size, beta)
    }
}

/// [`negative_elbo_gradient`] by candle's autograd, for any architecture: the backward pass of
/// Σᵢ (reconᵢ + β·klᵢ) / B. The model's parameters must be variables (a trainer's are).
pub fn autograd_gradient(vae: &Vae, part: &Minibatch, batch_size: usize, beta: f64) -> Result<PartGradient> {
    if part.is_empty() {
        return Ok(PartGradient::default());
    }
    let terms = negative_elbo_with_noise(vae, &part.x, part.y.as_ref(), &part.eps)?;
    let (recon, kl) = (terms.recon.sum_all()?, terms.kl.sum_all()?);
    let loss = ((&recon + (&kl * beta)?)? / batch_size.max(1) as f64)?;
    let grads = loss.backward()?;
    let sum = |t: &Tensor| -> Result<f64> { t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>() };
    Ok(PartGradient { recon_sum: sum(&recon)?, kl_sum: sum(&kl)?, grads })
}

/// How the encoder's first layer multiplies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstLayer {
    /// A dense product ([`crate::matmul`]).
    Dense,
    /// Over the non-zero inputs only ([`SparseInput`]). In wasm this made training 9–14% faster
    /// (6,000 → 6,860 samples/s on one worker, 8,050 → 8,790 on two); natively gemm's AVX-512
    /// kernels beat it, so it is only used in wasm.
    SkipZeroInputs,
}

impl FirstLayer {
    pub const FOR_THIS_TARGET: Self = if cfg!(target_arch = "wasm32") { Self::SkipZeroInputs } else { Self::Dense };
}

/// The MLP's hand-written [`negative_elbo_gradient`], the first layer's products done as
/// `first_layer` says.
pub fn negative_elbo_gradient_with(
    vae: &Vae,
    part: &Minibatch,
    batch_size: usize,
    beta: f64,
    first_layer: FirstLayer,
) -> Result<PartGradient> {
    let n = part.len();
    if n == 0 {
        return Ok(PartGradient::default());
    }
    let Some(mlp) = vae.mlp() else {
        candle_core::bail!("the hand-written gradient is the MLP's; this model is {}", vae.config().describe())
    };
    let [enc0, enc2, dec0, dec2] = mlp.layers();
    let l = vae.config().latent;
    let pixels = vae.pixels();
    let scale = 1.0 / batch_size as f32;
    let kl_scale = (beta as f32) * scale;
    let device = part.x.device();

    // Encoder.
    let enc_in = rows(&mlp.condition(&part.x, part.y.as_ref())?)?; // [n, D]: the pixels (and one-hot labels)
    let (hidden, d) = enc0.weight().dims2()?;
    let w1 = rows(enc0.weight())?; // [H, D]
    let sparse = (first_layer == FirstLayer::SkipZeroInputs).then(|| SparseInput::new(&enc_in, d));
    let mut h1 = match &sparse {
        Some(x) => x.times_transposed(&w1, hidden),
        None => multiply(View::new(&enc_in, n, d)?, View::new(&w1, hidden, d)?.t())?,
    };
    relu_with_bias_in_place(&mut h1, &bias_of(enc0)?);
    let w2 = rows(enc2.weight())?; // [2L, H]
    let mut s = multiply(View::new(&h1, n, hidden)?, View::new(&w2, 2 * l, hidden)?.t())?;
    add_bias(&mut s, &bias_of(enc2)?);
    let eps = rows(&part.eps)?;

    // Reparameterisation and KL, per latent value.
    let posterior = reparameterise(&s, &eps, l);
    let z = Tensor::from_vec(posterior.z.clone(), (n, l), device)?;

    // Decoder, then the fused sigmoid/BCE pass: the reconstruction sum and dℓ.
    let dec_in = rows(&mlp.condition(&z, part.y.as_ref())?)?; // [n, width]
    let (dec_hidden, width) = dec0.weight().dims2()?; // width: L, or L + C for a conditional model
    let (w3, w4) = (rows(dec0.weight())?, rows(dec2.weight())?); // [H, width], [P, H]
    let mut h3 = multiply(View::new(&dec_in, n, width)?, View::new(&w3, dec_hidden, width)?.t())?;
    relu_with_bias_in_place(&mut h3, &bias_of(dec0)?);
    let mut d_logits = multiply(View::new(&h3, n, dec_hidden)?, View::new(&w4, pixels, dec_hidden)?.t())?;
    add_bias(&mut d_logits, &bias_of(dec2)?);
    let recon_sum = bce_gradient(&mut d_logits, &rows(&part.x)?, pixels, scale); // the logits become dℓ

    let mut grads = GradStore::default();
    // A layer's gradients: `d_weight` (d_outᵀ · its input) and, for the bias, the column sums of
    // its output's gradient `d_out` [n, out].
    let mut put = |layer: &candle_nn::Linear, d_out: &[f32], d_weight: Vec<f32>| -> Result<()> {
        let (out, inputs) = layer.weight().dims2()?;
        grads.insert(layer.weight(), Tensor::from_vec(d_weight, (out, inputs), device)?);
        if let Some(b) = layer.bias() {
            grads.insert(b, Tensor::from_vec(column_sums(d_out, out), out, device)?);
        }
        Ok(())
    };
    let d_logits_view = View::new(&d_logits, n, pixels)?;
    put(dec2, &d_logits, multiply(d_logits_view.t(), View::new(&h3, n, dec_hidden)?)?)?;
    let mut d_a3 = multiply(d_logits_view, View::new(&w4, pixels, dec_hidden)?)?;
    relu_backward_in_place(&mut d_a3, &h3);
    put(dec0, &d_a3, multiply(View::new(&d_a3, n, dec_hidden)?.t(), View::new(&dec_in, n, width)?)?)?;
    let dz = multiply(View::new(&d_a3, n, dec_hidden)?, View::new(&w3, dec_hidden, width)?)?;

    // Through the reparameterisation and the KL term to s = [μ, log σ²].
    let ds = posterior_gradient(&s, &posterior, &eps, &dz, width, kl_scale);
    put(enc2, &ds, multiply(View::new(&ds, n, 2 * l)?.t(), View::new(&h1, n, hidden)?)?)?;
    let mut d_a1 = multiply(View::new(&ds, n, 2 * l)?, View::new(&w2, 2 * l, hidden)?)?;
    relu_backward_in_place(&mut d_a1, &h1);
    let d_w1 = match &sparse {
        Some(x) => x.weight_gradient(&d_a1, hidden),
        None => multiply(View::new(&d_a1, n, hidden)?.t(), View::new(&enc_in, n, d)?)?,
    };
    put(enc0, &d_a1, d_w1)?;
    Ok(PartGradient { recon_sum, kl_sum: posterior.kl_sum, grads })
}

/// A layer's bias (zeros when it has none).
fn bias_of(layer: &candle_nn::Linear) -> Result<Vec<f32>> {
    match layer.bias() {
        Some(b) => rows(b),
        None => Ok(vec![0f32; layer.weight().dim(0)?]),
    }
}

/// The reparameterised sample of each image and what its gradient needs.
pub(crate) struct Reparameterised {
    /// z = μ + ε·σ [n, L].
    pub z: Vec<f32>,
    /// σ = exp(log σ² / 2) [n, L].
    pub sigma: Vec<f32>,
    /// Σ over the images of KL(q(z|x) ‖ N(0, I)).
    pub kl_sum: f64,
}

/// z from the posterior's statistics `s` = [μ, log σ²] [n, 2L] and the noise `eps` [n, L].
pub(crate) fn reparameterise(s: &[f32], eps: &[f32], l: usize) -> Reparameterised {
    let n = eps.len() / l.max(1);
    let (mut z, mut sigma, mut kl_sum) = (vec![0f32; n * l], vec![0f32; n * l], 0f64);
    for i in 0..n {
        for k in 0..l {
            let (mu, log_var) = (s[i * 2 * l + k], s[i * 2 * l + l + k]);
            let sd = (0.5 * log_var).exp();
            sigma[i * l + k] = sd;
            z[i * l + k] = mu + eps[i * l + k] * sd;
            kl_sum += -0.5 * f64::from(1.0 + log_var - mu * mu - sd * sd);
        }
    }
    Reparameterised { z, sigma, kl_sum }
}

/// ds = the gradient of s = [μ, log σ²] [n, 2L] from dz (rows `width` wide, whose first L
/// columns are z's: a conditional decoder's input also holds the labels) through the
/// reparameterisation, plus the KL term's, scaled by `kl_scale` = β/B:
/// dμ = dz + kl_scale·μ, dlog σ² = dz·ε·σ/2 + kl_scale·(σ² − 1)/2.
pub(crate) fn posterior_gradient(s: &[f32], r: &Reparameterised, eps: &[f32], dz: &[f32], width: usize, kl_scale: f32) -> Vec<f32> {
    let n = dz.len() / width.max(1);
    let l = s.len() / (2 * n).max(1);
    let sigma = &r.sigma;
    let mut ds = vec![0f32; n * 2 * l];
    for i in 0..n {
        for k in 0..l {
            let (mu, sd) = (s[i * 2 * l + k], sigma[i * l + k]);
            let d = dz[i * width + k];
            ds[i * 2 * l + k] = d + kl_scale * mu;
            ds[i * 2 * l + l + k] = d * eps[i * l + k] * sd * 0.5 + kl_scale * 0.5 * (sd * sd - 1.0);
        }
    }
    ds
}

/// Turns the decoder's `logits` [n, P] into dℓ = `scale`·(sigmoid(ℓ) − x) in place and returns
/// the summed binary cross-entropy of the targets `x` [n, P] (each image summed in f32).
pub(crate) fn bce_gradient(logits: &mut [f32], x: &[f32], pixels: usize, scale: f32) -> f64 {
    let mut recon_sum = 0f64;
    for (logits, x) in logits.chunks_exact_mut(pixels.max(1)).zip(x.chunks_exact(pixels.max(1))) {
        let mut recon = 0f32;
        for (l, &target) in logits.iter_mut().zip(x) {
            let logit = *l;
            let e = (-logit.abs()).exp();
            recon += logit.max(0.0) - logit * target + e.ln_1p();
            let sigmoid = if logit >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
            *l = scale * (sigmoid - target);
        }
        recon_sum += f64::from(recon);
    }
    recon_sum
}

/// Adds `bias` to every row of `m` (rows `bias.len()` wide).
pub(crate) fn add_bias(m: &mut [f32], bias: &[f32]) {
    for row in m.chunks_exact_mut(bias.len().max(1)) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// A layer input [n, D] that is mostly zeros (blank pixels), stored by its non-zero entries.
struct SparseInput {
    n: usize,
    d: usize,
    /// Per row, (column, value) of its non-zero entries.
    entries: Vec<Vec<(usize, f32)>>,
}

impl SparseInput {
    /// The row-major matrix `values`, rows `d` wide.
    fn new(values: &[f32], d: usize) -> Self {
        let entries: Vec<Vec<(usize, f32)>> =
            values.chunks_exact(d.max(1)).map(|row| row.iter().copied().enumerate().filter(|&(_, v)| v != 0.0).collect()).collect();
        Self { n: entries.len(), d, entries }
    }

    /// This [n, D] times `w`ᵀ for `w` [H, D] (row-major): [n, H], one row of wᵀ per non-zero entry.
    fn times_transposed(&self, w: &[f32], h: usize) -> Vec<f32> {
        let wt = transpose(w, h, self.d);
        let mut out = vec![0f32; self.n * h];
        for (row, entries) in out.chunks_exact_mut(h.max(1)).zip(&self.entries) {
            for &(p, v) in entries {
                for (o, &w) in row.iter_mut().zip(&wt[p * h..(p + 1) * h]) {
                    *o += v * w;
                }
            }
        }
        out
    }

    /// The gradient of the weight [H, D] of `self · wᵀ` from its output's gradient `d_out` [n, H]:
    /// d_outᵀ · self, built as its transpose [D, H] one row update per non-zero entry.
    fn weight_gradient(&self, d_out: &[f32], h: usize) -> Vec<f32> {
        let mut out = vec![0f32; self.d * h];
        for (g_row, entries) in d_out.chunks_exact(h.max(1)).zip(&self.entries) {
            for &(p, v) in entries {
                for (o, &g) in out[p * h..(p + 1) * h].iter_mut().zip(g_row) {
                    *o += v * g;
                }
            }
        }
        transpose(&out, self.d, h)
    }
}

/// The transpose of `m` [rows, cols] (row-major): [cols, rows], in cache-sized tiles.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut out = vec![0f32; m.len()];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[c * rows + r] = m[r * cols + c];
                }
            }
        }
    }
    out
}

/// The values of a tensor as one row-major vector.
pub(crate) fn rows(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_vec1()
}

/// relu(m + bias) in place, rows `bias.len()` wide.
pub(crate) fn relu_with_bias_in_place(m: &mut [f32], bias: &[f32]) {
    for row in m.chunks_exact_mut(bias.len().max(1)) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = (*v + b).max(0.0);
        }
    }
}

/// Zeroes the gradient `d` where the ReLU's output `out` was not positive.
pub(crate) fn relu_backward_in_place(d: &mut [f32], out: &[f32]) {
    for (d, &o) in d.iter_mut().zip(out) {
        if o <= 0.0 {
            *d = 0.0;
        }
    }
}
