//! `vae eval`: test-set (or a folder of pictures') negative ELBO and IWAE bound of a weights file.

use std::path::PathBuf;

use candle_core::Device;
use vae::{anomaly, rng::Rng, train, weights};

use crate::datasets::Split;
use crate::pictures::{self, PictureArgs};
use crate::{read_file, CliResult, DatasetName};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The .safetensors weights to evaluate.
    #[arg(long)]
    weights: PathBuf,
    #[arg(long, value_enum, default_value = "mnist")]
    dataset: DatasetName,
    /// Importance samples for the IWAE estimate of −log p(x) (omit to skip it).
    #[arg(long)]
    k: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Seed for the sampled z.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the quantiles of the per-image anomaly scores (negative ELBO, mean of 16 draws
    /// of z) over the test set to this JSON file: the page's reference for anomaly percentiles.
    #[arg(long)]
    anomaly_out: Option<PathBuf>,
    #[command(flatten)]
    pictures: PictureArgs,
}

pub fn run(args: EvalArgs) -> CliResult {
    let device = Device::Cpu;
    let bytes = read_file(&args.weights)?;
    let loaded = weights::load_vae(&bytes, &device).map_err(|e| format!("{}: {e}", args.weights.display()))?;
    let (test, source) = match &args.pictures.images {
        Some(dir) => (pictures::load_for(dir, &args.pictures, loaded.vae.config())?.data, format!("pictures in {}", dir.display())),
        None => (args.dataset.load(Split::Test)?, format!("test images of {}", args.dataset.label())),
    };
    let mut rng = Rng::new(args.seed);
    let stats = train::evaluate(&loaded.vae, &test, &mut rng)?;
    let iwae = match args.k {
        Some(0) => return Err("--k must be at least 1".into()),
        Some(k) => Some(train::evaluate_iwae(&loaded.vae, &test, k, &mut rng)?),
        None => None,
    };
    if let Some(path) = &args.anomaly_out {
        let scores = anomaly::score_dataset(&loaded.vae, &test, anomaly::SCORE_SAMPLES, &mut rng)?;
        let json = serde_json::json!({
            "score": "negative ELBO in nats, mean of 16 draws of z",
            "samples": anomaly::SCORE_SAMPLES,
            "dataset": if args.pictures.images.is_some() { "images" } else { args.dataset.label() },
            "images": scores.len(),
            "quantiles": anomaly::quantile_table(&scores, anomaly::QUANTILE_POINTS)
                .iter().map(|q| (q * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        });
        std::fs::write(path, json.to_string()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if args.json {
        let json = serde_json::json!({
            "neg_elbo": stats.neg_elbo, "recon": stats.recon, "kl": stats.kl,
            "iwae_nll": iwae, "k": args.k, "n": stats.n,
            "arch": loaded.vae.config().arch.name(), "latent": loaded.vae.config().latent,
            "hidden": loaded.vae.config().hidden(), "classes": loaded.vae.config().classes,
        });
        println!("{json}");
    } else {
        println!("model: {} ({} {source})", loaded.vae.config().describe(), stats.n);
        println!("negative ELBO: {:.2} nats/image (reconstruction {:.2}, KL {:.2})", stats.neg_elbo, stats.recon, stats.kl);
        if let (Some(v), Some(k)) = (iwae, args.k) {
            println!("IWAE −log p(x), k={k}: {v:.2} nats/image");
        }
    }
    Ok(())
}
