//! The VAE: an image shape, a latent size, optional label classes and an [`Arch`]itecture, over
//! the seed's recipe: the encoder gives (mu, log_var), z = mu + ε·exp(log_var/2), the decoder
//! gives Bernoulli logits for every pixel.
//!
//! Parameter names are those of the PyTorch `state_dict` (`encoder.0.weight`, …), so the same
//! [`candle_nn::VarBuilder`] path loads shipped weights and creates trainable ones.

use candle_core::{bail, Device, Result, Tensor, D};
use candle_nn::VarBuilder;

use crate::arch::{conv::Conv, mlp::Mlp, Arch, Net, ParamSpec};
use crate::limits;
use crate::shape::ImageShape;

/// Side of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels of an MNIST image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// What a VAE is: the images it reads (`shape`), latent dimension L, the number of label classes
/// C of a conditional VAE (0 for a plain one) and its architecture with that architecture's sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VaeConfig {
    pub shape: ImageShape,
    pub latent: usize,
    pub classes: usize,
    pub arch: Arch,
}

impl VaeConfig {
    /// The seed's module on MNIST: 784-H-L.
    pub fn new(latent: usize, hidden: usize) -> Self {
        Self::conditional(latent, hidden, 0)
    }

    /// The seed's module on MNIST, conditional on `classes` labels.
    pub fn conditional(latent: usize, hidden: usize, classes: usize) -> Self {
        Self { shape: ImageShape::MNIST, latent, classes, arch: Arch::Mlp { hidden } }
    }

    /// The conv VAE with the interchange channels ([`Arch::CONV`]) on images of `shape`.
    pub fn conv(shape: ImageShape, latent: usize, classes: usize) -> Self {
        Self { shape, latent, classes, arch: Arch::CONV }
    }

    pub fn is_conditional(&self) -> bool {
        self.classes > 0
    }

    /// The MLP's hidden width H; `None` for another architecture.
    pub fn hidden(&self) -> Option<usize> {
        match self.arch {
            Arch::Mlp { hidden } => Some(hidden),
            Arch::Conv { .. } => None,
        }
    }

    /// Every parameter's name, shape and fan-in, in `state_dict` order.
    pub fn parameter_specs(&self) -> Vec<ParamSpec> {
        Arch::parameter_specs(self)
    }

    /// Number of trainable values.
    pub fn parameter_count(&self) -> usize {
        self.parameter_specs().iter().map(|s| s.shape.iter().product::<usize>()).sum()
    }

    /// Checks every size against [`crate::limits`], the same bounds for the CLI, the page and files.
    pub fn check(&self) -> Result<()> {
        self.shape.check()?;
        if !(1..=limits::MAX_LATENT).contains(&self.latent) {
            bail!("latent size {} is out of range 1..={}", self.latent, limits::MAX_LATENT);
        }
        if self.classes > limits::MAX_CLASSES {
            bail!("{} label classes is more than the limit of {}", self.classes, limits::MAX_CLASSES);
        }
        match self.arch {
            Arch::Mlp { hidden } if !(1..=limits::MAX_HIDDEN).contains(&hidden) => {
                bail!("hidden size {hidden} is out of range 1..={}", limits::MAX_HIDDEN)
            }
            Arch::Conv { c1, c2 } => {
                if !(1..=limits::MAX_CONV_CHANNELS).contains(&c1) || !(1..=limits::MAX_CONV_CHANNELS).contains(&c2) {
                    bail!("conv channels {c1}, {c2} out of range 1..={}", limits::MAX_CONV_CHANNELS);
                }
                if !self.shape.height.is_multiple_of(4) || !self.shape.width.is_multiple_of(4) {
                    bail!("the conv VAE needs image sides divisible by 4, not {}×{}", self.shape.width, self.shape.height);
                }
            }
            Arch::Mlp { .. } => {}
        }
        let count = self.parameter_count();
        if count > limits::MAX_PARAMETERS {
            bail!("a model of {count} parameters is more than the limit of {}", limits::MAX_PARAMETERS);
        }
        Ok(())
    }

    /// "784-512-2" (the MLP, by its layer widths), "conv 16-D on 1×28×28", with the classes of
    /// a conditional model.
    pub fn describe(&self) -> String {
        let body = match self.arch {
            Arch::Mlp { hidden } => format!("{}-{hidden}-{}", self.shape.pixels(), self.latent),
            Arch::Conv { c1, c2 } if Arch::Conv { c1, c2 } == Arch::CONV => format!("conv {}-D on {}", self.latent, self.shape),
            Arch::Conv { c1, c2 } => format!("conv {c1}/{c2} {}-D on {}", self.latent, self.shape),
        };
        if self.is_conditional() {
            format!("conditional {body} ({} classes)", self.classes)
        } else {
            body
        }
    }
}

/// The variational autoencoder.
#[derive(Clone, Debug)]
pub struct Vae {
    net: Net,
    config: VaeConfig,
    device: Device,
}

impl Vae {
    /// Builds the model from `vb`, which names parameters as PyTorch does.
    pub fn new(vb: VarBuilder, config: VaeConfig) -> Result<Self> {
        config.check()?;
        let device = vb.device().clone();
        Ok(Self { net: Net::new(vb, &config)?, config, device })
    }

    pub fn config(&self) -> VaeConfig {
        self.config
    }

    /// Values per image: the model's input and output width.
    pub fn pixels(&self) -> usize {
        self.config.shape.pixels()
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The MLP's layers, for the paths written for it (the hand-written gradient, packed inference).
    pub fn mlp(&self) -> Option<&Mlp> {
        match &self.net {
            Net::Mlp(m) => Some(m),
            _ => None,
        }
    }

    /// The conv VAE's layers, for its hand-written gradient.
    pub fn conv(&self) -> Option<&Conv> {
        match &self.net {
            Net::Conv(c) => Some(c),
            _ => None,
        }
    }

    /// B images of P values each (channel-major, in [0, 1]) as a tensor [B, P]; `what` names
    /// them in the error when the length is not a whole, non-zero number of images.
    pub fn images(&self, values: &[f32], what: &str) -> Result<Tensor> {
        let p = self.pixels();
        if values.is_empty() || !values.len().is_multiple_of(p) {
            bail!("{what} has {} values, not a whole number of {} images of {p} values", values.len(), self.config.shape);
        }
        Tensor::from_slice(values, (values.len() / p, p), &self.device)
    }

    /// Checks that `x` is [B, P] for this model's P, so a wrong-sized input names the shapes.
    fn check_images(&self, x: &Tensor) -> Result<()> {
        match x.dims() {
            [_, p] if *p == self.pixels() => Ok(()),
            dims => bail!("images of shape {dims:?} for a model of {} images (expected [B, {}])", self.config.shape, self.pixels()),
        }
    }

    /// Encodes images `x` [B, P] (with one-hot labels `y` [B, C] for a conditional model) into
    /// the posterior's `(mu, log_var)`, each [B, L].
    pub fn encode(&self, x: &Tensor, y: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        self.check_images(x)?;
        let stats = self.net.network().encode_stats(x, y)?;
        let l = self.config.latent;
        Ok((stats.narrow(D::Minus1, 0, l)?, stats.narrow(D::Minus1, l, l)?))
    }

    /// Decoder logits for latents `z` [B, L] (with one-hot labels `y` [B, C] for a conditional
    /// model): [B, P]. `sigmoid` of these is the Bernoulli mean.
    pub fn decode_logits(&self, z: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        match z.dims() {
            [_, l] if *l == self.config.latent => self.net.network().decode_logits(z, y),
            dims => bail!("latents of shape {dims:?} for a model of latent size {}", self.config.latent),
        }
    }

    /// Decodes latents `z` [B, L] (labels `y` [B, C] if conditional) into pixel intensities in
    /// [0, 1]: [B, P].
    pub fn decode(&self, z: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        candle_nn::ops::sigmoid(&self.decode_logits(z, y)?)
    }

    /// Every parameter with its PyTorch name, in `state_dict` order.
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.net.network().named_parameters()
    }
}

/// One-hot rows for `labels` (each < `classes`): [B, C] F32.
pub fn one_hot(labels: &[u8], classes: usize, device: &Device) -> Result<Tensor> {
    Tensor::from_vec(one_hot_rows(labels, classes)?, (labels.len(), classes), device)
}

/// [`one_hot`] as B·C row-major values.
pub fn one_hot_rows(labels: &[u8], classes: usize) -> Result<Vec<f32>> {
    let mut rows = vec![0f32; labels.len() * classes];
    for (i, &label) in labels.iter().enumerate() {
        if label as usize >= classes {
            bail!("label {label} is out of range for {classes} classes");
        }
        rows[i * classes + label as usize] = 1.0;
    }
    Ok(rows)
}
