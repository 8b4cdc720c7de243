//! Inpainting with a VAE: filling the unknown pixels of an image from the known ones, two ways.
//!
//! - [`LatentInpainter`] optimises z to maximise log p(known pixels | z) + log p(z) (a MAP
//!   estimate) with Adam and candle's autograd, from several starting points at once, and fills
//!   the unknown pixels with the decoding of the best z.
//! - [`encode_decode_fill`] is one step of the simpler loop x ← known pixels + decode(encode(x))
//!   elsewhere.
//!
//! Masks are one value per pixel, 1 where a pixel is known and 0 where it is to be filled.

use candle_core::{bail, Result, Tensor, Var, D};
use candle_nn::{Optimizer, ParamsAdamW};

use crate::loss::bce_with_logits_elementwise;
use crate::model::Vae;
use crate::optim::Adam;
use crate::rng::Rng;

/// Adam's step size on z.
pub const LATENT_LEARNING_RATE: f64 = 0.05;

/// `known`·`image` + (1 − `known`)·`fill`, pixel by pixel: the known pixels exactly as they were.
pub fn merge_known(image: &[f32], known: &[f32], fill: &[f32]) -> Vec<f32> {
    image.iter().zip(known).zip(fill).map(|((&x, &k), &f)| if k > 0.5 { x } else { f }).collect()
}

/// `values` as one image [1, P] of `vae`'s shape.
fn one_image(vae: &Vae, name: &str, values: &[f32]) -> Result<Tensor> {
    if values.len() != vae.pixels() {
        bail!("{name} has {} values, expected {} ({} image)", values.len(), vae.pixels(), vae.config().shape);
    }
    vae.images(values, name)
}

/// One step of the encode–decode loop: reconstructs `current` through the posterior mean and
/// puts the known pixels of `image` back.
pub fn encode_decode_fill(vae: &Vae, current: &[f32], image: &[f32], known: &[f32]) -> Result<Vec<f32>> {
    let x = one_image(vae, "the current image", current)?;
    one_image(vae, "the image", image)?;
    one_image(vae, "the mask", known)?;
    let (mu, _) = vae.encode(&x, None)?;
    let recon = vae.decode(&mu, None)?.flatten_all()?.to_vec1::<f32>()?;
    Ok(merge_known(image, known, &recon))
}

/// MAP inpainting: Adam on `restarts` latent points at once, each minimising
/// −log p(known | z) − log p(z) = Σ_known BCE(decoder(z), x) + ½‖z‖² (+ const).
pub struct LatentInpainter {
    z: Var,
    optimizer: Adam,
    image: Vec<f32>,
    known: Vec<f32>,
    target: Tensor,
    mask: Tensor,
    iterations: usize,
    objective: Vec<f32>,
}

impl LatentInpainter {
    /// Starts from the posterior mean of the image with its unknown pixels blanked, and from
    /// `restarts − 1` draws of N(0, I).
    pub fn new(vae: &Vae, image: &[f32], known: &[f32], restarts: usize, rng: &mut Rng) -> Result<Self> {
        let target = one_image(vae, "the image", image)?;
        let mask = one_image(vae, "the mask", known)?;
        if vae.config().is_conditional() {
            bail!("inpainting takes a plain (unconditional) VAE");
        }
        let restarts = restarts.max(1);
        let device = vae.device();
        let l = vae.config().latent;
        let blanked: Vec<f32> = image.iter().zip(known).map(|(&x, &k)| x * k).collect();
        let (mu, _) = vae.encode(&vae.images(&blanked, "the blanked image")?, None)?;
        let z0 = if restarts > 1 { Tensor::cat(&[mu, rng.normal((restarts - 1, l), device)?], 0)? } else { mu };
        let z = Var::from_tensor(&z0)?;
        let optimizer = Adam::new(vec![z.clone()], ParamsAdamW { lr: LATENT_LEARNING_RATE, weight_decay: 0.0, ..Default::default() })?;
        Ok(Self { z, optimizer, image: image.to_vec(), known: known.to_vec(), target, mask, iterations: 0, objective: Vec::new() })
    }

    /// −log p(known | z) − log p(z) (up to a constant) of each starting point: [K].
    fn objective(&self, vae: &Vae) -> Result<Tensor> {
        let logits = vae.decode_logits(self.z.as_tensor(), None)?;
        let target = self.target.broadcast_as(logits.shape())?;
        let nll = bce_with_logits_elementwise(&logits, &target)?.broadcast_mul(&self.mask)?.sum(D::Minus1)?;
        nll + (self.z.as_tensor().sqr()?.sum(D::Minus1)? * 0.5)?
    }

    /// Takes `iterations` Adam steps; returns the best objective so far (nats).
    pub fn run(&mut self, vae: &Vae, iterations: usize) -> Result<f32> {
        for _ in 0..iterations {
            let objective = self.objective(vae)?;
            self.optimizer.backward_step(&objective.sum_all()?)?;
            self.iterations += 1;
        }
        self.objective = self.objective(vae)?.to_vec1::<f32>()?;
        Ok(self.objective.iter().copied().fold(f32::INFINITY, f32::min))
    }

    /// Adam steps taken.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// The latent point with the lowest objective: L values.
    fn best_latent(&self) -> Result<Vec<f32>> {
        let best = self.objective.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i);
        self.z.as_tensor().get(best)?.to_vec1::<f32>()
    }

    /// The inpainted image: the known pixels as given, the others decoded from the best z.
    pub fn result(&self, vae: &Vae) -> Result<Vec<f32>> {
        let z = self.best_latent()?;
        let z = Tensor::from_slice(&z, (1, z.len()), vae.device())?;
        let decoded = vae.decode(&z, None)?.flatten_all()?.to_vec1::<f32>()?;
        Ok(merge_known(&self.image, &self.known, &decoded))
    }
}
