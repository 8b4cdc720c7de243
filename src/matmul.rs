//! Matrix products over plain row-major `f32` slices, for the hand-written gradients: the `gemm`
//! crate candle's own CPU matmul calls, single-threaded (training parallelises over parts of the
//! batch, [`crate::parallel`]), with transposed and column-sliced operands read in place through
//! their strides and the option to add into the destination. The relaxed-SIMD browser build uses
//! the same blocking with fused multiply-add microkernels ([`crate::relaxed_gemm`]).

use candle_core::{bail, Result};

/// The relaxed-SIMD build's product: gemm's blocking with fused multiply-add microkernels.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
use crate::relaxed_gemm::gemm as product;

/// `gemm::gemm` with the arguments both builds share (`dst` = `alpha`·`dst` + `beta`·`lhs`·`rhs`,
/// `dst` read only when `read_dst`), single-threaded.
///
/// # Safety
/// As for `gemm::gemm`: each operand holds its matrix at the given strides and `dst` overlaps neither.
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
#[allow(clippy::too_many_arguments)]
unsafe fn product(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const f32,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const f32,
    rhs_cs: isize,
    rhs_rs: isize,
    alpha: f32,
    beta: f32,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
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
            gemm::Parallelism::None,
        )
    }
}

/// A `rows` × `cols` matrix read from `data`: row r starts at `r·row_stride` (a row-major matrix
/// whose leading columns are taken has a stride wider than `cols`); or the transpose of one.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    transposed: bool,
}

impl<'a> View<'a> {
    /// The row-major `rows` × `cols` matrix `data`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::columns(data, rows, cols, cols)
    }

    /// The first `cols` columns of the row-major matrix `data` of `rows` rows `row_stride` wide.
    pub fn columns(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Result<Self> {
        if cols > row_stride || data.len() != rows * row_stride {
            bail!("a {rows}×{cols} view with rows {row_stride} apart does not fit {} values", data.len());
        }
        Ok(Self { data, rows, cols, row_stride, transposed: false })
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        Self { transposed: !self.transposed, ..self }
    }

    /// (rows, cols) as the product sees them.
    fn dims(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// (row stride, column stride) as the product sees them.
    fn strides(&self) -> (isize, isize) {
        let stride = self.row_stride as isize;
        if self.transposed {
            (1, stride)
        } else {
            (stride, 1)
        }
    }
}

/// `a` [m, k] · `b` [k, n] as a new row-major [m, n] matrix.
pub fn multiply(a: View, b: View) -> Result<Vec<f32>> {
    let mut out = vec![0f32; a.dims().0 * b.dims().1];
    matmul(&mut out, a, b, false)?;
    Ok(out)
}

/// `dst` [m, n] (row-major) = `a` [m, k] · `b` [k, n], or `dst` += `a` · `b` when `accumulate`.
pub fn matmul(dst: &mut [f32], a: View, b: View, accumulate: bool) -> Result<()> {
    let ((m, k), (k2, n)) = (a.dims(), b.dims());
    if k != k2 || dst.len() != m * n {
        bail!("cannot multiply {m}×{k} by {k2}×{n} into {} values", dst.len());
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return Ok(());
    }
    let ((a_rs, a_cs), (b_rs, b_cs)) = (a.strides(), b.strides());
    // SAFETY: the views were checked to hold their matrices (row r, column c at r·rs + c·cs lies
    // inside their slices for r < rows, c < cols), `dst` holds m·n values with rows n apart, and
    // `dst` is a unique borrow, so it overlaps neither operand.
    unsafe {
        product(m, n, k, dst.as_mut_ptr(), 1, n as isize, accumulate, a.data.as_ptr(), a_cs, a_rs, b.data.as_ptr(), b_cs, b_rs, 1.0, 1.0);
    }
    Ok(())
}

/// `src` seen as [outer, a, b, inner] rearranged to [outer, b, a, inner].
pub fn swap_axes(src: &[f32], outer: usize, a: usize, b: usize, inner: usize) -> Vec<f32> {
    let mut out = vec![0f32; src.len()];
    let block = a * b * inner;
    for (s, d) in src.chunks_exact(block.max(1)).zip(out.chunks_exact_mut(block.max(1))).take(outer) {
        for i in 0..a {
            for j in 0..b {
                d[(j * a + i) * inner..][..inner].copy_from_slice(&s[(i * b + j) * inner..][..inner]);
            }
        }
    }
    out
}

/// The sums of the columns of the row-major matrix `m`, `cols` wide.
pub fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; cols];
    for row in m.chunks_exact(cols.max(1)) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_of_views_match_the_definition() {
        // a [2, 3], b [3, 2] as row-major; a's first two columns of a 3-wide matrix; transposes.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut c = vec![0.0; 4];
        matmul(&mut c, View::new(&a, 2, 3).unwrap(), View::new(&b, 3, 2).unwrap(), false).unwrap();
        assert_eq!(c, [58.0, 64.0, 139.0, 154.0]);
        matmul(&mut c, View::new(&a, 2, 3).unwrap(), View::new(&b, 3, 2).unwrap(), true).unwrap();
        assert_eq!(c, [116.0, 128.0, 278.0, 308.0]);
        // aᵀ [3, 2] · a's first two columns [2, 2]: [[17, 22], [22, 29], [27, 36]].
        let mut d = vec![0.0; 6];
        matmul(&mut d, View::new(&a, 2, 3).unwrap().t(), View::columns(&a, 2, 2, 3).unwrap(), false).unwrap();
        assert_eq!(d, [17.0, 22.0, 22.0, 29.0, 27.0, 36.0]);
        assert!(matmul(&mut d, View::new(&a, 2, 3).unwrap(), View::new(&a, 2, 3).unwrap(), false).is_err());
        assert!(View::new(&a, 4, 2).is_err());
    }

    #[test]
    fn swapping_axes_twice_is_the_identity() {
        let src: Vec<f32> = (0..2 * 3 * 4 * 5).map(|v| v as f32).collect();
        let swapped = swap_axes(&src, 2, 3, 4, 5);
        // [o, i, j, e] → [o, j, i, e]: element (0, 1, 2, 3) moves from (1·4+2)·5+3 to (2·3+1)·5+3.
        assert_eq!(swapped[38], src[33]);
        assert_ne!(swapped, src);
        assert_eq!(swap_axes(&swapped, 2, 4, 3, 5), src);
        assert_eq!(column_sums(&[1.0, 2.0, 3.0, 4.0], 2), [4.0, 6.0]);
    }
}
