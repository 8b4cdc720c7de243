//! The seed's module: encoder `Linear(P,H)-ReLU-Linear(H,2L)` → (mu, log_var), decoder
//! `Linear(L,H)-ReLU-Linear(H,P)-Sigmoid`, for images of P = C·H·W values (784 for MNIST).
//!
//! The conditional variant (CVAE, Sohn et al. 2015) appends a one-hot label of C classes to the
//! encoder's input and to the decoder's input: `Linear(P+C,H)` and `Linear(L+C,H)`, same names.
//!
//! In PyTorch (the seed's module, with the sizes as arguments):
//! ```text
//! encoder = nn.Sequential(nn.Linear(P, H), nn.ReLU(), nn.Linear(H, 2 * L))
//! decoder = nn.Sequential(nn.Linear(L, H), nn.ReLU(), nn.Linear(H, P), nn.Sigmoid())
//! ```

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use super::{condition, Network, ParamSpec};
use crate::model::VaeConfig;

/// `(name, shape, fan_in)` of the MLP's parameters.
pub fn parameter_specs(config: &VaeConfig, hidden: usize) -> Vec<ParamSpec> {
    let (l, h, p, c) = (config.latent, hidden, config.shape.pixels(), config.classes);
    vec![
        ParamSpec::new("encoder.0.weight", vec![h, p + c], p + c),
        ParamSpec::new("encoder.0.bias", vec![h], p + c),
        ParamSpec::new("encoder.2.weight", vec![2 * l, h], h),
        ParamSpec::new("encoder.2.bias", vec![2 * l], h),
        ParamSpec::new("decoder.0.weight", vec![h, l + c], l + c),
        ParamSpec::new("decoder.0.bias", vec![h], l + c),
        ParamSpec::new("decoder.2.weight", vec![p, h], h),
        ParamSpec::new("decoder.2.bias", vec![p], h),
    ]
}

/// The MLP's four linear layers.
#[derive(Clone, Debug)]
pub struct Mlp {
    encoder_0: Linear,
    encoder_2: Linear,
    decoder_0: Linear,
    decoder_2: Linear,
    latent: usize,
    classes: usize,
}

impl Mlp {
    pub fn new(vb: VarBuilder, config: &VaeConfig, hidden: usize) -> Result<Self> {
        let (l, h, p, c) = (config.latent, hidden, config.shape.pixels(), config.classes);
        let enc = vb.pp("encoder");
        let dec = vb.pp("decoder");
        Ok(Self {
            encoder_0: candle_nn::linear(p + c, h, enc.pp("0"))?,
            encoder_2: candle_nn::linear(h, 2 * l, enc.pp("2"))?,
            decoder_0: candle_nn::linear(l + c, h, dec.pp("0"))?,
            decoder_2: candle_nn::linear(h, p, dec.pp("2"))?,
            latent: l,
            classes: c,
        })
    }

    /// The linear layers in forward order: encoder.0, encoder.2, decoder.0, decoder.2 (the
    /// hand-written gradient and the packed inference model work on them directly).
    pub fn layers(&self) -> [&Linear; 4] {
        [&self.encoder_0, &self.encoder_2, &self.decoder_0, &self.decoder_2]
    }

    pub(crate) fn condition(&self, t: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        condition(t, y, self.classes)
    }

    pub fn latent(&self) -> usize {
        self.latent
    }
}

impl Network for Mlp {
    fn encode_stats(&self, x: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        let h = self.encoder_0.forward(&self.condition(x, y)?)?.relu()?;
        self.encoder_2.forward(&h)
    }

    fn decode_logits(&self, z: &Tensor, y: Option<&Tensor>) -> Result<Tensor> {
        let h = self.decoder_0.forward(&self.condition(z, y)?)?.relu()?;
        self.decoder_2.forward(&h)
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        linear_parameters(&[
            ("encoder.0", &self.encoder_0),
            ("encoder.2", &self.encoder_2),
            ("decoder.0", &self.decoder_0),
            ("decoder.2", &self.decoder_2),
        ])
    }
}

/// `prefix.weight` and `prefix.bias` of each layer, in order.
pub(crate) fn linear_parameters(layers: &[(&str, &Linear)]) -> Vec<(String, Tensor)> {
    let mut out = Vec::with_capacity(2 * layers.len());
    for (prefix, layer) in layers {
        out.push((format!("{prefix}.weight"), layer.weight().clone()));
        if let Some(b) = layer.bias() {
            out.push((format!("{prefix}.bias"), b.clone()));
        }
    }
    out
}
