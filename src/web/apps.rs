//! Bindings for the application panels: interpolation, inpainting, anomaly percentiles and the
//! compressed latent code.

use wasm_bindgen::prelude::*;

use super::{js_error, Model};
use crate::rng::Rng;
use crate::{anomaly, compress, inpaint, interpolate};

/// `steps` latent points from `a` to `b` (steps·L values), linear or spherical; the ends are
/// exactly `a` and `b`.
#[wasm_bindgen]
pub fn interpolate(a: &[f32], b: &[f32], steps: usize, spherical: bool) -> Result<Vec<f32>, JsError> {
    if a.len() != b.len() || a.is_empty() {
        return Err(JsError::new("the two latent points must have the same, non-zero size"));
    }
    let path = if spherical { interpolate::Path::Spherical } else { interpolate::Path::Linear };
    Ok(interpolate::interpolate(a, b, steps, path))
}

/// Latent arithmetic: `c + (b − a)`.
#[wasm_bindgen(js_name = addDifference)]
pub fn add_difference(a: &[f32], b: &[f32], c: &[f32]) -> Result<Vec<f32>, JsError> {
    if a.len() != b.len() || b.len() != c.len() {
        return Err(JsError::new("the three latent points must have the same size"));
    }
    Ok(interpolate::add_difference(a, b, c))
}

/// The percentile (0–100) of `score` in an ascending quantile table of reference scores.
#[wasm_bindgen(js_name = percentileOf)]
pub fn percentile_of(table: &[f32], score: f32) -> f32 {
    anomaly::percentile(table, score)
}

/// Latent point `z` as its compressed code: L little-endian IEEE halves.
#[wasm_bindgen(js_name = latentToF16Bytes)]
pub fn latent_to_f16_bytes(z: &[f32]) -> Vec<u8> {
    compress::latent_to_f16_bytes(z)
}

/// The latent point a code from `latentToF16Bytes` holds.
#[wasm_bindgen(js_name = latentFromF16Bytes)]
pub fn latent_from_f16_bytes(bytes: &[u8]) -> Result<Vec<f32>, JsError> {
    compress::latent_from_f16_bytes(bytes).ok_or_else(|| JsError::new("a half-precision code has an even number of bytes"))
}

/// One step of the encode–decode inpainting loop: `current` through the model, known pixels of
/// `image` (where `known` is 1) put back.
#[wasm_bindgen(js_name = encodeDecodeFill)]
pub fn encode_decode_fill(model: &Model, current: &[f32], image: &[f32], known: &[f32]) -> Result<Vec<f32>, JsError> {
    inpaint::encode_decode_fill(&model.vae, current, image, known).map_err(js_error)
}

/// MAP inpainting by optimising z with Adam (see [`inpaint::LatentInpainter`]), stepped from
/// JavaScript so the page can show every few iterations.
#[wasm_bindgen]
pub struct Inpainter {
    inner: inpaint::LatentInpainter,
}

#[wasm_bindgen]
impl Inpainter {
    /// `image` and `known` are one image's values each (`known` 1 where the pixel is kept).
    #[wasm_bindgen(constructor)]
    pub fn new(model: &Model, image: &[f32], known: &[f32], restarts: usize, seed: u32) -> Result<Inpainter, JsError> {
        let mut rng = Rng::new(seed as u64);
        let inner = inpaint::LatentInpainter::new(&model.vae, image, known, restarts, &mut rng).map_err(js_error)?;
        Ok(Inpainter { inner })
    }

    /// Runs `iterations` more Adam steps; returns the best objective −log p(known|z) − log p(z).
    pub fn run(&mut self, model: &Model, iterations: usize) -> Result<f32, JsError> {
        self.inner.run(&model.vae, iterations).map_err(js_error)
    }

    #[wasm_bindgen(getter)]
    pub fn iterations(&self) -> usize {
        self.inner.iterations()
    }

    /// The inpainted image: known pixels unchanged, the rest decoded from the best z (one image).
    pub fn result(&self, model: &Model) -> Result<Vec<f32>, JsError> {
        self.inner.result(&model.vae).map_err(js_error)
    }
}
