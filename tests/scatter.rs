//! The scatter's points and pixels, against direct computations.

use vae::grid::normal_cdf;
use vae::scatter::{probability_points, scatter_rgba, View};

/// The probability points take dimensions dx and dy of each latent through Φ, in order;
/// out-of-range dimensions and ragged input are refused.
#[test]
fn probability_points_are_phi_of_the_chosen_dimensions() {
    let means = [0.0, -1.0, 2.0, 1.0, 0.5, -3.0]; // two 3-D points
    let points = probability_points(&means, 3, 2, 0).unwrap();
    let want = [normal_cdf(2.0), normal_cdf(0.0), normal_cdf(-3.0), normal_cdf(1.0)];
    assert_eq!(points.len(), 4);
    for (got, want) in points.iter().zip(want) {
        assert!((f64::from(*got) - want).abs() < 1e-7, "{got} vs {want}");
    }
    assert!(probability_points(&means, 3, 3, 0).is_none());
    assert!(probability_points(&means, 4, 0, 1).is_none());
    assert!(probability_points(&means, 0, 0, 0).is_none());
}

const FULL: View = View { u0: 0.0, u1: 1.0, v0: 0.0, v1: 1.0 };

/// One point paints its square at half opacity in its label's colour; everything else stays
/// transparent; v runs upwards.
#[test]
fn a_point_is_a_half_opaque_square_of_its_colour() {
    let colours = [[255, 0, 0], [0, 0, 255]];
    // u = 0.25, v = 0.75 on a 40×20 map: x = 10, y = 5.
    let px = scatter_rgba(&[0.25, 0.75], &[1], &colours, FULL, 40, 20, 1.2);
    let at = |x: usize, y: usize| &px[4 * (y * 40 + x)..4 * (y * 40 + x) + 4];
    let inked: Vec<(usize, usize)> = (0..20).flat_map(|y| (0..40).map(move |x| (x, y))).filter(|&(x, y)| at(x, y)[3] > 0).collect();
    assert_eq!(inked, vec![(9, 4), (10, 4), (9, 5), (10, 5)], "round(10 ± 1.2) = 9..11 and round(5 ± 1.2) = 4..6");
    assert_eq!(at(9, 4), [0, 0, 255, 128]);
}

/// Overlapping points composite source-over: the later point's colour over the earlier one, the
/// alpha 1 − ½·½; points outside the view or not finite paint nothing.
#[test]
fn overlapping_points_composite_and_outside_points_are_skipped() {
    let colours = [[200, 0, 0], [0, 100, 0]];
    let px = scatter_rgba(&[0.5, 0.5, 0.5, 0.5, 3.0, 0.5, f32::NAN, 0.5], &[0, 1, 0, 0], &colours, FULL, 10, 10, 1.0);
    let o = 4 * (5 * 10 + 5);
    // Alpha ¾ (192: the first alpha is stored as 128/255); colour = (½·src + ¼·dst) / ¾.
    assert_eq!(&px[o..o + 4], &[67, 67, 0, 192]);
    let inked = px.chunks_exact(4).filter(|p| p[3] > 0).count();
    assert_eq!(inked, 4, "only the two overlapping points' 2×2 square is painted");
    // A zoomed view moves the point: u 0.5 in [0.5, 1] is the left edge.
    let zoomed = scatter_rgba(&[0.5, 0.5], &[0], &colours, View { u0: 0.5, u1: 1.0, v0: 0.0, v1: 1.0 }, 10, 10, 1.0);
    let xs: Vec<usize> = zoomed.chunks_exact(4).enumerate().filter(|(_, p)| p[3] > 0).map(|(i, _)| i % 10).collect();
    assert!(xs.iter().all(|&x| x == 0), "{xs:?}");
}
