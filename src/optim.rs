//! Adam (PyTorch's `torch.optim.Adam`, i.e. AdamW without weight decay) as one fused in-place pass
//! per parameter.
//!
//! candle-nn's [`candle_nn::AdamW`] computes the same update with about a dozen tensor operations
//! per parameter, each allocating a new tensor; here the moments live in plain vectors and one loop
//! updates the moments and the weights in place. Tests check both give the same weights.

use std::sync::Mutex;

use candle_core::{backprop::GradStore, bail, CpuStorage, InplaceOp2, Layout, Result, Var};
use candle_nn::{Optimizer, ParamsAdamW};

struct Param {
    var: Var,
    moments: Mutex<Moments>,
}

struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

/// Adam with bias correction; `weight_decay` is decoupled (AdamW) and 0 gives PyTorch's Adam.
pub struct Adam {
    params: Vec<Param>,
    config: ParamsAdamW,
    step: i32,
    threads: usize,
}

/// Where an [`Adam`] stands: its step count and, per parameter (in the order it was made with),
/// the first and second moments.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    pub step: i32,
    pub moments: Vec<(Vec<f32>, Vec<f32>)>,
}

impl Adam {
    pub fn params(&self) -> ParamsAdamW {
        self.config.clone()
    }

    /// A copy of the step count and the moments.
    pub fn state(&self) -> Result<AdamState> {
        let moments = self
            .params
            .iter()
            .map(|p| {
                let m = p.moments.lock().map_err(|_| candle_core::Error::Msg("adam: poisoned moments".into()))?;
                Ok((m.m.clone(), m.v.clone()))
            })
            .collect::<Result<_>>()?;
        Ok(AdamState { step: self.step, moments })
    }

    /// Goes on from `state` (taken from an optimiser made with parameters of the same sizes).
    pub fn restore(&mut self, state: AdamState) -> Result<()> {
        if state.moments.len() != self.params.len()
            || self.params.iter().zip(&state.moments).any(|(p, (m, v))| m.len() != p.var.elem_count() || v.len() != m.len())
        {
            bail!("adam: the saved moments do not fit these parameters");
        }
        for (param, (m, v)) in self.params.iter().zip(state.moments) {
            *param.moments.lock().map_err(|_| candle_core::Error::Msg("adam: poisoned moments".into()))? = Moments { m, v };
        }
        self.step = state.step;
        Ok(())
    }

    /// Updates the parameters on up to `threads` threads (native builds; each parameter's update
    /// stays in one thread, so results do not change).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    fn update(&self, param: &Param, grad: &candle_core::Tensor) -> Result<()> {
        let c = &self.config;
        let update = Update {
            moments: &param.moments,
            lr: c.lr as f32,
            beta1: c.beta1 as f32,
            beta2: c.beta2 as f32,
            eps: c.eps as f32,
            decay: (1.0 - c.lr * c.weight_decay) as f32,
            scale_m: (1.0 / (1.0 - c.beta1.powi(self.step))) as f32,
            scale_v: (1.0 / (1.0 - c.beta2.powi(self.step))) as f32,
        };
        param.var.as_tensor().inplace_op2(&grad.contiguous()?, &update)
    }
}

impl Optimizer for Adam {
    type Config = ParamsAdamW;

    fn new(vars: Vec<Var>, config: ParamsAdamW) -> Result<Self> {
        let params = vars
            .into_iter()
            .map(|var| {
                let n = var.elem_count();
                Param { var, moments: Mutex::new(Moments { m: vec![0.0; n], v: vec![0.0; n] }) }
            })
            .collect();
        Ok(Self { params, config, step: 0, threads: 1 })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let work: Vec<(&Param, &candle_core::Tensor)> = self.params.iter().filter_map(|p| grads.get(&p.var).map(|g| (p, g))).collect();
        if self.threads <= 1 || cfg!(target_arch = "wasm32") {
            return work.iter().try_for_each(|(p, g)| self.update(p, g));
        }
        // Deal the parameters, largest first, to the least-loaded of `threads` lists.
        let mut lists: Vec<(usize, Vec<(&Param, &candle_core::Tensor)>)> = vec![(0, Vec::new()); self.threads];
        let mut sorted = work;
        sorted.sort_by_key(|(p, _)| std::cmp::Reverse(p.var.elem_count()));
        for item in sorted {
            let Some(lightest) = lists.iter_mut().min_by_key(|(load, _)| *load) else { break };
            lightest.0 += item.0.var.elem_count();
            lightest.1.push(item);
        }
        let this = &*self;
        std::thread::scope(|scope| {
            let handles: Vec<_> =
                lists[1..].iter().map(|(_, list)| scope.spawn(move || list.iter().try_for_each(|(p, g)| this.update(p, g)))).collect();
            lists[0].1.iter().try_for_each(|(p, g)| this.update(p, g))?;
            handles.into_iter().try_for_each(|h| h.join().unwrap_or_else(|_| bail!("an Adam thread panicked")))
        })
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr
    }
}

/// One parameter's update: θ ← θ·decay − lr · m̂ / (√v̂ + ε).
struct Update<'a> {
    moments: &'a Mutex<Moments>,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    decay: f32,
    scale_m: f32,
    scale_v: f32,
}

impl InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "adam-update"
    }

    fn cpu_fwd(&self, theta: &mut CpuStorage, lt: &Layout, grad: &CpuStorage, lg: &Layout) -> Result<()> {
        let (CpuStorage::F32(theta), CpuStorage::F32(grad)) = (theta, grad) else {
            bail!("adam: parameters and gradients must be f32");
        };
        let (Some((t0, t1)), Some((g0, g1))) = (lt.contiguous_offsets(), lg.contiguous_offsets()) else {
            bail!("adam: parameters and gradients must be contiguous");
        };
        let theta = &mut theta[t0..t1];
        let grad = &grad[g0..g1];
        let mut guard = self.moments.lock().map_err(|_| candle_core::Error::Msg("adam: poisoned moments".into()))?;
        let Moments { m, v } = &mut *guard;
        if theta.len() != grad.len() || theta.len() != m.len() {
            bail!("adam: parameter, gradient and moment sizes differ");
        }
        let (b1, b2) = (self.beta1, self.beta2);
        let step = self.lr * self.scale_m;
        for (((t, &g), m), v) in theta.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *t = *t * self.decay - step * *m / ((*v * self.scale_v).sqrt() + self.eps);
        }
        Ok(())
    }
}
