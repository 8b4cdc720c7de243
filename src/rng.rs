//! A seedable random number generator, so that a training run can be repeated exactly.
//!
//! candle's own CPU RNG cannot be seeded, so every random tensor in this crate comes from here.

use candle_core::{Device, Result, Shape, Tensor};
use rand::{rngs::StdRng, Rng as _, SeedableRng};
use rand_distr::StandardNormal;

/// A seeded generator of the noise the VAE needs (ε for the reparameterisation, weight init,
/// shuffling).
pub struct Rng(StdRng);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(StdRng::seed_from_u64(seed))
    }

    /// A tensor of independent N(0, 1) samples, `f32`.
    pub fn normal<S: Into<Shape>>(&mut self, shape: S, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        let values: Vec<f32> = (0..shape.elem_count()).map(|_| self.0.sample::<f32, _>(StandardNormal)).collect();
        Tensor::from_vec(values, shape, device)
    }

    /// A tensor of independent U(-bound, bound) samples, `f32`.
    pub fn uniform<S: Into<Shape>>(&mut self, shape: S, bound: f32, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        let values: Vec<f32> = (0..shape.elem_count()).map(|_| self.0.random_range(-bound..=bound)).collect();
        Tensor::from_vec(values, shape, device)
    }

    /// A uniformly random permutation of `0..n` (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, self.0.random_range(0..=i));
        }
        order
    }

    /// One N(0, 1) sample.
    pub fn standard_normal(&mut self) -> f32 {
        self.0.sample(StandardNormal)
    }
}
