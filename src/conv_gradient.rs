//! The conv VAE's training gradient ([`crate::arch::conv`]), written by hand: one forward and one
//! backward pass over plain channels-last buffers, each layer one matrix product
//! ([`crate::matmul`]) with an im2col or col2im copy ([`Patches::unfold_channels_last`]), the bias
//! and ReLU fused into single loops, and no gradient for the input images. candle's autograd
//! over the same network gives the same numbers (tests/gradient.rs checks them to 1e-4) but
//! spends most of a step outside the products: a zero tensor and an add for every gradient it
//! accumulates, strided copies for the NCHW transposes, and reductions for the bias gradients.
//!
//! The forward pass is [`crate::conv_forward`]'s, on channels-last buffers with the weights
//! permuted to match, and the gradients are permuted back. With scale c = 1/B and, per layer, U
//! the unfolded input:
//!   conv:           y = U Wᵀ + b       dW = dyᵀ U     dU = dy W      dx = fold(dU)
//!   transposed:     y = fold(x W) + b  dR = unfold(dy)  dW = xᵀ dR   dx = dR Wᵀ
//! and the reparameterisation, KL and sigmoid/BCE steps are the MLP's ([`crate::gradient`]).

use candle_core::backprop::GradStore;
use candle_core::{bail, Result, Tensor};

use crate::arch::conv::KERNEL;
use crate::conv_forward::{unpermute_feature_columns, ConvWeights, Scratch};
use crate::gradient::{bce_gradient, posterior_gradient, relu_backward_in_place as relu_backward, reparameterise, rows as values};
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
    let layers = conv.layers();
    let w = ConvWeights::new(vae)?;
    let config = vae.config();
    let (shape, l, classes) = (config.shape, config.latent, config.classes);
    let (ch, c1, c2, p1, p2, f, kk) = (w.ch, w.c1, w.c2, w.p1, w.p2, w.f, KERNEL * KERNEL);
    let (image, half) = (&w.image, &w.half);
    let scale = 1.0 / batch_size as f32;
    let kl_scale = beta as f32 * scale;
    let device = part.x.device();
    let labels = part.y.as_ref().map(values).transpose()?;

    // Encoder.
    let x = values(&part.x)?;
    let x = if ch == 1 { x } else { swap_axes(&x, n, ch, shape.area(), 1) }; // [n, H, W, C]
    let mut scratch = Scratch::new();
    let enc = w.encode(&x, n, labels.as_deref(), &mut scratch)?;
    let s = &enc.s;
    let eps = values(&part.eps)?;
    let posterior = reparameterise(s, &eps, l);

    // Decoder, then the fused sigmoid/BCE pass: the reconstruction sum and dℓ.
    let dec_in = crate::conv_forward::with_labels(&posterior.z, l, labels.as_deref(), classes)?; // [n, L + classes]
    let dec = w.decode(&dec_in, n, &mut scratch)?;
    let (h3, h4, mut d_logits) = (&dec.h3, &dec.h4, dec.logits);
    let recon_sum = bce_gradient(&mut d_logits, &x, shape.pixels(), scale);

    let mut grads = Gradients { store: GradStore::default(), device };
    // decoder.5
    grads.bias(layers.decoder_5.bias(), column_sums(&d_logits, ch))?;
    let d_r5 = scratch.unfold(image, &d_logits, n)?; // [n·p1, k²·C]
    let mut d_w = vec![0f32; c1 * kk * ch];
    matmul(&mut d_w, View::new(h4, n * p1, c1)?.t(), View::new(&d_r5, n * p1, kk * ch)?, false)?;
    grads.weight(layers.decoder_5.weight(), swap_axes(&d_w, c1, kk, ch, 1))?;
    let mut d_h4 = scratch.take(n * p1 * c1);
    matmul(&mut d_h4, View::new(&d_r5, n * p1, kk * ch)?, View::new(&w.wd5, c1, kk * ch)?.t(), false)?;
    relu_backward(&mut d_h4, h4);
    // decoder.3
    grads.bias(layers.decoder_3.bias(), column_sums(&d_h4, c1))?;
    let d_r3 = scratch.unfold(half, &d_h4, n)?; // [n·p2, k²·c1]
    let mut d_w = vec![0f32; c2 * kk * c1];
    matmul(&mut d_w, View::new(h3, n * p2, c2)?.t(), View::new(&d_r3, n * p2, kk * c1)?, false)?;
    grads.weight(layers.decoder_3.weight(), swap_axes(&d_w, c2, kk, c1, 1))?;
    let mut d_h3 = scratch.take(n * f);
    matmul(&mut d_h3, View::new(&d_r3, n * p2, kk * c1)?, View::new(&w.wd3, c2, kk * c1)?.t(), false)?;
    relu_backward(&mut d_h3, h3);
    // decoder.0
    grads.bias(layers.decoder_0.bias(), swap_axes(&column_sums(&d_h3, f), 1, p2, c2, 1))?;
    let mut d_w = vec![0f32; f * (l + classes)];
    matmul(&mut d_w, View::new(&d_h3, n, f)?.t(), View::new(&dec_in, n, l + classes)?, false)?;
    grads.weight(layers.decoder_0.weight(), swap_axes(&d_w, 1, p2, c2, l + classes))?;
    let mut dz = vec![0f32; n * l];
    matmul(&mut dz, View::new(&d_h3, n, f)?, View::columns(&w.wd0, f, l, l + classes)?, false)?;

    // Through the reparameterisation and the KL term to s = [μ, log σ²].
    let ds = posterior_gradient(s, &posterior, &eps, &dz, l, kl_scale);
    // encoder.5
    grads.bias(layers.encoder_5.bias(), column_sums(&ds, 2 * l))?;
    let mut d_w = vec![0f32; 2 * l * (f + classes)];
    matmul(&mut d_w, View::new(&ds, n, 2 * l)?.t(), View::new(enc.enc_in(), n, f + classes)?, false)?;
    grads.weight(layers.encoder_5.weight(), unpermute_feature_columns(&d_w, c2, p2, f + classes))?;
    let mut d_h2 = scratch.take(n * f);
    matmul(&mut d_h2, View::new(&ds, n, 2 * l)?, View::columns(&w.w5, 2 * l, f, f + classes)?, false)?;
    relu_backward(&mut d_h2, &enc.h2);
    // encoder.2
    grads.bias(layers.encoder_2.bias(), column_sums(&d_h2, c2))?;
    let mut d_w = vec![0f32; c2 * kk * c1];
    matmul(&mut d_w, View::new(&d_h2, n * p2, c2)?.t(), View::new(&enc.u1, n * p2, kk * c1)?, false)?;
    grads.weight(layers.encoder_2.weight(), swap_axes(&d_w, c2, kk, c1, 1))?;
    let mut d_u1 = scratch.take(n * p2 * kk * c1);
    matmul(&mut d_u1, View::new(&d_h2, n * p2, c2)?, View::new(&w.w2, c2, kk * c1)?, false)?;
    let mut d_h1 = scratch.fold(half, &d_u1, n)?; // [n·p1, c1]
    relu_backward(&mut d_h1, &enc.h1);
    // encoder.0
    grads.bias(layers.encoder_0.bias(), column_sums(&d_h1, c1))?;
    let mut d_w = vec![0f32; c1 * kk * ch];
    matmul(&mut d_w, View::new(&d_h1, n * p1, c1)?.t(), View::new(&enc.u0, n * p1, kk * ch)?, false)?;
    grads.weight(layers.encoder_0.weight(), swap_axes(&d_w, c1, kk, ch, 1))?;
    scratch.keep([enc.u0, enc.h1, enc.u1, enc.h2, dec.h3, dec.r3, dec.h4, dec.r5, d_logits, d_r5, d_h4, d_r3, d_h3, d_h2, d_u1, d_h1]);
    Ok(PartGradient { recon_sum, kl_sum: posterior.kl_sum, grads: grads.store })
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
