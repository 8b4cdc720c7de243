//! Paths and arithmetic in latent space: linear and spherical interpolation between two latent
//! points, and adding the difference of two points to a third.

/// How to move between two latent points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// (1 − t)·a + t·b.
    Linear,
    /// Spherical linear interpolation (Shoemake 1985; White 2016 for VAEs): along the great arc
    /// when the two points have the same norm, which keeps in-between points as far from the
    /// origin as typical samples of N(0, I) are.
    Spherical,
}

/// `steps` points from `a` to `b` (both L values), t = i/(steps − 1), row-major: steps·L values.
/// The first point is exactly `a` and the last exactly `b`.
pub fn interpolate(a: &[f32], b: &[f32], steps: usize, path: Path) -> Vec<f32> {
    let n = a.len().min(b.len());
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let cos = dot / (norm(a) * norm(b));
    let omega = cos.clamp(-1.0, 1.0).acos();
    // Nearly parallel (or a zero endpoint): slerp degenerates to lerp.
    let spherical = path == Path::Spherical && cos.is_finite() && omega.sin() > 1e-6;
    let mut out = Vec::with_capacity(steps * n);
    for i in 0..steps {
        let t = if steps > 1 { i as f64 / (steps - 1) as f64 } else { 0.0 };
        let (wa, wb) = if spherical { (((1.0 - t) * omega).sin() / omega.sin(), (t * omega).sin() / omega.sin()) } else { (1.0 - t, t) };
        out.extend((0..n).map(|k| (wa * a[k] as f64 + wb * b[k] as f64) as f32));
    }
    out
}

/// Latent arithmetic, `c + (b − a)`: applies to `c` the change that turns `a` into `b`.
pub fn add_difference(a: &[f32], b: &[f32], c: &[f32]) -> Vec<f32> {
    c.iter().zip(a.iter().zip(b)).map(|(&c, (&a, &b))| c + (b - a)).collect()
}
