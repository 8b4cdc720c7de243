//! `vae train`: trains on the full training set (or a folder of pictures, `--images`) with a
//! progress bar, reports the test-set (or held-out) negative ELBO after every epoch and writes
//! PyTorch-compatible weights with metadata.

use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use indicatif::{ProgressBar, ProgressStyle};
use vae::data::Dataset;
use vae::rng::Rng;
use vae::train::{evaluate, ElboStats, TrainConfig, Trainer};
use vae::{limits, weights, Arch};

use crate::datasets::Split;
use crate::pictures::{self, PictureArgs};
use crate::{ArchName, CliResult, DatasetName};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Schedule {
    /// The learning rate stays at --lr.
    Constant,
    /// Cosine decay from --lr to 1% of it over the run.
    Cosine,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    #[arg(long, value_enum, default_value = "mlp")]
    arch: ArchName,
    #[arg(long, value_enum, default_value = "mnist")]
    dataset: DatasetName,
    /// Latent size L.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_LATENT as u64))]
    latent: u64,
    /// Hidden width H (the MLP).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_HIDDEN as u64))]
    hidden: u64,
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_BATCH as u64))]
    batch: u64,
    /// Learning rate (AdamW, no weight decay: PyTorch's Adam).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, value_enum, default_value = "constant")]
    schedule: Schedule,
    /// Train the conditional VAE: encoder and decoder also take the one-hot label (10 classes).
    #[arg(long)]
    conditional: bool,
    /// Weight of the KL term.
    #[arg(long, default_value_t = 1.0)]
    beta: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Hold out the last N training images and keep the epoch with the best held-out loss
    /// (default: none for --dataset; 10% of the pictures, at least 1, for --images, which are
    /// then also the test set).
    #[arg(long)]
    holdout: Option<usize>,
    /// Train on only the first N training images.
    #[arg(long)]
    subset: Option<usize>,
    /// Where to write the .safetensors weights.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    pictures: PictureArgs,
}

pub fn run(args: TrainArgs, threads: usize) -> CliResult {
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return Err(format!("--lr must be a positive number, got {}", args.lr).into());
    }
    if !(args.beta.is_finite() && args.beta >= 0.0) {
        return Err(format!("--beta must be a non-negative number, got {}", args.beta).into());
    }
    let device = Device::Cpu;
    let (full, test, labels, source) = match &args.pictures.images {
        Some(dir) => {
            let prep = args.pictures.preprocess(args.pictures.size, args.pictures.colour)?;
            let set = pictures::load(dir, &prep)?;
            if let Some(line) = set.skipped_line() {
                println!("{line}");
            }
            (set.data, None, set.labels, format!("pictures from {}", dir.display()))
        }
        None => {
            let names = (0..10).map(|d| d.to_string()).collect();
            (args.dataset.load(Split::Train)?, Some(args.dataset.load(Split::Test)?), names, format!("{} images", args.dataset.label()))
        }
    };
    let full = full.take(args.subset.unwrap_or(full.len()));
    let holdout_len = match (args.holdout, test.is_some()) {
        (Some(n), _) => n,
        (None, true) => 0,
        (None, false) => vae::picture::held_out_count(full.len()),
    };
    if holdout_len >= full.len() {
        return Err(format!("holding out {holdout_len} leaves no training images out of {}", full.len()).into());
    }
    // Pictures are sorted by label folder, so theirs are held out evenly through the set.
    let (train, holdout) = if test.is_some() { split_holdout(&full, holdout_len)? } else { full.split_evenly(holdout_len)? };
    let classes = if args.conditional { labels.len() } else { 0 };
    if args.conditional && classes < 2 {
        return Err(format!("--conditional needs at least 2 labels (folders); {} has {classes}", source).into());
    }
    let config = TrainConfig {
        vae: args.arch.config(full.shape(), args.latent as usize, args.hidden as usize, classes),
        beta: args.beta,
        learning_rate: args.lr,
        batch_size: args.batch as usize,
        seed: args.seed,
    };
    config.vae.check()?;
    let mut trainer = Trainer::new(config, &device)?;
    trainer.set_shards(threads);
    let steps_per_epoch = train.len().div_ceil(config.batch_size);
    let total_steps = (steps_per_epoch * args.epochs) as u64;
    let bar = ProgressBar::new(total_steps)
        .with_style(ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps  {msg}  ETA {eta}")?.progress_chars("=> "));
    println!(
        "training {} ({} parameters) on {} {source} ({} held out), {} epochs, batch {}, lr {} ({:?}), β {}",
        config.vae.describe(),
        config.vae.parameter_count(),
        train.len(),
        holdout.len(),
        args.epochs,
        config.batch_size,
        args.lr,
        args.schedule,
        args.beta
    );
    let mut eval_rng = Rng::new(args.seed ^ 0x5eed);
    let mut best: Option<(f64, usize, Vec<u8>, ElboStats)> = None;
    let started = Instant::now();
    let mut samples = 0usize;
    let mut lr_scale = 1.0; // halved at each divergence
    for epoch in 1..=args.epochs {
        bar.set_prefix(format!("epoch {epoch}/{}", args.epochs));
        let (mut sum, mut seen) = (0f64, 0usize);
        while trainer.epoch() < epoch {
            let progress = trainer.steps() as f64 / total_steps.max(1) as f64;
            trainer.set_learning_rate(lr_scale * learning_rate(args.schedule, args.lr, progress));
            let report = trainer.train_step(&train)?;
            if report.diverged {
                bar.suspend(|| {
                    println!(
                        "step {}: training diverged (loss {:.4}); restored the last good weights and halved the learning rate to {:.3e}",
                        trainer.steps(),
                        report.stats.neg_elbo,
                        trainer.learning_rate()
                    )
                });
                lr_scale /= 2.0;
                continue;
            }
            let stats = report.stats;
            sum += stats.neg_elbo * stats.n as f64;
            seen += stats.n;
            samples += stats.n;
            bar.inc(1);
            let rate = samples as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("loss {:.2}  {rate:.0} samples/s", sum / seen as f64));
        }
        let selection = if holdout.is_empty() { None } else { Some(evaluate(trainer.vae(), &holdout, &mut eval_rng)?) };
        let test_stats = match (&test, selection) {
            (Some(test), _) => evaluate(trainer.vae(), test, &mut eval_rng)?,
            (None, Some(held_out)) => held_out,
            (None, None) => return Err("no images to evaluate: hold out at least one".into()),
        };
        let selection = selection.unwrap_or(test_stats);
        bar.suspend(|| {
            println!(
                "epoch {epoch:>3}: train {:.2}  {}test negative ELBO {:.2} (recon {:.2}, KL {:.2})  lr {:.2e}",
                sum / seen.max(1) as f64,
                if holdout.is_empty() { String::new() } else { format!("held-out {:.2}  ", selection.neg_elbo) },
                test_stats.neg_elbo,
                test_stats.recon,
                test_stats.kl,
                trainer.learning_rate()
            )
        });
        let improved = holdout.is_empty() || best.as_ref().is_none_or(|b| selection.neg_elbo < b.0);
        if improved {
            let meta = metadata(&args, &config, epoch, &test_stats, &labels)?;
            best = Some((selection.neg_elbo, epoch, weights::save_vae(trainer.vae(), &meta)?, test_stats));
        }
    }
    bar.finish_and_clear();
    let Some((_, epoch, bytes, stats)) = best else {
        return Err("--epochs must be at least 1".into());
    };
    std::fs::write(&args.out, bytes).map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    println!(
        "wrote {} (epoch {epoch}): test negative ELBO {:.2} nats/image (recon {:.2}, KL {:.2}); {:.0} samples/s",
        args.out.display(),
        stats.neg_elbo,
        stats.recon,
        stats.kl,
        samples as f64 / started.elapsed().as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn learning_rate(schedule: Schedule, lr: f64, progress: f64) -> f64 {
    match schedule {
        Schedule::Constant => lr,
        Schedule::Cosine => lr * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())),
    }
}

/// The first `len − n` images for training and the last `n` held out.
fn split_holdout(data: &Dataset, n: usize) -> CliResult<(Dataset, Dataset)> {
    let cut = data.len() - n;
    let part = |range: std::ops::Range<usize>| {
        let pixels = range.clone().flat_map(|i| data.image(i).iter().copied()).collect();
        Dataset::from_pixels(data.shape(), pixels, data.labels()[range].to_vec())
    };
    Ok((part(0..cut)?, part(cut..data.len())?))
}

fn metadata(args: &TrainArgs, config: &TrainConfig, epoch: usize, test: &ElboStats, labels: &[String]) -> CliResult<weights::Metadata> {
    let (p, c) = (config.vae.shape.pixels(), config.vae.classes);
    let format = match (config.vae.arch, args.conditional) {
        (Arch::Mlp { .. }, false) => "pytorch state_dict of the seed's VAE".to_string(),
        (Arch::Mlp { .. }, true) => {
            format!("pytorch state_dict of a conditional VAE: encoder.0 takes [x ({p}), one-hot label ({c})], decoder.0 takes [z (L), one-hot label ({c})]")
        }
        (Arch::Conv { .. }, false) => "pytorch state_dict of the conv VAE (README: the conv VAE)".to_string(),
        (Arch::Conv { .. }, true) => {
            format!("pytorch state_dict of a conditional conv VAE: encoder.5 takes [features, one-hot label ({c})], decoder.0 takes [z (L), one-hot label ({c})]")
        }
    };
    let dataset = if args.pictures.images.is_some() { "images" } else { args.dataset.label() };
    let mut meta: weights::Metadata = [
        ("format", format),
        ("dataset", dataset.to_string()),
        ("beta", config.beta.to_string()),
        ("epochs", epoch.to_string()),
        ("batch", config.batch_size.to_string()),
        ("lr", config.learning_rate.to_string()),
        ("schedule", format!("{:?}", args.schedule).to_lowercase()),
        ("seed", config.seed.to_string()),
        ("test_neg_elbo", format!("{:.4}", test.neg_elbo)),
        ("test_recon", format!("{:.4}", test.recon)),
        ("test_kl", format!("{:.4}", test.kl)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(dir) = &args.pictures.images {
        // The label names (first-level folders) and how the pictures were prepared, so the page
        // can name the classes and prepare new pictures the same way.
        meta.insert("labels".into(), serde_json::to_string(labels)?);
        let name = dir.canonicalize().ok().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
        meta.insert("images".into(), name.unwrap_or_default());
        let prep = args.pictures.preprocess(config.vae.shape.height, config.vae.shape.channels == 3)?;
        meta.extend(args.pictures.metadata(&prep));
    }
    Ok(meta)
}
