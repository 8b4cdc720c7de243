//! The fused Adam of `vae::optim` against candle-nn's AdamW (the plain path): same weights after
//! many steps of real training, with and without weight decay.

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder};
use vae::loss::negative_elbo;
use vae::optim::Adam;
use vae::rng::Rng;
use vae::{weights, Vae, VaeConfig};

fn run<O: Optimizer<Config = ParamsAdamW>>(params: ParamsAdamW, steps: usize) -> Vec<(String, Tensor)> {
    let device = Device::Cpu;
    let config = VaeConfig::new(3, 32);
    let varmap = weights::init_varmap(config, &mut Rng::new(7), &device).unwrap();
    let vae = Vae::new(VarBuilder::from_varmap(&varmap, DType::F32, &device), config).unwrap();
    let mut opt = O::new(varmap.all_vars(), params).unwrap();
    let mut data_rng = Rng::new(3);
    let mut noise_rng = Rng::new(5);
    for _ in 0..steps {
        // Images in [0, 1]: squash Gaussian noise through a sigmoid.
        let x = candle_nn::ops::sigmoid(&data_rng.normal((16, 784), &device).unwrap()).unwrap();
        let loss = negative_elbo(&vae, &x, None, &mut noise_rng).unwrap().mean_total(1.0).unwrap();
        opt.backward_step(&loss).unwrap();
    }
    vae.named_parameters()
}

fn max_abs_diff(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> f32 {
    a.iter()
        .zip(b)
        .map(|((_, x), (_, y))| (x - y).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap())
        .fold(0.0, f32::max)
}

/// Fused Adam and candle-nn's AdamW reach the same weights (to 1e-4) after 50 steps.
#[test]
fn fused_adam_matches_candle_adamw() {
    for weight_decay in [0.0, 0.01] {
        let params = ParamsAdamW { lr: 1e-3, weight_decay, ..Default::default() };
        let fused = run::<Adam>(params.clone(), 50);
        let plain = run::<AdamW>(params, 50);
        let diff = max_abs_diff(&fused, &plain);
        assert!(diff < 1e-4, "weight decay {weight_decay}: max |Δθ| = {diff}");
        // And training moved the weights at all (a no-op optimiser would match a no-op one).
        let start = run::<Adam>(ParamsAdamW { lr: 1e-3, weight_decay, ..Default::default() }, 0);
        assert!(max_abs_diff(&fused, &start) > 1e-3);
    }
}
