//! A training checkpoint as one `.safetensors` file: everything [`crate::train::TrainerState`]
//! holds, so that a run resumed from it takes exactly the steps of a run never interrupted.
//!
//! Tensors: `model.<name>` (the weights, PyTorch names), `fallback.<name>` (the weights a
//! divergence falls back to, when there are any), `adam.m.<name>` and `adam.v.<name>` (Adam's
//! moments), `order` (U32 [N]: this epoch's order of the training images). The metadata holds the
//! model's sizes (as a weights file has them), the run's hyper-parameters, the position (steps,
//! epoch, cursor, Adam's step, the RNG's key and word position), and the caller's own entries
//! under `run.`.

use std::collections::HashMap;

use candle_core::{bail, DType, Device, Result, Tensor};

use crate::optim::AdamState;
use crate::rng::RngState;
use crate::train::{TrainConfig, TrainerState};
use crate::weights::{self, Metadata};
use crate::{Arch, ImageShape, VaeConfig};

/// The `format` entry of a checkpoint's metadata.
pub const FORMAT: &str = "vae training checkpoint 1";

/// Serialises `state` with the caller's `run` entries (a dataset's name, label names, …).
pub fn save(state: &TrainerState, run: &Metadata) -> Result<Vec<u8>> {
    let c = &state.config;
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    for (i, (name, t)) in state.params.iter().enumerate() {
        let (m, v) = &state.adam.moments[i];
        tensors.push((format!("model.{name}"), t.clone()));
        tensors.push((format!("adam.m.{name}"), Tensor::from_slice(m, t.dims(), t.device())?));
        tensors.push((format!("adam.v.{name}"), Tensor::from_slice(v, t.dims(), t.device())?));
        if let Some(fallback) = &state.fallback {
            tensors.push((format!("fallback.{name}"), fallback[i].clone()));
        }
    }
    let order: Vec<u32> = state.order.iter().map(|&i| i as u32).collect();
    tensors.push(("order".into(), Tensor::from_vec(order, state.order.len(), &Device::Cpu)?));
    let rng = &state.rng;
    let mut meta: HashMap<String, String> = weights::model_metadata(&c.vae).into_iter().collect();
    let entries = [
        ("format", FORMAT.to_string()),
        ("beta", c.beta.to_string()),
        ("lr0", c.learning_rate.to_string()),
        ("lr", state.learning_rate.to_string()),
        ("batch", c.batch_size.to_string()),
        ("seed", c.seed.to_string()),
        ("adam_step", state.adam.step.to_string()),
        ("rng_seed", rng.seed.iter().map(|b| format!("{b:02x}")).collect()),
        ("rng_word_pos", rng.word_pos.to_string()),
        ("rng_stream", rng.stream.to_string()),
        ("cursor", state.cursor.to_string()),
        ("epoch", state.epoch.to_string()),
        ("steps", state.steps.to_string()),
        ("healthy_steps", state.healthy_steps.to_string()),
        ("best_loss", state.best_loss.to_string()),
    ];
    meta.extend(entries.into_iter().map(|(k, v)| (k.to_string(), v)));
    meta.extend(run.iter().map(|(k, v)| (format!("run.{k}"), v.clone())));
    safetensors::tensor::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(meta))
        .map_err(|e| candle_core::Error::Msg(format!("cannot serialise the checkpoint: {e}")))
}

/// Reads a checkpoint written by [`save`]: the trainer's state and the caller's `run` entries.
pub fn load(bytes: &[u8]) -> Result<(TrainerState, Metadata)> {
    let meta = weights::file_metadata(bytes)?;
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        bail!("not a training checkpoint of this app (its format is {:?})", meta.get("format").map_or("missing", String::as_str));
    }
    let get = |key: &str| meta.get(key).ok_or_else(|| candle_core::Error::Msg(format!("the checkpoint has no `{key}` entry")));
    fn num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
        value.parse().map_err(|_| candle_core::Error::Msg(format!("the checkpoint's `{key}` is not a number: {value:?}")))
    }
    let n = |key: &str| -> Result<usize> { num(key, get(key)?) };
    let f = |key: &str| -> Result<f64> { num(key, get(key)?) };
    let arch = match get("arch")?.as_str() {
        "mlp" => Arch::Mlp { hidden: n("hidden")? },
        "conv" => Arch::Conv { c1: n("c1")?, c2: n("c2")? },
        other => bail!("the checkpoint's architecture `{other}` is unknown"),
    };
    let vae = VaeConfig {
        shape: ImageShape::new(n("channels")?, n("height")?, n("width")?)?,
        latent: n("latent")?,
        classes: n("classes")?,
        arch,
    };
    vae.check()?;
    let config = TrainConfig { vae, beta: f("beta")?, learning_rate: f("lr0")?, batch_size: n("batch")?, seed: num("seed", get("seed")?)? };
    let seed_hex = get("rng_seed")?;
    let mut seed = [0u8; 32];
    if seed_hex.len() != 64 || !seed_hex.is_ascii() {
        bail!("the checkpoint's `rng_seed` is not 32 hex bytes");
    }
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&seed_hex[2 * i..2 * i + 2], 16)
            .map_err(|_| candle_core::Error::Msg("the checkpoint's `rng_seed` is not hex".into()))?;
    }
    let rng = RngState { seed, word_pos: num("rng_word_pos", get("rng_word_pos")?)?, stream: num("rng_stream", get("rng_stream")?)? };

    let mut tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
    let mut take =
        |name: &str| tensors.remove(name).ok_or_else(|| candle_core::Error::Msg(format!("the checkpoint has no tensor `{name}`")));
    let mut names: Vec<String> = vae.parameter_specs().into_iter().map(|s| s.name).collect();
    names.sort();
    let (mut params, mut moments, mut fallback) = (Vec::new(), Vec::new(), Vec::new());
    for name in &names {
        let t = take(&format!("model.{name}"))?.to_dtype(DType::F32)?;
        let vec = |t: Tensor| -> Result<Vec<f32>> { t.to_dtype(DType::F32)?.flatten_all()?.to_vec1() };
        let m = take(&format!("adam.m.{name}"))?;
        let v = take(&format!("adam.v.{name}"))?;
        let dims = t.dims().to_vec();
        if m.dims() != dims || v.dims() != dims {
            bail!("the checkpoint's Adam moments of `{name}` have the wrong shape");
        }
        moments.push((vec(m)?, vec(v)?));
        if let Ok(saved) = take(&format!("fallback.{name}")) {
            fallback.push(saved.to_dtype(DType::F32)?);
        }
        params.push((name.clone(), t));
    }
    if !fallback.is_empty() && fallback.len() != params.len() {
        bail!("the checkpoint's fallback weights are incomplete");
    }
    let order: Vec<usize> = take("order")?.to_dtype(DType::U32)?.to_vec1::<u32>()?.into_iter().map(|i| i as usize).collect();
    let state = TrainerState {
        config,
        learning_rate: f("lr")?,
        params,
        fallback: (!fallback.is_empty()).then_some(fallback),
        adam: AdamState { step: num("adam_step", get("adam_step")?)?, moments },
        rng,
        order,
        cursor: n("cursor")?,
        epoch: n("epoch")?,
        steps: n("steps")?,
        healthy_steps: n("healthy_steps")?,
        best_loss: f("best_loss")?,
    };
    let run = meta.iter().filter_map(|(k, v)| k.strip_prefix("run.").map(|k| (k.to_string(), v.clone()))).collect();
    Ok((state, run))
}
