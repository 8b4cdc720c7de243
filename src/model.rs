//! The VAE of the seed's PyTorch module:
//! encoder `Linear(784,H)-ReLU-Linear(H,2L)` → (mu, log_var), z = mu + ε·exp(log_var/2),
//! decoder `Linear(L,H)-ReLU-Linear(H,784)-Sigmoid`.
//!
//! The conditional variant (CVAE, Sohn et al. 2015) appends a one-hot label of C classes to the
//! encoder's input and to the decoder's input: `Linear(784+C,H)` and `Linear(L+C,H)`, same names.
//!
//! Parameter names are those of the PyTorch `state_dict` (`encoder.0.weight`, …), so the same
//! [`candle_nn::VarBuilder`] path loads shipped weights and creates trainable ones.

use candle_core::{bail, Device, Module, Result, Tensor, D};
use candle_nn::{Linear, VarBuilder};

use crate::rng::Rng;

/// Side of an MNIST image in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image: the model's input and output width.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// Sizes of a VAE: latent dimension L, hidden width H and, for a conditional VAE, the number of
/// label classes C (0 for the plain VAE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VaeConfig {
    pub latent: usize,
    pub hidden: usize,
    pub classes: usize,
}

impl VaeConfig {
    /// The seed's module: 784-H-L.
    pub fn new(latent: usize, hidden: usize) -> Self {
        Self { latent, hidden, classes: 0 }
    }

    /// The conditional VAE over `classes` labels.
    pub fn conditional(latent: usize, hidden: usize, classes: usize) -> Self {
        Self { latent, hidden, classes }
    }

    pub fn is_conditional(&self) -> bool {
        self.classes > 0
    }

    /// `(name, shape)` of every parameter, in `state_dict` order.
    pub fn parameter_shapes(&self) -> [(&'static str, Vec<usize>); 8] {
        let (l, h, p, c) = (self.latent, self.hidden, IMAGE_PIXELS, self.classes);
        [
            ("encoder.0.weight", vec![h, p + c]),
            ("encoder.0.bias", vec![h]),
            ("encoder.2.weight", vec![2 * l, h]),
            ("encoder.2.bias", vec![2 * l]),
            ("decoder.0.weight", vec![h, l + c]),
            ("decoder.0.bias", vec![h]),
            ("decoder.2.weight", vec![p, h]),
            ("decoder.2.bias", vec![p]),
        ]
    }
}

/// The variational autoencoder.
#[derive(Clone, Debug)]
pub struct Vae {
    encoder_0: Linear,
    encoder_2: Linear,
    decoder_0: Linear,
    decoder_2: Linear,
    config: VaeConfig,
}

impl Vae {
    /// Builds the model from `vb`, which names parameters as PyTorch does.
    pub fn new(vb: VarBuilder, config: VaeConfig) -> Result<Self> {
        let (l, h, p, c) = (config.latent, config.hidden, IMAGE_PIXELS, config.classes);
        let enc = vb.pp("encoder");
        let dec = vb.pp("decoder");
        Ok(Self {
            encoder_0: candle_nn::linear(p + c, h, enc.pp("0"))?,
            encoder_2: candle_nn::linear(h, 2 * l, enc.pp("2"))?,
            decoder_0: candle_nn::linear(l + c, h, dec.pp("0"))?,
            decoder_2: candle_nn::linear(h, p, dec.pp("2"))?,
            config,
        })
    }

    pub fn config(&self) -> VaeConfig {
        self.config
    }

    pub fn device(&self) -> &Device {
        self.decoder_2.weight().device()
    }

    /// Appends the one-hot labels `y` [B, C] to `t` [B, D] for a conditional model: [B, D + C].
    /// A plain model takes no labels and a conditional one requires them.
    pub(crate) fn condition(&self, t: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        match (self.config.classes, y) {
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

    /// Encodes images `x` [B, 784] (with one-hot labels `y` [B, C] for a conditional model) into
    /// the posterior's `(mu, log_var)`, each [B, L].
    pub fn encode(&self, x: &Tensor, y: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let h = self.encoder_0.forward(&self.condition(x, y)?)?.relu()?;
        let stats = self.encoder_2.forward(&h)?;
        let l = self.config.latent;
        Ok((stats.narrow(D::Minus1, 0, l)?, stats.narrow(D::Minus1, l, l)?))
    }

    /// The reparameterisation z = mu + ε·exp(log_var/2) with ε ~ N(0, I) drawn from `rng`; all [B, L].
    pub fn reparameterize(&self, mu: &Tensor, log_var: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        let eps = rng.normal(mu.shape(), mu.device())?;
        mu + eps.mul(&(log_var * 0.5)?.exp()?)?
    }

    /// Decoder logits for latents `z` [B, L] (with one-hot labels `y` [B, C] for a conditional
    /// model): [B, 784]. `sigmoid` of these is the Bernoulli mean.
    pub fn decode_logits(&self, z: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        let h = self.decoder_0.forward(&self.condition(z, y)?)?.relu()?;
        self.decoder_2.forward(&h)
    }

    /// Decodes latents `z` [B, L] (labels `y` [B, C] if conditional) into pixel intensities in
    /// [0, 1]: [B, 784].
    pub fn decode(&self, z: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        candle_nn::ops::sigmoid(&self.decode_logits(z, y)?)
    }

    /// The linear layers in forward order: encoder.0, encoder.2, decoder.0, decoder.2.
    pub fn layers(&self) -> [&Linear; 4] {
        [&self.encoder_0, &self.encoder_2, &self.decoder_0, &self.decoder_2]
    }

    /// Every parameter with its PyTorch name, in `state_dict` order.
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(8);
        for (prefix, layer) in
            [("encoder.0", &self.encoder_0), ("encoder.2", &self.encoder_2), ("decoder.0", &self.decoder_0), ("decoder.2", &self.decoder_2)]
        {
            out.push((format!("{prefix}.weight"), layer.weight().clone()));
            if let Some(b) = layer.bias() {
                out.push((format!("{prefix}.bias"), b.clone()));
            }
        }
        out
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
