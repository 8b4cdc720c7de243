//! Style transfer with a conditional VAE: the label of an input is read as the one whose negative
//! ELBO is lowest, the input's style is its posterior mean z given that label, and decoding that z
//! with every label renders the style as each class.

use candle_core::{bail, Result, Tensor};

use crate::anomaly::anomaly_scores;
use crate::model::{one_hot, Vae};
use crate::rng::Rng;

/// The number of classes C of a conditional `vae` and `image` as a tensor [1, P], after checking
/// it is one image of the model's shape.
fn check_inputs(vae: &Vae, image: &[f32]) -> Result<(usize, Tensor)> {
    if image.len() != vae.pixels() {
        bail!("an image has {} values, got {}", vae.pixels(), image.len());
    }
    match vae.config().classes {
        0 => bail!("this VAE is not conditional"),
        c if c > u8::MAX as usize + 1 => bail!("{c} classes do not fit one-byte labels"),
        c => Ok((c, vae.images(image, "the image")?)),
    }
}

/// Every label once, one-hot: [C, C].
fn every_label(c: usize, vae: &Vae) -> Result<Tensor> {
    let labels: Vec<u8> = (0..c).map(|k| k as u8).collect();
    one_hot(&labels, c, vae.device())
}

/// The negative ELBO (mean of `samples` draws) of `image` (one image) under every label:
/// C values; the lowest is the label that explains the image best.
pub fn label_scores(vae: &Vae, image: &[f32], samples: usize, rng: &mut Rng) -> Result<Vec<f32>> {
    let (c, x) = check_inputs(vae, image)?;
    let x = x.repeat((c, 1))?;
    anomaly_scores(vae, &x, Some(&every_label(c, vae)?), samples, rng)?.to_vec1::<f32>()
}

/// The style of `image` (its posterior mean given `label`) decoded with every label: C·P values.
pub fn render_all_labels(vae: &Vae, image: &[f32], label: u8) -> Result<Vec<f32>> {
    let (c, x) = check_inputs(vae, image)?;
    let (mu, _) = vae.encode(&x, Some(&one_hot(&[label], c, vae.device())?))?;
    vae.decode(&mu.repeat((c, 1))?, Some(&every_label(c, vae)?))?.flatten_all()?.to_vec1::<f32>()
}
