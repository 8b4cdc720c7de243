//! A drawing → the 28×28 model input, made the way MNIST's digits were: crop to the ink's bounding
//! box, scale the longer side to 20 px keeping the aspect ratio (area-weighted, so edges get
//! anti-aliased grey levels), and place the result in a 28×28 frame so that its centre of mass
//! falls on the frame's centre.

use crate::model::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::shape::ImageShape;

/// The shape of the input a drawing becomes: MNIST's digit frame.
pub const DRAWING_SHAPE: ImageShape = ImageShape::MNIST;

/// Side of the box the digit is scaled into.
pub const DIGIT_BOX: usize = 20;

/// Ink values at or below this (of 255) count as paper.
const INK_THRESHOLD: u8 = 8;

/// Converts an ink image (`width`×`height`, row-major, 0 = paper, 255 = full ink) into the
/// 784-pixel model input in [0, 1]. Returns `None` when there is no ink.
pub fn mnist_input(ink: &[u8], width: usize, height: usize) -> Option<Vec<f32>> {
    if width == 0 || height == 0 || ink.len() != width * height {
        return None;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (i, _) in ink.iter().enumerate().filter(|(_, &v)| v > INK_THRESHOLD) {
        let (x, y) = (i % width, i / width);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
    }
    if x0 == usize::MAX {
        return None;
    }
    let (cw, ch) = (x1 - x0, y1 - y0);
    let scale = DIGIT_BOX as f64 / cw.max(ch) as f64;
    let out_w = ((cw as f64 * scale).round() as usize).clamp(1, DIGIT_BOX);
    let out_h = ((ch as f64 * scale).round() as usize).clamp(1, DIGIT_BOX);
    let small = resample_area(ink, width, (x0, y0, cw, ch), out_w, out_h);

    // Centre of mass of the scaled digit, then the integer shift that moves it to (14, 14).
    let (mut mass, mut mx, mut my) = (0f64, 0f64, 0f64);
    for (i, &v) in small.iter().enumerate() {
        let v = v as f64;
        mass += v;
        mx += v * ((i % out_w) as f64 + 0.5);
        my += v * ((i / out_w) as f64 + 0.5);
    }
    let centre = IMAGE_SIDE as f64 / 2.0;
    let left = (centre - mx / mass).round() as isize;
    let top = (centre - my / mass).round() as isize;
    // Keep the whole digit inside the frame even when its mass is lopsided.
    let left = left.clamp(0, (IMAGE_SIDE - out_w) as isize) as usize;
    let top = top.clamp(0, (IMAGE_SIDE - out_h) as isize) as usize;

    let mut frame = vec![0f32; IMAGE_PIXELS];
    for y in 0..out_h {
        for x in 0..out_w {
            frame[(top + y) * IMAGE_SIDE + left + x] = small[y * out_w + x];
        }
    }
    Some(frame)
}

/// Area-weighted resampling of the crop `(x0, y0, w, h)` of `ink` (row stride `stride`) to
/// `out_w`×`out_h`, values in [0, 1]. Each output pixel is the mean of the source area it covers.
fn resample_area(ink: &[u8], stride: usize, crop: (usize, usize, usize, usize), out_w: usize, out_h: usize) -> Vec<f32> {
    let (x0, y0, w, h) = crop;
    let (sx, sy) = (w as f64 / out_w as f64, h as f64 / out_h as f64);
    let mut out = vec![0f32; out_w * out_h];
    for oy in 0..out_h {
        let (ya, yb) = (oy as f64 * sy, (oy + 1) as f64 * sy);
        for ox in 0..out_w {
            let (xa, xb) = (ox as f64 * sx, (ox + 1) as f64 * sx);
            let mut acc = 0f64;
            for y in ya.floor() as usize..(yb.ceil() as usize).min(h) {
                let wy = (yb.min(y as f64 + 1.0) - ya.max(y as f64)).max(0.0);
                let row = (y0 + y) * stride + x0;
                for x in xa.floor() as usize..(xb.ceil() as usize).min(w) {
                    let wx = (xb.min(x as f64 + 1.0) - xa.max(x as f64)).max(0.0);
                    acc += wx * wy * ink[row + x] as f64;
                }
            }
            out[oy * out_w + ox] = (acc / (sx * sy * 255.0)).min(1.0) as f32;
        }
    }
    out
}
