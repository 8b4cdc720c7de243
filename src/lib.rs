//! A variational autoencoder (Kingma & Welling, 2014) on candle, shared by the browser app
//! (wasm) and the `vae` command line.
//!
//! The data path: pixels → [`data`] → [`model::Vae::encode`] → z → [`model::Vae::decode`] → pixels,
//! trained by [`train::Trainer`] on the negative ELBO of [`loss`].

pub mod anomaly;
pub mod arch;
pub mod archive;
pub mod compress;
pub mod conditional;
pub mod conv_forward;
pub mod conv_gradient;
pub mod data;
pub mod gradient;
pub mod grid;
pub mod inpaint;
pub mod interpolate;
pub mod limits;
pub mod loss;
pub mod matmul;
pub mod model;
pub mod optim;
pub mod packed;
pub mod parallel;
pub mod picture;
pub mod preprocess;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod relaxed_gemm;
pub mod resume;
pub mod rng;
pub mod scatter;
pub mod shape;
pub mod train;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use arch::Arch;
pub use model::{Vae, VaeConfig, IMAGE_PIXELS, IMAGE_SIDE};
pub use shape::ImageShape;

/// The message of an error a user caused, without the backtrace candle appends to it when
/// `RUST_BACKTRACE` is set (its errors print as the message, a newline, then the frames): the
/// first line. Every message this crate writes is one line.
pub fn error_message(e: impl std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().trim().to_string()
}
