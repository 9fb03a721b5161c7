//! A batch plan: every buffer and dispatch for one batch size and mode, compiled once from
//! the model graph (`compile`). A step writes the batch indices (or, for streamed data, the
//! batch's rows) and the step uniform, encodes the recorded dispatches into one submission, and
//! reads back one small statistics buffer.

pub mod column_sums;
mod compile;
pub mod conv;
mod data;
mod forward_stats;
mod network;
pub mod reduction;
pub mod rows;

use std::sync::Arc;

use crate::config::{Config, Fault, LossConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, Tensor};
use crate::kernels::{self, *};
use crate::ops::OptimizerKind;
use crate::reference::ReduceStats;

pub use data::{DeviceData, Placement, Residency};
pub use network::DeviceNetwork;

/// Training mode runs forward, loss, backward, statistics and the optimizer; evaluation mode
/// runs forward and loss with running batch-norm statistics and no dropout; TrainForward runs
/// the training-mode forward pass (batch statistics, dropout) and the loss only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanMode {
    Train,
    Eval,
    TrainForward,
}

/// Which statistics a training step reduces on the GPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Instrumentation {
    /// Loss and accuracy only (plus gradient norms when clipping needs them).
    #[default]
    Bare,
    /// Per-tensor gradient, weight and update statistics and per-layer activation statistics.
    Full,
}

/// Where each figure lives in the statistics buffer (indices of f32s).
#[derive(Clone, Debug, Default)]
pub struct StatsLayout {
    /// [mean data loss, correct, total weight, unused]
    pub loss: usize,
    /// Per parameter tensor, `REDUCE_WIDTH` floats each; `None` when not reduced.
    pub grads: Option<usize>,
    pub weights: Option<usize>,
    pub updates: Option<usize>,
    /// Per layer output.
    pub acts: Option<usize>,
    pub len: usize,
}

/// The statistics of one step, as read back.
#[derive(Clone, Debug, Default)]
pub struct StepStats {
    /// Whether every statistic of full instrumentation was gathered at this step: true on a
    /// fully instrumented plan's steps on the track schedule, false off it and on bare plans.
    pub tracked: bool,
    pub loss: f64,
    pub correct: f64,
    pub total_weight: f64,
    pub grads: Vec<ReduceStats>,
    pub weights: Vec<ReduceStats>,
    pub updates: Vec<ReduceStats>,
    pub acts: Vec<ReduceStats>,
}

impl StepStats {
    /// Σ‖g‖² over every parameter tensor: the square of the global gradient norm (before
    /// clipping).
    pub fn grad_sumsq(&self) -> f64 {
        self.grads.iter().map(|g| g.sumsq).sum()
    }
}

/// One dispatch's GPU time in a profiled step.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DispatchTime {
    pub kernel: &'static str,
    pub label: String,
    pub seconds: f64,
}

pub struct BatchPlan {
    pub batch: usize,
    pub mode: PlanMode,
    pub indices: Tensor,
    /// One buffer per tensor of the graph (`acts[t]` holds tensor `t` for the whole batch):
    /// `acts[0]` is the input batch; for a layer list `acts[i + 1]` is layer i's output.
    pub acts: Vec<Tensor>,
    /// `grads[t]` = dL/d tensor t (training mode; the input's only with `input_grad`; in
    /// evaluation mode only the output's). A gradient that passes through an addition
    /// unchanged may share its buffer with the addition's output gradient.
    pub grads: Vec<Option<Tensor>>,
    pub targets: Tensor,
    pub param_grads: Vec<Tensor>,
    pub deltas: Vec<Tensor>,
    pub stats: Tensor,
    staging: Tensor,
    pub layout: StatsLayout,
    dispatches: Vec<Dispatch>,
    /// With full instrumentation, the same step without the statistics that only the
    /// instrumentation reads (a step off the track schedule, see `Trainer::track_every`):
    /// no weight, update or activation reductions, no update tensors written.
    untracked: Option<Vec<Dispatch>>,
    /// Floats of the stats buffer an untracked step reads back.
    untracked_len: usize,
    /// Whether an untracked step still reduces the gradients (clipping needs their norms).
    untracked_grads: bool,
    nparams: usize,
    /// Activation tensors reduced per step (every tensor but the input).
    nacts: usize,
    /// The host rows when the data is streamed (see [`Residency::Streamed`]).
    streamed: Option<Arc<Dataset>>,
}

/// What the plan needs from the config.
pub struct PlanOptions<'a> {
    pub loss: &'a LossConfig,
    pub optimizer: OptimizerKind,
    pub momentum: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub l2: f64,
    pub weight_decay: f64,
    pub clip_norm: f64,
    pub clip_value: f64,
    pub instrumentation: Instrumentation,
    /// Also compute dL/d input (saliency).
    pub input_grad: bool,
    /// Planted faults (tests of the checks).
    pub faults: &'a [Fault],
    /// With full instrumentation, fold the weight and update statistics into the optimizer
    /// (the default) instead of storing each update and reducing the weights and updates
    /// apart: the same numbers, bit for bit, with fewer passes over the parameters. Tests
    /// compare the two.
    pub fused_statistics: bool,
}

impl<'a> PlanOptions<'a> {
    pub fn from_config(c: &'a Config, instrumentation: Instrumentation) -> Self {
        let o = &c.training.optimizer;
        PlanOptions {
            loss: &c.loss,
            optimizer: o.resolved_kind(),
            momentum: o.momentum(),
            beta1: o.beta1,
            beta2: o.beta2,
            eps: o.eps,
            l2: c.training.l2,
            weight_decay: c.training.weight_decay,
            clip_norm: c.training.clip.norm.unwrap_or(0.0),
            clip_value: c.training.clip.value.unwrap_or(0.0),
            instrumentation,
            input_grad: false,
            faults: &c.faults,
            fused_statistics: true,
        }
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

impl BatchPlan {
    /// Compiles `net`'s graph for batches of `batch` examples of `data` in `mode`.
    pub fn new(
        gpu: &Gpu,
        net: &DeviceNetwork,
        data: &DeviceData,
        batch: usize,
        mode: PlanMode,
        opt: &PlanOptions,
    ) -> Result<BatchPlan> {
        compile::compile(gpu, net, data, batch, mode, opt)
    }

    /// Makes the examples `indices` this step's batch: their indices for the gather shader,
    /// or, for streamed data, their rows themselves.
    fn stage(&self, gpu: &Gpu, indices: &[u32]) {
        match &self.streamed {
            None => gpu.write(&self.indices.buffer, indices),
            Some(rows) => {
                let (xw, yw) = (rows.x_width, rows.y_width);
                let mut x = Vec::with_capacity(indices.len() * xw);
                let mut y = Vec::with_capacity(indices.len() * yw);
                for &i in indices {
                    let i = i as usize;
                    x.extend_from_slice(&rows.x[i * xw..(i + 1) * xw]);
                    y.extend_from_slice(&rows.y[i * yw..(i + 1) * yw]);
                }
                gpu.write(&self.acts[0].buffer, &x);
                gpu.write(&self.targets.buffer, &y);
            }
        }
    }

    /// Runs one step on the examples `indices` (length `batch`) and returns its statistics.
    pub fn run(
        &self,
        gpu: &Gpu,
        net: &DeviceNetwork,
        indices: &[u32],
        step: &StepUniform,
    ) -> Result<StepStats> {
        self.run_with(gpu, net, indices, step, &[])
    }

    /// Like `run`, with `extra` dispatches (probes reading this plan's buffers) encoded after
    /// the plan's own, in the same submission.
    pub fn run_with(
        &self,
        gpu: &Gpu,
        net: &DeviceNetwork,
        indices: &[u32],
        step: &StepUniform,
        extra: &[Dispatch],
    ) -> Result<StepStats> {
        self.execute(gpu, net, indices, step, extra, true)
    }

    /// Like `run`; with `tracked` false, a plan with full instrumentation runs its untracked
    /// dispatches (a step off the track schedule) and returns only the loss statistics (and
    /// the gradients' when clipping computed them).
    pub fn run_scheduled(
        &self,
        gpu: &Gpu,
        net: &DeviceNetwork,
        indices: &[u32],
        step: &StepUniform,
        tracked: bool,
    ) -> Result<StepStats> {
        self.execute(gpu, net, indices, step, &[], tracked)
    }

    fn execute(
        &self,
        gpu: &Gpu,
        net: &DeviceNetwork,
        indices: &[u32],
        step: &StepUniform,
        extra: &[Dispatch],
        tracked: bool,
    ) -> Result<StepStats> {
        debug_assert_eq!(indices.len(), self.batch);
        self.stage(gpu, indices);
        if self.mode != PlanMode::Eval {
            gpu.write(&net.step, std::slice::from_ref(step));
        }
        let (dispatches, len) = match (&self.untracked, tracked) {
            (Some(untracked), false) => (untracked, self.untracked_len),
            _ => (&self.dispatches, self.layout.len),
        };
        let mut encoder = gpu.new_encoder();
        gpu.encode(&mut encoder, dispatches);
        if !extra.is_empty() {
            gpu.encode(&mut encoder, extra);
        }
        encoder.copy_buffer_to_buffer(
            &self.stats.buffer,
            0,
            &self.staging.buffer,
            0,
            (len * 4) as u64,
        );
        gpu.submit(encoder);
        let raw: Vec<f32> = gpu.map_read(&self.staging)?;
        let mut stats = self.parse(&raw);
        if self.untracked.is_some() && !tracked {
            stats.tracked = false;
            stats.weights.clear();
            stats.updates.clear();
            stats.acts.clear();
            if !self.untracked_grads {
                stats.grads.clear();
            }
        }
        Ok(stats)
    }

    fn parse(&self, raw: &[f32]) -> StepStats {
        let block = |base: Option<usize>, count: usize| -> Vec<ReduceStats> {
            base.map_or_else(Vec::new, |b| {
                (0..count)
                    .map(|k| {
                        ReduceStats::from_slot(
                            &raw[b + k * REDUCE_WIDTH..b + (k + 1) * REDUCE_WIDTH],
                        )
                    })
                    .collect()
            })
        };
        let l = &self.layout;
        StepStats {
            tracked: l.weights.is_some(),
            loss: raw[l.loss] as f64,
            correct: raw[l.loss + 1] as f64,
            total_weight: raw[l.loss + 2] as f64,
            grads: block(l.grads, self.nparams),
            weights: block(l.weights, self.nparams),
            updates: block(l.updates, self.nparams),
            acts: block(l.acts, self.nacts),
        }
    }

    /// Number of dispatches in one step (for benchmarks and tests).
    pub fn dispatch_count(&self) -> usize {
        self.dispatches.len()
    }

    /// The kernel of each dispatch of a tracked step, or of an untracked one (the tracked
    /// step's where the plan has no untracked form), in order (for tests).
    pub fn kernels(&self, tracked: bool) -> Vec<&'static str> {
        let d = match (&self.untracked, tracked) {
            (Some(untracked), false) => untracked,
            _ => &self.dispatches,
        };
        d.iter().map(|x| x.kernel_name()).collect()
    }

    /// GPU seconds of every dispatch of one step on `indices`, in order. Runs the step (the
    /// weights are updated).
    pub fn profile(
        &self,
        gpu: &Gpu,
        net: &DeviceNetwork,
        indices: &[u32],
        step: &StepUniform,
    ) -> Result<Vec<DispatchTime>> {
        self.stage(gpu, indices);
        gpu.write(&net.step, std::slice::from_ref(step));
        let times = gpu.profile(&self.dispatches)?;
        Ok(self
            .dispatches
            .iter()
            .zip(times)
            .map(|(d, seconds)| DispatchTime {
                kernel: d.kernel_name(),
                label: d.label().to_string(),
                seconds,
            })
            .collect())
    }
}

/// Labels the dispatches from `first` on that still carry only their kernel's name.
fn label_from(d: &mut [Dispatch], first: usize, what: &str) {
    for x in &mut d[first..] {
        if x.label() == x.kernel_name() {
            let label = format!("{what} {}", x.kernel_name());
            x.set_label(label);
        }
    }
}

/// C = op(A)·op(B) (+ bias) with (m, n, k) and (trans_a, trans_b, has_bias), by the matmul
/// kernel chosen for the device.
pub(crate) fn matmul(
    gpu: &Gpu,
    shape: (usize, usize, usize),
    flags: (bool, bool, bool),
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    bias_buf: &wgpu::Buffer,
    c: &wgpu::Buffer,
) -> Result<Dispatch> {
    matmul_by(gpu, gpu.matmul_variant(), shape, flags, [a, b, bias_buf, c])
}

/// `count` products C_z = op(A_z)·op(B_z) over contiguous blocks (A_z is the z-th block of
/// m·k values, B_z of k·n, C_z of m·n), one z layer of workgroups each (no bias).
pub(crate) fn matmul_batched(
    gpu: &Gpu,
    count: usize,
    shape: (usize, usize, usize),
    (ta, tb): (bool, bool),
    [a, b, c]: [&wgpu::Buffer; 3],
) -> Result<Dispatch> {
    let most = gpu.limits().max_compute_workgroups_per_dimension as usize;
    if count > most {
        return Err(Error::Usage(format!(
            "{count} batched products (examples × heads) exceed the adapter's {most} workgroups per dimension; use a smaller batch"
        )));
    }
    let mut d = matmul(gpu, shape, (ta, tb, false), a, b, a, c)?;
    d.groups[2] = count as u32;
    Ok(d)
}

/// [`matmul`] by a given kernel variant (the bench measures each).
pub(crate) fn matmul_by(
    gpu: &Gpu,
    variant: kernels::MatmulVariant,
    (m, n, k): (usize, usize, usize),
    (ta, tb, bias): (bool, bool, bool),
    [a, b, bias_buf, c]: [&wgpu::Buffer; 4],
) -> Result<Dispatch> {
    let u = gpu.uniform(
        "matmul",
        &MatmulParams {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            _pad: 0,
        },
    )?;
    let (kernel, groups) = variant.launch((m, n, k), (ta, tb));
    gpu.dispatch(
        kernel,
        &[
            ("TRANS_A", flag(ta)),
            ("TRANS_B", flag(tb)),
            ("HAS_BIAS", flag(bias)),
        ],
        &[&u, a, b, bias_buf, c],
        groups,
    )
}

/// `d` with each range of `swaps` (in order, not overlapping) replaced by its dispatches.
fn splice(d: &[Dispatch], swaps: Vec<(std::ops::Range<usize>, Vec<Dispatch>)>) -> Vec<Dispatch> {
    let mut out = Vec::with_capacity(d.len());
    let mut at = 0;
    for (range, with) in swaps {
        out.extend(d[at..range.start].iter().cloned());
        out.extend(with);
        at = range.end;
    }
    out.extend(d[at..].iter().cloned());
    out
}
