//! A batch plan: every buffer and dispatch for one batch size and mode, created once. A step
//! writes the batch indices (or, for streamed data, the batch's rows) and the step uniform,
//! encodes the recorded dispatches into one submission, and reads back one small statistics
//! buffer.

use std::sync::Arc;

use crate::config::{Config, Fault, FaultKind, LossConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, Tensor, TensorUsage};
use crate::kernels::{self, *};
use crate::model::{LayerSpec, PoolKind};
use crate::ops::{LossKind, OptimizerKind};
use crate::reference::ReduceStats;

use super::network::DeviceNetwork;
use super::reduction::reduce_all;

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

/// Where the examples live while training.
pub enum Residency {
    /// All of x and y on the GPU; each step gathers its batch by index in a shader.
    Resident { x: Tensor, y: Tensor },
    /// Larger than one storage binding: the rows stay on the host and each step writes its
    /// batch's rows straight into the plan's input and target buffers (the queue stages the
    /// write, which lands before the step's submission runs); the gather dispatch is left out.
    Streamed { rows: Arc<Dataset> },
}

/// The dataset as the plans see it.
pub struct DeviceData {
    pub residency: Residency,
    pub n: usize,
    pub x_width: usize,
    pub y_width: usize,
}

/// How to place a dataset on the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// Resident when x and y each fit one storage binding, streamed otherwise.
    #[default]
    Auto,
    /// Always streamed (tests of the streamed path on small data).
    Streamed,
}

impl DeviceData {
    /// Places `d` on the device (copied to a shared host copy only when streamed).
    pub fn upload(gpu: &Gpu, d: &Dataset) -> Result<Self> {
        if Self::fits(gpu, d) {
            Self::place(gpu, d, None)
        } else {
            Self::place(gpu, d, Some(Arc::new(d.clone())))
        }
    }

    /// Places the shared dataset `d` as `placement` says.
    pub fn upload_shared(gpu: &Gpu, d: &Arc<Dataset>, placement: Placement) -> Result<Self> {
        let stream = placement == Placement::Streamed || !Self::fits(gpu, d);
        Self::place(gpu, d, stream.then(|| d.clone()))
    }

    /// Whether x and y each fit one storage binding.
    fn fits(gpu: &Gpu, d: &Dataset) -> bool {
        let limit = gpu.limits().max_storage_buffer_binding_size;
        [d.x.len(), d.y.len()]
            .iter()
            .all(|len| (*len as u64) * 4 <= limit)
    }

    fn place(gpu: &Gpu, d: &Dataset, streamed: Option<Arc<Dataset>>) -> Result<Self> {
        let residency = if let Some(rows) = streamed {
            Residency::Streamed { rows }
        } else {
            Residency::Resident {
                x: gpu.tensor_from("data.x", &d.x)?,
                y: gpu.tensor_from("data.y", &d.y)?,
            }
        };
        Ok(DeviceData {
            residency,
            n: d.n,
            x_width: d.x_width,
            y_width: d.y_width,
        })
    }

    pub fn is_streamed(&self) -> bool {
        matches!(self.residency, Residency::Streamed { .. })
    }

    /// Replaces every feature (same shape) of resident data; streamed data is read-only.
    pub fn write_features(&self, gpu: &Gpu, x: &[f32]) -> Result<()> {
        match &self.residency {
            Residency::Resident { x: buffer, .. } if x.len() == buffer.len => {
                gpu.write(&buffer.buffer, x);
                Ok(())
            }
            _ => Err(Error::Usage(
                "write_features needs resident data of the same shape".into(),
            )),
        }
    }
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
    /// acts[0] is the input batch, acts[i + 1] the output of layer i.
    pub acts: Vec<Tensor>,
    /// grads[i] = dL/d acts[i] (training mode; grads[0] only with `input_grad`).
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
    nlayers: usize,
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
    pub fn new(
        gpu: &Gpu,
        net: &DeviceNetwork,
        data: &DeviceData,
        batch: usize,
        mode: PlanMode,
        opt: &PlanOptions,
    ) -> Result<BatchPlan> {
        let model = &net.model;
        let nparams = net.params.len();
        let nlayers = model.layers.len();
        let train = mode == PlanMode::Train;
        // Batch statistics and dropout masks, as in training (also for TrainForward).
        let forward_train = mode != PlanMode::Eval;
        let full = train && opt.instrumentation == Instrumentation::Full;
        let need_grad_stats = train && (full || opt.clip_norm > 0.0);

        // Statistics layout.
        let mut layout = StatsLayout {
            loss: 0,
            len: 4,
            ..Default::default()
        };
        let take = |count: usize, len: &mut usize| {
            let at = *len;
            *len += count * REDUCE_WIDTH;
            Some(at)
        };
        let mut len = layout.len;
        if need_grad_stats {
            layout.grads = take(nparams, &mut len);
        }
        if full {
            layout.weights = take(nparams, &mut len);
            layout.updates = take(nparams, &mut len);
            layout.acts = take(nlayers, &mut len);
        }
        layout.len = len;

        // Buffers.
        let indices = gpu.tensor("batch.indices", batch, TensorUsage::Storage)?;
        let mut acts = vec![gpu.tensor("act.input", batch * model.input, TensorUsage::Storage)?];
        for l in &model.layers {
            acts.push(gpu.tensor(
                &format!("act.{}", l.index),
                batch * l.output,
                TensorUsage::Storage,
            )?);
        }
        let targets = gpu.tensor("batch.targets", batch * data.y_width, TensorUsage::Storage)?;
        let mut grads: Vec<Option<Tensor>> = Vec::new();
        for (i, a) in acts.iter().enumerate() {
            let wanted = train && (i > 0 || opt.input_grad) || (!train && i == nlayers);
            grads.push(if wanted {
                Some(gpu.tensor(&format!("grad.{}", a.name), a.len, TensorUsage::Storage)?)
            } else {
                None
            });
        }
        let (mut param_grads, mut deltas) = (Vec::new(), Vec::new());
        if train {
            for info in &net.infos {
                param_grads.push(gpu.tensor(
                    &format!("grad.{}", info.name),
                    info.len(),
                    TensorUsage::Storage,
                )?);
                if full {
                    deltas.push(gpu.tensor(
                        &format!("update.{}", info.name),
                        info.len(),
                        TensorUsage::Storage,
                    )?);
                }
            }
        }
        let stats = gpu.tensor("stats", layout.len, TensorUsage::Storage)?;
        let staging = gpu.tensor("stats (read-back)", layout.len, TensorUsage::ReadBack)?;
        let class_weights = match &opt.loss.class_weights {
            Some(w) => {
                let classes = model.output();
                if w.len() != classes {
                    return Err(Error::OutputShape {
                        message: format!(
                            "loss.class_weights has {} entries for {} classes",
                            w.len(),
                            classes
                        ),
                    });
                }
                Some(gpu.tensor_from(
                    "loss.class_weights",
                    &w.iter().map(|&v| v as f32).collect::<Vec<_>>(),
                )?)
            }
            None => None,
        };

        let mut d: Vec<Dispatch> = Vec::new();
        // Ranges of `d` an untracked step replaces (see `BatchPlan::untracked`).
        let mut untracked_swaps: Vec<(std::ops::Range<usize>, Vec<Dispatch>)> = Vec::new();
        let ph = &net.placeholders;

        // Gather the batch (streamed data is written to acts[0] and targets by the host).
        let streamed = match &data.residency {
            Residency::Resident { x, y } => {
                let u = gpu.uniform(
                    "gather",
                    &GatherParams {
                        batch: batch as u32,
                        x_width: data.x_width as u32,
                        y_width: data.y_width as u32,
                        _pad: 0,
                    },
                )?;
                d.push(
                    gpu.dispatch(
                        &GATHER,
                        &[],
                        &[
                            &u,
                            &indices.buffer,
                            &x.buffer,
                            &y.buffer,
                            &acts[0].buffer,
                            &targets.buffer,
                        ],
                        gpu.groups_1d(&GATHER, batch * (data.x_width + data.y_width)),
                    )?
                    .labeled("gather batch"),
                );
                None
            }
            Residency::Streamed { rows } => Some(rows.clone()),
        };

        // Forward.
        let mut bn_saves: Vec<Option<(Tensor, Tensor)>> = Vec::new();
        let mut pool_saves: Vec<Option<Tensor>> = Vec::new();
        for l in &model.layers {
            let first = d.len();
            let (x, y) = (&acts[l.index], &acts[l.index + 1]);
            let mut save = None;
            let mut pool_save = None;
            match &l.spec {
                LayerSpec::Conv2d { .. } => {
                    let p = net
                        .param_index(l.index)
                        .expect("conv2d layers have parameters");
                    let conv = l.conv(batch).expect("conv2d takes an image");
                    let params = Conv2dParams::of(&conv).expect("checked by Model::build");
                    let u = gpu.uniform("conv2d", &params)?;
                    d.push(gpu.dispatch(
                        &CONV2D_FORWARD,
                        &params.constants(),
                        &[
                            &u,
                            &x.buffer,
                            &net.params[p].buffer,
                            &net.params[p + 1].buffer,
                            &y.buffer,
                        ],
                        gpu.groups_1d(&CONV2D_FORWARD, params.forward_invocations()),
                    )?);
                }
                LayerSpec::Pool2d { .. } | LayerSpec::GlobalAvgPool => {
                    let pool = l.pool(batch).expect("pooling takes an image");
                    let u = gpu.uniform(
                        "pool2d",
                        &Pool2dParams::of(&pool).expect("checked by Model::build"),
                    )?;
                    // Max pooling records where each output came from, for backward.
                    let argmax = match pool.kind {
                        PoolKind::Max => Some(gpu.tensor(
                            &format!("layers.{}.argmax", l.index),
                            y.len,
                            TensorUsage::Storage,
                        )?),
                        PoolKind::Avg => None,
                    };
                    d.push(gpu.dispatch(
                        &POOL2D_FORWARD,
                        &Pool2dParams::constants(pool.kind),
                        &[
                            &u,
                            &x.buffer,
                            &y.buffer,
                            &argmax.as_ref().unwrap_or(&ph[0]).buffer,
                        ],
                        gpu.groups_1d(&POOL2D_FORWARD, y.len),
                    )?);
                    pool_save = argmax;
                }
                LayerSpec::Flatten => d.push(identity(gpu, Direction::Forward, x, y)?),
                LayerSpec::Linear { .. } => {
                    let p = net
                        .param_index(l.index)
                        .expect("linear layers have parameters");
                    d.push(matmul(
                        gpu,
                        (batch, l.output, l.input),
                        (false, true, true),
                        &x.buffer,
                        &net.params[p].buffer,
                        &net.params[p + 1].buffer,
                        &y.buffer,
                    )?);
                }
                LayerSpec::Activation { kind, slope } => {
                    let u = gpu.uniform(
                        "activation",
                        &ActivationParams {
                            n: y.len as u32,
                            slope: *slope as f32,
                            _pad: [0; 2],
                        },
                    )?;
                    let (forward, _, constants) = activation_kernels(*kind);
                    d.push(gpu.dispatch(
                        forward,
                        &constants,
                        &[&u, &x.buffer, &y.buffer],
                        gpu.groups_1d(forward, y.len),
                    )?);
                }
                LayerSpec::BatchNorm { eps, momentum } => {
                    let p = net.param_index(l.index).expect("batch norm has parameters");
                    let s = net.state_index(l.index).expect("batch norm has state");
                    let u = gpu.uniform(
                        "batchnorm",
                        &BatchNormParams::new(batch, l.out_shape, *eps, *momentum),
                    )?;
                    let features = l.out_shape.features();
                    let (gamma, beta) = (&net.params[p].buffer, &net.params[p + 1].buffer);
                    let (rm, rv) = (&net.state[s].buffer, &net.state[s + 1].buffer);
                    if forward_train {
                        let mean = gpu.tensor(
                            &format!("layers.{}.save_mean", l.index),
                            features,
                            TensorUsage::Storage,
                        )?;
                        let invstd = gpu.tensor(
                            &format!("layers.{}.save_invstd", l.index),
                            features,
                            TensorUsage::Storage,
                        )?;
                        d.push(gpu.dispatch(
                            &BATCHNORM_TRAIN,
                            &[],
                            &[
                                &u,
                                &x.buffer,
                                gamma,
                                beta,
                                &y.buffer,
                                &mean.buffer,
                                &invstd.buffer,
                                rm,
                                rv,
                            ],
                            [(features as u32).div_ceil(64), 1, 1],
                        )?);
                        save = Some((mean, invstd));
                    } else {
                        d.push(gpu.dispatch(
                            &BATCHNORM_EVAL,
                            &[],
                            &[&u, &x.buffer, gamma, beta, rm, rv, &y.buffer],
                            gpu.groups_1d(&BATCHNORM_EVAL, y.len),
                        )?);
                    }
                }
                LayerSpec::Dropout { rate } => {
                    d.push(dropout(
                        gpu,
                        net,
                        l.index,
                        if forward_train { *rate } else { 0.0 },
                        &x.buffer,
                        &y.buffer,
                        y.len,
                    )?);
                }
            }
            bn_saves.push(save);
            pool_saves.push(pool_save);
            for f in opt.faults.iter().filter(|f| f.layer == l.index) {
                match f.kind {
                    FaultKind::CorruptOutput => d.push(scale(gpu, y, f.factor as f32)?),
                    FaultKind::MixBatch => {
                        d.push(mix_rows(gpu, y, batch, l.output, f.factor as f32)?)
                    }
                    _ => {}
                }
            }
            label_from(
                &mut d,
                first,
                &format!(
                    "layers.{} forward [{}x{}→{}]",
                    l.index, batch, l.input, l.output
                ),
            );
        }

        // Loss (and, in training, its gradient).
        let logits = &acts[nlayers];
        let dlogits = grads[nlayers]
            .as_ref()
            .expect("logit gradient is always allocated");
        let u = gpu.uniform(
            "loss",
            &LossParams {
                batch: batch as u32,
                width: model.output() as u32,
                out_slot: layout.loss as u32,
                _pad0: 0,
                gamma: opt.loss.gamma as f32,
                alpha: opt.loss.alpha as f32,
                _pad1: [0.0; 2],
            },
        )?;
        let (loss_kernel, loss_constants) =
            kernels::loss_kernel(opt.loss.name, class_weights.is_some());
        d.push(
            gpu.dispatch(
                loss_kernel,
                &loss_constants,
                &[
                    &u,
                    &logits.buffer,
                    &targets.buffer,
                    &class_weights.as_ref().unwrap_or(&ph[0]).buffer,
                    &dlogits.buffer,
                    &stats.buffer,
                ],
                [1, 1, 1],
            )?
            .labeled("loss"),
        );

        if train {
            // Backward, last layer first.
            for l in model.layers.iter().rev() {
                let i = l.index;
                let first = d.len();
                let dy = grads[i + 1].as_ref().expect("allocated for i + 1 > 0");
                let dx = grads[i].as_ref();
                let x = &acts[i];
                match &l.spec {
                    LayerSpec::Conv2d { .. } => {
                        let p = net.param_index(i).expect("conv2d layers have parameters");
                        let conv = l.conv(batch).expect("conv2d takes an image");
                        let params = Conv2dParams::of(&conv).expect("checked by Model::build");
                        let u = gpu.uniform("conv2d", &params)?;
                        d.extend(super::conv::weight_gradient(
                            gpu,
                            &param_grads[p].name,
                            &params,
                            &u,
                            [
                                &x.buffer,
                                &dy.buffer,
                                &param_grads[p].buffer,
                                &param_grads[p + 1].buffer,
                            ],
                        )?);
                        if let Some(dx) = dx {
                            d.push(gpu.dispatch(
                                &CONV2D_BACKWARD_INPUT,
                                &params.constants(),
                                &[&u, &dy.buffer, &net.params[p].buffer, &dx.buffer],
                                gpu.groups_1d(
                                    &CONV2D_BACKWARD_INPUT,
                                    params.backward_input_invocations(),
                                ),
                            )?);
                        }
                    }
                    LayerSpec::Pool2d { .. } | LayerSpec::GlobalAvgPool => {
                        if let Some(dx) = dx {
                            let pool = l.pool(batch).expect("pooling takes an image");
                            let u = gpu.uniform(
                                "pool2d",
                                &Pool2dParams::of(&pool).expect("checked by Model::build"),
                            )?;
                            d.push(gpu.dispatch(
                                &POOL2D_BACKWARD,
                                &Pool2dParams::constants(pool.kind),
                                &[
                                    &u,
                                    &dy.buffer,
                                    &pool_saves[i].as_ref().unwrap_or(&ph[0]).buffer,
                                    &dx.buffer,
                                ],
                                gpu.groups_1d(&POOL2D_BACKWARD, x.len),
                            )?);
                        }
                    }
                    LayerSpec::Flatten => {
                        if let Some(dx) = dx {
                            d.push(identity(gpu, Direction::Backward(x, &acts[i + 1]), dy, dx)?);
                        }
                    }
                    LayerSpec::Linear { .. } => {
                        let p = net.param_index(i).expect("linear layers have parameters");
                        // dW[out, in] = dYᵀ · X
                        d.push(matmul(
                            gpu,
                            (l.output, l.input, batch),
                            (true, false, false),
                            &dy.buffer,
                            &x.buffer,
                            &x.buffer,
                            &param_grads[p].buffer,
                        )?);
                        d.extend(super::column_sums::column_sums(
                            gpu,
                            &param_grads[p + 1].name,
                            (batch, l.output),
                            &dy.buffer,
                            &param_grads[p + 1].buffer,
                        )?);
                        if let Some(dx) = dx {
                            // dX[batch, in] = dY · W
                            d.push(matmul(
                                gpu,
                                (batch, l.input, l.output),
                                (false, false, false),
                                &dy.buffer,
                                &net.params[p].buffer,
                                &dy.buffer,
                                &dx.buffer,
                            )?);
                        }
                    }
                    LayerSpec::Activation { kind, slope } => {
                        if let Some(dx) = dx {
                            let u = gpu.uniform(
                                "activation",
                                &ActivationParams {
                                    n: x.len as u32,
                                    slope: *slope as f32,
                                    _pad: [0; 2],
                                },
                            )?;
                            let (_, backward, constants) = activation_kernels(*kind);
                            d.push(gpu.dispatch(
                                backward,
                                &constants,
                                &[&u, &x.buffer, &acts[i + 1].buffer, &dy.buffer, &dx.buffer],
                                gpu.groups_1d(backward, x.len),
                            )?);
                        }
                    }
                    LayerSpec::BatchNorm { eps, momentum } => {
                        let p = net.param_index(i).expect("batch norm has parameters");
                        let (mean, invstd) = bn_saves[i].as_ref().expect("saved in training mode");
                        let u = gpu.uniform(
                            "batchnorm",
                            &BatchNormParams::new(batch, l.out_shape, *eps, *momentum),
                        )?;
                        // A first-layer batch norm still needs somewhere to write dx.
                        let scratch;
                        let dx_buf = match dx {
                            Some(t) => &t.buffer,
                            None => {
                                scratch =
                                    gpu.tensor("grad.scratch", x.len, TensorUsage::Storage)?;
                                &scratch.buffer
                            }
                        };
                        d.push(gpu.dispatch(
                            &BATCHNORM_BACKWARD,
                            &[],
                            &[
                                &u,
                                &x.buffer,
                                &net.params[p].buffer,
                                &mean.buffer,
                                &invstd.buffer,
                                &dy.buffer,
                                dx_buf,
                                &param_grads[p].buffer,
                                &param_grads[p + 1].buffer,
                            ],
                            [(l.out_shape.features() as u32).div_ceil(64), 1, 1],
                        )?);
                    }
                    LayerSpec::Dropout { rate } => {
                        if let Some(dx) = dx {
                            d.push(dropout(gpu, net, i, *rate, &dy.buffer, &dx.buffer, x.len)?);
                        }
                    }
                }
                if let Some(p) = net.param_index(i) {
                    for f in opt.faults.iter().filter(|f| f.layer == i) {
                        if let Some(factor) = f.gradient_factor() {
                            d.push(scale(gpu, &param_grads[p], factor)?);
                            d.push(scale(gpu, &param_grads[p + 1], factor)?);
                        }
                    }
                }
                label_from(
                    &mut d,
                    first,
                    &format!("layers.{i} backward [{}x{}→{}]", batch, l.input, l.output),
                );
            }

            // Statistics before the update, all in one set of reductions.
            let mut before = Vec::new();
            for (base, tensors) in [
                (layout.grads, &param_grads[..]),
                (layout.weights, &net.params[..]),
                (layout.acts, &acts[1..]),
            ] {
                if let Some(base) = base {
                    before.extend(
                        tensors
                            .iter()
                            .enumerate()
                            .map(|(k, t)| (t, base + k * REDUCE_WIDTH)),
                    );
                }
            }
            let start = d.len();
            d.extend(reduce_all(gpu, &before, &stats)?);
            if full {
                // Untracked: the gradients alone, when clipping needs their norms.
                let grads_only: Vec<(&Tensor, usize)> = match layout.grads {
                    Some(base) if opt.clip_norm > 0.0 => param_grads
                        .iter()
                        .enumerate()
                        .map(|(k, g)| (g, base + k * REDUCE_WIDTH))
                        .collect(),
                    _ => Vec::new(),
                };
                untracked_swaps.push((start..d.len(), reduce_all(gpu, &grads_only, &stats)?));
            }

            // Optimizer.
            for (k, info) in net.infos.iter().enumerate() {
                let skipped = opt
                    .faults
                    .iter()
                    .any(|f| f.layer == info.layer && f.kind == FaultKind::SkipUpdate);
                if skipped {
                    continue;
                }
                let params = OptimizerParams {
                    n: info.len() as u32,
                    clip_first: layout.grads.map_or(0, |b| b + 1) as u32,
                    clip_count: if opt.clip_norm > 0.0 {
                        nparams as u32
                    } else {
                        0
                    },
                    clip_stride: REDUCE_WIDTH as u32,
                    momentum: opt.momentum as f32,
                    beta1: opt.beta1 as f32,
                    beta2: opt.beta2 as f32,
                    eps: opt.eps as f32,
                    l2: if info.regularized() {
                        opt.l2 as f32
                    } else {
                        0.0
                    },
                    weight_decay: if info.regularized() {
                        opt.weight_decay as f32
                    } else {
                        0.0
                    },
                    clip_norm: opt.clip_norm as f32,
                    clip_value: opt.clip_value as f32,
                    write_delta: 0,
                    _pad: [0; 3],
                };
                let m = net.m[k].as_ref().unwrap_or(&ph[0]);
                let v = net.v[k].as_ref().unwrap_or(&ph[1]);
                let delta = deltas.get(k).unwrap_or(&ph[2]);
                let update = |write_delta: bool| -> Result<Dispatch> {
                    let u = gpu.uniform(
                        "optimizer",
                        &OptimizerParams {
                            write_delta: write_delta as u32,
                            ..params
                        },
                    )?;
                    Ok(gpu
                        .dispatch(
                            &OPTIMIZER,
                            &[("OPT", opt.optimizer.code() as f64)],
                            &[
                                &u,
                                &net.step,
                                &net.params[k].buffer,
                                &param_grads[k].buffer,
                                &m.buffer,
                                &v.buffer,
                                &delta.buffer,
                                &stats.buffer,
                            ],
                            gpu.groups_1d(&OPTIMIZER, info.len()),
                        )?
                        .labeled(format!("update {}", info.name)))
                };
                d.push(update(full)?);
                if full {
                    untracked_swaps.push((d.len() - 1..d.len(), vec![update(false)?]));
                }
            }
            if let Some(base) = layout.updates {
                let updates: Vec<(&Tensor, usize)> = deltas
                    .iter()
                    .enumerate()
                    .map(|(k, u)| (u, base + k * REDUCE_WIDTH))
                    .collect();
                let start = d.len();
                d.extend(reduce_all(gpu, &updates, &stats)?);
                untracked_swaps.push((start..d.len(), Vec::new()));
            }
        }

        let untracked = full.then(|| splice(&d, untracked_swaps));
        // An untracked step reads back the loss, and the gradient statistics when clipping
        // computed them; the other statistics keep an earlier step's values.
        let untracked_grads = need_grad_stats && opt.clip_norm > 0.0;
        let untracked_len = match layout.grads {
            Some(base) if untracked_grads => base + nparams * REDUCE_WIDTH,
            _ => layout.loss + 4,
        };
        Ok(BatchPlan {
            batch,
            mode,
            indices,
            acts,
            grads,
            targets,
            param_grads,
            deltas,
            stats,
            staging,
            layout,
            dispatches: d,
            untracked,
            untracked_len,
            untracked_grads,
            nparams,
            nlayers,
            streamed,
        })
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
            acts: block(l.acts, self.nlayers),
        }
    }

    /// Number of dispatches in one step (for benchmarks and tests).
    pub fn dispatch_count(&self) -> usize {
        self.dispatches.len()
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
    gpu.dispatch(
        variant.kernel(),
        &[
            ("TRANS_A", flag(ta)),
            ("TRANS_B", flag(tb)),
            ("HAS_BIAS", flag(bias)),
        ],
        &[&u, a, b, bias_buf, c],
        variant.groups(m, n),
    )
}

/// Which pass of the identity a [`identity`] dispatch computes: backward also binds the
/// layer's input and output, as every activation backward does.
enum Direction<'t> {
    Forward,
    Backward(&'t Tensor, &'t Tensor),
}

/// `dst` ← `src` through the identity activation's kernels: flatten's forward and backward
/// (NCHW images are already the vectors flatten gives, but each layer owns its buffers).
fn identity(gpu: &Gpu, direction: Direction, src: &Tensor, dst: &Tensor) -> Result<Dispatch> {
    let (forward, backward, constants) = activation_kernels(crate::ops::Activation::Identity);
    let u = gpu.uniform(
        "activation",
        &ActivationParams {
            n: src.len as u32,
            slope: 0.0,
            _pad: [0; 2],
        },
    )?;
    match direction {
        Direction::Forward => gpu.dispatch(
            forward,
            &constants,
            &[&u, &src.buffer, &dst.buffer],
            gpu.groups_1d(forward, src.len),
        ),
        Direction::Backward(x, y) => gpu.dispatch(
            backward,
            &constants,
            &[&u, &x.buffer, &y.buffer, &src.buffer, &dst.buffer],
            gpu.groups_1d(backward, src.len),
        ),
    }
}

/// y[b, ·] += factor · y[0, ·] for b > 0 (a planted batch-mixing fault).
fn mix_rows(gpu: &Gpu, y: &Tensor, rows: usize, cols: usize, factor: f32) -> Result<Dispatch> {
    let u = gpu.uniform(
        "mix_rows",
        &MixRowsParams {
            rows: rows as u32,
            cols: cols as u32,
            factor,
            _pad: 0,
        },
    )?;
    Ok(gpu
        .dispatch(
            &MIX_ROWS,
            &[],
            &[&u, &y.buffer],
            gpu.groups_1d(&MIX_ROWS, rows.saturating_sub(1) * cols),
        )?
        .labeled(format!("fault on {}", y.name)))
}

/// x ← x · factor (planted faults).
fn scale(gpu: &Gpu, x: &Tensor, factor: f32) -> Result<Dispatch> {
    let u = gpu.uniform(
        "scale",
        &ScaleParams {
            n: x.len as u32,
            factor,
            _pad: [0; 2],
        },
    )?;
    Ok(gpu
        .dispatch(&SCALE, &[], &[&u, &x.buffer], gpu.groups_1d(&SCALE, x.len))?
        .labeled(format!("fault on {}", x.name)))
}

fn dropout(
    gpu: &Gpu,
    net: &DeviceNetwork,
    layer: usize,
    rate: f64,
    src: &wgpu::Buffer,
    dst: &wgpu::Buffer,
    n: usize,
) -> Result<Dispatch> {
    let u = gpu.uniform(
        "dropout",
        &DropoutParams {
            n: n as u32,
            layer: layer as u32,
            rate: rate as f32,
            _pad: 0,
        },
    )?;
    gpu.dispatch(
        &DROPOUT,
        &[],
        &[&u, &net.step, src, dst],
        gpu.groups_1d(&DROPOUT, n),
    )
}

/// Checks that the model's output fits the loss and the data's targets.
pub fn check_output(
    loss: LossKind,
    output: usize,
    y_width: usize,
    classes: Option<usize>,
) -> Result<()> {
    let msg = match loss {
        LossKind::SoftmaxCrossEntropy | LossKind::Focal => match classes {
            Some(c) if c != output => Some(format!(
                "the last layer gives {output} outputs but the data has {c} classes"
            )),
            None => Some(
                "softmax cross-entropy needs class labels, but the data has continuous targets"
                    .into(),
            ),
            _ => None,
        },
        LossKind::BinaryCrossEntropy => {
            if output != 1 {
                Some(format!("binary cross-entropy takes one logit per example, but the last layer gives {output}"))
            } else if classes.is_some_and(|c| c != 2) {
                Some(format!(
                    "binary cross-entropy needs 2 classes, the data has {}",
                    classes.unwrap_or(0)
                ))
            } else {
                None
            }
        }
        LossKind::Mse => (output != y_width)
            .then(|| format!("mse compares {output} outputs with {y_width} targets per example")),
        LossKind::User(id) => {
            let u = crate::kernels::user_loss::get(id);
            match (u.classes(), classes) {
                (true, None) => Some(format!(
                    "the user loss {} declares `targets: classes`, but the data has continuous targets",
                    u.name
                )),
                (true, Some(c)) if c != output && !(output == 1 && c == 2) => Some(format!(
                    "the last layer gives {output} outputs but the data has {c} classes"
                )),
                (false, _) if output != y_width => Some(format!(
                    "the user loss {} compares {output} outputs with {y_width} targets per example",
                    u.name
                )),
                _ => None,
            }
        }
    };
    match msg {
        Some(message) => Err(Error::OutputShape { message }),
        None => Ok(()),
    }
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
