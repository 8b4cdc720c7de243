//! `vae grid`: the N×N decoded grid of a 2-D model as a PNG (Kingma & Welling, figure 4).

use std::path::PathBuf;

use candle_core::Device;
use vae::{grid, weights};

use crate::{read_file, CliResult};

#[derive(clap::Args)]
pub struct GridArgs {
    #[arg(long)]
    weights: PathBuf,
    /// Images per side.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=100))]
    n: u16,
    #[arg(long)]
    out: PathBuf,
    /// The label to decode with, for a conditional model.
    #[arg(long)]
    label: Option<u8>,
}

pub fn run(args: GridArgs) -> CliResult {
    let bytes = read_file(&args.weights)?;
    let vae = weights::load_vae(&bytes, &Device::Cpu).map_err(|e| format!("{}: {e}", args.weights.display()))?.vae;
    let l = vae.config().latent;
    if l != 2 {
        return Err(format!("the grid needs a 2-D model; this one has latent size {l}").into());
    }
    let n = args.n as usize;
    let axis = grid::quantile_axis(n);
    let z = grid::grid_latents(&axis, &axis, (0, 1), &[0.0, 0.0]);
    let labels = match (vae.config().classes, args.label) {
        (0, None) => None,
        (0, Some(_)) => return Err("--label is for conditional models; this one is not".into()),
        (c, Some(label)) if (label as usize) < c => Some(vec![label; n * n]),
        (c, _) => return Err(format!("this conditional model needs --label in 0..{c}").into()),
    };
    let shape = vae.config().shape;
    let pixels = grid::tile_images(&grid::decode_flat(&vae, &z, labels.as_deref())?, shape, n, n);
    let (width, height) = ((shape.width * n) as u32, (shape.height * n) as u32);
    let file = std::fs::File::create(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(match shape.channels {
        1 => png::ColorType::Grayscale,
        3 => png::ColorType::Rgb,
        c => return Err(format!("a PNG of {c}-channel images is not supported").into()),
    });
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    println!("wrote {} ({n}×{n} grid, {width}×{height} px)", args.out.display());
    Ok(())
}
