//! `vae encode`: the posterior of test images (or of a folder's pictures, in path order) and
//! their reconstructions from the mean, as JSON (a reference for the browser build, and for scripts).

use std::path::PathBuf;

use candle_core::Device;
use vae::weights;

use crate::datasets::Split;
use crate::pictures::{self, PictureArgs};
use crate::{read_file, CliResult, DatasetName};

#[derive(clap::Args)]
pub struct EncodeArgs {
    #[arg(long)]
    weights: PathBuf,
    #[arg(long, value_enum, default_value = "mnist")]
    dataset: DatasetName,
    /// Encode test images 0..count.
    #[arg(long, default_value_t = 8)]
    count: usize,
    #[command(flatten)]
    pictures: PictureArgs,
}

pub fn run(args: EncodeArgs) -> CliResult {
    let device = Device::Cpu;
    let vae = weights::load_vae(&read_file(&args.weights)?, &device).map_err(|e| format!("{}: {e}", args.weights.display()))?.vae;
    let test = match &args.pictures.images {
        Some(dir) => pictures::load_for(dir, &args.pictures, vae.config())?.data,
        None => args.dataset.load(Split::Test)?,
    };
    let count = args.count.min(test.len());
    let (x, y) = test.model_input_range(0, count, vae.config().classes, &device)?;
    let (mu, log_var) = vae.encode(&x, y.as_ref())?;
    let recon = vae.decode(&mu, y.as_ref())?;
    let json = serde_json::json!({
        "latent": vae.config().latent,
        "mu": mu.to_vec2::<f32>()?,
        "log_var": log_var.to_vec2::<f32>()?,
        "recon": recon.to_vec2::<f32>()?,
    });
    println!("{json}");
    Ok(())
}
