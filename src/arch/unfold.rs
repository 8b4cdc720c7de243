//! Convolutions as matrix products. `unfold` (im2col) copies every kernel-sized patch of an image
//! into one row; `fold` (col2im) adds rows back into an image, summing where patches overlap.
//! Each is the other's adjoint, so each one's gradient is the other, and candle's autograd
//! differentiates the rest (a matrix product and a bias). A stride-2 convolution is then one gemm
//! over the unfolded patches, and a transposed one a gemm followed by a fold: candle 0.11's CPU
//! `conv_transpose2d` is a direct loop, and its `conv2d` gradient for the input is that loop too.
//!
//! Layouts are PyTorch's: images [B, C, H, W]; `Conv2d` weights [out, in, k, k];
//! `ConvTranspose2d` weights [in, out, k, k].

use std::ops::AddAssign;

use candle_core::{bail, CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

/// A square kernel's side, its stride and the zero padding on every side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Window {
    /// Output side of a convolution over a side of `n` pixels (as PyTorch floors it); `None` when
    /// the kernel does not fit.
    pub fn conv_out(&self, n: usize) -> Option<usize> {
        if self.stride == 0 {
            return None;
        }
        (n + 2 * self.padding).checked_sub(self.kernel).map(|d| d / self.stride + 1)
    }

    /// Output side of the transposed convolution over a side of `n`: (n − 1)·stride − 2·padding + kernel.
    pub fn transposed_out(&self, n: usize) -> Option<usize> {
        (n.checked_sub(1)? * self.stride + self.kernel).checked_sub(2 * self.padding)
    }
}

/// An image of `channels` × `height` × `width` seen through `window`: the patches are the
/// positions of the convolution's output, each `channels`·k² numbers long, ordered (c, ky, kx)
/// as a `Conv2d` weight's row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Patches {
    pub window: Window,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Patches {
    /// The output's (height, width).
    pub fn sides(&self) -> Result<(usize, usize)> {
        match (self.window.conv_out(self.height), self.window.conv_out(self.width)) {
            (Some(h), Some(w)) => Ok((h, w)),
            _ => bail!("a {}×{} kernel does not fit a {}×{} image", self.window.kernel, self.window.kernel, self.width, self.height),
        }
    }

    /// Patches per image (the convolution's output positions).
    pub fn count(&self) -> Result<usize> {
        self.sides().map(|(h, w)| h * w)
    }

    /// Numbers per patch: channels·k².
    pub fn per_patch(&self) -> usize {
        self.channels * self.window.kernel * self.window.kernel
    }

    /// For each patch element (patch p, element e) inside the image, `visit(image index, p·len + e)`
    /// for image `b`'s slices; padding elements are skipped.
    fn each(&self, (oh, ow): (usize, usize), mut visit: impl FnMut(usize, usize)) {
        let Window { kernel: k, stride: s, padding: pad } = self.window;
        let (h, w, len) = (self.height, self.width, self.per_patch());
        for oy in 0..oh {
            for ox in 0..ow {
                let row = (oy * ow + ox) * len;
                for c in 0..self.channels {
                    for ky in 0..k {
                        let Some(iy) = (oy * s + ky).checked_sub(pad).filter(|&y| y < h) else { continue };
                        for kx in 0..k {
                            let Some(ix) = (ox * s + kx).checked_sub(pad).filter(|&x| x < w) else { continue };
                            visit((c * h + iy) * w + ix, row + (c * k + ky) * k + kx);
                        }
                    }
                }
            }
        }
    }

    fn unfold<T: Copy + Default>(&self, images: &[T], batch: usize) -> Result<Vec<T>> {
        let sides = self.sides()?;
        let (pixels, row) = (self.channels * self.height * self.width, sides.0 * sides.1 * self.per_patch());
        let mut out = vec![T::default(); batch * row];
        for (image, dst) in images.chunks_exact(pixels).zip(out.chunks_exact_mut(row)) {
            self.each(sides, |i, o| dst[o] = image[i]);
        }
        Ok(out)
    }

    fn fold<T: Copy + Default + AddAssign>(&self, rows: &[T], batch: usize) -> Result<Vec<T>> {
        let sides = self.sides()?;
        let (pixels, row) = (self.channels * self.height * self.width, sides.0 * sides.1 * self.per_patch());
        let mut out = vec![T::default(); batch * pixels];
        for (src, image) in rows.chunks_exact(row).zip(out.chunks_exact_mut(pixels)) {
            self.each(sides, |i, o| image[i] += src[o]);
        }
        Ok(out)
    }
}

impl Patches {
    /// Channels-last im2col, for the conv VAE's hand-written gradient ([`crate::conv_gradient`]):
    /// `batch` images [H, W, C] → [batch·patches, k²·C], each patch ordered (ky, kx, c) so that
    /// one pixel's channels are copied together. Padding stays zero.
    pub fn unfold_channels_last(&self, images: &[f32], batch: usize) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.unfold_channels_last_into(images, batch, &mut out)?;
        Ok(out)
    }

    /// [`Self::unfold_channels_last`] into `out`, resized to fit: every value is written, the
    /// padding's too, so `out` may hold anything before (a buffer of an earlier step).
    pub fn unfold_channels_last_into(&self, images: &[f32], batch: usize, out: &mut Vec<f32>) -> Result<()> {
        let (oh, ow) = self.sides()?;
        self.check_channels_last(images.len(), batch)?;
        out.resize(batch * oh * ow * self.per_patch(), 0.0);
        self.each_run_channels_last(batch, (oh, ow), |pixel, row, len| match pixel {
            Some(pixel) => out[row..row + len].copy_from_slice(&images[pixel..pixel + len]),
            None => out[row..row + len].fill(0.0),
        });
        Ok(())
    }

    /// The adjoint of [`Self::unfold_channels_last`] (col2im): rows [batch·patches, k²·C] added
    /// into `batch` images [H, W, C].
    pub fn fold_channels_last(&self, rows: &[f32], batch: usize) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.fold_channels_last_into(rows, batch, &mut out)?;
        Ok(out)
    }

    /// [`Self::fold_channels_last`] into `out`, resized to fit and zeroed first.
    pub fn fold_channels_last_into(&self, rows: &[f32], batch: usize, out: &mut Vec<f32>) -> Result<()> {
        let (oh, ow) = self.sides()?;
        if rows.len() != batch * oh * ow * self.per_patch() {
            bail!("fold of {} values with a window for {batch} images of {} patches of {}", rows.len(), oh * ow, self.per_patch());
        }
        out.clear();
        out.resize(batch * self.height * self.width * self.channels, 0.0);
        self.each_run_channels_last(batch, (oh, ow), |pixel, row, len| {
            if let Some(pixel) = pixel {
                for (d, &v) in out[pixel..pixel + len].iter_mut().zip(&rows[row..row + len]) {
                    *d += v;
                }
            }
        });
        Ok(())
    }

    fn check_channels_last(&self, len: usize, batch: usize) -> Result<()> {
        let (c, h, w) = (self.channels, self.height, self.width);
        if len != batch * h * w * c {
            bail!("unfold of {len} values with a window for {batch} images of {c}×{h}×{w}");
        }
        Ok(())
    }

    /// For each patch position and kernel row inside `batch` channels-last images, the runs of
    /// kernel taps along that row: `visit(where the run's pixels start in the images, or `None`
    /// where it falls on padding, where it starts in the unfolded rows, its length in values)`.
    /// Taps next to each other read pixels next to each other and fill neighbouring places of
    /// the row (both ordered (x, c)), so the taps of a row that fall inside the image are one
    /// run of up to k·C values: one copy instead of k (copies of C values each cost a
    /// `memory.copy` call in the browser).
    fn each_run_channels_last(&self, batch: usize, (oh, ow): (usize, usize), mut visit: impl FnMut(Option<usize>, usize, usize)) {
        let (c, w, h) = (self.channels, self.width, self.height);
        let Window { kernel: k, stride: s, padding: pad } = self.window;
        for b in 0..batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    let row = ((b * oh + oy) * ow + ox) * k * k * c;
                    // The taps kx in first..last fall inside the image's width.
                    let first = pad.saturating_sub(ox * s).min(k);
                    let last = (w + pad).saturating_sub(ox * s).clamp(first, k);
                    for ky in 0..k {
                        let start = row + ky * k * c;
                        let Some(iy) = (oy * s + ky).checked_sub(pad).filter(|&y| y < h) else {
                            visit(None, start, k * c);
                            continue;
                        };
                        if first > 0 {
                            visit(None, start, first * c);
                        }
                        if last > first {
                            let ix = ox * s + first - pad;
                            visit(Some(((b * h + iy) * w + ix) * c), start + first * c, (last - first) * c);
                        }
                        if k > last {
                            visit(None, start + last * c, (k - last) * c);
                        }
                    }
                }
            }
        }
    }
}

/// `Patches::unfold` as a candle op: [B, C, H, W] → [B, patches, C·k²].
struct Unfold(Patches);
/// `Patches::fold` as a candle op: [B, patches, C·k²] → [B, C, H, W].
struct Fold(Patches);

/// The contiguous slice of `storage` under `layout`, by dtype.
fn contiguous<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<Data<'a>> {
    let Some((start, end)) = layout.contiguous_offsets() else { bail!("{op} needs a contiguous tensor") };
    match storage {
        CpuStorage::F32(v) => Ok(Data::F32(&v[start..end])),
        CpuStorage::F64(v) => Ok(Data::F64(&v[start..end])),
        _ => bail!("{op} takes f32 or f64 tensors"),
    }
}

enum Data<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl CustomOp1 for Unfold {
    fn name(&self) -> &'static str {
        "unfold"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let p = self.0;
        let (b, c, h, w) = layout.shape().dims4()?;
        if (c, h, w) != (p.channels, p.height, p.width) {
            bail!("unfold of {c}×{h}×{w} images with a window for {}×{}×{}", p.channels, p.height, p.width);
        }
        let out = match contiguous(storage, layout, "unfold")? {
            Data::F32(x) => CpuStorage::F32(p.unfold(x, b)?),
            Data::F64(x) => CpuStorage::F64(p.unfold(x, b)?),
        };
        Ok((out, Shape::from((b, p.count()?, p.per_patch()))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        grad.contiguous()?.apply_op1_no_bwd(&Fold(self.0)).map(Some)
    }
}

impl CustomOp1 for Fold {
    fn name(&self) -> &'static str {
        "fold"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let p = self.0;
        let (b, n, len) = layout.shape().dims3()?;
        if (n, len) != (p.count()?, p.per_patch()) {
            bail!("fold of {n} patches of {len} with a window for {} of {}", p.count()?, p.per_patch());
        }
        let out = match contiguous(storage, layout, "fold")? {
            Data::F32(x) => CpuStorage::F32(p.fold(x, b)?),
            Data::F64(x) => CpuStorage::F64(p.fold(x, b)?),
        };
        Ok((out, Shape::from((b, p.channels, p.height, p.width))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        grad.contiguous()?.apply_op1_no_bwd(&Unfold(self.0)).map(Some)
    }
}

/// `nn.Conv2d`: x [B, C, H, W], weight [O, C, k, k], bias [O] → [B, O, H', W'].
pub fn conv2d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, window: Window) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let (o, ..) = weight.dims4()?;
    let p = Patches { window, channels: c, height: h, width: w };
    let (oh, ow) = p.sides()?;
    let rows = x.contiguous()?.apply_op1(Unfold(p))?.reshape((b * oh * ow, p.per_patch()))?;
    let mut y = rows.matmul(&weight.reshape((o, p.per_patch()))?.t()?)?; // [B·H'·W', O]
    if let Some(bias) = bias {
        y = y.broadcast_add(bias)?;
    }
    y.reshape((b, oh * ow, o))?.transpose(1, 2)?.reshape((b, o, oh, ow))
}

/// `nn.ConvTranspose2d`: x [B, C, H, W], weight [C, O, k, k], bias [O] → [B, O, H', W'] with
/// H' = (H − 1)·stride − 2·padding + k.
pub fn conv_transpose2d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, window: Window) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let (_, o, ..) = weight.dims4()?;
    let (Some(oh), Some(ow)) = (window.transposed_out(h), window.transposed_out(w)) else {
        bail!("a transposed {}×{} kernel cannot widen a {w}×{h} image", window.kernel, window.kernel)
    };
    // The output seen as a convolution's input: its patches are x's pixels.
    let p = Patches { window, channels: o, height: oh, width: ow };
    if p.sides()? != (h, w) {
        bail!("a transposed convolution from {w}×{h} to {ow}×{oh} does not invert its window");
    }
    let pixels = x.reshape((b, c, h * w))?.transpose(1, 2)?.reshape((b * h * w, c))?;
    let rows = pixels.matmul(&weight.reshape((c, p.per_patch()))?)?.reshape((b, h * w, p.per_patch()))?;
    let y = rows.apply_op1(Fold(p))?;
    match bias {
        Some(bias) => y.broadcast_add(&bias.reshape((1, o, 1, 1))?),
        None => Ok(y),
    }
}
