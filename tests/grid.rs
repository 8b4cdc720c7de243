//! Latent grids: the normal quantile function against published values, the quantile axis, the
//! layout of grid latents (x across, y up) and the tiling of decoded images.

use vae::grid::{grid_latents, intensity_byte, normal_cdf, normal_quantile, quantile_axis, tile_images, tile_rgba};
use vae::ImageShape;

/// Φ⁻¹ at probabilities whose quantiles are tabulated (to 1e-8 absolute; Acklam's approximation is
/// accurate to 1.2e-9 relative).
#[test]
fn normal_quantile_matches_tabulated_values() {
    let table = [
        (0.5, 0.0),
        (0.975, 1.959_963_984_540_054),
        (0.025, -1.959_963_984_540_054),
        (0.95, 1.644_853_626_951_472_2),
        (0.841_344_746_068_542_9, 1.0), // Φ(1)
        (0.999, 3.090_232_306_167_813_5),
        (0.01, -2.326_347_874_040_841),
        (1e-10, -6.361_340_902_404_056),
        (0.3, -0.524_400_512_708_041),
    ];
    for (p, want) in table {
        let got = normal_quantile(p);
        assert!((got - want).abs() <= 1e-8 * want.abs().max(1.0), "Φ⁻¹({p}) = {got}, expected {want}");
    }
    assert_eq!(normal_quantile(0.5), 0.0);
}

/// Φ⁻¹ is odd about ½ (Φ⁻¹(1−p) = −Φ⁻¹(p)) and strictly increasing, across all three branches of
/// the approximation.
#[test]
fn normal_quantile_is_symmetric_and_increasing() {
    let ps: Vec<f64> = (1..1000).map(|i| i as f64 / 1000.0).chain([1e-6, 1e-3, 0.02, 0.0242, 0.0243, 0.025]).collect();
    for &p in &ps {
        let (a, b) = (normal_quantile(p), normal_quantile(1.0 - p));
        assert!((a + b).abs() <= 1e-9 * a.abs().max(1.0), "Φ⁻¹({p}) = {a} but Φ⁻¹({}) = {b}", 1.0 - p);
    }
    let mut sorted = ps.clone();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    for w in sorted.windows(2) {
        assert!(normal_quantile(w[0]) < normal_quantile(w[1]), "not increasing between {} and {}", w[0], w[1]);
    }
}

/// Φ matches tabulated values, and Φ(Φ⁻¹(p)) = p over (0, 1), tails included.
#[test]
fn normal_cdf_inverts_the_quantile() {
    assert_eq!(normal_cdf(0.0), 0.5);
    assert!((normal_cdf(-1.0) - 0.158_655_253_931_457_05).abs() < 1e-15);
    assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-15);
    assert!((normal_cdf(-6.0) - 9.865_876_450_376_98e-10).abs() < 1e-20);
    for p in (1..200).map(|i| i as f64 / 200.0).chain([1e-12, 1e-8, 1e-4, 0.02425, 1.0 - 1e-4, 1.0 - 1e-8]) {
        let back = normal_cdf(normal_quantile(p));
        let scale = p.min(1.0 - p);
        assert!((back - p).abs() <= 1e-7 * scale, "Φ(Φ⁻¹({p})) = {back}");
    }
}

/// `quantile_axis(n)` is ascending, symmetric about 0 (0 in the middle for odd n) and sits at the
/// probabilities (i + ½)/n.
#[test]
fn quantile_axis_is_ascending_symmetric_and_at_midpoints() {
    assert!(quantile_axis(0).is_empty());
    assert_eq!(quantile_axis(1), vec![0.0]);
    for n in [2usize, 5, 10, 15, 20, 31] {
        let xs = quantile_axis(n);
        assert_eq!(xs.len(), n);
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "n={n}: not ascending: {xs:?}");
        for i in 0..n {
            assert!((xs[i] + xs[n - 1 - i]).abs() <= 1e-6, "n={n}: not symmetric at {i}: {xs:?}");
            let p = normal_cdf(xs[i] as f64);
            assert!((p - (i as f64 + 0.5) / n as f64).abs() < 1e-6, "n={n}: Φ(xs[{i}]) = {p}");
        }
        if n % 2 == 1 {
            assert!(xs[n / 2].abs() < 1e-7);
        }
    }
    // 20 points reach ±Φ⁻¹(0.975) ≈ ±1.96 at their ends.
    let xs = quantile_axis(20);
    assert!((xs[19] - 1.959_964).abs() < 1e-5 && (xs[0] + 1.959_964).abs() < 1e-5);
}

/// Grid latents are row-major: column c has `xs[c]` on the first chosen dimension, row r has
/// `ys[rows−1−r]` on the second (the top row holds the largest y), and the other dimensions keep
/// `base`.
#[test]
fn grid_latents_put_x_across_and_y_up() {
    let xs = [-1.0f32, 0.0, 1.0]; // 3 columns
    let ys = [-2.0f32, 2.0]; // 2 rows
    let base = [0.5f32, 0.25, -0.75, 9.0];
    for dims in [(0usize, 1usize), (2, 0), (3, 1)] {
        let z = grid_latents(&xs, &ys, dims, &base);
        assert_eq!(z.len(), xs.len() * ys.len() * base.len());
        for r in 0..ys.len() {
            for c in 0..xs.len() {
                let point = &z[(r * xs.len() + c) * base.len()..][..base.len()];
                assert_eq!(point[dims.0], xs[c], "dims {dims:?}: row {r} column {c}");
                assert_eq!(point[dims.1], ys[ys.len() - 1 - r], "dims {dims:?}: row {r} column {c}");
                for (d, (&v, &b)) in point.iter().zip(&base).enumerate() {
                    if d != dims.0 && d != dims.1 {
                        assert_eq!(v, b, "dims {dims:?}: dimension {d} changed");
                    }
                }
            }
        }
        // The top row holds the largest y; the first column the smallest x.
        assert_eq!(z[dims.1], 2.0);
        assert_eq!(z[dims.0], -1.0);
    }
}

/// Image k lands at tile (row k / cols, column k % cols), pixel for pixel, in a grid that is not
/// square (so rows and columns cannot be swapped unnoticed); unused tiles stay black.
#[test]
fn tile_images_places_image_k_at_row_k_div_cols() {
    let (cols, rows) = (3usize, 2usize);
    let value = |k: usize, r: usize, c: usize| ((k * 37 + r * 5 + c * 3) % 256) as u8;
    let count = 5; // one tile left empty
    let images: Vec<f32> = (0..count).flat_map(|k| (0..784).map(move |i| value(k, i / 28, i % 28) as f32 / 255.0)).collect();
    let out = tile_images(&images, ImageShape::MNIST, cols, rows);
    let width = 28 * cols;
    assert_eq!(out.len(), width * 28 * rows);
    for k in 0..cols * rows {
        let (tr, tc) = (k / cols, k % cols);
        for r in 0..28 {
            for c in 0..28 {
                let got = out[(tr * 28 + r) * width + tc * 28 + c];
                let want = if k < count { value(k, r, c) } else { 0 };
                assert_eq!(got, want, "image {k} pixel ({r}, {c})");
            }
        }
    }
    let rgba = tile_rgba(&images, ImageShape::MNIST, cols, rows);
    assert_eq!(rgba.len(), out.len() * 4);
    assert!(rgba.chunks_exact(4).zip(&out).all(|(px, &g)| px == [g, g, g, 255]));
}

/// Intensities map to bytes by rounding, clamped to [0, 255].
#[test]
fn intensity_bytes_round_and_clamp() {
    assert_eq!(intensity_byte(0.0), 0);
    assert_eq!(intensity_byte(1.0), 255);
    assert_eq!(intensity_byte(0.5), 128);
    assert_eq!(intensity_byte(100.0 / 255.0), 100);
    assert_eq!(intensity_byte(-3.0), 0);
    assert_eq!(intensity_byte(7.0), 255);
    assert_eq!(intensity_byte(f32::NAN), 0);
}
