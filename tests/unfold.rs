//! Convolutions as unfold + gemm (`vae::arch::unfold`) against candle's own `conv2d` and
//! `conv_transpose2d`: the same outputs and, through autograd, the same gradients for the input,
//! the weight and the bias, in f64 and f32, for square and non-square, grey and colour images.

use candle_core::{DType, Device, Tensor, Var};
use vae::arch::unfold::{conv2d, conv_transpose2d, Window};
use vae::rng::Rng;

const DOWN: Window = Window { kernel: 4, stride: 2, padding: 1 };

fn random(shape: &[usize], dtype: DType, seed: u64) -> Var {
    let mut rng = Rng::new(seed);
    let n = shape.iter().product::<usize>();
    let values: Vec<f64> = (0..n).map(|_| f64::from(rng.standard_normal())).collect();
    Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap().to_dtype(dtype).unwrap()).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims());
    let d = (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap();
    d.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

/// Output and the three gradients of `ours` and `theirs` (applied to the same x, weight, bias)
/// under the loss Σ output · r for a fixed random r.
fn compare(x: &[usize], weight: &[usize], out_channels: usize, dtype: DType, transposed: bool, tolerance: f64) {
    let (x, w, b) = (random(x, dtype, 1), random(weight, dtype, 2), random(&[out_channels], dtype, 3));
    let ours = if transposed { conv_transpose2d(&x, &w, Some(&b), DOWN) } else { conv2d(&x, &w, Some(&b), DOWN) }.unwrap();
    let theirs = if transposed { x.conv_transpose2d(&w, 1, 0, 2, 1).unwrap() } else { x.conv2d(&w, 1, 2, 1, 1).unwrap() }
        .broadcast_add(&b.reshape((1, out_channels, 1, 1)).unwrap())
        .unwrap();
    assert!(max_diff(&ours, &theirs) < tolerance, "output differs by {}", max_diff(&ours, &theirs));
    let r = random(ours.dims(), dtype, 4);
    let grads = |y: &Tensor| (y * r.as_tensor()).unwrap().sum_all().unwrap().backward().unwrap();
    let (g1, g2) = (grads(&ours), grads(&theirs));
    for (name, v) in [("input", &x), ("weight", &w), ("bias", &b)] {
        let (a, c) = (g1.get(v).unwrap(), g2.get(v).unwrap());
        assert!(max_diff(a, c) < tolerance, "{name} gradient differs by {}", max_diff(a, c));
    }
}

#[test]
fn conv2d_matches_candle_with_gradients() {
    compare(&[3, 1, 28, 28], &[5, 1, 4, 4], 5, DType::F64, false, 1e-10);
    compare(&[2, 3, 8, 12], &[4, 3, 4, 4], 4, DType::F64, false, 1e-10);
    compare(&[4, 6, 14, 14], &[7, 6, 4, 4], 7, DType::F32, false, 1e-4);
}

#[test]
fn conv_transpose2d_matches_candle_with_gradients() {
    compare(&[3, 5, 7, 7], &[5, 2, 4, 4], 2, DType::F64, true, 1e-10);
    compare(&[2, 4, 4, 6], &[4, 3, 4, 4], 3, DType::F64, true, 1e-10);
    compare(&[4, 6, 14, 14], &[6, 1, 4, 4], 1, DType::F32, true, 1e-4);
}

/// Sizes that do not fit give errors, not panics.
#[test]
fn impossible_windows_are_refused() {
    let x = random(&[1, 1, 2, 2], DType::F32, 1);
    let too_big = Window { kernel: 9, stride: 2, padding: 1 };
    assert!(conv2d(&x, &random(&[1, 1, 9, 9], DType::F32, 2), None, too_big).is_err());
    let no_stride = Window { kernel: 4, stride: 0, padding: 1 };
    assert!(conv2d(&x, &random(&[1, 1, 4, 4], DType::F32, 2), None, no_stride).is_err());
    let empty = random(&[1, 1, 1, 1], DType::F32, 3);
    assert!(conv_transpose2d(&empty, &random(&[1, 1, 1, 1], DType::F32, 2), None, Window { kernel: 1, stride: 1, padding: 1 }).is_err());
    assert_eq!(DOWN.conv_out(28), Some(14));
    assert_eq!(DOWN.transposed_out(7), Some(14));
}
