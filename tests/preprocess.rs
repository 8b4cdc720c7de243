//! `mnist_input`: a drawing on a canvas becomes a 28×28 input prepared the way MNIST's digits
//! were (bounding box scaled so its longer side is 20 px, aspect kept, area-averaged, centre of
//! mass moved to the frame's centre). Everything is measured independently on the output.

use vae::preprocess::mnist_input;

const SIDE: usize = 280;

/// A blank 280×280 canvas (0 = paper).
fn canvas() -> Vec<u8> {
    vec![0; SIDE * SIDE]
}

/// Inks the rectangle [x0, x1) × [y0, y1) fully.
fn fill(c: &mut [u8], (x0, y0): (usize, usize), (x1, y1): (usize, usize)) {
    for y in y0..y1 {
        c[y * SIDE + x0..y * SIDE + x1].fill(255);
    }
}

/// Measurements of a 28×28 output: bounding box of non-zero pixels (x0, y0, x1, y1; exclusive
/// ends), total ink, and centre of mass with pixel i spanning [i, i+1] (so the frame's centre is 14).
struct Measured {
    bbox: (usize, usize, usize, usize),
    mass: f64,
    com: (f64, f64),
}

fn measure(img: &[f32]) -> Measured {
    assert_eq!(img.len(), 784);
    let (mut x0, mut y0, mut x1, mut y1) = (28, 28, 0, 0);
    let (mut mass, mut mx, mut my) = (0f64, 0f64, 0f64);
    for (i, &v) in img.iter().enumerate() {
        assert!((0.0..=1.0).contains(&v), "pixel {i} = {v} outside [0, 1]");
        let (x, y) = (i % 28, i / 28);
        if v > 0.0 {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
        }
        mass += v as f64;
        mx += v as f64 * (x as f64 + 0.5);
        my += v as f64 * (y as f64 + 0.5);
    }
    Measured { bbox: (x0, y0, x1, y1), mass, com: (mx / mass, my / mass) }
}

fn assert_centred(m: &Measured, case: &str) {
    let (cx, cy) = m.com;
    assert!((cx - 14.0).abs() <= 1.0 && (cy - 14.0).abs() <= 1.0, "{case}: centre of mass ({cx:.2}, {cy:.2}), expected (14, 14)");
}

/// No ink (a blank canvas, or only faint marks), an empty canvas and a size mismatch give `None`.
#[test]
fn nothing_drawn_gives_none() {
    assert!(mnist_input(&canvas(), SIDE, SIDE).is_none(), "blank canvas");
    let faint = vec![5u8; SIDE * SIDE];
    assert!(mnist_input(&faint, SIDE, SIDE).is_none(), "faint smudges only");
    assert!(mnist_input(&[], 0, 0).is_none(), "zero-sized canvas");
    let mut c = canvas();
    fill(&mut c, (10, 10), (20, 20));
    assert!(mnist_input(&c, SIDE, SIDE - 1).is_none(), "buffer does not match the size");
    assert!(mnist_input(&c, SIDE, SIDE).is_some(), "the same ink with the right size");
}

/// A filled 100×60 rectangle drawn in a corner becomes a 20×12 block of full ink, centred.
#[test]
fn off_centre_rectangle_is_scaled_to_20_and_centred() {
    let mut c = canvas();
    fill(&mut c, (30, 150), (130, 210));
    let img = mnist_input(&c, SIDE, SIDE).unwrap();
    let m = measure(&img);
    let (x0, y0, x1, y1) = m.bbox;
    assert_eq!((x1 - x0, y1 - y0), (20, 12), "bounding box {:?}", m.bbox);
    assert_centred(&m, "rectangle");
    // A scale of exactly 1/5: every covered pixel is full ink, the rest is paper.
    let full = img.iter().filter(|&&v| v == 1.0).count();
    assert_eq!(full, 20 * 12);
    assert!((m.mass - 240.0).abs() < 1e-3);
}

/// Tall thin and wide flat strokes keep their aspect ratio: the longer side becomes 20 px and the
/// shorter one 20·short/long (±1), in the right orientation.
#[test]
fn strokes_keep_their_aspect_ratio() {
    for ((w, h), (x, y)) in [((27, 180), (200, 50)), ((45, 180), (5, 90)), ((180, 27), (60, 240)), ((13, 250), (130, 15))] {
        let mut c = canvas();
        fill(&mut c, (x, y), (x + w, y + h));
        let m = measure(&mnist_input(&c, SIDE, SIDE).unwrap());
        let (x0, y0, x1, y1) = m.bbox;
        let (bw, bh) = ((x1 - x0) as f64, (y1 - y0) as f64);
        let long = 20.0;
        let short = 20.0 * w.min(h) as f64 / w.max(h) as f64;
        let (want_w, want_h) = if h >= w { (short, long) } else { (long, short) };
        assert!(
            (bw - want_w).abs() <= 1.0 && (bh - want_h).abs() <= 1.0,
            "{w}×{h} stroke became {bw}×{bh}, expected ≈ {want_w:.1}×{want_h:.1}"
        );
        assert_eq!(bw.max(bh), 20.0, "{w}×{h}: the longer side must be exactly 20");
        assert_centred(&m, &format!("{w}×{h} stroke"));
    }
}

/// An L-shaped stroke: its centre of mass (not its bounding box's centre) lands on (14, 14); the
/// area-weighted resampling keeps the ink mass (source area ÷ area per output pixel) and gives
/// grey, anti-aliased edges where the scale factor is not an integer.
#[test]
fn lopsided_shape_is_centred_by_mass_with_antialiased_edges() {
    let mut c = canvas();
    fill(&mut c, (40, 20), (73, 230)); // vertical bar, 33 × 210
    fill(&mut c, (73, 197), (145, 230)); // foot, 72 × 33
    let img = mnist_input(&c, SIDE, SIDE).unwrap();
    let m = measure(&img);
    let (x0, y0, x1, y1) = m.bbox;
    assert_eq!((x1 - x0, y1 - y0), (10, 20), "bounding box of the 105×210 shape: {:?}", m.bbox);
    assert_centred(&m, "L shape");
    let bbox_centre_x = (x0 + x1) as f64 / 2.0;
    assert!((bbox_centre_x - 14.0).abs() >= 1.5, "the L's box centre {bbox_centre_x} should be off-centre; mass is on its left");

    let source_ink = (33 * 210 + 72 * 33) as f64;
    let source_per_pixel = (105.0 / 10.0) * (210.0 / 20.0);
    let want_mass = source_ink / source_per_pixel;
    assert!((m.mass - want_mass).abs() < 1e-3 * want_mass, "ink mass {} vs {want_mass}", m.mass);

    let grey = img.iter().filter(|&&v| v > 0.0 && v < 1.0).count();
    assert!(grey >= 10, "expected anti-aliased edges (scale 10.5 is not an integer), found {grey} grey pixels");
}

/// A disc drawn with a non-integer scale has grey rim pixels, a solid core and the 20-px box.
#[test]
fn disc_has_antialiased_rim() {
    let mut c = canvas();
    let (cx, cy, r) = (170.0f64, 110.0f64, 63.0f64);
    for y in 0..SIDE {
        for x in 0..SIDE {
            if (x as f64 + 0.5 - cx).powi(2) + (y as f64 + 0.5 - cy).powi(2) <= r * r {
                c[y * SIDE + x] = 255;
            }
        }
    }
    let img = mnist_input(&c, SIDE, SIDE).unwrap();
    let m = measure(&img);
    let (x0, y0, x1, y1) = m.bbox;
    assert_eq!((x1 - x0, y1 - y0), (20, 20));
    assert_centred(&m, "disc");
    let grey = img.iter().filter(|&&v| v > 0.02 && v < 0.98).count();
    let solid = img.iter().filter(|&&v| v == 1.0).count();
    assert!(grey >= 12, "only {grey} grey rim pixels");
    assert!(solid >= 150, "only {solid} solid pixels inside a disc of radius 10");
    // Area kept: π r² in output pixels.
    let want = std::f64::consts::PI * 100.0;
    assert!((m.mass - want).abs() < 0.03 * want, "disc mass {} vs π·10² = {want:.1}", m.mass);
}
