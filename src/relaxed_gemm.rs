//! The `gemm` crate's blocked f32 product with fused multiply-add microkernels, for the browser
//! build with relaxed SIMD (`+relaxed-simd`, `scripts/build.sh`'s second wasm).
//!
//! `gemm`'s own wasm microkernels multiply and add in two instructions (`f32x4.mul`, `f32x4.add`),
//! since SIMD128 has no fused multiply-add. Relaxed SIMD adds one, `f32x4.relaxed_madd`, which a
//! browser lowers to the CPU's FMA where it has one (rounding once instead of twice; on a CPU
//! without FMA it may round twice, hence "relaxed"). The blocking, packing and edge handling are
//! `gemm_common::gemm::gemm_basic_generic`'s (the driver `gemm-f32` calls) and the microkernels
//! come from `gemm_common::microkernel!` (the macro `gemm-f32` instantiates for every target);
//! this module supplies the arithmetic and the register tile.
//!
//! **The tile: 8×4, depth not unrolled.** `gemm-f32`'s SIMD128 kernels keep a 12×4 tile (12
//! accumulators of four lanes) and unroll the depth loop twice, so LLVM's schedule of one step
//! holds 12 accumulators, 6 lhs vectors and 8 broadcasts: more than the 16 vector registers V8
//! gives wasm on x86-64, so the loop spills. 8×4 without unrolling holds 8 accumulators, 2 lhs
//! vectors and one broadcast. Measured in Chromium 156 on this project's 2-core machine (one
//! worker, fastest of 20 steps, three runs each, 2026-12-07): conv 16-D training 906 → 1,060
//! samples/s, MLP 784-512-2 5,470 → 6,564. 12×3 not unrolled tied on the conv net and lost on
//! the MLP (6,400); 12×4 not unrolled, 936 (conv); 8×4 unrolled three times, 742. The plain build's
//! `f32x4.mul` + `f32x4.add` gained nothing from any of these tiles (conv 784 with gemm-f32's,
//! 780 with 8×4, 765 with 12×3), so it keeps `gemm-f32`'s kernels.

#![allow(clippy::too_many_arguments)]
// `microkernel!` splits the depth loop by its unroll factor (`k % 1` here).
#![allow(clippy::modulo_one)]

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

/// a·b + c, fused (one rounding) where the CPU has FMA.
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

// The 8×4 tile (two vectors of four rows, four columns) and its edges, one depth step per iteration.
gemm_common::microkernel!(["simd128"], 1, x1x1, 1, 1);
gemm_common::microkernel!(["simd128"], 1, x1x2, 1, 2);
gemm_common::microkernel!(["simd128"], 1, x1x3, 1, 3);
gemm_common::microkernel!(["simd128"], 1, x1x4, 1, 4);
gemm_common::microkernel!(["simd128"], 1, x2x1, 2, 1);
gemm_common::microkernel!(["simd128"], 1, x2x2, 2, 2);
gemm_common::microkernel!(["simd128"], 1, x2x3, 2, 3);
gemm_common::microkernel!(["simd128"], 1, x2x4, 2, 4);

gemm_common::microkernel_fn_array! {
    [x1x1, x1x2, x1x3, x1x4,],
    [x2x1, x2x2, x2x3, x2x4,],
}

const H_UKR: [[gemm_common::microkernel::HMicroKernelFn<T>; 0]; 0] = [];

/// `gemm::gemm`'s contract for f32 (dst = α·dst + β·lhs·rhs, α ignored unless `read_dst`),
/// single-threaded, with these microkernels.
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
    // The microkernels hold a tile of MR consecutive rows of one column: as `gemm::gemm` does, a
    // destination with rows closer together than columns (row-major, every product here) is
    // computed as its transpose, dstᵀ = rhsᵀ·lhsᵀ, so that the tile's rows are contiguous.
    let (m, n, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs) = if dst_cs.abs() < dst_rs.abs() {
        (n, m, dst_rs, dst_cs, rhs, rhs_rs, rhs_cs, lhs, lhs_rs, lhs_cs)
    } else {
        (m, n, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs)
    };
    // SAFETY: forwarded from the caller (the transpose reads the same elements).
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
