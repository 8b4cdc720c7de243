//! The wasm bindings: thin `#[wasm_bindgen]` types over the model code. Errors reach JavaScript
//! as thrown `Error`s (rejected promises in async callers) with readable messages.

use candle_core::{Device, Tensor};
use wasm_bindgen::prelude::*;

use crate::data::Dataset;
use crate::grid;
use crate::model::{Vae, IMAGE_PIXELS};
use crate::preprocess;
use crate::rng::Rng;
use crate::weights;

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// A trained VAE, loaded from `.safetensors` bytes.
#[wasm_bindgen]
pub struct Model {
    vae: Vae,
    metadata: String,
    rng: Rng,
}

#[wasm_bindgen]
impl Model {
    /// Validates and loads PyTorch-named `.safetensors` bytes; throws with the reason on bad input.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<Model, JsError> {
        let loaded = weights::load_vae(bytes, &Device::Cpu).map_err(js_error)?;
        let metadata = serde_json::to_string(&loaded.metadata).map_err(js_error)?;
        Ok(Model { vae: loaded.vae, metadata, rng: Rng::new(0) })
    }

    /// Latent size L.
    #[wasm_bindgen(getter, js_name = latentSize)]
    pub fn latent_size(&self) -> usize {
        self.vae.config().latent
    }

    /// Hidden width H.
    #[wasm_bindgen(getter, js_name = hiddenSize)]
    pub fn hidden_size(&self) -> usize {
        self.vae.config().hidden
    }

    /// The file's `__metadata__` as a JSON object string.
    #[wasm_bindgen(getter)]
    pub fn metadata(&self) -> String {
        self.metadata.clone()
    }

    /// Encodes B images (B·784 values in [0, 1]) into B·2L values: per image, mu (L) then log_var (L).
    pub fn encode(&self, images: &[f32]) -> Result<Vec<f32>, JsError> {
        if images.is_empty() || images.len() % IMAGE_PIXELS != 0 {
            return Err(JsError::new(&format!("{} values are not a whole number of 784-pixel images", images.len())));
        }
        let x = Tensor::from_slice(images, (images.len() / IMAGE_PIXELS, IMAGE_PIXELS), self.vae.device()).map_err(js_error)?;
        let (mu, log_var) = self.vae.encode(&x).map_err(js_error)?;
        Tensor::cat(&[mu, log_var], 1).and_then(|t| t.flatten_all()?.to_vec1()).map_err(js_error)
    }

    /// Decodes B latent points (B·L values) into B·784 intensities in [0, 1].
    pub fn decode(&self, z: &[f32]) -> Result<Vec<f32>, JsError> {
        grid::decode_flat(&self.vae, z).map_err(js_error)
    }

    /// Decodes the grid with columns at `xs` (dimension `dim_x`) and rows at `ys` (dimension
    /// `dim_y`, top row = last value), other dimensions at `base`; returns the RGBA pixels of the
    /// (28·xs.len())×(28·ys.len()) image.
    #[wasm_bindgen(js_name = decodeGridRgba)]
    pub fn decode_grid_rgba(&self, xs: &[f32], ys: &[f32], dim_x: usize, dim_y: usize, base: &[f32]) -> Result<Vec<u8>, JsError> {
        let l = self.latent_size();
        if base.len() != l || dim_x >= l || dim_y >= l || (dim_x == dim_y && l > 1) {
            return Err(JsError::new("grid dimensions do not fit the model's latent size"));
        }
        let z = grid::grid_latents(xs, ys, (dim_x, dim_y), base);
        let images = grid::decode_flat(&self.vae, &z).map_err(js_error)?;
        Ok(grid::tile_rgba(&images, xs.len(), ys.len()))
    }

    /// The posterior means of images `start..start+count` of `images`: count·L values.
    #[wasm_bindgen(js_name = encodeMeans)]
    pub fn encode_means(&self, images: &ImageSet, start: usize, count: usize) -> Result<Vec<f32>, JsError> {
        let x = images.data.range(start, count, self.vae.device()).map_err(js_error)?;
        let (mu, _) = self.vae.encode(&x).map_err(js_error)?;
        mu.flatten_all().and_then(|t| t.to_vec1()).map_err(js_error)
    }

    /// Draws z ~ N(0, I·t²) for `count` points: count·L values.
    #[wasm_bindgen(js_name = samplePrior)]
    pub fn sample_prior(&mut self, count: usize, temperature: f32) -> Vec<f32> {
        (0..count * self.latent_size()).map(|_| self.rng.standard_normal() * temperature).collect()
    }
}

/// A labelled image set (MNIST's test set, say), parsed from IDX files.
#[wasm_bindgen]
pub struct ImageSet {
    data: Dataset,
}

#[wasm_bindgen]
impl ImageSet {
    /// Parses an images IDX file and a labels IDX file (raw or gzip); throws on malformed input.
    #[wasm_bindgen(constructor)]
    pub fn new(images: &[u8], labels: &[u8]) -> Result<ImageSet, JsError> {
        Ok(ImageSet { data: Dataset::from_idx(images, labels).map_err(js_error)? })
    }

    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.data.len()
    }

    /// The labels, one byte per image.
    pub fn labels(&self) -> Vec<u8> {
        self.data.labels().to_vec()
    }

    /// Image `i` as 784 intensities in [0, 1].
    pub fn image(&self, i: usize) -> Result<Vec<f32>, JsError> {
        if i >= self.data.len() {
            return Err(JsError::new(&format!("image {i} out of range for {} images", self.data.len())));
        }
        Ok(self.data.image(i).iter().map(|&p| p as f32 / 255.0).collect())
    }
}

/// Turns a drawing's ink (`width`×`height` bytes, 0 = paper) into the 784-value model input;
/// returns an empty array when there is no ink.
#[wasm_bindgen(js_name = drawingToInput)]
pub fn drawing_to_input(ink: &[u8], width: usize, height: usize) -> Vec<f32> {
    preprocess::mnist_input(ink, width, height).unwrap_or_default()
}

/// Φ⁻¹(p), the standard normal quantile function.
#[wasm_bindgen(js_name = normalQuantile)]
pub fn normal_quantile(p: f64) -> f64 {
    grid::normal_quantile(p.clamp(1e-12, 1.0 - 1e-12))
}

/// Φ(z), the standard normal CDF.
#[wasm_bindgen(js_name = normalCdf)]
pub fn normal_cdf(z: f64) -> f64 {
    grid::normal_cdf(z)
}

/// Φ⁻¹((i + ½)/n), i = 0..n: grid coordinates at the Gaussian quantiles.
#[wasm_bindgen(js_name = quantileAxis)]
pub fn quantile_axis(n: usize) -> Vec<f32> {
    grid::quantile_axis(n)
}
