//! The VAE for inference, with its weights packed for a register-blocked matrix product.
//!
//! Decoding the 20×20 latent grid is one product of the hidden activations [400, H] with
//! `decoder.2.weight`ᵀ [H, 784]: 160 M multiply-adds for H = 512, nearly all of the work; encoding
//! is the same product the other way round. Each layer's weight is stored transposed and cut into
//! panels of [`NR`] columns ([`PackedLinear`]), and each block of [`MR`] rows × [`NR`] columns of
//! the output is accumulated in registers (8 SIMD registers in wasm's 128-bit SIMD, which the
//! compiler vectorises this plain Rust into), streaming one panel (16 KB for H = 512, which stays
//! in L1) per column block. Inputs that are zero in all of a block's rows are skipped
//! ([`ActiveRows`]): hidden units the ReLU zeroed (about 40% of the grid's product) and blank
//! pixels (most of a digit). Bias and ReLU are applied in the same pass, and the sigmoid needs no
//! libm call.
//! [`Vae::encode`] and [`Vae::decode`] are the reference: tests/packed.rs checks this against them.
//!
//! The conv VAE runs [`crate::conv_forward`]'s pass on channels-last buffers, its weights
//! permuted once here: the products are the same kernels as training's (fused multiply-add in the
//! relaxed-SIMD build), where candle's own layers would run gemm's plain kernels and copy each
//! activation between layouts. Callers need not know which architecture it is.

use std::borrow::Cow;

use candle_core::Result;
use candle_nn::Linear;

use crate::conv_forward::{self, ConvWeights, Scratch};
use crate::matmul::swap_axes;
use crate::model::{one_hot_rows, Vae};

/// Output rows per register block.
const MR: usize = 4;
/// Output columns per panel: two 4-lane SIMD vectors. 784 = 98 · 8.
const NR: usize = 8;

/// A linear layer `y = x Wᵀ + b` with W [out, in] packed in panels of [`NR`] columns.
#[derive(Clone, Debug)]
pub struct PackedLinear {
    inputs: usize,
    outputs: usize,
    /// Wᵀ [in, out], its columns padded with zeros to a multiple of NR and cut into panels of
    /// [in, NR], row-major.
    panels: Vec<f32>,
    bias: Vec<f32>,
}

impl PackedLinear {
    pub fn new(layer: &Linear) -> Result<Self> {
        let (outputs, inputs) = layer.weight().dims2()?;
        let w = layer.weight().flatten_all()?.to_vec1::<f32>()?;
        let bias = layer.bias().map_or(Ok(vec![0.0; outputs]), |b| b.flatten_all()?.to_vec1::<f32>())?;
        let mut panels = Vec::with_capacity(outputs.next_multiple_of(NR) * inputs);
        for col0 in (0..outputs).step_by(NR) {
            for k in 0..inputs {
                panels.extend((col0..col0 + NR).map(|col| if col < outputs { w[col * inputs + k] } else { 0.0 }));
            }
        }
        Ok(Self { inputs, outputs, panels, bias })
    }

    /// `x` (n rows of `inputs` values) → n rows of `outputs` values, through a ReLU if `relu`.
    pub fn forward(&self, x: &[f32], relu: bool) -> Vec<f32> {
        let n = x.len() / self.inputs.max(1);
        let blocks: Vec<ActiveRows> = (0..n).step_by(MR).map(|first| ActiveRows::new(x, self.inputs, first, n)).collect();
        let mut out = vec![0f32; n * self.outputs];
        for (j, panel) in self.panels.chunks_exact(self.inputs * NR).enumerate() {
            let col0 = j * NR;
            let width = NR.min(self.outputs - col0);
            let (panel, _) = panel.as_chunks::<NR>();
            let bias = &self.bias[col0..col0 + width];
            for (block_index, rows) in blocks.iter().enumerate() {
                let acc = block(panel, rows);
                let first = block_index * MR;
                for (r, acc) in acc.iter().enumerate().take(n - first) {
                    let dst = &mut out[(first + r) * self.outputs + col0..][..width];
                    for ((d, a), bias) in dst.iter_mut().zip(acc).zip(bias) {
                        *d = if relu { (a + bias).max(0.0) } else { a + bias };
                    }
                }
            }
        }
        out
    }
}

/// A [`Vae`] for inference: the MLP's four layers packed, any other architecture as it is.
#[derive(Clone, Debug)]
pub struct PackedVae {
    latent: usize,
    /// Label classes C of a conditional model (0 for a plain one).
    classes: usize,
    /// Values per image.
    pixels: usize,
    net: Inference,
}

#[derive(Clone, Debug)]
enum Inference {
    Mlp(Box<[PackedLinear; 4]>),
    Conv(Box<ConvWeights>),
}

impl PackedVae {
    pub fn new(vae: &Vae) -> Result<Self> {
        let config = vae.config();
        let net = match vae.mlp() {
            Some(mlp) => {
                let [e0, e2, d0, d2] = mlp.layers();
                Inference::Mlp(Box::new([PackedLinear::new(e0)?, PackedLinear::new(e2)?, PackedLinear::new(d0)?, PackedLinear::new(d2)?]))
            }
            None => Inference::Conv(Box::new(ConvWeights::new(vae)?)),
        };
        Ok(Self { latent: config.latent, classes: config.classes, pixels: vae.pixels(), net })
    }

    /// The posterior of B images (B·P values in [0, 1]; B labels for a conditional model):
    /// per image, mu (L values) then log_var (L), as [`Vae::encode`].
    pub fn encode(&self, images: &[f32], labels: Option<&[u8]>) -> Result<Vec<f32>> {
        match &self.net {
            Inference::Mlp(layers) => {
                let [e0, e2, _, _] = &**layers;
                let x = self.with_labels(images, self.pixels, labels)?;
                Ok(e2.forward(&e0.forward(&x, true), false))
            }
            Inference::Conv(w) => {
                let n = self.row_count(images, self.pixels)?;
                let hot = self.one_hot(n, labels)?;
                let area = self.pixels / w.ch;
                let x = if w.ch == 1 { Cow::Borrowed(images) } else { Cow::Owned(swap_axes(images, n, w.ch, area, 1)) }; // [n, H, W, C]
                let mut scratch = Scratch::new();
                let e = w.encode(&x, n, hot.as_deref(), &mut scratch)?;
                scratch.keep([e.u0, e.h1, e.u1, e.h2]);
                Ok(e.s)
            }
        }
    }

    /// Bernoulli means in [0, 1] for B latent points (B·L values, row-major; B labels for a
    /// conditional model): B·P values, as [`Vae::decode`].
    pub fn decode(&self, z: &[f32], labels: Option<&[u8]>) -> Result<Vec<f32>> {
        let mut out = self.logits(z, labels)?;
        out.iter_mut().for_each(|v| *v = sigmoid(*v));
        Ok(out)
    }

    /// The decoder's logits for B latent points (and labels), as [`Vae::decode_logits`]: B·P values.
    pub fn logits(&self, z: &[f32], labels: Option<&[u8]>) -> Result<Vec<f32>> {
        match &self.net {
            Inference::Mlp(layers) => {
                let [_, _, d0, d2] = &**layers;
                let inputs = self.with_labels(z, self.latent, labels)?;
                Ok(d2.forward(&d0.forward(&inputs, true), false))
            }
            Inference::Conv(w) => {
                let n = self.row_count(z, self.latent)?;
                let inputs = self.with_labels(z, self.latent, labels)?;
                let mut scratch = Scratch::new();
                let d = w.decode(&inputs, n, &mut scratch)?;
                let logits = if w.ch == 1 { d.logits } else { swap_axes(&d.logits, n, self.pixels / w.ch, w.ch, 1) }; // [n, C, H, W]
                scratch.keep([d.h3, d.r3, d.h4, d.r5]);
                Ok(logits)
            }
        }
    }

    /// The labels of B inputs as one-hot rows [B, C] for a conditional model (one label per
    /// input, checked), or None for a plain one.
    fn one_hot(&self, b: usize, labels: Option<&[u8]>) -> Result<Option<Vec<f32>>> {
        match (self.classes, labels) {
            (0, None) => Ok(None),
            (0, Some(_)) => candle_core::bail!("this VAE is not conditional: it takes no label"),
            (_, None) => candle_core::bail!("this conditional VAE needs a label for every input"),
            (c, Some(labels)) if labels.len() == b => Ok(Some(one_hot_rows(labels, c)?)),
            (_, Some(labels)) => candle_core::bail!("{} labels for {b} inputs", labels.len()),
        }
    }

    fn row_count(&self, rows: &[f32], width: usize) -> Result<usize> {
        if width == 0 || rows.is_empty() || !rows.len().is_multiple_of(width) {
            let what = if width == self.pixels { "image" } else { "latent" };
            candle_core::bail!("{} {what} values are not a whole number of {width}-value rows", rows.len());
        }
        Ok(rows.len() / width)
    }

    /// Rows of `width` values (B images or latent points), each followed by its one-hot label
    /// for a conditional model: [B, width (+ C)].
    fn with_labels<'a>(&self, rows: &'a [f32], width: usize, labels: Option<&[u8]>) -> Result<Cow<'a, [f32]>> {
        let hot = self.one_hot(self.row_count(rows, width)?, labels)?;
        conv_forward::with_labels(rows, width, hot.as_deref(), self.classes)
    }
}

/// MR rows of a layer's input (zero rows past the last), keeping only the inputs non-zero in at
/// least one of them. ReLU zeroes about 45% of the decoder's hidden units on the latent grid, and
/// 39% are zero in all four rows of a block (shipped 2-D models); about 80% of an MNIST digit's
/// pixels are blank. That share of the product is skipped; the sums do not change, since the
/// skipped terms are exact zeros.
struct ActiveRows {
    units: Vec<u32>,
    /// The rows' values at each unit.
    values: Vec<[f32; MR]>,
}

impl ActiveRows {
    fn new(h: &[f32], hidden: usize, first: usize, b: usize) -> Self {
        let rows: [Option<&[f32]>; MR] = std::array::from_fn(|r| (first + r < b).then(|| &h[(first + r) * hidden..][..hidden]));
        let (mut units, mut values) = (Vec::with_capacity(hidden), Vec::with_capacity(hidden));
        for k in 0..hidden {
            let v: [f32; MR] = std::array::from_fn(|r| rows[r].map_or(0.0, |row| row[k]));
            if v.iter().any(|&x| x != 0.0) {
                units.push(k as u32);
                values.push(v);
            }
        }
        Self { units, values }
    }
}

/// One MR × NR block of the product, accumulated in registers over the block's active units.
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
#[inline(always)]
fn block(panel: &[[f32; NR]], rows: &ActiveRows) -> [[f32; NR]; MR] {
    let mut acc = [[0f32; NR]; MR];
    for (&k, a) in rows.units.iter().zip(&rows.values) {
        let b = &panel[k as usize];
        for r in 0..MR {
            for c in 0..NR {
                acc[r][c] += a[r] * b[c];
            }
        }
    }
    acc
}

/// [`block`] with relaxed SIMD's fused multiply-add (the browser's second build,
/// `scripts/build.sh`): the same sums, each product-and-add rounded once where the CPU has FMA.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
#[inline(always)]
fn block(panel: &[[f32; NR]], rows: &ActiveRows) -> [[f32; NR]; MR] {
    use core::arch::wasm32::{f32x4, f32x4_relaxed_madd, f32x4_splat, v128, v128_load, v128_store};
    const _: () = assert!(NR == 8 && MR == 4);
    let zero = f32x4(0.0, 0.0, 0.0, 0.0);
    let mut acc: [[v128; 2]; MR] = [[zero; 2]; MR];
    for (&k, a) in rows.units.iter().zip(&rows.values) {
        let b = &panel[k as usize];
        // SAFETY: `b` is 8 f32 (32 bytes), read as two unaligned 16-byte vectors.
        let (b0, b1) = unsafe { (v128_load(b.as_ptr().cast()), v128_load(b.as_ptr().add(4).cast())) };
        for (acc, &a) in acc.iter_mut().zip(a) {
            let a = f32x4_splat(a);
            acc[0] = f32x4_relaxed_madd(a, b0, acc[0]);
            acc[1] = f32x4_relaxed_madd(a, b1, acc[1]);
        }
    }
    let mut out = [[0f32; NR]; MR];
    for (out, acc) in out.iter_mut().zip(acc) {
        // SAFETY: `out` is 8 f32, written as two unaligned 16-byte vectors.
        unsafe {
            v128_store(out.as_mut_ptr().cast(), acc[0]);
            v128_store(out.as_mut_ptr().add(4).cast(), acc[1]);
        }
    }
    out
}

/// The logistic function 1/(1 + e^−x), within 3e-7 of the exact value, without a libm call so
/// that loops over it vectorise: e^−|x| = 2^k·e^r with k = round(−|x|/ln 2), |r| ≤ ln 2 / 2, and
/// e^r by its degree-6 Taylor polynomial (error below r⁷/7! ≈ 1.2e-7, relative).
pub fn sigmoid(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4; // ln 2 split in two (Cody–Waite) so k·ln 2 is exact enough
    const LN2_LO: f32 = -2.121_944_4e-4;
    let y = (-x.abs()).max(-87.0); // e^−87 ≈ 1.6e-38: past it, e^y is 0 for every purpose here
    let k = (y * std::f32::consts::LOG2_E - 0.5).ceil(); // round to nearest; `round` is a libm call in wasm
    let r = y - k * LN2_HI - k * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let e = p * f32::from_bits(((k as i32 + 127) as u32) << 23); // e^−|x| in (0, 1]
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 {
        s
    } else {
        e * s
    }
}
