//! Any picture as a model's input: a decoded RGBA image of any size becomes a square of
//! `size` × `size` pixels, grey or colour, stored channel-major as bytes (what
//! [`crate::data::Dataset`] holds). The page's image loader and `vae train --images` both call
//! [`Preprocess::apply`] on the decoded pixels, so the same file gives the same bytes in both.
//!
//! In order: transparent pixels are composited over `background`; the picture is fitted to a
//! square (the centred square for [`Fit::Crop`], or the whole picture centred on a `background`
//! square for [`Fit::Pad`]); the square is resized to `size` by area averaging (each output pixel
//! is the mean of the source area it covers, with fractional weights at its edges, so a picture
//! already at `size` is unchanged); grey is 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as PIL's
//! "L"); `invert` maps v to 255 − v (dark ink on light paper then looks like MNIST); values are
//! rounded to the nearest byte.

use candle_core::{bail, Result};

use crate::limits;
use crate::shape::ImageShape;

/// How a picture that is not square becomes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// The largest centred square; the rest is cut off.
    Crop,
    /// The whole picture, centred on a square of the background colour.
    Pad,
}

/// What [`Preprocess::apply`] does to a picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preprocess {
    /// Side of the output square, one of [`limits::PICTURE_SIZES`].
    pub size: usize,
    /// Three channels (RGB), or one (grey).
    pub colour: bool,
    pub fit: Fit,
    /// The RGB colour transparent pixels and padding become.
    pub background: [u8; 3],
    /// v → 255 − v after the colour conversion.
    pub invert: bool,
}

impl Preprocess {
    /// Checked options.
    pub fn new(size: usize, colour: bool, fit: Fit, background: [u8; 3], invert: bool) -> Result<Self> {
        if !limits::PICTURE_SIZES.contains(&size) {
            bail!("picture size {size} is not one of {:?}", limits::PICTURE_SIZES);
        }
        Ok(Self { size, colour, fit, background, invert })
    }

    /// The shape of the images this makes: 1 or 3 channels × size × size.
    pub fn shape(&self) -> ImageShape {
        ImageShape { channels: if self.colour { 3 } else { 1 }, height: self.size, width: self.size }
    }

    /// `rgba`, `width` × `height` pixels of 4 unpremultiplied bytes each (row-major), as the
    /// model's input: C × size × size bytes, channel-major.
    pub fn apply(&self, rgba: &[u8], width: usize, height: usize) -> Result<Vec<u8>> {
        if width == 0 || height == 0 {
            bail!("a {width}×{height} picture has no pixels");
        }
        if width.max(height) > limits::MAX_PICTURE_SIDE || width * height > limits::MAX_PICTURE_PIXELS {
            bail!("a {width}×{height} picture is larger than {} pixels", limits::MAX_PICTURE_PIXELS);
        }
        if rgba.len() != width * height * 4 {
            bail!("{} bytes are not {width}×{height} RGBA pixels", rgba.len());
        }
        let (square, side) = self.square(rgba, width, height);
        let resized = resize_square(&square, side, self.size);
        let s = self.size * self.size;
        let shape = self.shape();
        let mut out = vec![0u8; shape.pixels()];
        for p in 0..s {
            let [r, g, b] = [resized[p * 3], resized[p * 3 + 1], resized[p * 3 + 2]];
            let values = if self.colour { [r, g, b] } else { [0.299 * r + 0.587 * g + 0.114 * b; 3] };
            for (c, v) in values.iter().take(shape.channels).enumerate() {
                let v = if self.invert { 255.0 - v } else { *v };
                out[c * s + p] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
        Ok(out)
    }

    /// The picture composited over the background and fitted to a square, as RGB f32 values,
    /// and the square's side.
    fn square(&self, rgba: &[u8], width: usize, height: usize) -> (Vec<f32>, usize) {
        let bg = self.background.map(f32::from);
        let (side, x0, y0) = match self.fit {
            // Source offsets of the square's corner: inside the picture for a crop,
            // negative (padding) for a pad.
            Fit::Crop => {
                let side = width.min(height);
                (side, ((width - side) / 2) as isize, ((height - side) / 2) as isize)
            }
            Fit::Pad => {
                let side = width.max(height);
                (side, -(((side - width) / 2) as isize), -(((side - height) / 2) as isize))
            }
        };
        let mut out = Vec::with_capacity(side * side * 3);
        for y in 0..side as isize {
            for x in 0..side as isize {
                let (sx, sy) = (x + x0, y + y0);
                if sx < 0 || sy < 0 || sx >= width as isize || sy >= height as isize {
                    out.extend_from_slice(&bg);
                    continue;
                }
                let px = &rgba[(sy as usize * width + sx as usize) * 4..][..4];
                let alpha = f32::from(px[3]) / 255.0;
                for c in 0..3 {
                    out.push(f32::from(px[c]) * alpha + bg[c] * (1.0 - alpha));
                }
            }
        }
        (out, side)
    }
}

impl Fit {
    /// `crop` or `pad`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "crop" => Ok(Fit::Crop),
            "pad" => Ok(Fit::Pad),
            other => bail!("`{other}` is not a fit (crop or pad)"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Fit::Crop => "crop",
            Fit::Pad => "pad",
        }
    }
}

/// `RRGGBB` (or `#RRGGBB`) hex as a colour.
pub fn parse_colour(s: &str) -> Result<[u8; 3]> {
    let hex = s.trim_start_matches('#');
    let byte = |i: usize| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok());
    match (hex.len(), byte(0), byte(2), byte(4)) {
        (6, Some(r), Some(g), Some(b)) => Ok([r, g, b]),
        _ => bail!("`{s}` is not a colour as RRGGBB hex (ffffff is white)"),
    }
}

/// The labels of pictures from their paths relative to the set's root (`/`-separated): a
/// picture in a folder belongs to its first-level folder, and the label names are those folders
/// sorted. Returns the names and each picture's label; with no folders at all, every picture is
/// label 0 of one unlabelled class (no names). A picture outside the folders of a set that has
/// some gets `None` (skipped: it has no label).
pub fn label_folders<S: AsRef<str>>(paths: &[S]) -> Result<(Vec<String>, Vec<Option<u8>>)> {
    let folder = |path: &str| path.split_once('/').map(|(first, _)| first.to_string());
    let mut names: Vec<String> = paths.iter().filter_map(|p| folder(p.as_ref())).collect();
    names.sort();
    names.dedup();
    let most = limits::MAX_CLASSES.min(256); // labels are stored as bytes
    if names.len() > most {
        bail!("{} label folders, more than {most}", names.len());
    }
    let labels = paths
        .iter()
        .map(|p| match folder(p.as_ref()) {
            Some(f) => names.binary_search(&f).ok().map(|i| i as u8),
            None if names.is_empty() => Some(0),
            None => None,
        })
        .collect();
    Ok((names, labels))
}

/// Why a `width` × `height` picture is refused before it is decoded ("is 20000×20000, larger
/// than …"), or nothing when its size is allowed.
pub fn size_refusal(width: usize, height: usize) -> Option<String> {
    (width.max(height) > limits::MAX_PICTURE_SIDE || width * height > limits::MAX_PICTURE_PIXELS)
        .then(|| format!("is {width}×{height}, larger than the {} megapixels a picture may have", limits::MAX_PICTURE_PIXELS >> 20))
}

/// How many of `n` pictures are held out for evaluation when none is named: 10%, at least one.
pub fn held_out_count(n: usize) -> usize {
    (n / 10).max(1)
}

/// "3 files skipped: a is …; b is …", or nothing when no file was skipped.
pub fn skipped_line(skipped: &[String]) -> Option<String> {
    match skipped.len() {
        0 => None,
        1 => Some(format!("1 file skipped: {}", skipped[0])),
        n => Some(format!("{n} files skipped: {}", skipped.join("; "))),
    }
}

/// Area-averaging resize of an RGB square of side `from` to side `to`, separably: each output
/// pixel averages the source interval [i·from/to, (i+1)·from/to) in each direction.
fn resize_square(rgb: &[f32], from: usize, to: usize) -> Vec<f32> {
    if from == to {
        return rgb.to_vec();
    }
    let taps = area_taps(from, to);
    // Rows first: [from, to, 3].
    let mut rows = vec![0f32; from * to * 3];
    for y in 0..from {
        for (ox, row_taps) in taps.iter().enumerate() {
            for &(sx, w) in row_taps {
                for c in 0..3 {
                    rows[(y * to + ox) * 3 + c] += w * rgb[(y * from + sx) * 3 + c];
                }
            }
        }
    }
    let mut out = vec![0f32; to * to * 3];
    for (oy, col_taps) in taps.iter().enumerate() {
        for &(sy, w) in col_taps {
            for x in 0..to {
                for c in 0..3 {
                    out[(oy * to + x) * 3 + c] += w * rows[(sy * to + x) * 3 + c];
                }
            }
        }
    }
    out
}

/// For each of `to` output pixels, the source pixels of `from` it covers and their weights
/// (summing to 1).
fn area_taps(from: usize, to: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = from as f64 / to as f64;
    (0..to)
        .map(|i| {
            let (start, end) = (i as f64 * scale, (i + 1) as f64 * scale);
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(from);
            (first..last)
                .filter_map(|s| {
                    let overlap = (end.min(s as f64 + 1.0) - start.max(s as f64)).max(0.0);
                    (overlap > 0.0).then_some((s, (overlap / scale) as f32))
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(size: usize) -> Preprocess {
        Preprocess::new(size, false, Fit::Crop, [255, 255, 255], false).unwrap()
    }

    /// An opaque grey picture of `values` (row-major) as RGBA.
    fn rgba_grey(values: &[u8]) -> Vec<u8> {
        values.iter().flat_map(|&v| [v, v, v, 255]).collect()
    }

    #[test]
    fn a_grey_picture_at_the_models_size_is_unchanged() {
        let values: Vec<u8> = (0..16 * 16).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(grey(16).apply(&rgba_grey(&values), 16, 16).unwrap(), values);
        let inverted = Preprocess { invert: true, ..grey(16) }.apply(&rgba_grey(&values), 16, 16).unwrap();
        assert!(inverted.iter().zip(&values).all(|(a, b)| *a == 255 - b));
    }

    #[test]
    fn halving_averages_each_two_by_two_block() {
        // 32 × 32 of 2 × 2 blocks (0, 100, 200, 60) → 16 × 16 of their mean 90.
        let values: Vec<u8> = (0..32 * 32).map(|i| [[0, 100], [200, 60]][(i / 32) % 2][i % 2]).collect();
        let out = grey(16).apply(&rgba_grey(&values), 32, 32).unwrap();
        assert!(out.iter().all(|&v| v == 90), "{out:?}");
        // A third: 48 → 16 averages 3 × 3 blocks, non-integer scales keep the mean of a flat picture.
        let out = grey(16).apply(&rgba_grey(&[77; 50 * 50]), 50, 50).unwrap();
        assert!(out.iter().all(|&v| v == 77));
    }

    #[test]
    fn crop_keeps_the_centre_and_pad_adds_background() {
        // 16 wide, 32 tall: black on top, white below the middle 16 rows are 8 black + 8 white.
        let values: Vec<u8> = (0..16 * 32).map(|i| if i / 16 < 16 { 0 } else { 255 }).collect();
        let crop = grey(16).apply(&rgba_grey(&values), 16, 32).unwrap();
        assert!(crop[..8 * 16].iter().all(|&v| v == 0) && crop[8 * 16..].iter().all(|&v| v == 255));
        // Padded on a red background to 32 × 32, then halved: the 4 left and right columns are
        // the background's grey (0.299·255 = 76), the middle 8 the picture.
        let pad = Preprocess { fit: Fit::Pad, background: [255, 0, 0], ..grey(16) }.apply(&rgba_grey(&values), 16, 32).unwrap();
        assert_eq!(pad[0], 76);
        assert_eq!(pad[4], 0);
        assert_eq!(pad[15 * 16 + 4], 255);
        assert_eq!(pad[15 * 16 + 12], 76);
    }

    #[test]
    fn colour_is_channel_major_and_transparency_shows_the_background() {
        let p = Preprocess::new(16, true, Fit::Crop, [0, 0, 255], false).unwrap();
        // Opaque orange on the left half, fully transparent on the right.
        let rgba: Vec<u8> = (0..16 * 16).flat_map(|i| if i % 16 < 8 { [255, 128, 0, 255] } else { [9, 9, 9, 0] }).collect();
        let out = p.apply(&rgba, 16, 16).unwrap();
        assert_eq!(p.shape(), ImageShape { channels: 3, height: 16, width: 16 });
        assert_eq!((out[0], out[256], out[512]), (255, 128, 0));
        assert_eq!((out[15], out[256 + 15], out[512 + 15]), (0, 0, 255));
    }

    #[test]
    fn impossible_pictures_and_options_are_refused() {
        assert!(grey(16).apply(&[], 0, 0).is_err());
        assert!(grey(16).apply(&[0; 12], 2, 2).is_err());
        assert!(grey(16).apply(&[0; 4], 100_000, 100_000).is_err());
        assert!(Preprocess::new(17, false, Fit::Crop, [0; 3], false).is_err());
        // A single pixel is a picture: every output pixel is it.
        assert!(grey(16).apply(&[40, 40, 40, 255], 1, 1).unwrap().iter().all(|&v| v == 40));
    }
}
