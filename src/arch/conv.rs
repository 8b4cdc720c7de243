//! The convolutional VAE: for images of C channels, height H and width W (each divisible by 4),
//! latent L and feature channels c1, c2, in PyTorch
//! ```text
//! encoder = nn.Sequential(nn.Conv2d(C, c1, 4, 2, 1), nn.ReLU(), nn.Conv2d(c1, c2, 4, 2, 1), nn.ReLU(),
//!                         nn.Flatten(), nn.Linear(c2 * (H//4) * (W//4), 2 * L))
//! decoder = nn.Sequential(nn.Linear(L, c2 * (H//4) * (W//4)), nn.ReLU(), nn.Unflatten(1, (c2, H//4, W//4)),
//!                         nn.ConvTranspose2d(c2, c1, 4, 2, 1), nn.ReLU(),
//!                         nn.ConvTranspose2d(c1, C, 4, 2, 1), nn.Flatten(), nn.Sigmoid())
//! ```
//! with `mu, log_var = chunk(encoder(x.view(-1, C, H, W)), 2)`. Each stride-2 convolution
//! halves the sides (4×4 kernels, padding 1) and each transposed one doubles them.
//!
//! The conditional variant appends the one-hot label to the flattened features before
//! `encoder.5` (`Linear(c2·(H/4)·(W/4) + classes, 2L)`) and to z before `decoder.0`
//! (`Linear(L + classes, …)`): the convolutions see only pixels.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig, Linear, VarBuilder};

use super::unfold::{conv2d, conv_transpose2d, Window};
use super::{condition, Network, ParamSpec};
use crate::model::VaeConfig;
use crate::shape::ImageShape;

/// Kernel side of every convolution.
pub const KERNEL: usize = 4;
/// Every convolution's window: each halves the sides, each transposed one doubles them.
pub(crate) const WINDOW: Window = Window { kernel: KERNEL, stride: 2, padding: 1 };

/// Values of the flattened feature map between the convolutions and the linear layers:
/// c2·(H/4)·(W/4).
pub fn features(shape: &ImageShape, c2: usize) -> usize {
    c2 * (shape.height / 4) * (shape.width / 4)
}

/// `(name, shape, fan_in)` of the conv VAE's parameters. A `ConvTranspose2d` weight is
/// [in, out, k, k] and PyTorch's initialisation takes its fan-in from dimension 1: out·k².
pub fn parameter_specs(config: &VaeConfig, c1: usize, c2: usize) -> Vec<ParamSpec> {
    let (l, c, ch, k) = (config.latent, config.classes, config.shape.channels, KERNEL);
    let f = features(&config.shape, c2);
    vec![
        ParamSpec::new("encoder.0.weight", vec![c1, ch, k, k], ch * k * k),
        ParamSpec::new("encoder.0.bias", vec![c1], ch * k * k),
        ParamSpec::new("encoder.2.weight", vec![c2, c1, k, k], c1 * k * k),
        ParamSpec::new("encoder.2.bias", vec![c2], c1 * k * k),
        ParamSpec::new("encoder.5.weight", vec![2 * l, f + c], f + c),
        ParamSpec::new("encoder.5.bias", vec![2 * l], f + c),
        ParamSpec::new("decoder.0.weight", vec![f, l + c], l + c),
        ParamSpec::new("decoder.0.bias", vec![f], l + c),
        ParamSpec::new("decoder.3.weight", vec![c2, c1, k, k], c1 * k * k),
        ParamSpec::new("decoder.3.bias", vec![c1], c1 * k * k),
        ParamSpec::new("decoder.5.weight", vec![c1, ch, k, k], ch * k * k),
        ParamSpec::new("decoder.5.bias", vec![ch], ch * k * k),
    ]
}

/// The conv VAE's layers, named by their index in PyTorch's `nn.Sequential`.
#[derive(Clone, Debug)]
pub struct Conv {
    encoder_0: Conv2d,
    encoder_2: Conv2d,
    encoder_5: Linear,
    decoder_0: Linear,
    decoder_3: ConvTranspose2d,
    decoder_5: ConvTranspose2d,
    shape: ImageShape,
    c2: usize,
    classes: usize,
}

impl Conv {
    pub fn new(vb: VarBuilder, config: &VaeConfig, c1: usize, c2: usize) -> Result<Self> {
        let (shape, l, c) = (config.shape, config.latent, config.classes);
        if !shape.height.is_multiple_of(4) || !shape.width.is_multiple_of(4) {
            candle_core::bail!("the conv VAE needs image sides divisible by 4, not {}×{}", shape.width, shape.height);
        }
        let f = features(&shape, c2);
        let down = Conv2dConfig { padding: 1, stride: 2, ..Default::default() };
        let up = ConvTranspose2dConfig { padding: 1, stride: 2, ..Default::default() };
        let (enc, dec) = (vb.pp("encoder"), vb.pp("decoder"));
        Ok(Self {
            encoder_0: candle_nn::conv2d(shape.channels, c1, KERNEL, down, enc.pp("0"))?,
            encoder_2: candle_nn::conv2d(c1, c2, KERNEL, down, enc.pp("2"))?,
            encoder_5: candle_nn::linear(f + c, 2 * l, enc.pp("5"))?,
            decoder_0: candle_nn::linear(l + c, f, dec.pp("0"))?,
            decoder_3: candle_nn::conv_transpose2d(c2, c1, KERNEL, up, dec.pp("3"))?,
            decoder_5: candle_nn::conv_transpose2d(c1, shape.channels, KERNEL, up, dec.pp("5"))?,
            shape,
            c2,
            classes: c,
        })
    }
}

/// The conv VAE's layers in forward order, for the hand-written gradient
/// ([`crate::conv_gradient`]).
pub struct ConvLayers<'a> {
    pub encoder_0: &'a Conv2d,
    pub encoder_2: &'a Conv2d,
    pub encoder_5: &'a Linear,
    pub decoder_0: &'a Linear,
    pub decoder_3: &'a ConvTranspose2d,
    pub decoder_5: &'a ConvTranspose2d,
}

impl Conv {
    pub fn layers(&self) -> ConvLayers<'_> {
        ConvLayers {
            encoder_0: &self.encoder_0,
            encoder_2: &self.encoder_2,
            encoder_5: &self.encoder_5,
            decoder_0: &self.decoder_0,
            decoder_3: &self.decoder_3,
            decoder_5: &self.decoder_5,
        }
    }

    /// c1 and c2, the feature channels of the first and second convolution.
    pub fn channels(&self) -> (usize, usize) {
        (self.encoder_0.weight().dims()[0], self.c2)
    }
}

impl Network for Conv {
    fn encode_stats(&self, x: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        let s = self.shape;
        let b = x.dim(0)?;
        let h = x.reshape((b, s.channels, s.height, s.width))?;
        let h = conv2d(&h, self.encoder_0.weight(), self.encoder_0.bias(), WINDOW)?.relu()?;
        let h = conv2d(&h, self.encoder_2.weight(), self.encoder_2.bias(), WINDOW)?.relu()?.flatten_from(1)?;
        self.encoder_5.forward(&condition(&h, y, self.classes)?)
    }

    fn decode_logits(&self, z: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        let s = self.shape;
        let b = z.dim(0)?;
        let h = self.decoder_0.forward(&condition(z, y, self.classes)?)?.relu()?;
        let h = h.reshape((b, self.c2, s.height / 4, s.width / 4))?;
        let h = conv_transpose2d(&h, self.decoder_3.weight(), self.decoder_3.bias(), WINDOW)?.relu()?;
        conv_transpose2d(&h, self.decoder_5.weight(), self.decoder_5.bias(), WINDOW)?.flatten_from(1)
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(12);
        let mut push = |prefix: &str, weight: &Tensor, bias: Option<&Tensor>| {
            out.push((format!("{prefix}.weight"), weight.clone()));
            if let Some(b) = bias {
                out.push((format!("{prefix}.bias"), b.clone()));
            }
        };
        push("encoder.0", self.encoder_0.weight(), self.encoder_0.bias());
        push("encoder.2", self.encoder_2.weight(), self.encoder_2.bias());
        push("encoder.5", self.encoder_5.weight(), self.encoder_5.bias());
        push("decoder.0", self.decoder_0.weight(), self.decoder_0.bias());
        push("decoder.3", self.decoder_3.weight(), self.decoder_3.bias());
        push("decoder.5", self.decoder_5.weight(), self.decoder_5.bias());
        out
    }
}
