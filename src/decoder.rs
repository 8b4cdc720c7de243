//! The decoder for inference, with its weights packed for a register-blocked matrix product.
//!
//! Decoding the 20×20 latent grid is one product of the hidden activations [400, H] with
//! `decoder.2.weight`ᵀ [H, 784]: 160 M multiply-adds for H = 512, nearly all of the work. Here
//! that weight is stored transposed and cut into panels of [`NR`] columns, and each block of
//! [`MR`] rows × [`NR`] columns of the output is accumulated in registers (8 SIMD registers in
//! wasm's 128-bit SIMD, which the compiler vectorises this plain Rust into), streaming one panel
//! (16 KB for H = 512, which stays in L1) per column block. Hidden units that the ReLU zeroed in
//! all of a block's rows are skipped ([`ActiveRows`]): about 40% of the product on the grid.
//! Bias, ReLU and sigmoid are applied in the same passes. [`Vae::decode`] is the reference:
//! tests/decoder.rs checks this against it to 1e-5.

use candle_core::Result;

use crate::model::{Vae, IMAGE_PIXELS, IMAGE_SIDE};

/// Output rows per register block.
const MR: usize = 4;
/// Output columns per panel: two 4-lane SIMD vectors. 784 = 98 · 8.
const NR: usize = 8;

/// The decoder of a [`Vae`], packed.
#[derive(Clone, Debug)]
pub struct PackedDecoder {
    latent: usize,
    /// Label classes C of a conditional model (0 for a plain one).
    classes: usize,
    /// Input width: L, plus C one-hot label columns for a conditional model.
    input: usize,
    hidden: usize,
    /// `decoder.0.weight` [H, input], row-major.
    w0: Vec<f32>,
    b0: Vec<f32>,
    /// `decoder.2.weight`ᵀ in 784/NR panels, each [H, NR] row-major.
    panels: Vec<f32>,
    /// `decoder.2.bias` [784].
    b2: Vec<f32>,
}

impl PackedDecoder {
    pub fn new(vae: &Vae) -> Result<Self> {
        let [_, _, dec0, dec2] = vae.layers();
        let values = |t: &candle_core::Tensor| t.flatten_all()?.to_vec1::<f32>();
        let bias = |layer: &candle_nn::Linear, n: usize| layer.bias().map_or(Ok(vec![0.0; n]), values);
        let (hidden, input) = dec0.weight().dims2()?;
        let config = vae.config();
        let w2 = values(dec2.weight())?; // [784, H]
        let mut panels = Vec::with_capacity(w2.len());
        for col0 in (0..IMAGE_PIXELS).step_by(NR) {
            for k in 0..hidden {
                panels.extend((col0..col0 + NR).map(|col| w2[col * hidden + k]));
            }
        }
        let (latent, classes) = (config.latent, config.classes);
        Ok(Self { latent, classes, input, hidden, w0: values(dec0.weight())?, b0: bias(dec0, hidden)?, panels, b2: bias(dec2, IMAGE_PIXELS)? })
    }

    /// Bernoulli means in [0, 1] for B latent points (B·L values, row-major; B labels for a
    /// conditional model): B·784 values, as [`Vae::decode`].
    pub fn decode(&self, z: &[f32], labels: Option<&[u8]>) -> Result<Vec<f32>> {
        let mut out = self.logits(z, labels)?;
        out.iter_mut().for_each(|v| *v = sigmoid(*v));
        Ok(out)
    }

    /// The decoder's logits for B latent points (and labels), as [`Vae::decode_logits`]: B·784 values.
    pub fn logits(&self, z: &[f32], labels: Option<&[u8]>) -> Result<Vec<f32>> {
        let inputs = self.inputs(z, labels)?;
        let b = inputs.len() / self.input;
        let h = self.hidden_activations(&inputs);
        let blocks: Vec<ActiveRows> = (0..b).step_by(MR).map(|first| ActiveRows::new(&h, self.hidden, first, b)).collect();
        let mut out = vec![0f32; b * IMAGE_PIXELS];
        for (j, panel) in self.panels.chunks_exact(self.hidden * NR).enumerate() {
            let col0 = j * NR;
            let (panel, _) = panel.as_chunks::<NR>();
            let bias: [f32; NR] = std::array::from_fn(|c| self.b2[col0 + c]);
            for (block_index, rows) in blocks.iter().enumerate() {
                let acc = block(panel, rows);
                let first = block_index * MR;
                for (r, acc) in acc.iter().enumerate().take(b - first) {
                    let dst = &mut out[(first + r) * IMAGE_PIXELS + col0..][..NR];
                    for ((d, a), bias) in dst.iter_mut().zip(acc).zip(&bias) {
                        *d = a + bias;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Each point's z followed by its one-hot label (conditional models): [B, input].
    fn inputs(&self, z: &[f32], labels: Option<&[u8]>) -> Result<Vec<f32>> {
        let l = self.latent;
        if l == 0 || z.len() % l != 0 {
            candle_core::bail!("{} latent values are not a whole number of {l}-dimensional points", z.len());
        }
        let b = z.len() / l;
        match (self.classes, labels) {
            (0, None) => Ok(z.to_vec()),
            (0, Some(_)) => candle_core::bail!("this VAE is not conditional: it takes no label"),
            (_, None) => candle_core::bail!("this conditional VAE needs a label for every input"),
            (c, Some(labels)) => {
                if labels.len() != b {
                    candle_core::bail!("{} labels for {b} inputs", labels.len());
                }
                let mut inputs = Vec::with_capacity(b * self.input);
                for (point, &label) in z.chunks_exact(l).zip(labels) {
                    if label as usize >= c {
                        candle_core::bail!("label {label} is out of range for {c} classes");
                    }
                    inputs.extend_from_slice(point);
                    inputs.extend((0..c).map(|k| if k == label as usize { 1.0 } else { 0.0 }));
                }
                Ok(inputs)
            }
        }
    }

    /// relu(inputs · W0ᵀ + b0): [B, H]. Small (H · input multiply-adds per point).
    fn hidden_activations(&self, inputs: &[f32]) -> Vec<f32> {
        let mut h = Vec::with_capacity(inputs.len() / self.input.max(1) * self.hidden);
        for x in inputs.chunks_exact(self.input) {
            for (w, b) in self.w0.chunks_exact(self.input).zip(&self.b0) {
                let a: f32 = w.iter().zip(x).map(|(w, x)| w * x).sum::<f32>() + b;
                h.push(a.max(0.0));
            }
        }
        h
    }
}

/// MR rows of the hidden activations (zero rows past the last point), keeping only the units
/// active in at least one of them. ReLU zeroes about 45% of the decoder's hidden units on the
/// latent grid, and 39% are zero in all four rows of a block (shipped 2-D models), so that share of
/// the product is skipped. The sums do not change: the skipped terms are exact zeros.
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
    if x >= 0.0 { s } else { e * s }
}

/// Decodes `cols`·`rows` latent points (row-major grid order; labels for a conditional model) and
/// tiles them into the RGBA pixels of a (28·cols)×(28·rows) opaque grey image, with the sigmoid
/// and byte conversion in the same pass: [`crate::grid::tile_rgba`] of the decoded images.
pub fn decode_tiles_rgba(decoder: &PackedDecoder, z: &[f32], labels: Option<&[u8]>, cols: usize, rows: usize) -> Result<Vec<u8>> {
    let logits = decoder.logits(z, labels)?;
    let width = IMAGE_SIDE * cols;
    let mut out = vec![0u8; width * IMAGE_SIDE * rows * 4];
    for (k, image) in logits.chunks_exact(IMAGE_PIXELS).enumerate().take(cols * rows) {
        let (gr, gc) = (k / cols, k % cols);
        for (r, line) in image.chunks_exact(IMAGE_SIDE).enumerate() {
            let start = 4 * ((gr * IMAGE_SIDE + r) * width + gc * IMAGE_SIDE);
            for (px, &logit) in out[start..start + 4 * IMAGE_SIDE].chunks_exact_mut(4).zip(line) {
                // sigmoid is in [0, 1]: no clamp needed before rounding to a byte.
                let g = (sigmoid(logit) * 255.0 + 0.5) as u32;
                px.copy_from_slice(&(0xff00_0000 | g * 0x0001_0101).to_le_bytes());
            }
        }
    }
    Ok(out)
}
