//! `vae eval`: test-set negative ELBO and IWAE bound of a weights file.

use std::path::PathBuf;

use candle_core::Device;
use vae::{rng::Rng, train, weights};

use crate::datasets::Split;
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
}

pub fn run(args: EvalArgs) -> CliResult {
    let device = Device::Cpu;
    let bytes = read_file(&args.weights)?;
    let loaded = weights::load_vae(&bytes, &device).map_err(|e| format!("{}: {e}", args.weights.display()))?;
    let test = args.dataset.load(Split::Test)?;
    let mut rng = Rng::new(args.seed);
    let stats = train::evaluate(&loaded.vae, &test, &mut rng)?;
    let iwae = match args.k {
        Some(0) => return Err("--k must be at least 1".into()),
        Some(k) => Some(train::evaluate_iwae(&loaded.vae, &test, k, &mut rng)?),
        None => None,
    };
    if args.json {
        let json = serde_json::json!({
            "neg_elbo": stats.neg_elbo, "recon": stats.recon, "kl": stats.kl,
            "iwae_nll": iwae, "k": args.k, "n": stats.n,
            "latent": loaded.vae.config().latent, "hidden": loaded.vae.config().hidden,
        });
        println!("{json}");
    } else {
        let c = loaded.vae.config();
        println!("model: 784-{}-{} ({} test images of {})", c.hidden, c.latent, stats.n, args.dataset.label());
        println!("negative ELBO: {:.2} nats/image (reconstruction {:.2}, KL {:.2})", stats.neg_elbo, stats.recon, stats.kl);
        if let (Some(v), Some(k)) = (iwae, args.k) {
            println!("IWAE −log p(x), k={k}: {v:.2} nats/image");
        }
    }
    Ok(())
}
