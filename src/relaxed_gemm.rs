//! The `gemm` crate's blocked f32 product with fused multiply-add microkernels, for the browser
//! build with relaxed SIMD (`+relaxed-simd`, `scripts/build.sh`'s second wasm).
//!
//! `gemm`'s own wasm microkernels multiply and add in two instructions (`f32x4.mul`, `f32x4.add`),
//! since SIMD128 has no fused multiply-add. Relaxed SIMD adds one, `f32x4.relaxed_madd`, which a
//! browser lowers to the CPU's FMA where it has one (rounding once instead of twice; on a CPU
//! without FMA it may round twice, hence "relaxed"). This module only supplies the arithmetic:
//! the microkernels come from `gemm_common::microkernel!` (the macro `gemm-f32` instantiates for
//! every target, with the same 12×4 register tile as its SIMD128 ones) and the blocking, packing
//! and edge handling from `gemm_common::gemm::gemm_basic_generic`, the driver `gemm-f32` calls.

#![allow(clippy::too_many_arguments)]

use core::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_relaxed_madd, v128};
use core::mem::transmute;

type T = f32;
const N: usize = 4;
type Pack = [T; N];

#[inline(always)]
unsafe fn splat(value: T) -> Pack {
    [value; N]
}

#[inline(always)]
unsafe fn mul(lhs: Pack, rhs: Pack) -> Pack {
    // SAFETY: [f32; 4] and v128 are both 16 plain bytes.
    unsafe { transmute::<v128, Pack>(f32x4_mul(transmute::<Pack, v128>(lhs), transmute::<Pack, v128>(rhs))) }
}

#[inline(always)]
unsafe fn add(lhs: Pack, rhs: Pack) -> Pack {
    // SAFETY: as above.
    unsafe { transmute::<v128, Pack>(f32x4_add(transmute::<Pack, v128>(lhs), transmute::<Pack, v128>(rhs))) }
}

#[inline(always)]
unsafe fn mul_add(a: Pack, b: Pack, c: Pack) -> Pack {
    // SAFETY: [f32; 4] and v128 are both 16 plain bytes.
    unsafe {
        transmute::<v128, Pack>(f32x4_relaxed_madd(transmute::<Pack, v128>(a), transmute::<Pack, v128>(b), transmute::<Pack, v128>(c)))
    }
}

#[inline(always)]
unsafe fn scalar_mul(lhs: T, rhs: T) -> T {
    lhs * rhs
}

#[inline(always)]
unsafe fn scalar_add(lhs: T, rhs: T) -> T {
    lhs + rhs
}

#[inline(always)]
unsafe fn scalar_mul_add(a: T, b: T, c: T) -> T {
    a * b + c
}

gemm_common::microkernel!(["simd128"], 2, x1x1, 1, 1);
gemm_common::microkernel!(["simd128"], 2, x1x2, 1, 2);
gemm_common::microkernel!(["simd128"], 2, x1x3, 1, 3);
gemm_common::microkernel!(["simd128"], 2, x1x4, 1, 4);
gemm_common::microkernel!(["simd128"], 2, x2x1, 2, 1);
gemm_common::microkernel!(["simd128"], 2, x2x2, 2, 2);
gemm_common::microkernel!(["simd128"], 2, x2x3, 2, 3);
gemm_common::microkernel!(["simd128"], 2, x2x4, 2, 4);
gemm_common::microkernel!(["simd128"], 2, x3x1, 3, 1);
gemm_common::microkernel!(["simd128"], 2, x3x2, 3, 2);
gemm_common::microkernel!(["simd128"], 2, x3x3, 3, 3);
gemm_common::microkernel!(["simd128"], 2, x3x4, 3, 4);

gemm_common::microkernel_fn_array! {
    [x1x1, x1x2, x1x3, x1x4,],
    [x2x1, x2x2, x2x3, x2x4,],
    [x3x1, x3x2, x3x3, x3x4,],
}

const H_UKR: [[gemm_common::microkernel::HMicroKernelFn<T>; 0]; 0] = [];

/// `gemm::gemm`'s contract for f32 (dst = α·dst + β·lhs·rhs, α ignored unless `read_dst`),
/// single-threaded, with the fused microkernels.
///
/// # Safety
/// As `gemm::gemm`: every (row, column) of the three matrices, at the given strides, lies in its
/// allocation, and `dst` overlaps neither operand.
pub unsafe fn gemm(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const T,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const T,
    rhs_cs: isize,
    rhs_rs: isize,
    alpha: T,
    beta: T,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm_common::gemm::gemm_basic_generic::<_, T, N, { MR_DIV_N * N }, NR, MR_DIV_N, 0, 0>(
            gemm_common::simd::Scalar,
            m,
            n,
            k,
            dst,
            dst_cs,
            dst_rs,
            read_dst,
            lhs,
            lhs_cs,
            lhs_rs,
            rhs,
            rhs_cs,
            rhs_rs,
            alpha,
            beta,
            false,
            false,
            false,
            |a, b, c| a * b + c,
            &UKR,
            &H_UKR,
            false,
            gemm_common::Parallelism::None,
        );
    }
}
