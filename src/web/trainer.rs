//! The training worker's wasm type: a [`crate::train::Trainer`] with its data.

use candle_core::{Device, Tensor};
use wasm_bindgen::prelude::*;

use crate::data::Dataset;
use crate::parallel::{self, Minibatch, PartGradient};
use crate::rng::Rng;
use crate::train::{self, TrainConfig};
use crate::weights::{self, Metadata};
use crate::{grid, resume, Arch, ImageShape, VaeConfig};

use super::{js_error, named, ImageSet};

/// Seed of the noise used for held-out evaluation: the same ε every time, so the curve is smooth.
const HELDOUT_SEED: u64 = 0x4e1d;

/// Trains a VAE step by step on an image set, evaluating on a fixed held-out set.
#[wasm_bindgen]
pub struct Trainer {
    trainer: train::Trainer,
    train: Dataset,
    heldout: Dataset,
    dataset: String,
    /// More metadata for the weights file.
    extra: Metadata,
    last_heldout: Option<train::ElboStats>,
    /// The minibatch of a two-worker step in progress.
    batch: Option<Minibatch>,
    /// This worker's part of that step's gradient, and the step's batch size.
    pending: Option<(PartGradient, usize)>,
}

#[wasm_bindgen]
impl Trainer {
    /// A trainer over the first `subset` images of `train`, held-out loss on the first
    /// `heldout_count` images of `heldout`, for a model of the images' shape. With `init`
    /// (safetensors bytes) it fine-tunes that model (its sizes win over `latent` and `hidden`);
    /// otherwise it starts from scratch. `extra`: a JSON object of string entries the weights'
    /// metadata also records (a picture set's label names and preprocessing).
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        train: &ImageSet,
        subset: usize,
        heldout: &ImageSet,
        heldout_count: usize,
        dataset: String,
        arch: String,
        latent: usize,
        hidden: usize,
        classes: usize,
        beta: f64,
        learning_rate: f64,
        batch_size: usize,
        seed: u64,
        init: Option<Vec<u8>>,
        extra: Option<String>,
    ) -> Result<Trainer, JsError> {
        let shape = train.data.shape();
        let trainer = new_trainer(shape, &arch, latent, hidden, classes, beta, learning_rate, batch_size, seed, init)?;
        if let Some(&worst) =
            train.data.labels().iter().chain(heldout.data.labels()).max().filter(|&&l| classes > 0 && usize::from(l) >= classes)
        {
            return Err(JsError::new(&format!("label {worst} does not fit a conditional VAE of {classes} labels")));
        }
        heldout.data.check_shape(shape).map_err(js_error)?;
        let extra = parse_extra(extra)?;
        Ok(Self::over(trainer, train.data.take(subset.max(1)), heldout.data.take(heldout_count), dataset, extra))
    }

    /// A trainer that goes on from `checkpoint` (the bytes `checkpoint()` returned) over the same
    /// images as the run that saved it (the other arguments are `new`'s): its next steps are the
    /// ones that run would have taken.
    pub fn resume(
        train: &ImageSet,
        subset: usize,
        heldout: &ImageSet,
        heldout_count: usize,
        checkpoint: &[u8],
        extra: Option<String>,
    ) -> Result<Trainer, JsError> {
        let (state, run) = resume::load(checkpoint).map_err(js_error)?;
        let trainer = train::Trainer::from_state(state, &Device::Cpu).map_err(js_error)?;
        let shape = trainer.config().vae.shape;
        train.data.check_shape(shape).map_err(js_error)?;
        heldout.data.check_shape(shape).map_err(js_error)?;
        let train = train.data.take(subset.max(1));
        if trainer.order_len() > 0 && trainer.order_len() != train.len() {
            return Err(JsError::new(&format!("the checkpoint was trained on {} images, these are {}", trainer.order_len(), train.len())));
        }
        let dataset = run.get("dataset").cloned().unwrap_or_default();
        Ok(Self::over(trainer, train, heldout.data.take(heldout_count), dataset, parse_extra(extra)?))
    }

    /// Where this run stands, as bytes (`vae::resume`): weights, Adam's moments, the step, the
    /// RNG and the data order; `Trainer.resume` goes on from them.
    pub fn checkpoint(&self) -> Result<Vec<u8>, JsError> {
        let run: Metadata = [("dataset".to_string(), self.dataset.clone())].into();
        resume::save(&self.trainer.state().map_err(js_error)?, &run).map_err(js_error)
    }

    /// The helper of a run resumed from `checkpoint` (see `helper`).
    #[wasm_bindgen(js_name = helperFrom)]
    pub fn helper_from(checkpoint: &[u8]) -> Result<Trainer, JsError> {
        let (state, _) = resume::load(checkpoint).map_err(js_error)?;
        Self::helper_of(train::Trainer::from_state(state, &Device::Cpu).map_err(js_error)?)
    }

    /// One optimiser step on the next minibatch; returns `{ negElbo, recon, kl, batchSize,
    /// diverged }` (batch means, nats per image; `diverged` is true when the loss or a gradient
    /// was not finite: the update was skipped and the learning rate halved).
    pub fn step(&mut self) -> Result<JsValue, JsError> {
        let r = self.trainer.train_step(&self.train).map_err(js_error)?;
        report(r)
    }

    // Two workers, one step (see `crate::parallel`): this trainer draws the batch (`beginStep`),
    // sends a helper trainer made alike (`Trainer.helper`) the second half's images and noise
    // (`partImages`, `partNoise`), computes the first half (`partGradient`) while the helper
    // computes the second (`partGradientOf`); they swap flat gradients and loss sums (`partSums`),
    // and both apply the sum (`finishStep`), so both hold the same weights after every step.

    /// A trainer with no data for the second worker: the same arguments as the first's (and its
    /// images' `channels` × `side` × `side`) give the same initial weights and optimiser.
    #[allow(clippy::too_many_arguments)]
    pub fn helper(
        channels: usize,
        side: usize,
        arch: String,
        latent: usize,
        hidden: usize,
        classes: usize,
        beta: f64,
        learning_rate: f64,
        batch_size: usize,
        seed: u64,
        init: Option<Vec<u8>>,
    ) -> Result<Trainer, JsError> {
        let shape = ImageShape::new(channels, side, side).map_err(js_error)?;
        Self::helper_of(new_trainer(shape, &arch, latent, hidden, classes, beta, learning_rate, batch_size, seed, init)?)
    }

    /// Draws the next minibatch and its noise for a two-worker step; returns its size.
    #[wasm_bindgen(js_name = beginStep)]
    pub fn begin_step(&mut self) -> Result<usize, JsError> {
        let batch = self.trainer.next_minibatch(&self.train).map_err(js_error)?;
        let size = batch.len();
        self.batch = Some(batch);
        Ok(size)
    }

    /// The images of part `part` of `parts` of the drawn minibatch: n·P values in [0, 1].
    #[wasm_bindgen(js_name = partImages)]
    pub fn part_images(&self, part: usize, parts: usize) -> Result<Vec<f32>, JsError> {
        self.drawn_part(part, parts).and_then(|p| p.x.flatten_all().and_then(|t| t.to_vec1()).map_err(js_error))
    }

    /// The noise ε of part `part` of `parts` of the drawn minibatch: n·L values.
    #[wasm_bindgen(js_name = partNoise)]
    pub fn part_noise(&self, part: usize, parts: usize) -> Result<Vec<f32>, JsError> {
        self.drawn_part(part, parts).and_then(|p| p.eps.flatten_all().and_then(|t| t.to_vec1()).map_err(js_error))
    }

    /// The labels of part `part` of `parts` of the drawn minibatch (one byte each; empty for a
    /// plain VAE).
    #[wasm_bindgen(js_name = partLabels)]
    pub fn part_labels(&self, part: usize, parts: usize) -> Result<Vec<u8>, JsError> {
        let minibatch = self.drawn_part(part, parts)?;
        let Some(y) = minibatch.y else { return Ok(Vec::new()) };
        let rows: Vec<u32> = y.argmax(1).and_then(|t| t.to_vec1()).map_err(js_error)?;
        Ok(rows.into_iter().map(|l| l as u8).collect())
    }

    /// The flat gradient of part `part` of `parts` of the drawn minibatch (kept for `finishStep`).
    #[wasm_bindgen(js_name = partGradient)]
    pub fn part_gradient(&mut self, part: usize, parts: usize) -> Result<Vec<f32>, JsError> {
        let minibatch = self.drawn_part(part, parts)?;
        let batch_size = self.batch.as_ref().map_or(0, |b| b.len());
        self.gradient_of(&minibatch, batch_size)
    }

    /// The flat gradient of a part sent by the first worker: `images` (n·P values), its noise
    /// `noise` (n·L values) and `labels` (n bytes; empty for a plain VAE), from a step on
    /// `batch_size` images (kept for `finishStep`).
    #[wasm_bindgen(js_name = partGradientOf)]
    pub fn part_gradient_of(&mut self, images: Vec<f32>, noise: Vec<f32>, labels: Vec<u8>, batch_size: usize) -> Result<Vec<f32>, JsError> {
        let (p, l) = (self.trainer.vae().pixels(), self.trainer.config().vae.latent);
        let n = images.len() / p;
        if images.len() != n * p || noise.len() != n * l || n > batch_size {
            return Err(JsError::new(&format!(
                "a part of {} image values and {} noise values does not fit a step on {batch_size} images",
                images.len(),
                noise.len()
            )));
        }
        let x = Tensor::from_vec(images, (n, p), &Device::Cpu).map_err(js_error)?;
        let eps = Tensor::from_vec(noise, (n, l), &Device::Cpu).map_err(js_error)?;
        let y = if self.trainer.config().vae.is_conditional() {
            Some(grid::one_hot_for(self.trainer.vae(), &labels, n).map_err(js_error)?)
        } else {
            None
        };
        self.gradient_of(&Minibatch { x, y, eps }, batch_size)
    }

    /// `{ recon, kl }`: the summed loss terms (nats) of the part whose gradient was computed last.
    #[wasm_bindgen(js_name = partSums)]
    pub fn part_sums(&self) -> Result<JsValue, JsError> {
        let (recon, kl) = self.pending.as_ref().map_or((0.0, 0.0), |(g, _)| (g.recon_sum, g.kl_sum));
        named(&[("recon", recon.into()), ("kl", kl.into())])
    }

    /// Completes the two-worker step with the other part's flat gradient and sums; returns what
    /// `step` returns.
    #[wasm_bindgen(js_name = finishStep)]
    pub fn finish_step(&mut self, other: &[f32], other_recon: f64, other_kl: f64) -> Result<JsValue, JsError> {
        self.finish(Some((other, other_recon, other_kl)))
    }

    // While the first worker measures how fast it is alone (`crate::parallel` timing in
    // www/train-worker.js), the helper follows: the first worker computes the whole batch as one
    // part (`partGradient(0, 1)`), applies it (`finishStepAlone`) and sends it to the helper, which
    // applies the same gradient (`applyGradient`), so the two stay identical for later two-worker steps.

    /// Completes a step whose whole batch this trainer computed (`partGradient(0, 1)`); returns
    /// what `step` returns.
    #[wasm_bindgen(js_name = finishStepAlone)]
    pub fn finish_step_alone(&mut self) -> Result<JsValue, JsError> {
        self.finish(None)
    }

    /// Takes a step another trainer made alike computed alone: the whole batch's flat gradient
    /// (`partGradient(0, 1)` there), its summed loss terms and its batch size; returns what `step` returns.
    #[wasm_bindgen(js_name = applyGradient)]
    pub fn apply_gradient(&mut self, gradient: &[f32], recon: f64, kl: f64, batch_size: usize) -> Result<JsValue, JsError> {
        let total = self.part_of(gradient, recon, kl)?;
        let r = self.trainer.apply(batch_size, total).map_err(js_error)?;
        report(r)
    }

    /// Negative ELBO of the held-out images: `{ negElbo, recon, kl }` (nats per image).
    #[wasm_bindgen(js_name = evaluateHeldout)]
    pub fn evaluate_heldout(&mut self) -> Result<JsValue, JsError> {
        let s = train::evaluate(self.trainer.vae(), &self.heldout, &mut Rng::new(HELDOUT_SEED)).map_err(js_error)?;
        self.last_heldout = Some(s);
        named(&[("negElbo", s.neg_elbo.into()), ("recon", s.recon.into()), ("kl", s.kl.into())])
    }

    /// The current weights as PyTorch-compatible `.safetensors` bytes with training metadata.
    pub fn weights(&self) -> Result<Vec<u8>, JsError> {
        let c = self.trainer.config();
        let mut meta: Metadata = [
            (
                "format",
                format!("pytorch state_dict of the {}{} VAE", if c.vae.is_conditional() { "conditional " } else { "" }, c.vae.arch.name()),
            ),
            ("dataset", self.dataset.clone()),
            ("beta", c.beta.to_string()),
            ("epochs", self.trainer.epoch().to_string()),
            ("steps", self.trainer.steps().to_string()),
            ("batch", c.batch_size.to_string()),
            ("lr", self.trainer.learning_rate().to_string()),
            ("seed", c.seed.to_string()),
            ("trained_in", "browser".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        meta.extend(self.extra.clone());
        if let Some(h) = self.last_heldout {
            meta.insert("heldout_neg_elbo".into(), format!("{:.4}", h.neg_elbo));
            meta.insert("heldout_images".into(), h.n.to_string());
        }
        weights::save_vae(self.trainer.vae(), &meta).map_err(js_error)
    }

    /// Completed epochs.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> usize {
        self.trainer.epoch()
    }

    /// Optimiser steps taken.
    #[wasm_bindgen(getter)]
    pub fn steps(&self) -> usize {
        self.trainer.steps()
    }

    /// Images per epoch.
    #[wasm_bindgen(getter, js_name = trainSize)]
    pub fn train_size(&self) -> usize {
        self.train.len()
    }

    #[wasm_bindgen(getter, js_name = stepsPerEpoch)]
    pub fn steps_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.trainer.config().batch_size)
    }

    #[wasm_bindgen(getter, js_name = latentSize)]
    pub fn latent_size(&self) -> usize {
        self.trainer.config().vae.latent
    }

    /// Hidden width of an MLP; 0 for another architecture.
    #[wasm_bindgen(getter, js_name = hiddenSize)]
    pub fn hidden_size(&self) -> usize {
        self.trainer.config().vae.hidden().unwrap_or(0)
    }

    /// The architecture: `mlp` or `conv`.
    #[wasm_bindgen(getter)]
    pub fn arch(&self) -> String {
        self.trainer.config().vae.arch.name().to_string()
    }

    /// A short description of the model: "784-512-2", "conv 16-D on 1×28×28".
    #[wasm_bindgen(getter)]
    pub fn description(&self) -> String {
        self.trainer.config().vae.describe()
    }

    #[wasm_bindgen(getter, js_name = learningRate)]
    pub fn learning_rate(&self) -> f64 {
        self.trainer.learning_rate()
    }
}

impl Trainer {
    fn over(trainer: train::Trainer, train: Dataset, heldout: Dataset, dataset: String, extra: Metadata) -> Trainer {
        Trainer { trainer, train, heldout, dataset, extra, last_heldout: None, batch: None, pending: None }
    }

    fn helper_of(trainer: train::Trainer) -> Result<Trainer, JsError> {
        let none = Dataset::from_pixels(trainer.config().vae.shape, Vec::new(), Vec::new()).map_err(js_error)?;
        Ok(Self::over(trainer, none.clone(), none, String::new(), Metadata::new()))
    }

    fn drawn_part(&self, part: usize, parts: usize) -> Result<Minibatch, JsError> {
        let Some(batch) = &self.batch else { return Err(JsError::new("no minibatch drawn: call beginStep first")) };
        batch.part(part, parts).map_err(js_error)
    }

    /// A part's share of a step from its flat gradient and summed loss terms.
    fn part_of(&self, flat: &[f32], recon_sum: f64, kl_sum: f64) -> Result<PartGradient, JsError> {
        let grads = parallel::unflatten(flat, self.trainer.params()).map_err(js_error)?;
        Ok(PartGradient { recon_sum, kl_sum, grads })
    }

    /// Applies this trainer's pending part plus `other` (the rest of the batch: its flat gradient
    /// and summed loss terms), if any.
    fn finish(&mut self, other: Option<(&[f32], f64, f64)>) -> Result<JsValue, JsError> {
        let Some((mut total, batch_size)) = self.pending.take() else {
            return Err(JsError::new("finishing a step without a part gradient"));
        };
        self.batch = None;
        if let Some((flat, recon, kl)) = other {
            parallel::add_flat(&mut total, flat, recon, kl, self.trainer.params()).map_err(js_error)?;
        }
        let r = self.trainer.apply(batch_size, total).map_err(js_error)?;
        report(r)
    }

    fn gradient_of(&mut self, part: &Minibatch, batch_size: usize) -> Result<Vec<f32>, JsError> {
        let gradient = self.trainer.part_gradient(part, batch_size).map_err(js_error)?;
        let flat = parallel::flatten(&gradient.grads, self.trainer.params()).map_err(js_error)?;
        self.pending = Some((gradient, batch_size));
        Ok(flat)
    }
}

/// A trainer of a fresh model of architecture `arch` (`mlp`: P-`hidden`-`latent`; `conv`) for
/// images of `shape`, conditional on `classes` labels (0: a plain VAE), or of the model in `init`
/// (safetensors bytes; it must read `shape`).
#[allow(clippy::too_many_arguments)]
fn new_trainer(
    shape: ImageShape,
    arch: &str,
    latent: usize,
    hidden: usize,
    classes: usize,
    beta: f64,
    learning_rate: f64,
    batch_size: usize,
    seed: u64,
    init: Option<Vec<u8>>,
) -> Result<train::Trainer, JsError> {
    let arch = match arch {
        "mlp" => Arch::Mlp { hidden },
        "conv" => Arch::CONV,
        other => return Err(JsError::new(&format!("unknown architecture `{other}` (expected mlp or conv)"))),
    };
    let vae = VaeConfig { arch, shape, classes, ..VaeConfig::new(latent, hidden) };
    vae.check().map_err(js_error)?;
    let config = TrainConfig { vae, beta, learning_rate, batch_size, seed };
    match init {
        Some(bytes) => {
            let loaded = weights::load_vae(&bytes, &Device::Cpu).map_err(js_error)?;
            if loaded.vae.config().shape != shape {
                return Err(JsError::new(&format!("the model to fine-tune reads {} images; these are {shape}", loaded.vae.config().shape)));
            }
            train::Trainer::fine_tune(&loaded.vae, config)
        }
        None => train::Trainer::new(config, &Device::Cpu),
    }
    .map_err(js_error)
}

/// The weights file's extra entries from their JSON (an object of strings).
fn parse_extra(extra: Option<String>) -> Result<Metadata, JsError> {
    match extra {
        Some(json) => {
            serde_json::from_str(&json).map_err(|e| JsError::new(&format!("the extra metadata is not a JSON object of strings: {e}")))
        }
        None => Ok(Metadata::new()),
    }
}

/// `{ negElbo, recon, kl, batchSize, diverged }` of a step.
fn report(r: train::StepReport) -> Result<JsValue, JsError> {
    let s = r.stats;
    named(&[
        ("negElbo", s.neg_elbo.into()),
        ("recon", s.recon.into()),
        ("kl", s.kl.into()),
        ("batchSize", (s.n as f64).into()),
        ("diverged", r.diverged.into()),
    ])
}
