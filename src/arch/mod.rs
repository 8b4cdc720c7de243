//! The architectures a [`crate::Vae`] can have, behind one small trait.
//!
//! An [`Arch`] is a value the model carries and its weights file records (`arch` in the
//! metadata, and the tensor names and shapes themselves): the seed's MLP ([`mlp`]) and the
//! convolutional VAE ([`conv`]), each optionally conditional on a one-hot label. Everything
//! outside this module reaches the network through [`Network`]: images go in as [B, C·H·W] rows
//! and come out the same way, whatever the layers in between.
//!
//! A new architecture is a new file implementing [`Network`], a variant of [`Arch`] and of
//! [`Net`], its parameter list in [`Arch::parameter_specs`] and its detection in
//! [`crate::weights`].

pub mod conv;
pub mod mlp;
pub mod unfold;

use candle_core::{bail, Result, Tensor};
use candle_nn::VarBuilder;

use crate::model::VaeConfig;

/// Which network, with its own sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// The seed's module: `Linear(P+C, H)-ReLU-Linear(H, 2L)` / `Linear(L+C, H)-ReLU-Linear(H, P)`.
    Mlp { hidden: usize },
    /// Two stride-2 convolutions down, two transposed convolutions up ([`conv`]), with `c1` and
    /// `c2` feature channels.
    Conv { c1: usize, c2: usize },
}

impl Arch {
    /// The conv VAE's channels in the module this project interchanges with PyTorch.
    pub const CONV: Self = Self::Conv { c1: 32, c2: 64 };

    /// The name files, the CLI and the page use: `mlp` or `conv`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mlp { .. } => "mlp",
            Self::Conv { .. } => "conv",
        }
    }

    /// `(name, shape, fan_in)` of every parameter of a model with `config`, in `state_dict` order.
    /// `fan_in` is what PyTorch's default initialisation divides by: U(−1/√fan_in, 1/√fan_in).
    pub fn parameter_specs(config: &VaeConfig) -> Vec<ParamSpec> {
        match config.arch {
            Self::Mlp { hidden } => mlp::parameter_specs(config, hidden),
            Self::Conv { c1, c2 } => conv::parameter_specs(config, c1, c2),
        }
    }
}

/// One parameter of a model: its PyTorch name, shape and initialisation fan-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub fan_in: usize,
}

impl ParamSpec {
    pub(crate) fn new(name: &str, shape: Vec<usize>, fan_in: usize) -> Self {
        Self { name: name.to_string(), shape, fan_in }
    }
}

/// What every architecture computes. Images are rows of C·H·W values in [0, 1] (channel-major),
/// labels one-hot rows of C classes for a conditional model.
pub trait Network {
    /// The posterior's statistics `[mu, log_var]` for images `x` [B, P]: [B, 2L].
    fn encode_stats(&self, x: &Tensor, y: Option<&Tensor>) -> Result<Tensor>;
    /// The decoder's logits for latents `z` [B, L]: [B, P].
    fn decode_logits(&self, z: &Tensor, y: Option<&Tensor>) -> Result<Tensor>;
    /// Every parameter with its PyTorch name, in `state_dict` order.
    fn named_parameters(&self) -> Vec<(String, Tensor)>;
}

/// A built network of one of the [`Arch`]s.
#[derive(Clone, Debug)]
pub enum Net {
    Mlp(mlp::Mlp),
    Conv(conv::Conv),
}

impl Net {
    pub fn new(vb: VarBuilder, config: &VaeConfig) -> Result<Self> {
        Ok(match config.arch {
            Arch::Mlp { hidden } => Self::Mlp(mlp::Mlp::new(vb, config, hidden)?),
            Arch::Conv { c1, c2 } => Self::Conv(conv::Conv::new(vb, config, c1, c2)?),
        })
    }

    pub fn network(&self) -> &dyn Network {
        match self {
            Self::Mlp(n) => n,
            Self::Conv(n) => n,
        }
    }
}

/// Appends the one-hot labels `y` [B, C] to `t` [B, D] for a model of `classes` classes:
/// [B, D + C]. A plain model takes no labels and a conditional one requires them.
pub fn condition(t: &Tensor, y: Option<&Tensor>, classes: usize) -> Result<Tensor> {
    match (classes, y) {
        (0, None) => Ok(t.clone()),
        (0, Some(_)) => bail!("this VAE is not conditional: it takes no label"),
        (_, None) => bail!("this conditional VAE needs a label for every input"),
        (c, Some(y)) => {
            if y.dims() != [t.dim(0)?, c] {
                bail!("labels have shape {:?}, expected [{}, {c}] (one-hot)", y.dims(), t.dim(0)?);
            }
            Tensor::cat(&[t, y], 1)
        }
    }
}
