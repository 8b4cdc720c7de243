//! The training worker's wasm type: a [`crate::train::Trainer`] with its data.

use candle_core::Device;
use wasm_bindgen::prelude::*;

use crate::data::Dataset;
use crate::rng::Rng;
use crate::train::{self, TrainConfig};
use crate::weights::{self, Metadata};
use crate::VaeConfig;

use super::{js_error, ImageSet};

/// Seed of the noise used for held-out evaluation: the same ε every time, so the curve is smooth.
const HELDOUT_SEED: u64 = 0x4e1d;

/// Trains a VAE step by step on an image set, evaluating on a fixed held-out set.
#[wasm_bindgen]
pub struct Trainer {
    trainer: train::Trainer,
    train: Dataset,
    heldout: Dataset,
    dataset: String,
    last_heldout: Option<train::ElboStats>,
}

#[wasm_bindgen]
impl Trainer {
    /// A trainer over the first `subset` images of `train`, held-out loss on the first
    /// `heldout_count` images of `heldout`. With `init` (safetensors bytes) it fine-tunes that
    /// model (its sizes win over `latent` and `hidden`); otherwise it starts from scratch.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        train: &ImageSet,
        subset: usize,
        heldout: &ImageSet,
        heldout_count: usize,
        dataset: String,
        latent: usize,
        hidden: usize,
        beta: f64,
        learning_rate: f64,
        batch_size: usize,
        seed: u64,
        init: Option<Vec<u8>>,
    ) -> Result<Trainer, JsError> {
        if !(1..=64).contains(&latent) || !(1..=4096).contains(&hidden) {
            return Err(JsError::new(&format!("latent size {latent} or hidden size {hidden} out of range")));
        }
        let config = TrainConfig { vae: VaeConfig::new(latent, hidden), beta, learning_rate, batch_size, seed };
        let trainer = match init {
            Some(bytes) => {
                let loaded = weights::load_vae(&bytes, &Device::Cpu).map_err(js_error)?;
                train::Trainer::fine_tune(&loaded.vae, config)
            }
            None => train::Trainer::new(config, &Device::Cpu),
        }
        .map_err(js_error)?;
        let train = train.data.take(subset.max(1));
        Ok(Trainer { trainer, train, heldout: heldout.data.take(heldout_count), dataset, last_heldout: None })
    }

    /// One optimiser step on the next minibatch; returns `[neg_elbo, recon, kl, batch size,
    /// diverged]` (batch means, nats per image; `diverged` is 1 when the loss or a gradient was
    /// not finite, the update was skipped and the learning rate halved, else 0).
    pub fn step(&mut self) -> Result<Vec<f64>, JsError> {
        let r = self.trainer.train_step(&self.train).map_err(js_error)?;
        let s = r.stats;
        Ok(vec![s.neg_elbo, s.recon, s.kl, s.n as f64, f64::from(u8::from(r.diverged))])
    }

    /// Negative ELBO of the held-out images: `[neg_elbo, recon, kl]`.
    #[wasm_bindgen(js_name = evaluateHeldout)]
    pub fn evaluate_heldout(&mut self) -> Result<Vec<f64>, JsError> {
        let s = train::evaluate(self.trainer.vae(), &self.heldout, &mut Rng::new(HELDOUT_SEED)).map_err(js_error)?;
        self.last_heldout = Some(s);
        Ok(vec![s.neg_elbo, s.recon, s.kl])
    }

    /// The current weights as PyTorch-compatible `.safetensors` bytes with training metadata.
    pub fn weights(&self) -> Result<Vec<u8>, JsError> {
        let c = self.trainer.config();
        let mut meta: Metadata = [
            ("format", "pytorch state_dict of the seed's VAE".to_string()),
            ("dataset", self.dataset.clone()),
            ("latent", c.vae.latent.to_string()),
            ("hidden", c.vae.hidden.to_string()),
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

    #[wasm_bindgen(getter, js_name = hiddenSize)]
    pub fn hidden_size(&self) -> usize {
        self.trainer.config().vae.hidden
    }

    #[wasm_bindgen(getter, js_name = learningRate)]
    pub fn learning_rate(&self) -> f64 {
        self.trainer.learning_rate()
    }

    #[wasm_bindgen(setter, js_name = learningRate)]
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.trainer.set_learning_rate(lr)
    }
}
