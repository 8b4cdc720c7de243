//! Your own pictures in the page: the bindings the picture worker (www/picture-worker.js) calls.
//! The browser decodes a picture (`createImageBitmap`); everything after that is the same Rust as
//! `vae train --images`: the size check from the header, [`Preprocess`], the labels from folders,
//! and `.zip` archives.

use wasm_bindgen::prelude::*;

use crate::archive::Archive;
use crate::data::Dataset;
use crate::picture::{self, Fit, Preprocess};
use crate::shape::ImageShape;

use super::{js_error, named, ImageSet};

/// The options of the page's loader, checked once.
#[wasm_bindgen]
pub struct PictureOptions {
    prep: Preprocess,
}

#[wasm_bindgen]
impl PictureOptions {
    /// `size`: one of 16, 28, 32, 48, 64; `fit`: `crop` or `pad`; `background`: RRGGBB hex.
    #[wasm_bindgen(constructor)]
    pub fn new(size: usize, colour: bool, fit: &str, background: &str, invert: bool) -> Result<PictureOptions, JsError> {
        let prep = Preprocess::new(
            size,
            colour,
            Fit::from_name(fit).map_err(js_error)?,
            picture::parse_colour(background).map_err(js_error)?,
            invert,
        )
        .map_err(js_error)?;
        Ok(PictureOptions { prep })
    }

    /// Channels of the images these options make (1 or 3).
    #[wasm_bindgen(getter)]
    pub fn channels(&self) -> usize {
        self.prep.shape().channels
    }

    /// `rgba` (`width` × `height` unpremultiplied RGBA bytes) as the model sees it: C·S·S bytes.
    pub fn apply(&self, rgba: &[u8], width: usize, height: usize) -> Result<Vec<u8>, JsError> {
        self.prep.apply(rgba, width, height).map_err(js_error)
    }
}

/// `{ width, height, type }` (type: its MIME type) read from the first bytes of a picture, or an error saying why it cannot
/// be used: not a PNG, JPEG, WebP, GIF or BMP picture, or larger than a picture may be.
#[wasm_bindgen(js_name = pictureSize)]
pub fn picture_size(header: &[u8]) -> Result<JsValue, JsError> {
    use imagesize::ImageType;
    let kind = imagesize::image_type(header).map_err(|_| JsError::new("is not an image"))?;
    if !matches!(kind, ImageType::Png | ImageType::Jpeg | ImageType::Webp | ImageType::Gif | ImageType::Bmp) {
        return Err(JsError::new(&format!("is a {kind:?} file, not a PNG, JPEG, WebP, GIF or BMP picture")));
    }
    let size = imagesize::blob_size(header).map_err(|_| JsError::new("is corrupt: its header cannot be read"))?;
    let (w, h) = (size.width, size.height);
    if w == 0 || h == 0 {
        return Err(JsError::new(&format!("is {w}×{h}: it has no pixels")));
    }
    if let Some(reason) = picture::size_refusal(w, h) {
        return Err(JsError::new(&reason));
    }
    let mime = match kind {
        ImageType::Png => "image/png",
        ImageType::Jpeg => "image/jpeg",
        ImageType::Webp => "image/webp",
        ImageType::Gif => "image/gif",
        _ => "image/bmp",
    };
    named(&[("width", (w as f64).into()), ("height", (h as f64).into()), ("type", mime.into())])
}

/// How many header bytes [`picture_size`] needs at most (JPEG puts its size after its metadata).
#[wasm_bindgen(js_name = pictureHeaderBytes)]
pub fn picture_header_bytes() -> usize {
    256 << 10
}

/// `{ names, labels }` for pictures at `paths` (relative to the set's root, `/`-separated): the
/// first-level folders sorted, and each picture's label index (-1: outside the folders).
#[wasm_bindgen(js_name = labelFolders)]
pub fn label_folders(paths: Vec<String>) -> Result<JsValue, JsError> {
    let (names, labels) = picture::label_folders(&paths).map_err(js_error)?;
    let names: js_sys::Array = names.iter().map(|n| JsValue::from_str(n)).collect();
    let labels: Vec<i32> = labels.iter().map(|l| l.map_or(-1, i32::from)).collect();
    named(&[("names", names.into()), ("labels", js_sys::Int32Array::from(&labels[..]).into())])
}

/// How many of `n` pictures are held out (10%, at least one), as `vae train --images` does.
#[wasm_bindgen(js_name = heldOutCount)]
pub fn held_out_count(n: usize) -> usize {
    picture::held_out_count(n)
}

/// A `.zip` of pictures, unpacked one file at a time ([`Archive`]).
#[wasm_bindgen]
pub struct ZipPictures {
    archive: Archive,
}

#[wasm_bindgen]
impl ZipPictures {
    /// Opens `bytes`; throws when they are not a zip archive.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: Vec<u8>) -> Result<ZipPictures, JsError> {
        Ok(ZipPictures { archive: Archive::open(bytes).map_err(js_error)? })
    }

    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.archive.len()
    }

    /// The path of file `i` inside the archive.
    pub fn name(&self, i: usize) -> String {
        self.archive.name(i).to_string()
    }

    /// The entries that will not be read, each with its reason.
    pub fn skipped(&self) -> Vec<String> {
        self.archive.skipped.clone()
    }

    /// Unpacks file `i`; throws with the reason ("is larger than …").
    pub fn read(&mut self, i: usize) -> Result<Vec<u8>, JsError> {
        self.archive.read(i).map_err(|reason| JsError::new(&reason))
    }
}

#[wasm_bindgen]
impl ImageSet {
    /// A set of `count` images of `channels` × `side` × `side` from their bytes (channel-major,
    /// one image after another) and one label byte each.
    #[wasm_bindgen(js_name = fromPixels)]
    pub fn from_pixels(channels: usize, side: usize, pixels: Vec<u8>, labels: Vec<u8>) -> Result<ImageSet, JsError> {
        let shape = ImageShape::new(channels, side, side).map_err(js_error)?;
        Ok(ImageSet { data: Dataset::from_pixels(shape, pixels, labels).map_err(js_error)? })
    }

    /// The pictures held out for evaluation, as `vae train --images` holds them out: 10% (at
    /// least one), evenly spaced through the set.
    #[wasm_bindgen(js_name = heldOut)]
    pub fn held_out(&self) -> Result<ImageSet, JsError> {
        Ok(ImageSet { data: self.split()?.1 })
    }

    /// The rest, for training.
    #[wasm_bindgen(js_name = withoutHeldOut)]
    pub fn without_held_out(&self) -> Result<ImageSet, JsError> {
        Ok(ImageSet { data: self.split()?.0 })
    }
}

impl ImageSet {
    fn split(&self) -> Result<(Dataset, Dataset), JsError> {
        let count = picture::held_out_count(self.data.len());
        if count >= self.data.len() {
            return Err(JsError::new(&format!(
                "holding out {count} of {} images leaves none to train on or none to evaluate",
                self.data.len()
            )));
        }
        self.data.split_evenly(count).map_err(js_error)
    }
}
