//! Convolutions as unfold + gemm (`vae::arch::unfold`) against candle's own `conv2d` and
//! `conv_transpose2d`: the same outputs and, through autograd, the same gradients for the input,
//! the weight and the bias, in f64 and f32, for square and non-square, grey and colour images.

use candle_core::{DType, Device, Tensor, Var};
use vae::arch::unfold::{conv2d, conv_transpose2d, Patches, Window};
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

#[test]
fn channels_last_unfold_is_the_nchw_unfold_reordered_and_fold_is_its_adjoint() {
    // 2 colour images, 3 × 6 × 10: the channels-last patches (ky, kx, c) hold what a conv2d over
    // the NCHW images multiplies, so (patches · weight in (ky, kx, c) order) = conv2d without bias.
    let (b, c, h, w, o) = (2, 3, 6, 10, 5);
    let p = Patches { window: DOWN, channels: c, height: h, width: w };
    let x = random(&[b, c, h, w], DType::F32, 7);
    let weight = random(&[o, c, 4, 4], DType::F32, 8);
    let nhwc: Vec<f32> = x.permute((0, 2, 3, 1)).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let rows = p.unfold_channels_last(&nhwc, b).unwrap();
    let positions = p.count().unwrap();
    let w_last = weight.permute((0, 2, 3, 1)).unwrap().reshape((o, 16 * c)).unwrap();
    let ours = Tensor::from_vec(rows.clone(), (b * positions, 16 * c), &Device::Cpu).unwrap().matmul(&w_last.t().unwrap()).unwrap();
    let theirs = x.conv2d(&weight, 1, 2, 1, 1).unwrap().permute((0, 2, 3, 1)).unwrap().reshape((b * positions, o)).unwrap();
    assert!(max_diff(&ours, &theirs) < 1e-4, "differs by {}", max_diff(&ours, &theirs));
    // Into a buffer of an earlier step: every value is written, the padding's zeros too.
    let mut stale = vec![f32::NAN; rows.len()];
    p.unfold_channels_last_into(&nhwc, b, &mut stale).unwrap();
    assert_eq!(stale, rows);

    // <unfold(x), r> = <x, fold(r)> for a random r.
    let r: Vec<f32> = random(&[rows.len()], DType::F32, 9).flatten_all().unwrap().to_vec1().unwrap();
    let folded = p.fold_channels_last(&r, b).unwrap();
    let lhs: f64 = rows.iter().zip(&r).map(|(a, b)| f64::from(a * b)).sum();
    let rhs: f64 = nhwc.iter().zip(&folded).map(|(a, b)| f64::from(a * b)).sum();
    assert!((lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0), "<unfold x, r> = {lhs} but <x, fold r> = {rhs}");
    assert!(p.unfold_channels_last(&nhwc[1..], b).is_err() && p.fold_channels_last(&r[1..], b).is_err());
}
