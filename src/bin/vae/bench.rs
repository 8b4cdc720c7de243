//! `vae bench`: training throughput on real MNIST minibatches, as one JSON line.

use std::time::Instant;

use candle_core::Device;
use vae::rng::Rng;
use vae::train::{TrainConfig, Trainer};
use vae::{Arch, VaeConfig};

use crate::datasets::Split;
use crate::{ArchName, CliResult, DatasetName};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "mlp")]
    arch: ArchName,
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=vae::limits::MAX_LATENT as u64))]
    latent: u64,
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=vae::limits::MAX_HIDDEN as u64))]
    hidden: u64,
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=4096))]
    batch: u64,
    /// Timed steps (after 10 warm-up steps).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    steps: u64,
}

/// Floating-point operations of one training sample: forward, plus backward (weight gradients for
/// every layer, input gradients for all but the first).
pub fn train_flops_per_sample(config: &VaeConfig) -> f64 {
    let (l, p) = (config.latent as f64, config.shape.pixels() as f64);
    // Multiply-adds of the forward pass, and of the first layer's (skipped) input gradient.
    let (forward, first) = match config.arch {
        Arch::Mlp { hidden } => {
            let h = hidden as f64;
            (p * h + h * 2.0 * l + l * h + h * p, p * h)
        }
        Arch::Conv { c1, c2 } => {
            let s = config.shape;
            let (ch, half, quarter) = (s.channels as f64, (s.area() / 4) as f64, (s.area() / 16) as f64);
            let (c1, c2, k) = (c1 as f64, c2 as f64, 16.0);
            let f = c2 * quarter;
            let (conv0, conv1) = (half * c1 * ch * k, quarter * c2 * c1 * k);
            (2.0 * (conv0 + conv1) + 3.0 * f * l, conv0)
        }
    };
    2.0 * (forward + 2.0 * forward - first)
}

pub fn run(args: BenchArgs, threads: usize) -> CliResult {
    let data = DatasetName::Mnist.load(Split::Train)?;
    let (batch, steps) = (args.batch as usize, args.steps as usize);
    let vae = args.arch.config(vae::ImageShape::MNIST, args.latent as usize, args.hidden as usize, 0);
    let config = TrainConfig { vae, beta: 1.0, learning_rate: 1e-3, batch_size: batch, seed: 0 };
    let device = Device::Cpu;
    let mut trainer = Trainer::new(config, &device)?;
    trainer.set_shards(threads);
    let mut rng = Rng::new(1);
    let order = rng.permutation(data.len());
    let batches: Vec<_> =
        order.chunks_exact(batch).take(steps + 10).map(|idx| data.batch(idx, &device)).collect::<candle_core::Result<_>>()?;
    let mut times = Vec::with_capacity(steps);
    for (i, x) in batches.iter().enumerate() {
        let t0 = Instant::now();
        trainer.step(x, None)?;
        if i >= 10 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    if times.is_empty() {
        return Err(format!("--batch {batch} leaves no timed steps: MNIST's {} images make {} batches", data.len(), batches.len()).into());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let samples_per_s = batch as f64 / median;
    let gflops = samples_per_s * train_flops_per_sample(&vae) / 1e9;
    println!(
        "{}",
        serde_json::json!({
            "arch": vae.arch.name(), "model": vae.describe(), "threads": threads, "batch": batch,
            "step_ms": median * 1e3, "samples_per_s": samples_per_s, "gflops": gflops,
        })
    );
    Ok(())
}
