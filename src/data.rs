//! MNIST-format data: the IDX file reader (raw or gzip) and an in-memory dataset that yields
//! minibatches.
//!
//! The reader validates before it allocates: magic number, element type (unsigned byte), number
//! of dimensions, a bound on the element count and the exact file length. Pixels stay `u8` in
//! memory (47 MB for MNIST's training set), held once (subsets share them), and are scaled to
//! [0, 1] per batch.

use std::io::Read;
use std::sync::Arc;

use candle_core::{bail, Device, Result, Tensor};

use crate::shape::ImageShape;

/// Upper bound on the number of elements an IDX file may declare (and on a decompressed gzip
/// file's size): 256 Mi, five times MNIST's training images.
pub const MAX_IDX_ELEMENTS: usize = 256 << 20;

/// A parsed IDX file of unsigned bytes.
#[derive(Debug)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses an IDX file of unsigned bytes, decompressing it first if it is gzip.
pub fn parse_idx(bytes: &[u8]) -> Result<Idx> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let limit = (MAX_IDX_ELEMENTS + 64) as u64;
        // gzip's trailer gives the size mod 2³²: one allocation of the right size instead of
        // doubling (which would briefly need 1.5× the data and keep the slack).
        let stated = bytes.len().checked_sub(4).map(|i| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]));
        let mut out = Vec::with_capacity(stated.map_or(0, |n| (n as u64).min(limit) as usize));
        flate2::read::GzDecoder::new(bytes)
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| candle_core::Error::Msg(format!("bad gzip data: {e}")))?;
        if out.len() as u64 > limit {
            bail!("gzip data decompresses to more than {limit} bytes");
        }
        return parse_raw_idx(out);
    }
    parse_raw_idx(bytes.to_vec())
}

/// Parses an uncompressed IDX file, keeping its buffer for the data.
fn parse_raw_idx(mut bytes: Vec<u8>) -> Result<Idx> {
    if bytes.len() < 4 {
        bail!("IDX file too short ({} bytes) for its 4-byte magic number", bytes.len());
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        bail!("not an IDX file: magic number starts {:02x} {:02x}, expected 00 00", bytes[0], bytes[1]);
    }
    if bytes[2] != 0x08 {
        bail!("IDX element type 0x{:02x} is not unsigned byte (0x08)", bytes[2]);
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 || ndim > 4 {
        bail!("IDX file declares {ndim} dimensions; expected 1 to 4");
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        bail!("IDX file truncated in its header ({} of {header} bytes)", bytes.len());
    }
    let dims: Vec<usize> = bytes[4..header].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&n| n <= MAX_IDX_ELEMENTS);
    let Some(count) = count else {
        bail!("IDX dimensions {dims:?} exceed the bound of {MAX_IDX_ELEMENTS} elements");
    };
    let body = bytes.len() - header;
    if body != count {
        bail!("IDX file has {body} data bytes but its dimensions {dims:?} need {count}");
    }
    bytes.drain(..header);
    Ok(Idx { dims, data: bytes })
}

/// Images of one shape with their labels, pixels as `u8` (channel-major per image). Clones and
/// [`Self::take`] share the bytes.
#[derive(Clone, Debug)]
pub struct Dataset {
    pixels: Arc<Vec<u8>>,
    labels: Arc<Vec<u8>>,
    /// Images in this dataset: the first `len` of the shared bytes.
    len: usize,
    shape: ImageShape,
}

impl Dataset {
    /// Builds a dataset from the bytes of an images IDX file ([N, H, W], grey) and a labels IDX
    /// file ([N]), raw or gzip.
    pub fn from_idx(images: &[u8], labels: &[u8]) -> Result<Self> {
        let images = parse_idx(images).map_err(|e| candle_core::Error::Msg(format!("images file: {e}")))?;
        let labels = parse_idx(labels).map_err(|e| candle_core::Error::Msg(format!("labels file: {e}")))?;
        if images.dims.len() != 3 {
            bail!("images file has dimensions {:?}, expected [N, height, width]", images.dims);
        }
        let shape = ImageShape::new(1, images.dims[1], images.dims[2])?;
        if labels.dims.len() != 1 {
            bail!("labels file has dimensions {:?}, expected [N]", labels.dims);
        }
        if images.dims[0] != labels.dims[0] {
            bail!("{} images but {} labels", images.dims[0], labels.dims[0]);
        }
        Self::from_pixels(shape, images.data, labels.data)
    }

    /// A dataset of `shape` images from `pixels` (N·C·H·W bytes, each image channel-major) and
    /// `labels` (N bytes).
    pub fn from_pixels(shape: ImageShape, pixels: Vec<u8>, labels: Vec<u8>) -> Result<Self> {
        if pixels.len() != labels.len() * shape.pixels() {
            bail!("{} pixel bytes do not make {} images of {} values ({shape})", pixels.len(), labels.len(), shape.pixels());
        }
        let len = labels.len();
        Ok(Self { pixels: Arc::new(pixels), labels: Arc::new(labels), len, shape })
    }

    /// The shape of every image.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// Checks these images are what a model of `shape` reads.
    pub fn check_shape(&self, shape: ImageShape) -> Result<()> {
        if self.shape != shape {
            bail!("the images are {} but the model reads {shape}", self.shape);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels[..self.len]
    }

    /// The pixel bytes of image `i` (C·H·W).
    pub fn image(&self, i: usize) -> &[u8] {
        let p = self.shape.pixels();
        &self.pixels[i * p..(i + 1) * p]
    }

    /// The first `n` images (all if fewer), sharing this dataset's bytes.
    pub fn take(&self, n: usize) -> Self {
        Self { pixels: Arc::clone(&self.pixels), labels: Arc::clone(&self.labels), len: n.min(self.len), shape: self.shape }
    }

    /// `n` images held out evenly spaced through the set (image i when ⌊(i+1)·n/len⌋ steps up)
    /// and the rest: `(train, held_out)`. Pictures sorted by label folder keep every label in both.
    pub fn split_evenly(&self, n: usize) -> Result<(Self, Self)> {
        let len = self.len;
        let held = |i: usize| (i + 1) * n / len.max(1) > i * n / len.max(1);
        let part = |keep: bool| {
            let indices: Vec<usize> = (0..len).filter(|&i| held(i) == keep).collect();
            let pixels = indices.iter().flat_map(|&i| self.image(i).iter().copied()).collect();
            Self::from_pixels(self.shape, pixels, indices.iter().map(|&i| self.labels[i]).collect())
        };
        Ok((part(false)?, part(true)?))
    }

    /// Images `range` scaled to [0, 1], row-major: range.len()·P values.
    pub fn pixels_f32(&self, range: std::ops::Range<usize>) -> Vec<f32> {
        let (start, end) = (range.start.min(self.len), range.end.min(self.len));
        let p = self.shape.pixels();
        self.pixels[start * p..end.max(start) * p].iter().map(|&v| v as f32 / 255.0).collect()
    }

    /// Images at `indices` scaled to [0, 1]: [indices.len(), P], `f32`.
    pub fn batch(&self, indices: &[usize], device: &Device) -> Result<Tensor> {
        let p = self.shape.pixels();
        let mut values = Vec::with_capacity(indices.len() * p);
        for &i in indices {
            if i >= self.len() {
                bail!("image index {i} out of range for {} images", self.len());
            }
            values.extend(self.image(i).iter().map(|&p| p as f32 / 255.0));
        }
        Tensor::from_vec(values, (indices.len(), p), device)
    }

    /// Images `start..start+len` (clipped to the dataset), as [`Self::batch`].
    pub fn range(&self, start: usize, len: usize, device: &Device) -> Result<Tensor> {
        self.batch(&Self::span(start, len, self.len()), device)
    }

    /// The inputs a model with `classes` label classes takes for images `indices`: the images
    /// [B, P] and, when `classes > 0`, their one-hot labels [B, C].
    pub fn model_input(&self, indices: &[usize], classes: usize, device: &Device) -> Result<(Tensor, Option<Tensor>)> {
        let x = self.batch(indices, device)?;
        if classes == 0 {
            return Ok((x, None));
        }
        let labels: Vec<u8> = indices.iter().map(|&i| self.labels[i]).collect();
        Ok((x, Some(crate::model::one_hot(&labels, classes, device)?)))
    }

    /// [`Self::model_input`] for images `start..start+len` (clipped to the dataset).
    pub fn model_input_range(&self, start: usize, len: usize, classes: usize, device: &Device) -> Result<(Tensor, Option<Tensor>)> {
        self.model_input(&Self::span(start, len, self.len()), classes, device)
    }

    fn span(start: usize, len: usize, total: usize) -> Vec<usize> {
        let end = (start + len).min(total);
        (start.min(end)..end).collect()
    }
}
