//! Latent grids: the N×N decoded images across a 2-D slice of latent space (Kingma & Welling,
//! figure 4).

use candle_core::{Result, Tensor};

use crate::model::Vae;
use crate::shape::ImageShape;

/// Φ⁻¹(p), the standard normal quantile function (Acklam's rational approximation, relative
/// error below 1.2e-9), for p in (0, 1).
#[allow(clippy::excessive_precision)] // Acklam's published coefficients, as published
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] =
        [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
    const B: [f64; 5] = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] =
        [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Φ(z), the standard normal cumulative distribution function.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// The N latent coordinates at the Gaussian quantiles Φ⁻¹((i + ½)/N), i = 0..N, ascending.
pub fn quantile_axis(n: usize) -> Vec<f32> {
    (0..n).map(|i| normal_quantile((i as f64 + 0.5) / n as f64) as f32).collect()
}

/// Latents of an N×N grid, row-major [N·N, L]: column c sets dimension `dims.0` to `xs[c]`, row r
/// sets `dims.1` to `ys[N−1−r]` (up is positive, as on a plot); the other dimensions are `base`.
pub fn grid_latents(xs: &[f32], ys: &[f32], dims: (usize, usize), base: &[f32]) -> Vec<f32> {
    let l = base.len();
    let mut z = Vec::with_capacity(xs.len() * ys.len() * l);
    for &y in ys.iter().rev() {
        for &x in xs {
            let start = z.len();
            z.extend_from_slice(base);
            z[start + dims.0] = x;
            z[start + dims.1] = y;
        }
    }
    z
}

/// Decodes latents `z` (row-major, B·L values) into B images: B·P intensities in [0, 1]. A
/// conditional model needs one label per point in `labels`; a plain one takes none.
pub fn decode_flat(vae: &Vae, z: &[f32], labels: Option<&[u8]>) -> Result<Vec<f32>> {
    let l = vae.config().latent;
    if l == 0 || !z.len().is_multiple_of(l) {
        candle_core::bail!("{} latent values are not a whole number of {l}-dimensional points", z.len());
    }
    let z = Tensor::from_slice(z, (z.len() / l, l), vae.device())?;
    let y = labels.map(|labels| one_hot_for(vae, labels, z.dim(0)?)).transpose()?;
    vae.decode(&z, y.as_ref())?.flatten_all()?.to_vec1::<f32>()
}

/// One-hot labels [B, C] for a conditional `vae`, checking there is one label per input.
pub fn one_hot_for(vae: &Vae, labels: &[u8], count: usize) -> Result<Tensor> {
    if !vae.config().is_conditional() {
        candle_core::bail!("this VAE is not conditional: it takes no label");
    }
    if labels.len() != count {
        candle_core::bail!("{} labels for {count} inputs", labels.len());
    }
    crate::model::one_hot(labels, vae.config().classes, vae.device())
}

/// Tiles `cols`·`rows` images of `shape` (channel-major intensities, row-major order) into one
/// (W·cols)×(H·rows) image: row-major pixels of C interleaved bytes (grey, or RGB).
pub fn tile_images(images: &[f32], shape: ImageShape, cols: usize, rows: usize) -> Vec<u8> {
    let c = shape.channels;
    tile(images, shape, cols, rows, c, |px, dst| dst.copy_from_slice(&px[..c]))
}

/// [`tile_images`] as opaque RGBA pixels, ready for a canvas `ImageData`: grey images are
/// repeated across R, G and B.
pub fn tile_rgba(images: &[f32], shape: ImageShape, cols: usize, rows: usize) -> Vec<u8> {
    tile(images, shape, cols, rows, 4, |px, dst| {
        let rgb = if px.len() >= 3 { [px[0], px[1], px[2]] } else { [px[0]; 3] };
        dst[..3].copy_from_slice(&rgb);
        dst[3] = 255;
    })
}

/// The tiling of [`tile_images`], each pixel's channel bytes written into its `n` output bytes by `write`.
fn tile(images: &[f32], shape: ImageShape, cols: usize, rows: usize, n: usize, write: impl Fn(&[u8], &mut [u8])) -> Vec<u8> {
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let width = w * cols;
    let mut out = vec![0u8; n * width * h * rows]; // unused tiles stay black
    if n == 4 {
        out.chunks_exact_mut(4).for_each(|p| p[3] = 255);
    }
    let mut px = vec![0u8; c];
    for (k, img) in images.chunks_exact(shape.pixels().max(1)).enumerate().take(cols * rows) {
        let (gr, gc) = (k / cols, k % cols);
        for r in 0..h {
            let start = n * ((gr * h + r) * width + gc * w);
            for (x, dst) in out[start..start + n * w].chunks_exact_mut(n).enumerate() {
                for (ch, p) in px.iter_mut().enumerate() {
                    *p = intensity_byte(img[ch * h * w + r * w + x]);
                }
                write(&px, dst);
            }
        }
    }
    out
}

/// An intensity in [0, 1] as a byte, rounded to nearest (written as +0.5 and truncate: `round`
/// is a libm call in wasm, and this runs for every pixel of the grid).
pub fn intensity_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}
