//! `vae bench`: training throughput on real MNIST minibatches, as one JSON line.

use std::time::Instant;

use candle_core::Device;
use vae::rng::Rng;
use vae::train::{TrainConfig, Trainer};
use vae::VaeConfig;

use crate::datasets::Split;
use crate::{CliResult, DatasetName};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 2)]
    latent: usize,
    #[arg(long, default_value_t = 512)]
    hidden: usize,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Timed steps (after 10 warm-up steps).
    #[arg(long, default_value_t = 100)]
    steps: usize,
}

/// Floating-point operations of one training sample: forward, plus backward (weight gradients for
/// every layer, input gradients for all but the first).
pub fn train_flops_per_sample(latent: usize, hidden: usize) -> f64 {
    let (l, h, p) = (latent as f64, hidden as f64, 784.0);
    let forward = 2.0 * (p * h + h * 2.0 * l + l * h + h * p);
    let backward = 2.0 * forward - 2.0 * p * h;
    forward + backward
}

pub fn run(args: BenchArgs, threads: usize) -> CliResult {
    let data = DatasetName::Mnist.load(Split::Train)?;
    let config =
        TrainConfig { vae: VaeConfig::new(args.latent, args.hidden), beta: 1.0, learning_rate: 1e-3, batch_size: args.batch, seed: 0 };
    let device = Device::Cpu;
    let mut trainer = Trainer::new(config, &device)?;
    trainer.set_shards(threads);
    let mut rng = Rng::new(1);
    let order = rng.permutation(data.len());
    let batches: Vec<_> =
        order.chunks_exact(args.batch).take(args.steps + 10).map(|idx| data.batch(idx, &device)).collect::<candle_core::Result<_>>()?;
    let mut times = Vec::with_capacity(args.steps);
    for (i, x) in batches.iter().enumerate() {
        let t0 = Instant::now();
        trainer.step(x, None)?;
        if i >= 10 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let samples_per_s = args.batch as f64 / median;
    let gflops = samples_per_s * train_flops_per_sample(args.latent, args.hidden) / 1e9;
    println!(
        "{}",
        serde_json::json!({
            "arch": format!("784-{}-{}", args.hidden, args.latent), "threads": threads, "batch": args.batch,
            "step_ms": median * 1e3, "samples_per_s": samples_per_s, "gflops": gflops,
        })
    );
    Ok(())
}
