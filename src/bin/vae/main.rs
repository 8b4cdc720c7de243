//! `vae`: train, evaluate, draw grids from and serve the browser VAE.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod bench;
mod datasets;
mod encode;
mod eval;
mod grid;
mod pictures;
mod serve;
mod train;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Errors end the command with one line on stderr.
pub type CliResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

#[derive(Parser)]
#[command(name = "vae", version, about = "A variational autoencoder on candle: train, evaluate, draw, serve")]
struct Cli {
    /// Threads (default: all cores). Training splits each minibatch across them (data parallel,
    /// single-threaded matrix products); other commands use them inside matrix products.
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DatasetName {
    Mnist,
    Fashion,
}

/// The architectures the CLI builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ArchName {
    /// The seed's MLP: 784-H-L.
    Mlp,
    /// The convolutional VAE (two stride-2 convolutions of 32 and 64 channels each way).
    Conv,
}

impl ArchName {
    /// The model of this architecture for images of `shape` (`hidden` is the MLP's).
    pub fn config(self, shape: vae::ImageShape, latent: usize, hidden: usize, classes: usize) -> vae::VaeConfig {
        match self {
            Self::Mlp => vae::VaeConfig { shape, latent, classes, arch: vae::Arch::Mlp { hidden } },
            Self::Conv => vae::VaeConfig::conv(shape, latent, classes),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Train a VAE and write its weights as PyTorch-compatible .safetensors.
    Train(train::TrainArgs),
    /// Test-set negative ELBO (and optionally the IWAE bound) of a weights file.
    Eval(eval::EvalArgs),
    /// Print test images' posterior (mu, log_var) and reconstructions as JSON.
    Encode(encode::EncodeArgs),
    /// Decode an N×N grid over the 2-D latent plane into a PNG.
    Grid(grid::GridArgs),
    /// Serve the app on 127.0.0.1.
    Serve(serve::ServeArgs),
    /// Measure training throughput (samples/s) on MNIST minibatches.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let threads = cli.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    // candle's CPU kernels read rayon's variable when they size their thread pools. Training uses
    // the threads for data parallelism instead, so each thread's products run single-threaded.
    let kernel_threads = if matches!(cli.command, Command::Train(_) | Command::Bench(_)) { 1 } else { threads };
    std::env::set_var("RAYON_NUM_THREADS", kernel_threads.to_string());
    let result = match cli.command {
        Command::Train(args) => train::run(args, threads),
        Command::Eval(args) => eval::run(args),
        Command::Encode(args) => encode::run(args),
        Command::Grid(args) => grid::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args, threads),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", vae::error_message(&e));
            ExitCode::FAILURE
        }
    }
}

/// Reads a whole file, naming it in the error.
pub fn read_file(path: &PathBuf) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
}
