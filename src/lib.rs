//! A variational autoencoder (Kingma & Welling, 2014) on candle, shared by the browser app
//! (wasm) and the `vae` command line.
//!
//! The data path: pixels → [`data`] → [`model::Vae::encode`] → z → [`model::Vae::decode`] → pixels,
//! trained by [`train::Trainer`] on the negative ELBO of [`loss`].

pub mod anomaly;
pub mod compress;
pub mod conditional;
pub mod data;
pub mod gradient;
pub mod grid;
pub mod inpaint;
pub mod interpolate;
pub mod loss;
pub mod model;
pub mod optim;
pub mod packed;
pub mod parallel;
pub mod preprocess;
pub mod rng;
pub mod train;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use model::{Vae, VaeConfig, IMAGE_PIXELS, IMAGE_SIDE};
