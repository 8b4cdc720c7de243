//! Data parallelism: a minibatch split into parts whose gradients add up to the whole batch's.
//!
//! Part `i` of `n` holds images `i·B/n .. (i+1)·B/n`. Its loss is its images' summed (β-weighted)
//! negative ELBO divided by the *whole* batch size B, so the parts' gradients
//! ([`crate::gradient::negative_elbo_gradient`]) sum to the gradient of the batch mean. Natively the parts run on threads ([`crate::train::Trainer::set_shards`]); in
//! the browser on two workers, each with a trainer made alike: the first draws the batch and sends
//! the second its part's images and noise; they swap their parts' gradients as flat vectors
//! ([`flatten`], [`unflatten`]) and both apply the sum. The sum of two parts is the same on both
//! sides, since floating-point addition commutes, so both take the same Adam step and stay identical.

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, Result, Storage, Tensor, Var};

/// The images of one step and their reparameterisation noise.
pub struct Minibatch {
    /// Images [B, P].
    pub x: Tensor,
    /// One-hot labels [B, C] for a conditional model.
    pub y: Option<Tensor>,
    /// ε ~ N(0, I) [B, L].
    pub eps: Tensor,
}

impl Minibatch {
    pub fn len(&self) -> usize {
        self.eps.dims().first().copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Part `part` of `parts`: images `part·B/parts .. (part+1)·B/parts` (none when B < parts).
    pub fn part(&self, part: usize, parts: usize) -> Result<Minibatch> {
        if part >= parts {
            candle_core::bail!("part {part} of {parts} does not exist");
        }
        let b = self.len();
        let (start, end) = (part * b / parts, (part + 1) * b / parts);
        let narrow = |t: &Tensor| t.narrow(0, start, end - start);
        Ok(Minibatch { x: narrow(&self.x)?, y: self.y.as_ref().map(narrow).transpose()?, eps: narrow(&self.eps)? })
    }
}

/// One part's share of a step.
#[derive(Default)]
pub struct PartGradient {
    /// Its images' summed reconstruction term (nats).
    pub recon_sum: f64,
    /// Its images' summed KL term (nats).
    pub kl_sum: f64,
    /// Gradient of its images' summed loss / B.
    pub grads: GradStore,
}

/// Adds `other` into `total`, for every parameter in `params`.
pub fn accumulate(total: &mut PartGradient, other: &PartGradient, params: &[Var]) -> Result<()> {
    total.recon_sum += other.recon_sum;
    total.kl_sum += other.kl_sum;
    for var in params {
        if let Some(g) = other.grads.get(var) {
            let sum = match total.grads.get(var) {
                Some(acc) => (acc + g)?,
                None => g.clone(),
            };
            total.grads.insert(var, sum);
        }
    }
    Ok(())
}

/// The gradients of `params`, in that order, as one vector (zeros where a parameter has none).
pub fn flatten(grads: &GradStore, params: &[Var]) -> Result<Vec<f32>> {
    let mut flat = Vec::with_capacity(params.iter().map(|v| v.elem_count()).sum());
    for var in params {
        match grads.get(var) {
            Some(g) => with_values(g, |values| flat.extend_from_slice(values))?,
            None => flat.resize(flat.len() + var.elem_count(), 0.0),
        }
    }
    Ok(flat)
}

/// The inverse of [`flatten`]: `flat` must hold exactly one value per element of `params`.
pub fn unflatten(flat: &[f32], params: &[Var]) -> Result<GradStore> {
    let mut grads = GradStore::default();
    for (var, values) in params.iter().zip(split(flat, params)?) {
        grads.insert(var, Tensor::from_slice(values, var.shape(), var.device())?);
    }
    Ok(grads)
}

/// Adds another part's flattened gradient ([`flatten`]) and sums into `total`: each parameter's
/// sum is made in one pass, with no tensor of the other part's values in between.
pub fn add_flat(total: &mut PartGradient, flat: &[f32], recon_sum: f64, kl_sum: f64, params: &[Var]) -> Result<()> {
    total.recon_sum += recon_sum;
    total.kl_sum += kl_sum;
    for (var, other) in params.iter().zip(split(flat, params)?) {
        let sum = match total.grads.get(var) {
            Some(own) => with_values(own, |own| own.iter().zip(other).map(|(a, b)| a + b).collect::<Vec<f32>>())?,
            None => other.to_vec(),
        };
        total.grads.insert(var, Tensor::from_vec(sum, var.shape(), var.device())?);
    }
    Ok(())
}

/// `flat` cut into one slice per parameter of `params`; it must hold exactly one value per element.
fn split<'a>(flat: &'a [f32], params: &[Var]) -> Result<Vec<&'a [f32]>> {
    let expected: usize = params.iter().map(|v| v.elem_count()).sum();
    if flat.len() != expected {
        candle_core::bail!("a gradient of {} values for a model with {expected} parameters", flat.len());
    }
    let mut rest = flat;
    Ok(params
        .iter()
        .map(|var| {
            let (values, tail) = rest.split_at(var.elem_count());
            rest = tail;
            values
        })
        .collect())
}

/// `f` of a tensor's values in row-major order: read in place when it is a contiguous f32 CPU
/// tensor (a gradient always is), copied out otherwise.
fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    {
        let (storage, layout) = t.storage_and_layout();
        if let (Storage::Cpu(CpuStorage::F32(values)), Some((start, end))) = (&*storage, layout.contiguous_offsets()) {
            return Ok(f(&values[start..end]));
        }
    }
    Ok(f(&t.flatten_all()?.to_vec1::<f32>()?))
}
