//! The conv VAE's forward pass ([`crate::arch::conv`]) on plain channels-last buffers: each layer
//! one matrix product ([`crate::matmul`], the fused relaxed-SIMD kernels in that wasm build) with
//! an im2col or col2im copy ([`Patches::unfold_channels_last`]), bias and ReLU fused into one
//! loop. The training gradient ([`crate::conv_gradient`]) runs it and keeps the activations for
//! its backward pass; inference ([`crate::packed`]: the latent grid, a drawing) runs it with
//! the weights permuted once. candle's own layers are the reference (tests/packed.rs, and
//! tests/gradient.rs through the gradient).
//!
//! Activations are kept channels last ([n·positions, channels]) so that a convolution's output
//! is already the next layer's input rows; the weights are permuted to match (`Conv2d`
//! [O, I, k, k] → [O, k², I], `ConvTranspose2d` [I, O, k, k] → [I, k², O], the linear layers'
//! feature axis from PyTorch's (channel, position) flattening to (position, channel)). With U the
//! unfolded input: a convolution is y = U Wᵀ + b, a transposed one y = fold(x W) + b.

use std::borrow::Cow;
use std::cell::RefCell;

use candle_core::{bail, Result, Tensor};

use crate::arch::conv::{KERNEL, WINDOW};
use crate::arch::unfold::Patches;
use crate::gradient::{add_bias, relu_with_bias_in_place as relu_with_bias, rows as values};
use crate::matmul::{matmul, swap_axes, View};
use crate::model::Vae;

/// A conv VAE's weights channels last, with its layer sizes.
#[derive(Clone, Debug)]
pub struct ConvWeights {
    /// The first convolution's input (and the last transposed one's output), and the second's.
    pub(crate) image: Patches,
    pub(crate) half: Patches,
    pub(crate) ch: usize,
    pub(crate) c1: usize,
    pub(crate) c2: usize,
    pub(crate) latent: usize,
    pub(crate) classes: usize,
    /// Positions of the image and of the half-size one; features after the encoder (c2·p2).
    pub(crate) p1: usize,
    pub(crate) p2: usize,
    pub(crate) f: usize,
    pub(crate) w0: Vec<f32>,  // [c1, k²·C]
    pub(crate) w2: Vec<f32>,  // [c2, k²·c1]
    pub(crate) w5: Vec<f32>,  // [2L, f + classes]
    pub(crate) wd0: Vec<f32>, // [f, L + classes]
    pub(crate) wd3: Vec<f32>, // [c2, k²·c1]
    pub(crate) wd5: Vec<f32>, // [c1, k²·C]
    pub(crate) b0: Vec<f32>,
    pub(crate) b2: Vec<f32>,
    pub(crate) b5: Vec<f32>,
    pub(crate) bd0: Vec<f32>, // (position, channel) order
    pub(crate) bd3: Vec<f32>,
    pub(crate) bd5: Vec<f32>,
}

/// The encoder's activations for n images: unfolded inputs `u0`, `u1`, layer outputs `h1`, `h2`,
/// and the posterior's statistics `s` = [μ, log σ²] [n, 2L].
pub(crate) struct Encoded {
    pub u0: Vec<f32>,
    pub h1: Vec<f32>,
    pub u1: Vec<f32>,
    pub h2: Vec<f32>,
    /// `h2` with each image's label appended, for a conditional model.
    pub labelled: Option<Vec<f32>>,
    pub s: Vec<f32>,
}

impl Encoded {
    /// The last layer's input [n, f + classes].
    pub fn enc_in(&self) -> &[f32] {
        self.labelled.as_deref().unwrap_or(&self.h2)
    }
}

/// The decoder's activations for n latent points: `h3` [n·p2, c2], the product `r3` before its
/// fold, `h4` [n·p1, c1], `r5`, and the logits [n, H, W, C].
pub(crate) struct Decoded {
    pub h3: Vec<f32>,
    pub r3: Vec<f32>,
    pub h4: Vec<f32>,
    pub r5: Vec<f32>,
    pub logits: Vec<f32>,
}

impl ConvWeights {
    pub fn new(vae: &Vae) -> Result<Self> {
        let Some(conv) = vae.conv() else { bail!("the conv forward pass is the conv VAE's; this model is {}", vae.config().describe()) };
        let config = vae.config();
        let (shape, latent, classes) = (config.shape, config.latent, config.classes);
        let (c1, c2) = conv.channels();
        let layers = conv.layers();
        let (ch, kk) = (shape.channels, KERNEL * KERNEL);
        let image = Patches { window: WINDOW, channels: ch, height: shape.height, width: shape.width };
        let half = Patches { window: WINDOW, channels: c1, height: shape.height / 2, width: shape.width / 2 };
        let (p1, p2) = (image.count()?, half.count()?);
        let f = c2 * p2;
        let bias = |b: Option<&Tensor>, len: usize| b.map_or_else(|| Ok(vec![0f32; len]), values);
        Ok(Self {
            image,
            half,
            ch,
            c1,
            c2,
            latent,
            classes,
            p1,
            p2,
            f,
            w0: swap_axes(&values(layers.encoder_0.weight())?, c1, ch, kk, 1),
            w2: swap_axes(&values(layers.encoder_2.weight())?, c2, c1, kk, 1),
            w5: permute_feature_columns(&values(layers.encoder_5.weight())?, c2, p2, f + classes),
            wd0: swap_axes(&values(layers.decoder_0.weight())?, 1, c2, p2, latent + classes),
            wd3: swap_axes(&values(layers.decoder_3.weight())?, c2, c1, kk, 1),
            wd5: swap_axes(&values(layers.decoder_5.weight())?, c1, ch, kk, 1),
            b0: bias(layers.encoder_0.bias(), c1)?,
            b2: bias(layers.encoder_2.bias(), c2)?,
            b5: bias(layers.encoder_5.bias(), 2 * latent)?,
            bd0: swap_axes(&bias(layers.decoder_0.bias(), f)?, 1, c2, p2, 1),
            bd3: bias(layers.decoder_3.bias(), c1)?,
            bd5: bias(layers.decoder_5.bias(), ch)?,
        })
    }

    /// The encoder on images `x` [n, H, W, C] (channels last) and, for a conditional model,
    /// one-hot `labels` [n, classes].
    pub(crate) fn encode(&self, x: &[f32], n: usize, labels: Option<&[f32]>, scratch: &mut Scratch) -> Result<Encoded> {
        let (kk, ch, c1, c2, p1, p2, f, l) = (KERNEL * KERNEL, self.ch, self.c1, self.c2, self.p1, self.p2, self.f, self.latent);
        let u0 = scratch.unfold(&self.image, x, n)?; // [n·p1, k²·C]
        let mut h1 = scratch.take(n * p1 * c1);
        matmul(&mut h1, View::new(&u0, n * p1, kk * ch)?, View::new(&self.w0, c1, kk * ch)?.t(), false)?;
        relu_with_bias(&mut h1, &self.b0);
        let u1 = scratch.unfold(&self.half, &h1, n)?; // [n·p2, k²·c1]
        let mut h2 = scratch.take(n * f);
        matmul(&mut h2, View::new(&u1, n * p2, kk * c1)?, View::new(&self.w2, c2, kk * c1)?.t(), false)?;
        relu_with_bias(&mut h2, &self.b2);
        let labelled = match with_labels(&h2, f, labels, self.classes)? {
            Cow::Borrowed(_) => None,
            Cow::Owned(rows) => Some(rows),
        };
        let mut s = vec![0f32; n * 2 * l];
        let input = labelled.as_deref().unwrap_or(&h2);
        matmul(&mut s, View::new(input, n, f + self.classes)?, View::new(&self.w5, 2 * l, f + self.classes)?.t(), false)?;
        add_bias(&mut s, &self.b5);
        Ok(Encoded { u0, h1, u1, h2, labelled, s })
    }

    /// The decoder on latent points `dec_in` [n, L + classes] (each with its one-hot label for a
    /// conditional model): its activations and the logits [n, H, W, C].
    pub(crate) fn decode(&self, dec_in: &[f32], n: usize, scratch: &mut Scratch) -> Result<Decoded> {
        let (kk, ch, c1, c2, p1, p2, f, lc) =
            (KERNEL * KERNEL, self.ch, self.c1, self.c2, self.p1, self.p2, self.f, self.latent + self.classes);
        let mut h3 = scratch.take(n * f);
        matmul(&mut h3, View::new(dec_in, n, lc)?, View::new(&self.wd0, f, lc)?.t(), false)?;
        relu_with_bias(&mut h3, &self.bd0); // [n·p2, c2]
        let mut r3 = scratch.take(n * p2 * kk * c1);
        matmul(&mut r3, View::new(&h3, n * p2, c2)?, View::new(&self.wd3, c2, kk * c1)?, false)?;
        let mut h4 = scratch.fold(&self.half, &r3, n)?; // [n·p1, c1]
        relu_with_bias(&mut h4, &self.bd3);
        let mut r5 = scratch.take(n * p1 * kk * ch);
        matmul(&mut r5, View::new(&h4, n * p1, c1)?, View::new(&self.wd5, c1, kk * ch)?, false)?;
        let mut logits = scratch.fold(&self.image, &r5, n)?; // [n, H, W, C]
        add_bias(&mut logits, &self.bd5);
        Ok(Decoded { h3, r3, h4, r5, logits })
    }
}

thread_local! {
    /// The last pass's big buffers on this thread, for the next one ([`Scratch`]).
    static SCRATCH: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// The activations (and, in training, their gradients) of one pass, in the buffers of the last
/// pass on this thread where their sizes match (every training step but an epoch's last, shorter
/// one; every grid of the same size): otherwise a training step allocates and zeroes about 35 MB
/// for a half batch of 64 images. A buffer taken holds stale values; each is written whole before
/// it is read (a product's output, which `matmul` writes without reading when it does not
/// accumulate, an unfold, which writes the padding's zeros too, or a fold, which zeroes first).
pub(crate) struct Scratch {
    free: Vec<Vec<f32>>,
}

impl Scratch {
    pub fn new() -> Self {
        Self { free: SCRATCH.take() }
    }

    /// A buffer of `len` values, contents unspecified.
    pub fn take(&mut self, len: usize) -> Vec<f32> {
        match self.free.iter().position(|v| v.len() == len) {
            Some(i) => self.free.swap_remove(i),
            None => vec![0.0; len],
        }
    }

    pub fn unfold(&mut self, patches: &Patches, images: &[f32], batch: usize) -> Result<Vec<f32>> {
        let mut out = self.take(batch * patches.count()? * patches.per_patch());
        patches.unfold_channels_last_into(images, batch, &mut out)?;
        Ok(out)
    }

    pub fn fold(&mut self, patches: &Patches, rows: &[f32], batch: usize) -> Result<Vec<f32>> {
        let mut out = self.take(batch * patches.channels * patches.height * patches.width);
        patches.fold_channels_last_into(rows, batch, &mut out)?;
        Ok(out)
    }

    /// Keeps `buffers` for this thread's next pass (and only them).
    pub fn keep(self, buffers: impl IntoIterator<Item = Vec<f32>>) {
        SCRATCH.set(buffers.into_iter().collect());
    }
}

/// A row-major weight [R, width] whose first c2·p2 columns are features in PyTorch's
/// (channel, position) order, rearranged to (position, channel); the rest (labels) stay.
pub(crate) fn permute_feature_columns(w: &[f32], c2: usize, p2: usize, width: usize) -> Vec<f32> {
    rearrange_rows(w, width, |features| swap_axes(features, 1, c2, p2, 1), c2 * p2)
}

/// The inverse of [`permute_feature_columns`].
pub(crate) fn unpermute_feature_columns(w: &[f32], c2: usize, p2: usize, width: usize) -> Vec<f32> {
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
pub(crate) fn with_labels<'a>(m: &'a [f32], width: usize, labels: Option<&[f32]>, classes: usize) -> Result<Cow<'a, [f32]>> {
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
