//! The conv VAE's training gradient ([`crate::arch::conv`]), written by hand: one forward and one
//! backward pass over plain channels-last buffers, each layer one matrix product
//! ([`crate::matmul`]) with an im2col or col2im copy ([`Patches::unfold_channels_last`]), the bias
//! and ReLU fused into single loops, and no gradient for the input images. candle's autograd
//! over the same network gives the same numbers (tests/gradient.rs checks them to 1e-4) but
//! spends most of a step outside the products: a zero tensor and an add for every gradient it
//! accumulates, strided copies for the NCHW transposes, and reductions for the bias gradients.
//!
//! Activations are kept channels last ([n·positions, channels]) so that a convolution's output
//! is already the next layer's input rows; the weights are permuted to match once per step
//! (`Conv2d` [O, I, k, k] → [O, k², I], `ConvTranspose2d` [I, O, k, k] → [I, k², O], the linear
//! layers' feature axis from PyTorch's (channel, position) flattening to (position, channel))
//! and their gradients permuted back. With scale c = 1/B and, per layer, U the unfolded input:
//!   conv:           y = U Wᵀ + b       dW = dyᵀ U     dU = dy W      dx = fold(dU)
//!   transposed:     y = fold(x W) + b  dR = unfold(dy)  dW = xᵀ dR   dx = dR Wᵀ
//! and the reparameterisation, KL and sigmoid/BCE steps are the MLP's ([`crate::gradient`]).

use std::borrow::Cow;
use std::cell::RefCell;

use candle_core::backprop::GradStore;
use candle_core::{bail, Result, Tensor};

use crate::arch::conv::{KERNEL, WINDOW};
use crate::arch::unfold::Patches;
use crate::gradient::{
    add_bias, bce_gradient, posterior_gradient, relu_backward_in_place as relu_backward, relu_with_bias_in_place as relu_with_bias,
    reparameterise, rows as values,
};
use crate::matmul::{column_sums, matmul, swap_axes, View};
use crate::model::Vae;
use crate::parallel::{Minibatch, PartGradient};

/// The gradient of `part`'s summed (β-weighted) negative ELBO / `batch_size` for the conv VAE
/// `vae`, keyed by its parameter tensors.
pub fn negative_elbo_gradient(vae: &Vae, part: &Minibatch, batch_size: usize, beta: f64) -> Result<PartGradient> {
    let n = part.len();
    if n == 0 {
        return Ok(PartGradient::default());
    }
    let Some(conv) = vae.conv() else { bail!("the conv gradient is the conv VAE's; this model is {}", vae.config().describe()) };
    let config = vae.config();
    let (shape, l, classes) = (config.shape, config.latent, config.classes);
    let (c1, c2) = conv.channels();
    let layers = conv.layers();
    let (ch, kk) = (shape.channels, KERNEL * KERNEL);
    // The first convolution's input (and the last transposed one's output), and the second's.
    let image = Patches { window: WINDOW, channels: ch, height: shape.height, width: shape.width };
    let half = Patches { window: WINDOW, channels: c1, height: shape.height / 2, width: shape.width / 2 };
    let (p1, p2) = (image.count()?, half.count()?);
    let f = c2 * p2;
    let scale = 1.0 / batch_size as f32;
    let kl_scale = beta as f32 * scale;
    let device = part.x.device();
    let labels = part.y.as_ref().map(values).transpose()?;

    // Weights channels last.
    let w0 = swap_axes(&values(layers.encoder_0.weight())?, c1, ch, kk, 1); // [c1, k²·C]
    let w2 = swap_axes(&values(layers.encoder_2.weight())?, c2, c1, kk, 1); // [c2, k²·c1]
    let w5 = permute_feature_columns(&values(layers.encoder_5.weight())?, c2, p2, f + classes); // [2L, f + classes]
    let wd0 = swap_axes(&values(layers.decoder_0.weight())?, 1, c2, p2, l + classes); // [f, L + classes]
    let wd3 = swap_axes(&values(layers.decoder_3.weight())?, c2, c1, kk, 1); // [c2, k²·c1]
    let wd5 = swap_axes(&values(layers.decoder_5.weight())?, c1, ch, kk, 1); // [c1, k²·C]
    let bias = |b: Option<&Tensor>, len: usize| b.map_or_else(|| Ok(vec![0f32; len]), values);
    let bd0 = swap_axes(&bias(layers.decoder_0.bias(), f)?, 1, c2, p2, 1);

    // Encoder.
    let x = values(&part.x)?;
    let x = if ch == 1 { x } else { swap_axes(&x, n, ch, shape.area(), 1) }; // [n, H, W, C]
    let mut scratch = Scratch::new();
    let u0 = scratch.unfold(&image, &x, n)?; // [n·p1, k²·C]
    let mut h1 = scratch.take(n * p1 * c1);
    matmul(&mut h1, View::new(&u0, n * p1, kk * ch)?, View::new(&w0, c1, kk * ch)?.t(), false)?;
    relu_with_bias(&mut h1, &bias(layers.encoder_0.bias(), c1)?);
    let u1 = scratch.unfold(&half, &h1, n)?; // [n·p2, k²·c1]
    let mut h2 = scratch.take(n * f);
    matmul(&mut h2, View::new(&u1, n * p2, kk * c1)?, View::new(&w2, c2, kk * c1)?.t(), false)?;
    relu_with_bias(&mut h2, &bias(layers.encoder_2.bias(), c2)?);
    let enc_in = with_labels(&h2, f, labels.as_deref(), classes)?; // [n, f + classes]
    let mut s = vec![0f32; n * 2 * l];
    matmul(&mut s, View::new(&enc_in, n, f + classes)?, View::new(&w5, 2 * l, f + classes)?.t(), false)?;
    add_bias(&mut s, &bias(layers.encoder_5.bias(), 2 * l)?);
    let eps = values(&part.eps)?;
    let posterior = reparameterise(&s, &eps, l);

    // Decoder, then the fused sigmoid/BCE pass: the reconstruction sum and dℓ.
    let dec_in = with_labels(&posterior.z, l, labels.as_deref(), classes)?; // [n, L + classes]
    let mut h3 = scratch.take(n * f);
    matmul(&mut h3, View::new(&dec_in, n, l + classes)?, View::new(&wd0, f, l + classes)?.t(), false)?;
    relu_with_bias(&mut h3, &bd0); // [n·p2, c2]
    let mut r3 = scratch.take(n * p2 * kk * c1);
    matmul(&mut r3, View::new(&h3, n * p2, c2)?, View::new(&wd3, c2, kk * c1)?, false)?;
    let mut h4 = scratch.fold(&half, &r3, n)?; // [n·p1, c1]
    relu_with_bias(&mut h4, &bias(layers.decoder_3.bias(), c1)?);
    let mut r5 = scratch.take(n * p1 * kk * ch);
    matmul(&mut r5, View::new(&h4, n * p1, c1)?, View::new(&wd5, c1, kk * ch)?, false)?;
    let mut d_logits = scratch.fold(&image, &r5, n)?; // logits [n, H, W, C]
    add_bias(&mut d_logits, &bias(layers.decoder_5.bias(), ch)?);
    let recon_sum = bce_gradient(&mut d_logits, &x, shape.pixels(), scale);

    let mut grads = Gradients { store: GradStore::default(), device };
    // decoder.5
    grads.bias(layers.decoder_5.bias(), column_sums(&d_logits, ch))?;
    let d_r5 = scratch.unfold(&image, &d_logits, n)?; // [n·p1, k²·C]
    let mut d_w = vec![0f32; c1 * kk * ch];
    matmul(&mut d_w, View::new(&h4, n * p1, c1)?.t(), View::new(&d_r5, n * p1, kk * ch)?, false)?;
    grads.weight(layers.decoder_5.weight(), swap_axes(&d_w, c1, kk, ch, 1))?;
    let mut d_h4 = scratch.take(n * p1 * c1);
    matmul(&mut d_h4, View::new(&d_r5, n * p1, kk * ch)?, View::new(&wd5, c1, kk * ch)?.t(), false)?;
    relu_backward(&mut d_h4, &h4);
    // decoder.3
    grads.bias(layers.decoder_3.bias(), column_sums(&d_h4, c1))?;
    let d_r3 = scratch.unfold(&half, &d_h4, n)?; // [n·p2, k²·c1]
    let mut d_w = vec![0f32; c2 * kk * c1];
    matmul(&mut d_w, View::new(&h3, n * p2, c2)?.t(), View::new(&d_r3, n * p2, kk * c1)?, false)?;
    grads.weight(layers.decoder_3.weight(), swap_axes(&d_w, c2, kk, c1, 1))?;
    let mut d_h3 = scratch.take(n * f);
    matmul(&mut d_h3, View::new(&d_r3, n * p2, kk * c1)?, View::new(&wd3, c2, kk * c1)?.t(), false)?;
    relu_backward(&mut d_h3, &h3);
    // decoder.0
    grads.bias(layers.decoder_0.bias(), swap_axes(&column_sums(&d_h3, f), 1, p2, c2, 1))?;
    let mut d_w = vec![0f32; f * (l + classes)];
    matmul(&mut d_w, View::new(&d_h3, n, f)?.t(), View::new(&dec_in, n, l + classes)?, false)?;
    grads.weight(layers.decoder_0.weight(), swap_axes(&d_w, 1, p2, c2, l + classes))?;
    let mut dz = vec![0f32; n * l];
    matmul(&mut dz, View::new(&d_h3, n, f)?, View::columns(&wd0, f, l, l + classes)?, false)?;

    // Through the reparameterisation and the KL term to s = [μ, log σ²].
    let ds = posterior_gradient(&s, &posterior, &eps, &dz, l, kl_scale);
    // encoder.5
    grads.bias(layers.encoder_5.bias(), column_sums(&ds, 2 * l))?;
    let mut d_w = vec![0f32; 2 * l * (f + classes)];
    matmul(&mut d_w, View::new(&ds, n, 2 * l)?.t(), View::new(&enc_in, n, f + classes)?, false)?;
    grads.weight(layers.encoder_5.weight(), unpermute_feature_columns(&d_w, c2, p2, f + classes))?;
    let mut d_h2 = scratch.take(n * f);
    matmul(&mut d_h2, View::new(&ds, n, 2 * l)?, View::columns(&w5, 2 * l, f, f + classes)?, false)?;
    relu_backward(&mut d_h2, &h2);
    // encoder.2
    grads.bias(layers.encoder_2.bias(), column_sums(&d_h2, c2))?;
    let mut d_w = vec![0f32; c2 * kk * c1];
    matmul(&mut d_w, View::new(&d_h2, n * p2, c2)?.t(), View::new(&u1, n * p2, kk * c1)?, false)?;
    grads.weight(layers.encoder_2.weight(), swap_axes(&d_w, c2, kk, c1, 1))?;
    let mut d_u1 = scratch.take(n * p2 * kk * c1);
    matmul(&mut d_u1, View::new(&d_h2, n * p2, c2)?, View::new(&w2, c2, kk * c1)?, false)?;
    let mut d_h1 = scratch.fold(&half, &d_u1, n)?; // [n·p1, c1]
    relu_backward(&mut d_h1, &h1);
    // encoder.0
    grads.bias(layers.encoder_0.bias(), column_sums(&d_h1, c1))?;
    let mut d_w = vec![0f32; c1 * kk * ch];
    matmul(&mut d_w, View::new(&d_h1, n * p1, c1)?.t(), View::new(&u0, n * p1, kk * ch)?, false)?;
    grads.weight(layers.encoder_0.weight(), swap_axes(&d_w, c1, kk, ch, 1))?;
    scratch.keep([u0, h1, u1, h2, h3, r3, h4, r5, d_logits, d_r5, d_h4, d_r3, d_h3, d_h2, d_u1, d_h1]);
    Ok(PartGradient { recon_sum, kl_sum: posterior.kl_sum, grads: grads.store })
}

thread_local! {
    /// The last step's big buffers on this thread, for the next step ([`Scratch`]).
    static SCRATCH: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// The activations and their gradients of one step, in the buffers of the last step on this
/// thread where their sizes match (every step but an epoch's last, shorter one): otherwise a step
/// allocates and zeroes about 35 MB for a half batch of 64 images. A buffer taken holds stale
/// values; each is written whole before it is read (a product's output, which `matmul` writes
/// without reading when it does not accumulate, an unfold, which writes the padding's zeros too,
/// or a fold, which zeroes first).
struct Scratch {
    free: Vec<Vec<f32>>,
}

impl Scratch {
    fn new() -> Self {
        Self { free: SCRATCH.take() }
    }

    /// A buffer of `len` values, contents unspecified.
    fn take(&mut self, len: usize) -> Vec<f32> {
        match self.free.iter().position(|v| v.len() == len) {
            Some(i) => self.free.swap_remove(i),
            None => vec![0.0; len],
        }
    }

    fn unfold(&mut self, patches: &Patches, images: &[f32], batch: usize) -> Result<Vec<f32>> {
        let mut out = self.take(batch * patches.count()? * patches.per_patch());
        patches.unfold_channels_last_into(images, batch, &mut out)?;
        Ok(out)
    }

    fn fold(&mut self, patches: &Patches, rows: &[f32], batch: usize) -> Result<Vec<f32>> {
        let mut out = self.take(batch * patches.channels * patches.height * patches.width);
        patches.fold_channels_last_into(rows, batch, &mut out)?;
        Ok(out)
    }

    /// Keeps `buffers` for this thread's next step (and only them).
    fn keep(self, buffers: impl IntoIterator<Item = Vec<f32>>) {
        SCRATCH.set(buffers.into_iter().collect());
    }
}

/// The gradients being collected, as tensors shaped like their parameters.
struct Gradients<'a> {
    store: GradStore,
    device: &'a candle_core::Device,
}

impl Gradients<'_> {
    fn weight(&mut self, param: &Tensor, grad: Vec<f32>) -> Result<()> {
        self.store.insert(param, Tensor::from_vec(grad, param.shape(), self.device)?);
        Ok(())
    }

    fn bias(&mut self, param: Option<&Tensor>, grad: Vec<f32>) -> Result<()> {
        match param {
            Some(p) => self.weight(p, grad),
            None => Ok(()),
        }
    }
}

/// A row-major weight [R, width] whose first c2·p2 columns are features in PyTorch's
/// (channel, position) order, rearranged to (position, channel); the rest (labels) stay.
fn permute_feature_columns(w: &[f32], c2: usize, p2: usize, width: usize) -> Vec<f32> {
    rearrange_rows(w, width, |features| swap_axes(features, 1, c2, p2, 1), c2 * p2)
}

/// The inverse of [`permute_feature_columns`].
fn unpermute_feature_columns(w: &[f32], c2: usize, p2: usize, width: usize) -> Vec<f32> {
    rearrange_rows(w, width, |features| swap_axes(features, 1, p2, c2, 1), c2 * p2)
}

fn rearrange_rows(w: &[f32], width: usize, permute: impl Fn(&[f32]) -> Vec<f32>, features: usize) -> Vec<f32> {
    let mut out = w.to_vec();
    for (src, dst) in w.chunks_exact(width.max(1)).zip(out.chunks_exact_mut(width.max(1))) {
        dst[..features].copy_from_slice(&permute(&src[..features]));
    }
    out
}

/// Rows `width` wide with each image's one-hot label appended (a conditional model's layer
/// input), or the rows themselves for a plain model.
fn with_labels<'a>(m: &'a [f32], width: usize, labels: Option<&[f32]>, classes: usize) -> Result<Cow<'a, [f32]>> {
    match (labels, classes) {
        (None, 0) => Ok(Cow::Borrowed(m)),
        (Some(y), c) if c > 0 && y.len() / c == m.len() / width.max(1) => {
            let mut out = Vec::with_capacity(m.len() + y.len());
            for (row, label) in m.chunks_exact(width.max(1)).zip(y.chunks_exact(c)) {
                out.extend_from_slice(row);
                out.extend_from_slice(label);
            }
            Ok(Cow::Owned(out))
        }
        (None, _) => bail!("this conditional VAE needs a label for every input"),
        (Some(y), _) => bail!("{} label values do not make one-hot rows of {classes} for {} images", y.len(), m.len() / width.max(1)),
    }
}
