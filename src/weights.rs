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

use crate::model::{Vae, VaeConfig, IMAGE_PIXELS};
use crate::rng::Rng;

/// Largest latent size or hidden width a file may declare. Bounds memory before any allocation.
pub const MAX_LAYER_WIDTH: usize = 8192;

/// Most label classes a conditional VAE's file may declare.
pub const MAX_CLASSES: usize = 1000;

/// Largest JSON header accepted (ours are under 2 KB; the safetensors format allows 100 MB).
pub const MAX_HEADER_BYTES: u64 = 1 << 20;

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
    // The names do not depend on the sizes: check them first, so a renamed tensor is named.
    let expected_names: Vec<&str> = VaeConfig::new(1, 1).parameter_shapes().iter().map(|(n, _)| *n).collect();
    let mut names: Vec<String> = file.names().into_iter().map(str::to_string).collect();
    names.sort();
    if let Some(extra) = names.iter().find(|n| !expected_names.contains(&n.as_str())) {
        bail!("unexpected tensor `{extra}` (expected exactly: {})", expected_names.join(", "));
    }
    let config = config_from_shapes(&file)?;
    let expected = config.parameter_shapes();

    let mut tensors = HashMap::new();
    for (name, shape) in expected.iter() {
        let view = tensor(&file, name)?;
        if view.shape() != shape.as_slice() {
            bail!(
                "tensor `{name}` has shape {:?}, expected {:?} for latent size {} and hidden size {}{}",
                view.shape(),
                shape,
                config.latent,
                config.hidden,
                if config.classes > 0 { format!(" with {} label classes", config.classes) } else { String::new() }
            );
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
    let metadata = file_metadata(bytes)?;
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

/// Reads L and H from the shapes of `encoder.2.weight` [2L, H] and `decoder.0.weight` [H, L], and
/// the number of label classes C of a conditional VAE from `encoder.0.weight` [H, 784 + C] and
/// `decoder.0.weight` [H, L + C].
fn config_from_shapes(file: &SafeTensors) -> Result<VaeConfig> {
    let enc2 = tensor(file, "encoder.2.weight")?;
    let dec0 = tensor(file, "decoder.0.weight")?;
    let enc0 = tensor(file, "encoder.0.weight")?;
    let (two_l, h) = match enc2.shape() {
        [a, b] => (*a, *b),
        s => bail!("tensor `encoder.2.weight` has shape {s:?}, expected [2L, H]"),
    };
    if two_l == 0 || two_l % 2 != 0 {
        bail!("tensor `encoder.2.weight` has {two_l} rows; it must be 2L (mu and log_var), an even number > 0");
    }
    let classes = match enc0.shape() {
        [_, w] if *w >= IMAGE_PIXELS && w - IMAGE_PIXELS <= MAX_CLASSES => w - IMAGE_PIXELS,
        s => bail!("tensor `encoder.0.weight` has shape {s:?}, expected [H, 784] (or [H, 784 + C] for a conditional VAE with C ≤ {MAX_CLASSES} classes)"),
    };
    let config = VaeConfig::conditional(two_l / 2, h, classes);
    if config.latent > MAX_LAYER_WIDTH || h == 0 || h > MAX_LAYER_WIDTH {
        bail!("latent size {} or hidden size {h} out of range 1..={MAX_LAYER_WIDTH}", config.latent);
    }
    if dec0.shape() != [h, config.latent + classes] {
        bail!(
            "tensor `decoder.0.weight` has shape {:?}, expected [{h}, {}] to match `encoder.2.weight`{}",
            dec0.shape(),
            config.latent + classes,
            if classes > 0 { format!(" and the {classes} label inputs of `encoder.0.weight`") } else { String::new() }
        );
    }
    Ok(config)
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
    let info: HashMap<String, String> = metadata.clone().into_iter().collect();
    safetensors::tensor::serialize(params.iter().map(|(n, t)| (n.as_str(), t)), Some(info))
        .map_err(|e| candle_core::Error::Msg(format!("cannot serialise weights: {e}")))
}

/// Fresh trainable parameters with PyTorch's default `nn.Linear` initialisation
/// (weights and biases ~ U(-1/√fan_in, 1/√fan_in)), drawn from `rng`.
pub fn init_varmap(config: VaeConfig, rng: &mut Rng, device: &Device) -> Result<VarMap> {
    let varmap = VarMap::new();
    for (name, shape) in config.parameter_shapes() {
        let fan_in = match name {
            "encoder.0.weight" | "encoder.0.bias" => IMAGE_PIXELS + config.classes,
            "decoder.0.weight" | "decoder.0.bias" => config.latent + config.classes,
            _ => config.hidden,
        };
        let t = rng.uniform(shape, 1.0 / (fan_in as f32).sqrt(), device)?;
        insert_var(&varmap, name, &t)?;
    }
    Ok(varmap)
}

/// Trainable parameters holding a copy of `vae`'s weights (for fine-tuning).
pub fn varmap_from(vae: &Vae) -> Result<VarMap> {
    let varmap = VarMap::new();
    for (name, t) in vae.named_parameters() {
        insert_var(&varmap, &name, &t)?;
    }
    Ok(varmap)
}

fn insert_var(varmap: &VarMap, name: &str, t: &Tensor) -> Result<()> {
    let var = candle_core::Var::from_tensor(&t.copy()?)?;
    varmap.data().lock().map_err(|_| candle_core::Error::Msg("parameter store poisoned".into()))?.insert(name.to_string(), var);
    Ok(())
}
