//! The latent map's scatter of encoded test images: points in probability space and their pixels.

use crate::grid::normal_cdf;

/// The points of a scatter in probability space: (Φ(z[dx]), Φ(z[dy])) for each latent `z` of
/// `means` [count, latent], as [count, 2]. `None` when a dimension is out of range.
pub fn probability_points(means: &[f32], latent: usize, dx: usize, dy: usize) -> Option<Vec<f32>> {
    if latent == 0 || dx >= latent || dy >= latent || !means.len().is_multiple_of(latent) {
        return None;
    }
    let cdf = |z: f32| normal_cdf(f64::from(z)) as f32;
    Some(means.chunks_exact(latent).flat_map(|z| [cdf(z[dx]), cdf(z[dy])]).collect())
}

/// The part of probability space [0, 1]² a map shows: u from `u0` to `u1` left to right, v from
/// `v1` at the top down to `v0`.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub u0: f32,
    pub u1: f32,
    pub v0: f32,
    pub v1: f32,
}

/// The scatter as straight RGBA [height, width, 4] on a transparent background: a square of side
/// about 2·`radius` px per point, `colours[label % colours.len()]` at half opacity, composited
/// source-over in order. Points outside the view are skipped; `labels` shorter than `points` count
/// as label 0.
pub fn scatter_rgba(points: &[f32], labels: &[u8], colours: &[[u8; 3]], view: View, width: usize, height: usize, radius: f32) -> Vec<u8> {
    let mut px = vec![0u8; 4 * width * height];
    if colours.is_empty() || width == 0 || height == 0 {
        return px;
    }
    let (sx, sy) = (width as f32 / (view.u1 - view.u0), height as f32 / (view.v1 - view.v0));
    let clamp = |a: f32, n: usize| (a.round().max(0.0) as usize).min(n);
    for (i, p) in points.chunks_exact(2).enumerate() {
        let (x, y) = ((p[0] - view.u0) * sx, (view.v1 - p[1]) * sy);
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        let (xa, xb) = (clamp(x - radius, width), clamp(x + radius, width));
        let (ya, yb) = (clamp(y - radius, height), clamp(y + radius, height));
        let colour = colours[usize::from(labels.get(i).copied().unwrap_or(0)) % colours.len()];
        for row in ya..yb {
            for o in px[4 * (row * width + xa)..4 * (row * width + xb)].chunks_exact_mut(4) {
                blend_half(o, colour);
            }
        }
    }
    px
}

/// `colour` at alpha ½ over the straight-alpha pixel `o`.
fn blend_half(o: &mut [u8], colour: [u8; 3]) {
    let a = f32::from(o[3]) / 255.0;
    let out = 0.5 + 0.5 * a;
    let keep = 0.5 * a / out;
    for (c, &s) in o[..3].iter_mut().zip(&colour) {
        *c = (f32::from(s) + (f32::from(*c) - f32::from(s)) * keep).round() as u8;
    }
    o[3] = (255.0 * out).round() as u8;
}
