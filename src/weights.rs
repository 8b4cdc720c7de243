//! Weights as `.safetensors`, in the layout of the PyTorch module's `state_dict`, so that files
//! move between PyTorch (`safetensors.torch.save_file(model.state_dict(), path)`) and this crate
//! unchanged.
//!
//! Loading validates everything before the model is built: the header, every expected name (no
//! more, no fewer), each shape against the sizes L and H read from the file, the dtype (F32, F16
//! or BF16, converted to F32) and that every value is finite. Errors name what is wrong.

use std::collections::{BTreeMap, HashMap};

use candle_core::{bail, safetensors::Load, DType, Device, Result, Tensor};
use candle_nn::{VarBuilder, VarMap};
use safetensors::{tensor::TensorView, SafeTensors};

use crate::arch::{conv, Arch};
use crate::limits::{self, MAX_HEADER_BYTES};
use crate::model::{Vae, VaeConfig};
use crate::rng::Rng;
use crate::shape::ImageShape;

/// What a weights file says about how it was made, stored in the safetensors `__metadata__`.
pub type Metadata = BTreeMap<String, String>;

/// A model read from a file, with the file's metadata.
pub struct LoadedVae {
    pub vae: Vae,
    pub metadata: Metadata,
}

/// Reads and validates a `.safetensors` file's bytes and builds the model it describes.
pub fn load_vae(bytes: &[u8], device: &Device) -> Result<LoadedVae> {
    check_header_length(bytes)?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| candle_core::Error::Msg(format!("not a valid .safetensors file: {e}")))?;
    let metadata = file_metadata(bytes)?;
    let config = config_from_file(&file, &metadata)?;
    let expected = config.parameter_specs();

    let mut tensors = HashMap::new();
    for spec in &expected {
        let name = spec.name.as_str();
        let view = tensor(&file, name)?;
        if view.shape() != spec.shape.as_slice() {
            bail!("tensor `{name}` has shape {:?}, expected {:?} for {}", view.shape(), spec.shape, config.describe());
        }
        let dtype = view.dtype();
        if !matches!(dtype, safetensors::Dtype::F32 | safetensors::Dtype::F16 | safetensors::Dtype::BF16) {
            bail!("tensor `{name}` has dtype {dtype:?}; only F32, F16 and BF16 are supported");
        }
        let t = view.load(device)?.to_dtype(DType::F32)?;
        // Checked value by value: candle's `max` skips NaN (every comparison with NaN is false),
        // so a reduction would miss a NaN anywhere but the first element.
        let finite = t.flatten_all()?.to_vec1::<f32>()?.iter().all(|v| v.is_finite());
        if !finite {
            bail!("tensor `{name}` contains NaN or infinite values");
        }
        tensors.insert(name.to_string(), t);
    }
    let vae = Vae::new(VarBuilder::from_tensors(tensors, DType::F32, device), config)?;
    Ok(LoadedVae { vae, metadata })
}

/// The 8-byte little-endian header length must fit the file and [`MAX_HEADER_BYTES`].
fn check_header_length(bytes: &[u8]) -> Result<()> {
    let Some(prefix) = bytes.first_chunk::<8>() else {
        bail!("not a valid .safetensors file: {} bytes is shorter than the 8-byte header length", bytes.len());
    };
    let n = u64::from_le_bytes(*prefix);
    if n > MAX_HEADER_BYTES {
        bail!("not a valid .safetensors file: header length {n} exceeds the limit of {MAX_HEADER_BYTES} bytes");
    }
    if n > (bytes.len() - 8) as u64 {
        bail!("not a valid .safetensors file: header length {n} runs past the end of the {}-byte file", bytes.len());
    }
    Ok(())
}

fn tensor<'a>(file: &'a SafeTensors<'a>, name: &str) -> Result<TensorView<'a>> {
    file.tensor(name).map_err(|_| candle_core::Error::Msg(format!("missing tensor `{name}`")))
}

/// The shape of tensor `name`, which must have `rank` dimensions.
fn dims(file: &SafeTensors, name: &str, rank: usize, expected: &str) -> Result<Vec<usize>> {
    let view = tensor(file, name)?;
    if view.shape().len() != rank {
        bail!("tensor `{name}` has shape {:?}, expected {expected}", view.shape());
    }
    Ok(view.shape().to_vec())
}

/// Which architecture the file holds, from its tensor names alone: the conv VAE has
/// `encoder.5.*`, the MLP does not. Every name must be one the architecture has (no more, no fewer).
fn arch_names(file: &SafeTensors) -> Result<(&'static str, Vec<String>)> {
    let mut names: Vec<String> = file.names().into_iter().map(str::to_string).collect();
    names.sort();
    let probe = |arch| VaeConfig { arch, ..VaeConfig::new(1, 1) }.parameter_specs().into_iter().map(|s| s.name).collect::<Vec<_>>();
    let conv = names.iter().any(|n| n.starts_with("encoder.5.") || n.starts_with("decoder.3.") || n.starts_with("decoder.5."));
    let (arch, expected) = if conv { ("conv", probe(Arch::CONV)) } else { ("mlp", probe(Arch::Mlp { hidden: 1 })) };
    if let Some(extra) = names.iter().find(|n| !expected.contains(n)) {
        bail!("unexpected tensor `{extra}` (expected exactly: {})", expected.join(", "));
    }
    Ok((arch, expected))
}

/// The model a file describes: its architecture from the tensor names, its sizes from the
/// shapes, and its image shape from the metadata (`channels`, `height`, `width`) or, when the
/// file has none (a file PyTorch wrote), from the shapes: 784 values are MNIST's 1×28×28, other
/// sizes a square of one or three channels.
fn config_from_file(file: &SafeTensors, metadata: &Metadata) -> Result<VaeConfig> {
    let (arch, _) = arch_names(file)?;
    let recorded = ImageShape::from_metadata(metadata)?;
    let config = if arch == "conv" { conv_config(file, recorded)? } else { mlp_config(file, recorded)? };
    config.check()?;
    Ok(config)
}

/// The MLP's sizes: L and H from `encoder.2.weight` [2L, H], P from `decoder.2.weight` [P, H],
/// C from `encoder.0.weight` [H, P + C]; `decoder.0.weight` [H, L + C] must agree.
fn mlp_config(file: &SafeTensors, recorded: Option<ImageShape>) -> Result<VaeConfig> {
    let enc2 = dims(file, "encoder.2.weight", 2, "[2L, H]")?;
    let (two_l, h) = (enc2[0], enc2[1]);
    if two_l == 0 || two_l % 2 != 0 {
        bail!("tensor `encoder.2.weight` has {two_l} rows; it must be 2L (mu and log_var), an even number > 0");
    }
    if h == 0 || h > limits::MAX_HIDDEN || two_l / 2 > limits::MAX_LATENT {
        bail!(
            "latent size {} or hidden size {h} out of range (latent 1..={}, hidden 1..={})",
            two_l / 2,
            limits::MAX_LATENT,
            limits::MAX_HIDDEN
        );
    }
    let dec2 = dims(file, "decoder.2.weight", 2, "[P, H]")?;
    if dec2[1] != h {
        bail!("tensor `decoder.2.weight` has shape {dec2:?}, expected [P, {h}] (P pixels) to match `encoder.2.weight`");
    }
    let p = dec2[0];
    let shape = match recorded {
        Some(shape) if shape.pixels() == p => shape,
        Some(shape) => bail!("the metadata says {shape} images ({} values) but `decoder.2.weight` writes {p}", shape.pixels()),
        None if p == crate::IMAGE_PIXELS => ImageShape::MNIST,
        None => ImageShape::square_of(p).ok_or_else(|| {
            candle_core::Error::Msg(format!("images of {p} values are not square and the file does not record their shape"))
        })?,
    };
    let enc0 = dims(file, "encoder.0.weight", 2, "[H, P]")?;
    let classes = match enc0[1].checked_sub(p) {
        Some(c) if c <= limits::MAX_CLASSES => c,
        _ => bail!(
            "tensor `encoder.0.weight` has shape {enc0:?}, expected [H, {p}] (or [H, {p} + C] for a conditional VAE with C ≤ {} classes)",
            limits::MAX_CLASSES
        ),
    };
    let config = VaeConfig { shape, latent: two_l / 2, classes, arch: Arch::Mlp { hidden: h } };
    let dec0 = dims(file, "decoder.0.weight", 2, "[H, L]")?;
    if dec0 != [h, config.latent + classes] {
        bail!(
            "tensor `decoder.0.weight` has shape {dec0:?}, expected [{h}, {}] to match `encoder.2.weight`{}",
            config.latent + classes,
            if classes > 0 { format!(" and the {classes} label inputs of `encoder.0.weight`") } else { String::new() }
        );
    }
    Ok(config)
}

/// The conv VAE's sizes: c1 and C from `encoder.0.weight` [c1, C, 4, 4], c2 from
/// `encoder.2.weight` [c2, c1, 4, 4], the feature count F = c2·(H/4)·(W/4) from
/// `decoder.0.weight` [F, L + classes], classes from `encoder.5.weight` [2L, F + classes].
fn conv_config(file: &SafeTensors, recorded: Option<ImageShape>) -> Result<VaeConfig> {
    let k = conv::KERNEL;
    let enc0 = dims(file, "encoder.0.weight", 4, "[c1, C, 4, 4]")?;
    let (c1, channels) = (enc0[0], enc0[1]);
    let enc2 = dims(file, "encoder.2.weight", 4, "[c2, c1, 4, 4]")?;
    let c2 = enc2[0];
    if enc0[2..] != [k, k] || enc2[1..] != [c1, k, k] {
        bail!("tensors `encoder.0.weight` {enc0:?} and `encoder.2.weight` {enc2:?} are not [c1, C, 4, 4] and [c2, c1, 4, 4]");
    }
    if c1 == 0
        || c2 == 0
        || c1 > limits::MAX_CONV_CHANNELS
        || c2 > limits::MAX_CONV_CHANNELS
        || channels == 0
        || channels > limits::MAX_CHANNELS
    {
        bail!("conv channels {c1}, {c2} or image channels {channels} out of range");
    }
    let dec0 = dims(file, "decoder.0.weight", 2, "[c2·(H/4)·(W/4), L]")?;
    let f = dec0[0];
    if f == 0 || !f.is_multiple_of(c2) {
        bail!("tensor `decoder.0.weight` has {f} rows, not a multiple of the {c2} channels of `encoder.2.weight`");
    }
    let shape = match recorded {
        Some(shape) if shape.channels == channels && conv::features(&shape, c2) == f => shape,
        Some(shape) => bail!("the metadata says {shape} images but the tensors are for {channels}-channel images with {f} features"),
        None => {
            let quarter = (f / c2).isqrt();
            if quarter * quarter != f / c2 {
                bail!("{f} features of {c2} channels are not a square map and the file does not record the image shape");
            }
            ImageShape::new(channels, 4 * quarter, 4 * quarter)?
        }
    };
    let enc5 = dims(file, "encoder.5.weight", 2, "[2L, c2·(H/4)·(W/4)]")?;
    let two_l = enc5[0];
    if two_l == 0 || two_l % 2 != 0 {
        bail!("tensor `encoder.5.weight` has {two_l} rows; it must be 2L (mu and log_var), an even number > 0");
    }
    let classes = match enc5[1].checked_sub(f) {
        Some(c) if c <= limits::MAX_CLASSES => c,
        _ => bail!("tensor `encoder.5.weight` has shape {enc5:?}, expected [{two_l}, {f}] (or [{two_l}, {f} + C] for a conditional VAE)"),
    };
    if dec0[1] != two_l / 2 + classes {
        bail!("tensor `decoder.0.weight` has shape {dec0:?}, expected [{f}, {}] to match `encoder.5.weight`", two_l / 2 + classes);
    }
    Ok(VaeConfig { shape, latent: two_l / 2, classes, arch: Arch::Conv { c1, c2 } })
}

/// The `__metadata__` map of a safetensors file (empty when it has none).
pub fn file_metadata(bytes: &[u8]) -> Result<Metadata> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| candle_core::Error::Msg(format!("not a valid .safetensors file: {e}")))?;
    Ok(meta.metadata().as_ref().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default())
}

/// Serialises the model's parameters (F32, PyTorch names) with `metadata`.
pub fn save_vae(vae: &Vae, metadata: &Metadata) -> Result<Vec<u8>> {
    let params = vae.named_parameters();
    let mut info: HashMap<String, String> = metadata.clone().into_iter().collect();
    info.extend(model_metadata(&vae.config()));
    safetensors::tensor::serialize(params.iter().map(|(n, t)| (n.as_str(), t)), Some(info))
        .map_err(|e| candle_core::Error::Msg(format!("cannot serialise weights: {e}")))
}

/// What a file records about the model itself, whoever wrote it: the architecture and its
/// sizes, the image shape, the latent size and the label classes.
pub fn model_metadata(config: &VaeConfig) -> Vec<(String, String)> {
    let s = config.shape;
    let mut out = vec![
        ("arch", config.arch.name().to_string()),
        ("channels", s.channels.to_string()),
        ("height", s.height.to_string()),
        ("width", s.width.to_string()),
        ("latent", config.latent.to_string()),
        ("classes", config.classes.to_string()),
    ];
    match config.arch {
        Arch::Mlp { hidden } => out.push(("hidden", hidden.to_string())),
        Arch::Conv { c1, c2 } => out.extend([("c1", c1.to_string()), ("c2", c2.to_string())]),
    }
    out.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Fresh trainable parameters with PyTorch's default initialisation of `nn.Linear`, `nn.Conv2d`
/// and `nn.ConvTranspose2d` (weights and biases ~ U(−1/√fan_in, 1/√fan_in)), drawn from `rng`.
pub fn init_varmap(config: VaeConfig, rng: &mut Rng, device: &Device) -> Result<VarMap> {
    config.check()?;
    let varmap = VarMap::new();
    for spec in config.parameter_specs() {
        let t = rng.uniform(spec.shape, 1.0 / (spec.fan_in as f32).sqrt(), device)?;
        insert_var(&varmap, &spec.name, &t)?;
    }
    Ok(varmap)
}

/// Trainable parameters holding a copy of `vae`'s weights (for fine-tuning).
pub fn varmap_from(vae: &Vae) -> Result<VarMap> {
    let named = vae.named_parameters();
    varmap_of(named.iter().map(|(n, t)| (n.as_str(), t)))
}

/// Trainable parameters holding copies of `named` tensors.
pub fn varmap_of<'a>(named: impl IntoIterator<Item = (&'a str, &'a Tensor)>) -> Result<VarMap> {
    let varmap = VarMap::new();
    for (name, t) in named {
        insert_var(&varmap, name, t)?;
    }
    Ok(varmap)
}

fn insert_var(varmap: &VarMap, name: &str, t: &Tensor) -> Result<()> {
    let var = candle_core::Var::from_tensor(&t.copy()?)?;
    varmap.data().lock().map_err(|_| candle_core::Error::Msg("parameter store poisoned".into()))?.insert(name.to_string(), var);
    Ok(())
}
