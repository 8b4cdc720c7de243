//! A seedable random number generator, so that a training run can be repeated exactly.
//!
//! candle's own CPU RNG cannot be seeded, so every random tensor in this crate comes from here.

use candle_core::{Device, Result, Shape, Tensor};
use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha12Rng;
use rand_distr::StandardNormal;

/// A seeded generator of the noise the VAE needs (ε for the reparameterisation, weight init,
/// shuffling): ChaCha12, the generator behind rand's `StdRng`, used directly so that its position
/// can be saved and restored ([`RngState`]) when training resumes.
#[derive(Clone)]
pub struct Rng(ChaCha12Rng);

/// Where a generator stands: its key and its position in the stream, enough to go on exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngState {
    pub seed: [u8; 32],
    /// Position in 32-bit words.
    pub word_pos: u128,
    pub stream: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(ChaCha12Rng::seed_from_u64(seed))
    }

    pub fn state(&self) -> RngState {
        RngState { seed: self.0.get_seed(), word_pos: self.0.get_word_pos(), stream: self.0.get_stream() }
    }

    /// A generator that continues exactly where the one whose `state` this is stood.
    pub fn from_state(state: RngState) -> Self {
        let mut rng = ChaCha12Rng::from_seed(state.seed);
        rng.set_stream(state.stream);
        rng.set_word_pos(state.word_pos);
        Self(rng)
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
