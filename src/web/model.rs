//! The explorer's wasm types: a loaded [`Model`] and a labelled [`ImageSet`].

use candle_core::{Device, Tensor};
use wasm_bindgen::prelude::*;

use crate::data::Dataset;
use crate::model::Vae;
use crate::packed::PackedVae;
use crate::rng::Rng;
use crate::weights::{self, Metadata};
use crate::{anomaly, conditional, grid, loss};

use super::{js_error, named};

/// A trained VAE, loaded from `.safetensors` bytes.
#[wasm_bindgen]
pub struct Model {
    pub(super) vae: Vae,
    /// The same model packed for fast inference (encode, decode, grid).
    packed: PackedVae,
    metadata: Metadata,
    rng: Rng,
}

#[wasm_bindgen]
impl Model {
    /// Validates and loads PyTorch-named `.safetensors` bytes; throws with the reason on bad input.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<Model, JsError> {
        let loaded = weights::load_vae(bytes, &Device::Cpu).map_err(js_error)?;
        let packed = PackedVae::new(&loaded.vae).map_err(js_error)?;
        Ok(Model { vae: loaded.vae, packed, metadata: loaded.metadata, rng: Rng::new(0) })
    }

    /// Latent size L.
    #[wasm_bindgen(getter, js_name = latentSize)]
    pub fn latent_size(&self) -> usize {
        self.vae.config().latent
    }

    /// Label classes C of a conditional VAE; 0 for a plain one.
    #[wasm_bindgen(getter)]
    pub fn classes(&self) -> usize {
        self.vae.config().classes
    }

    /// Hidden width H of an MLP; 0 for another architecture.
    #[wasm_bindgen(getter, js_name = hiddenSize)]
    pub fn hidden_size(&self) -> usize {
        self.vae.config().hidden().unwrap_or(0)
    }

    /// The architecture: `mlp` or `conv`.
    #[wasm_bindgen(getter)]
    pub fn arch(&self) -> String {
        self.vae.config().arch.name().to_string()
    }

    /// Image channels (1 grey, 3 colour).
    #[wasm_bindgen(getter)]
    pub fn channels(&self) -> usize {
        self.vae.config().shape.channels
    }

    /// Image height in pixels.
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> usize {
        self.vae.config().shape.height
    }

    /// Image width in pixels.
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> usize {
        self.vae.config().shape.width
    }

    /// Values per image: channels·height·width (channel-major).
    #[wasm_bindgen(getter)]
    pub fn pixels(&self) -> usize {
        self.vae.pixels()
    }

    /// A short description: "784-512-2", "conv 16-D on 1×28×28".
    #[wasm_bindgen(getter)]
    pub fn description(&self) -> String {
        self.vae.config().describe()
    }

    /// The file's `__metadata__` as a JSON object string.
    #[wasm_bindgen(getter)]
    pub fn metadata(&self) -> String {
        serde_json::to_string(&self.metadata).unwrap_or_default()
    }

    /// The weights as a PyTorch-compatible `.safetensors` file (F32) with this model's metadata.
    #[wasm_bindgen(js_name = toSafetensors)]
    pub fn to_safetensors(&self) -> Result<Vec<u8>, JsError> {
        weights::save_vae(&self.vae, &self.metadata).map_err(js_error)
    }

    /// Encodes B images (B·P values in [0, 1]) into their posteriors `{ mu, logVar }`, each a
    /// `Float32Array` of B·L values (image-major). A conditional model also takes B labels.
    pub fn encode(&self, images: &[f32], labels: Option<Vec<u8>>) -> Result<JsValue, JsError> {
        let stats = self.packed.encode(images, labels.as_deref()).map_err(js_error)?;
        let l = self.vae.config().latent;
        let (mut mu, mut log_var) = (Vec::with_capacity(stats.len() / 2), Vec::with_capacity(stats.len() / 2));
        for image in stats.chunks_exact(2 * l) {
            mu.extend_from_slice(&image[..l]);
            log_var.extend_from_slice(&image[l..]);
        }
        named(&[("mu", js_sys::Float32Array::from(&mu[..]).into()), ("logVar", js_sys::Float32Array::from(&log_var[..]).into())])
    }

    /// Decodes B latent points (B·L values; B labels for a conditional model) into B·P
    /// intensities in [0, 1].
    pub fn decode(&self, z: &[f32], labels: Option<Vec<u8>>) -> Result<Vec<f32>, JsError> {
        self.packed.decode(z, labels.as_deref()).map_err(js_error)
    }

    /// The anomaly score of one image (P values; a label for a conditional model): its negative
    /// ELBO in nats, the mean over `samples` draws of z.
    #[wasm_bindgen(js_name = anomalyScore)]
    pub fn anomaly_score(&mut self, image: &[f32], samples: usize, label: Option<u8>) -> Result<f32, JsError> {
        let (x, y) = self.model_input(image, label.as_ref().map(std::slice::from_ref))?;
        let score = anomaly::anomaly_scores(&self.vae, &x, y.as_ref(), samples, &mut self.rng).map_err(js_error)?;
        score.to_vec1::<f32>().map(|v| v[0]).map_err(js_error)
    }

    /// The ascending quantile table of the anomaly scores (`samples` draws each) of every image
    /// of `set`: what `percentileOf` ranks a score against (a picture set's held-out images).
    #[wasm_bindgen(js_name = anomalyTable)]
    pub fn anomaly_table(&mut self, set: &ImageSet, samples: usize) -> Result<Vec<f32>, JsError> {
        set.data.check_shape(self.vae.config().shape).map_err(js_error)?;
        let scores = anomaly::score_dataset(&self.vae, &set.data, samples, &mut self.rng).map_err(js_error)?;
        Ok(anomaly::quantile_table(&scores, anomaly::QUANTILE_POINTS))
    }

    /// The IWAE estimate of −log p(x) of one image with `k` importance samples, in nats.
    pub fn iwae(&mut self, image: &[f32], k: usize, label: Option<u8>) -> Result<f32, JsError> {
        let (x, y) = self.model_input(image, label.as_ref().map(std::slice::from_ref))?;
        let nll = loss::iwae_nll(&self.vae, &x, y.as_ref(), k, &mut self.rng).map_err(js_error)?;
        nll.to_vec1::<f32>().map(|v| v[0]).map_err(js_error)
    }

    /// Conditional models: the negative ELBO of `image` under each label (C values, lowest = the
    /// label that explains it best).
    #[wasm_bindgen(js_name = labelScores)]
    pub fn label_scores(&mut self, image: &[f32], samples: usize) -> Result<Vec<f32>, JsError> {
        conditional::label_scores(&self.vae, image, samples, &mut self.rng).map_err(js_error)
    }

    /// Conditional models: the style of `image` read with `label`, decoded as every label (C·P).
    #[wasm_bindgen(js_name = renderAllLabels)]
    pub fn render_all_labels(&self, image: &[f32], label: u8) -> Result<Vec<f32>, JsError> {
        conditional::render_all_labels(&self.vae, image, label).map_err(js_error)
    }

    /// Decodes the grid with columns at `xs` (dimension `dim_x`) and rows at `ys` (dimension
    /// `dim_y`, top row = last value), other dimensions at `base`; returns the RGBA pixels of the
    /// (W·xs.len())×(H·ys.len()) image. A conditional model decodes every cell with `label`.
    #[wasm_bindgen(js_name = decodeGridRgba)]
    pub fn decode_grid_rgba(
        &self,
        xs: &[f32],
        ys: &[f32],
        dim_x: usize,
        dim_y: usize,
        base: &[f32],
        label: Option<u8>,
    ) -> Result<Vec<u8>, JsError> {
        let l = self.latent_size();
        if base.len() != l || dim_x >= l || dim_y >= l || (dim_x == dim_y && l > 1) {
            return Err(JsError::new("grid dimensions do not fit the model's latent size"));
        }
        let z = grid::grid_latents(xs, ys, (dim_x, dim_y), base);
        let labels = label.map(|label| vec![label; xs.len() * ys.len()]);
        let images = self.packed.decode(&z, labels.as_deref()).map_err(js_error)?;
        Ok(grid::tile_rgba(&images, self.vae.config().shape, xs.len(), ys.len()))
    }

    /// The posterior means of images `start..start+count` of `images`: count·L values.
    #[wasm_bindgen(js_name = encodeMeans)]
    pub fn encode_means(&self, images: &ImageSet, start: usize, count: usize) -> Result<Vec<f32>, JsError> {
        // In chunks: all 10,000 test images at once would take 50 MB of activations, and a wasm
        // memory never shrinks.
        const CHUNK: usize = 1000;
        let l = self.latent_size();
        let conditional = self.vae.config().is_conditional();
        let end = start.saturating_add(count).min(images.data.len());
        let mut means = Vec::with_capacity(end.saturating_sub(start) * l);
        for from in (start..end).step_by(CHUNK) {
            let to = (from + CHUNK).min(end);
            let pixels = images.data.pixels_f32(from..to);
            let labels = conditional.then(|| &images.data.labels()[from..to]);
            let stats = self.packed.encode(&pixels, labels).map_err(js_error)?;
            means.extend(stats.chunks_exact(2 * l).flat_map(|s| &s[..l]));
        }
        Ok(means)
    }

    /// Draws z ~ N(0, I·t²) for `count` points: count·L values.
    #[wasm_bindgen(js_name = samplePrior)]
    pub fn sample_prior(&mut self, count: usize, temperature: f32) -> Vec<f32> {
        (0..count * self.latent_size()).map(|_| self.rng.standard_normal() * temperature).collect()
    }
}

impl Model {
    /// Images (B·P values) as a tensor [B, P], with one-hot labels for a conditional model.
    fn model_input(&self, images: &[f32], labels: Option<&[u8]>) -> Result<(Tensor, Option<Tensor>), JsError> {
        let x = self.vae.images(images, "the input").map_err(js_error)?;
        let b = x.dim(0).map_err(js_error)?;
        // Missing labels for a conditional model are reported by the model itself.
        let y = labels.map(|labels| grid::one_hot_for(&self.vae, labels, b)).transpose().map_err(js_error)?;
        Ok((x, y))
    }
}

/// A labelled image set (MNIST's test set, say), parsed from IDX files.
#[wasm_bindgen]
pub struct ImageSet {
    pub(super) data: Dataset,
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

    /// Image channels (1: grey).
    #[wasm_bindgen(getter)]
    pub fn channels(&self) -> usize {
        self.data.shape().channels
    }

    /// Image height in pixels.
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> usize {
        self.data.shape().height
    }

    /// Image width in pixels.
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> usize {
        self.data.shape().width
    }

    /// The labels, one byte per image.
    pub fn labels(&self) -> Vec<u8> {
        self.data.labels().to_vec()
    }

    /// Image `i` as C·H·W intensities in [0, 1].
    pub fn image(&self, i: usize) -> Result<Vec<f32>, JsError> {
        if i >= self.data.len() {
            return Err(JsError::new(&format!("image {i} out of range for {} images", self.data.len())));
        }
        Ok(self.data.image(i).iter().map(|&p| p as f32 / 255.0).collect())
    }
}
