//! Compiling a graph into one step's dispatches: the batch gathered, every node forward in
//! topological order (with planted forward faults, and the activations' statistics reduced as
//! they are written), the loss, every node backward in reverse order, the other statistics
//! reductions and the optimizer. Each op's forward and backward
//! dispatches are one arm of [`Compiler::forward`] and [`Compiler::backward`].
//!
//! Gradients of tensors read by several nodes (a residual stream) are accumulated in a fixed
//! order — the reverse of the readers' topological order: the first contribution is written
//! straight into the tensor's gradient buffer, each later one into a scratch buffer and then
//! added — so reruns are bit-identical. A gradient that passes through an addition unchanged to
//! a tensor with one reader shares the buffer instead of being copied.

use std::ops::Range;

use super::column_sums::column_sums;
use super::forward_stats::ActivationReductions;
use super::network::DeviceNetwork;
use super::reduction::{combine_partials, partial_records, partials_into, reduce_all};
use super::{
    label_from, matmul, matmul_batched, splice, BatchPlan, DeviceData, Instrumentation, PlanMode,
    PlanOptions, Residency, StatsLayout,
};
use crate::config::FaultKind;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu, Tensor, TensorUsage};
use crate::graph::{Graph, Node, Op, PoolKind, Shape, TensorId};
use crate::kernels::{self, *};

/// Where a node's backward writes the gradient of one of its inputs.
struct Sink {
    /// The buffer the op writes.
    write: Tensor,
    /// When the gradient already holds another reader's contribution: the gradient that
    /// `write` (a scratch buffer) is added to afterwards.
    add_to: Option<Tensor>,
}

pub(super) fn compile(
    gpu: &Gpu,
    net: &DeviceNetwork,
    data: &DeviceData,
    batch: usize,
    mode: PlanMode,
    opt: &PlanOptions,
) -> Result<BatchPlan> {
    let graph = &net.graph;
    let nparams = net.params.len();
    let nacts = graph.tensors.len() - 1;
    let train = mode == PlanMode::Train;
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
        layout.acts = take(nacts, &mut len);
    }
    layout.len = len;

    // Buffers.
    let indices = gpu.tensor("batch.indices", batch, TensorUsage::Storage)?;
    let acts = graph
        .tensors
        .iter()
        .enumerate()
        .map(|(t, info)| {
            let name = if t == graph.input {
                "act.input"
            } else {
                &info.name
            };
            gpu.tensor(name, batch * info.shape.len(), TensorUsage::Storage)
        })
        .collect::<Result<Vec<_>>>()?;
    let targets = gpu.tensor("batch.targets", batch * data.y_width, TensorUsage::Storage)?;
    // Gradient buffers of tensors that get one: made here in tensor order; a pass-through
    // gradient may replace one by an alias while compiling backward.
    let mut grads: Vec<Option<Tensor>> = Vec::new();
    for (t, a) in acts.iter().enumerate() {
        let wanted = if train {
            t != graph.input || (opt.input_grad && !graph.takes_tokens())
        } else {
            t == graph.output
        };
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
            if full && !opt.fused_statistics {
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

    // Where each activation's statistics go (every tensor but the input), when reduced.
    let act_out: Vec<Option<usize>> = (0..graph.tensors.len())
        .map(|t| {
            let k = t - usize::from(t > graph.input);
            layout
                .acts
                .filter(|_| t != graph.input)
                .map(|base| base + k * REDUCE_WIDTH)
        })
        .collect();
    let act_stats = match layout.acts {
        Some(_) => {
            let outs: Vec<(TensorId, usize)> = act_out
                .iter()
                .enumerate()
                .filter_map(|(t, out)| out.map(|o| (t, o)))
                .collect();
            Some(ActivationReductions::new(gpu, &acts, &outs)?)
        }
        None => None,
    };
    let mut c = Compiler {
        gpu,
        net,
        graph,
        batch,
        opt,
        forward_train: mode != PlanMode::Eval,
        acts,
        grads,
        param_grads,
        saved: vec![Vec::new(); graph.nodes.len()],
        written: vec![0; graph.tensors.len()],
        scratch: None,
        d: Vec::new(),
        untracked_swaps: Vec::new(),
        act_stats,
        act_out,
    };

    // Gather the batch (streamed data is written to the input and targets by the host).
    let streamed = match &data.residency {
        Residency::Resident { x, y } => {
            let u = c.gpu.uniform(
                "gather",
                &GatherParams {
                    batch: batch as u32,
                    x_width: data.x_width as u32,
                    y_width: data.y_width as u32,
                    _pad: 0,
                },
            )?;
            let gather = c
                .gpu
                .dispatch(
                    &GATHER,
                    &[],
                    &[
                        &u,
                        &indices.buffer,
                        &x.buffer,
                        &y.buffer,
                        &c.acts[graph.input].buffer,
                        &targets.buffer,
                    ],
                    c.gpu
                        .groups_1d(&GATHER, batch * (data.x_width + data.y_width)),
                )?
                .labeled("gather batch");
            c.d.push(gather);
            None
        }
        Residency::Streamed { rows } => Some(rows.clone()),
    };

    for node in &graph.nodes {
        let first = c.d.len();
        c.forward(node)?;
        c.forward_faults(node)?;
        label_from(
            &mut c.d,
            first,
            &format!(
                "{} forward [{}x{}→{}]",
                node.name,
                batch,
                node.input_len(),
                node.output_len()
            ),
        );
        if let Some(r) = &mut c.act_stats {
            // Untracked steps leave the activations' statistics out.
            let start = c.d.len();
            for &t in &node.outputs {
                if let Some(out) = c.act_out[t] {
                    c.d.extend(r.written(gpu, &c.acts, t, out)?);
                }
            }
            if c.d.len() > start {
                c.untracked_swaps.push((start..c.d.len(), Vec::new()));
            }
        }
    }
    if let Some(r) = c.act_stats.take() {
        let start = c.d.len();
        c.d.extend(r.finish(gpu, &c.acts, &stats)?);
        c.untracked_swaps.push((start..c.d.len(), Vec::new()));
    }
    c.loss(&targets, &layout, &stats)?;

    if train {
        for node in graph.nodes.iter().rev() {
            let first = c.d.len();
            c.backward(node)?;
            c.gradient_faults(node)?;
            label_from(
                &mut c.d,
                first,
                &format!(
                    "{} backward [{}x{}→{}]",
                    node.name,
                    batch,
                    node.input_len(),
                    node.output_len()
                ),
            );
        }
        c.statistics_and_update(&layout, &stats, &deltas, full)?;
    }

    let Compiler {
        acts,
        grads,
        param_grads,
        d,
        untracked_swaps,
        ..
    } = c;
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
        nacts,
        streamed,
    })
}

struct Compiler<'a> {
    gpu: &'a Gpu,
    net: &'a DeviceNetwork,
    graph: &'a Graph,
    batch: usize,
    opt: &'a PlanOptions<'a>,
    /// Batch statistics and dropout masks, as in training (also for `TrainForward`).
    forward_train: bool,
    acts: Vec<Tensor>,
    grads: Vec<Option<Tensor>>,
    param_grads: Vec<Tensor>,
    /// Per node, what its forward keeps for its backward (batch-norm and layer-norm
    /// statistics, max pooling's argmax).
    saved: Vec<Vec<Tensor>>,
    /// Per tensor, how many readers' gradient contributions backward has emitted so far.
    written: Vec<usize>,
    /// The scratch buffer later gradient contributions are written to before they are added.
    scratch: Option<Tensor>,
    d: Vec<Dispatch>,
    /// Ranges of `d` an untracked step replaces (see `BatchPlan::untracked`).
    untracked_swaps: Vec<(Range<usize>, Vec<Dispatch>)>,
    /// The activations' statistics, gathered during the forward pass (full instrumentation).
    act_stats: Option<ActivationReductions>,
    /// Per tensor, where its statistics go in the statistics buffer, when gathered.
    act_out: Vec<Option<usize>>,
}

impl<'a> Compiler<'a> {
    fn ph(&self, k: usize) -> &'a Tensor {
        &self.net.placeholders[k]
    }

    fn param(&self, node: &Node, k: usize) -> &'a Tensor {
        &self.net.params[node.params[k]]
    }

    /// Rows of the last dimension in a batch of tensor `shape`.
    fn rows(&self, shape: Shape) -> usize {
        self.batch * shape.rows()
    }

    fn forward(&mut self, node: &Node) -> Result<()> {
        let gpu = self.gpu;
        let batch = self.batch;
        let x = self.acts[node.input()].clone();
        let y = self.acts[node.output()].clone();
        let ph = &self.net.placeholders;
        match &node.op {
            Op::Conv2d { bias, out, .. } => {
                let conv = node
                    .op
                    .conv(node.in_shape.image().expect("conv2d takes an image"), batch)
                    .expect("a conv2d op");
                let params = Conv2dParams::of(&conv).expect("checked by the graph");
                let u = gpu.uniform("conv2d", &params)?;
                // A convolution without bias adds zeros (buffers start zeroed).
                let zeros = match bias {
                    true => None,
                    false => Some(gpu.tensor(
                        &format!("{} (no bias)", node.name),
                        *out,
                        TensorUsage::Storage,
                    )?),
                };
                let b = match &zeros {
                    Some(z) => &z.buffer,
                    None => &self.param(node, 1).buffer,
                };
                let w = &self.param(node, 0).buffer;
                self.d.push(super::conv::forward(
                    gpu,
                    gpu.conv_variant(),
                    &params,
                    &u,
                    [&x.buffer, w, b, &y.buffer],
                )?);
            }
            Op::Pool2d { .. } | Op::GlobalAvgPool => {
                let pool = node
                    .op
                    .pool(
                        node.in_shape.image().expect("pooling takes an image"),
                        batch,
                    )
                    .expect("a pooling op");
                let u = gpu.uniform(
                    "pool2d",
                    &Pool2dParams::of(&pool).expect("checked by the graph"),
                )?;
                // Max pooling records where each output came from, for backward.
                let argmax = match pool.kind {
                    PoolKind::Max => Some(gpu.tensor(
                        &format!("{}.argmax", node.name),
                        y.len,
                        TensorUsage::Storage,
                    )?),
                    PoolKind::Avg => None,
                };
                self.d.push(gpu.dispatch(
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
                self.saved[node.index].extend(argmax);
            }
            Op::Flatten => self.d.push(identity(gpu, Direction::Forward, &x, &y)?),
            Op::Linear {
                input,
                output,
                bias,
            } => {
                let w = &self.param(node, 0).buffer;
                self.d.push(matmul(
                    gpu,
                    (self.rows(node.in_shape), *output, *input),
                    (false, true, *bias),
                    &x.buffer,
                    w,
                    if *bias {
                        &self.param(node, 1).buffer
                    } else {
                        w
                    },
                    &y.buffer,
                )?);
            }
            Op::Activation { kind, slope } => {
                let k = activation_kernels(*kind);
                // The built-ins write vec4 slices and can fold their statistics as they do.
                let fold = if k.values_per_invocation == 4 {
                    self.fold_into_writer(node)
                } else {
                    None
                };
                let (fold_lanes, fold_partial) = fold.unwrap_or_default();
                let u = gpu.uniform(
                    "activation",
                    &ActivationParams {
                        n: y.len as u32,
                        slope: *slope as f32,
                        fold_lanes,
                        fold_partial,
                    },
                )?;
                let plain = gpu.dispatch(
                    k.forward,
                    &k.constants,
                    &[&u, &x.buffer, &y.buffer],
                    gpu.groups_1d(k.forward, k.invocations(y.len)),
                )?;
                match (fold, &self.act_stats) {
                    (Some(_), Some(stats)) => {
                        let folded = gpu.dispatch(
                            &ACTIVATION_FORWARD_FOLDED,
                            &k.constants,
                            &[&u, &x.buffer, &y.buffer, &stats.scratch().buffer],
                            gpu.groups_1d(&ACTIVATION_FORWARD_FOLDED, fold_lanes as usize),
                        )?;
                        self.push_folded(folded, plain);
                    }
                    _ => self.d.push(plain),
                }
            }
            Op::BatchNorm { eps, momentum } => {
                let state = &self.net.state;
                let u = gpu.uniform(
                    "batchnorm",
                    &BatchNormParams::new(batch, node.out_shape, *eps, *momentum),
                )?;
                let features = node.out_shape.features();
                let (gamma, beta) = (&self.param(node, 0).buffer, &self.param(node, 1).buffer);
                let (rm, rv) = (&state[node.state[0]].buffer, &state[node.state[1]].buffer);
                if self.forward_train {
                    let mean = gpu.tensor(
                        &format!("{}.save_mean", node.name),
                        features,
                        TensorUsage::Storage,
                    )?;
                    let invstd = gpu.tensor(
                        &format!("{}.save_invstd", node.name),
                        features,
                        TensorUsage::Storage,
                    )?;
                    self.d.push(gpu.dispatch(
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
                    self.saved[node.index] = vec![mean, invstd];
                } else {
                    self.d.push(gpu.dispatch(
                        &BATCHNORM_EVAL,
                        &[],
                        &[&u, &x.buffer, gamma, beta, rm, rv, &y.buffer],
                        gpu.groups_1d(&BATCHNORM_EVAL, y.len),
                    )?);
                }
            }
            Op::Dropout { rate } => {
                let rate = if self.forward_train { *rate } else { 0.0 };
                self.d.push(dropout(
                    gpu, self.net, node.index, rate, &x.buffer, &y.buffer, y.len,
                )?);
            }
            Op::LayerNorm { eps, affine } => {
                let rows = self.rows(node.in_shape);
                let u = gpu.uniform(
                    "layer_norm",
                    &LayerNormParams::new(rows, node.in_shape.last(), *eps, *affine),
                )?;
                let (gamma, beta) = if *affine {
                    (self.param(node, 0), self.param(node, 1))
                } else {
                    (self.ph(0), self.ph(0))
                };
                let mean = gpu.tensor(
                    &format!("{}.save_mean", node.name),
                    rows,
                    TensorUsage::Storage,
                )?;
                let invstd = gpu.tensor(
                    &format!("{}.save_invstd", node.name),
                    rows,
                    TensorUsage::Storage,
                )?;
                self.d.push(super::rows::layer_norm_forward(
                    gpu,
                    &u,
                    [
                        &x.buffer,
                        &gamma.buffer,
                        &beta.buffer,
                        &y.buffer,
                        &mean.buffer,
                        &invstd.buffer,
                    ],
                    rows,
                )?);
                self.saved[node.index] = vec![mean, invstd];
            }
            Op::Embedding { vocab, dim } => {
                let rows = batch * node.in_shape.len();
                let u = gpu.uniform("embedding", &EmbeddingParams::new(rows, *dim, *vocab))?;
                self.d.push(gpu.dispatch(
                    &EMBEDDING_FORWARD,
                    &[],
                    &[&u, &x.buffer, &self.param(node, 0).buffer, &y.buffer],
                    gpu.groups_1d(&EMBEDDING_FORWARD, rows * dim),
                )?);
            }
            Op::Position { .. } => {
                let table = self.param(node, 0).clone();
                self.add(node, &x, &table, &y, node.in_shape.len())?;
            }
            Op::Add => {
                let b = self.acts[node.inputs[1]].clone();
                self.add(node, &x, &b, &y, y.len)?;
            }
            Op::ToHeads { parts, .. } => {
                let p = self.heads_params(node, *parts);
                let u = gpu.uniform("to_heads", &p)?;
                let out = |k: usize| -> &Tensor {
                    match node.outputs.get(k) {
                        Some(&t) => &self.acts[t],
                        None => self.ph(k),
                    }
                };
                let (kernel, invocations) = p.to_heads_launch();
                self.d.push(gpu.dispatch(
                    kernel,
                    &[],
                    &[
                        &u,
                        &x.buffer,
                        &out(0).buffer,
                        &out(1).buffer,
                        &out(2).buffer,
                    ],
                    gpu.groups_1d(kernel, invocations),
                )?);
            }
            Op::FromHeads => {
                let p = self.heads_params(node, 1);
                let u = gpu.uniform("from_heads", &p)?;
                let (kernel, invocations) = p.from_heads_launch();
                self.d.push(gpu.dispatch(
                    kernel,
                    &[],
                    &[
                        &u,
                        &x.buffer,
                        &self.ph(0).buffer,
                        &self.ph(0).buffer,
                        &y.buffer,
                    ],
                    gpu.groups_1d(kernel, invocations),
                )?);
            }
            Op::Matmul { trans_b } => {
                let (count, m, k) = self.heads_dims(node.in_shape);
                let n = node.out_shape.last();
                let b = &self.acts[node.inputs[1]];
                self.d.push(matmul_batched(
                    gpu,
                    count,
                    (m, n, k),
                    (false, *trans_b),
                    [&x.buffer, &b.buffer, &y.buffer],
                )?);
            }
            Op::Softmax { scale, causal } => {
                let u = gpu.uniform("softmax", &self.softmax_params(node, *scale, *causal))?;
                self.d.push(super::rows::softmax_forward(
                    gpu,
                    &u,
                    [&x.buffer, &y.buffer],
                    self.rows(node.in_shape),
                )?);
            }
        }
        Ok(())
    }

    /// The heads layout of a `to_heads` or `from_heads` node.
    fn heads_params(&self, node: &Node, parts: usize) -> HeadsParams {
        let heads = match node.op {
            Op::ToHeads { .. } => self.graph.tensors[node.outputs[0]].shape,
            _ => node.in_shape,
        };
        match heads {
            Shape::Heads { heads, len, dim } => {
                HeadsParams::new(self.batch, len, heads, dim, parts)
            }
            _ => unreachable!("checked by the graph: heads on one side"),
        }
    }

    /// (products, rows, inner size) of a batched product whose first factor is `shape`.
    fn heads_dims(&self, shape: Shape) -> (usize, usize, usize) {
        match shape {
            Shape::Heads { heads, len, dim } => (self.batch * heads, len, dim),
            other => (self.batch, other.rows(), other.last()),
        }
    }

    fn softmax_params(&self, node: &Node, scale: f64, causal: bool) -> SoftmaxParams {
        let width = node.in_shape.last();
        let seq = node.in_shape.rows().min(width).max(1);
        SoftmaxParams::new(self.rows(node.in_shape), width, scale, causal, seq)
    }

    /// `node`'s addition y[i] = a[i] + b[i % period], folding y's statistics as it writes y
    /// where the vec4 kernel serves.
    fn add(
        &mut self,
        node: &Node,
        a: &Tensor,
        b: &Tensor,
        y: &Tensor,
        period: usize,
    ) -> Result<()> {
        let gpu = self.gpu;
        let mut p = AddParams::new(y.len, period);
        let (kernel, invocations) = p.launch();
        let fold = if std::ptr::eq(kernel, &ADD_VEC4) {
            self.fold_into_writer(node)
        } else {
            None
        };
        (p.fold_lanes, p.fold_partial) = fold.unwrap_or_default();
        let u = gpu.uniform("add", &p)?;
        let plain = gpu.dispatch(
            kernel,
            &[],
            &[&u, &a.buffer, &b.buffer, &y.buffer],
            gpu.groups_1d(kernel, invocations),
        )?;
        match (fold, &self.act_stats) {
            (Some(_), Some(stats)) => {
                let folded = gpu.dispatch(
                    &ADD_VEC4_FOLDED,
                    &[],
                    &[&u, &a.buffer, &b.buffer, &y.buffer, &stats.scratch().buffer],
                    gpu.groups_1d(&ADD_VEC4_FOLDED, p.fold_lanes as usize),
                )?;
                self.push_folded(folded, plain);
            }
            _ => self.d.push(plain),
        }
        Ok(())
    }

    /// A writer that folds its output's statistics, and the plain writer an untracked step
    /// runs in its place (nothing reads the records it would fold).
    fn push_folded(&mut self, folded: Dispatch, plain: Dispatch) {
        self.d.push(folded);
        let at = self.d.len() - 1;
        self.untracked_swaps.push((at..at + 1, vec![plain]));
    }

    /// Where the kernel writing `node`'s output folds that output's statistics as it writes it
    /// (its lanes and the offset of its first partial record), when the activations' statistics
    /// are gathered and nothing changes the output afterwards: a layer with a planted fault
    /// keeps the separate reduction, which runs after the fault.
    fn fold_into_writer(&mut self, node: &Node) -> Option<(u32, u32)> {
        let t = node.output();
        let out = self.act_out[t]?;
        if node.outputs.len() != 1 || self.opt.faults.iter().any(|f| f.layer == node.layer) {
            return None;
        }
        let stats = self.act_stats.as_mut()?;
        Some(stats.folded(&self.acts, t, out))
    }

    /// Planted forward faults on the output of the node that ends a faulted layer.
    fn forward_faults(&mut self, node: &Node) -> Result<()> {
        let last = self
            .graph
            .layer_output(node.layer)
            .is_some_and(|n| n.index == node.index);
        if !last {
            return Ok(());
        }
        let y = &self.acts[node.output()];
        for f in self.opt.faults.iter().filter(|f| f.layer == node.layer) {
            match f.kind {
                FaultKind::CorruptOutput => self.d.push(scale(self.gpu, y, f.factor as f32)?),
                FaultKind::MixBatch => self.d.push(mix_rows(
                    self.gpu,
                    y,
                    self.batch,
                    node.output_len(),
                    f.factor as f32,
                )?),
                _ => {}
            }
        }
        Ok(())
    }

    /// The loss of the output (and, in training, its gradient).
    fn loss(&mut self, targets: &Tensor, layout: &StatsLayout, stats: &Tensor) -> Result<()> {
        let gpu = self.gpu;
        let graph = self.graph;
        let ph = &self.net.placeholders;
        let classes = graph.output_width();
        let class_weights = match &self.opt.loss.class_weights {
            Some(w) => {
                if w.len() != classes {
                    return Err(Error::OutputShape {
                        loss_at_fault: false,
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
            // Binary cross-entropy's one weight rides in the same binding.
            None => self
                .opt
                .loss
                .pos_weight
                .map(|pw| gpu.tensor_from("loss.pos_weight", &[pw as f32]))
                .transpose()?,
        };
        let logits = &self.acts[graph.output];
        let dlogits = self.grads[graph.output]
            .as_ref()
            .expect("the output's gradient is always allocated");
        let u = gpu.uniform(
            "loss",
            &LossParams {
                batch: (self.batch * graph.predictions()) as u32,
                width: classes as u32,
                out_slot: layout.loss as u32,
                _pad0: 0,
                gamma: self.opt.loss.gamma as f32,
                alpha: self.opt.loss.alpha as f32,
                _pad1: [0.0; 2],
            },
        )?;
        let (loss_kernel, loss_constants) =
            kernels::loss_kernel(self.opt.loss.name, class_weights.is_some());
        self.d.push(
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
        self.written[graph.output] += 1;
        Ok(())
    }

    /// The gradient of tensor `t` this node's backward writes, or `None` when `t` needs none.
    fn sink(&mut self, t: TensorId) -> Result<Option<Sink>> {
        let Some(g) = self.grads[t].clone() else {
            return Ok(None);
        };
        self.written[t] += 1;
        if self.written[t] == 1 {
            return Ok(Some(Sink {
                write: g,
                add_to: None,
            }));
        }
        let need = g.len;
        if self.scratch.as_ref().is_none_or(|s| s.len < need) {
            self.scratch = Some(self.gpu.tensor(
                "grad.scratch (contributions)",
                need,
                TensorUsage::Storage,
            )?);
        }
        Ok(Some(Sink {
            write: self.scratch.clone().expect("made above"),
            add_to: Some(g),
        }))
    }

    /// Adds a sink's scratch contribution to its gradient, when it has one: a contribution
    /// covers the whole gradient.
    fn settle(&mut self, sink: Sink) -> Result<()> {
        if let Some(g) = sink.add_to {
            self.d.push(accumulate(self.gpu, &sink.write, &g)?);
        }
        Ok(())
    }

    /// dL/dt += dy, for an op through which the gradient passes unchanged (an addition): the
    /// gradient's buffer becomes dy's when dy is t's only contribution, else dy is copied or
    /// added.
    fn pass(&mut self, t: TensorId, dy: &Tensor) -> Result<()> {
        if self.grads[t].is_none() {
            return Ok(());
        }
        let uses = self.graph.tensors[t].consumers.len();
        if uses == 1 {
            self.written[t] += 1;
            let mut alias = dy.clone();
            alias.name = format!("grad.{}", self.acts[t].name);
            self.grads[t] = Some(alias);
            return Ok(());
        }
        let g = self.grads[t].clone().expect("checked above");
        self.written[t] += 1;
        if self.written[t] == 1 {
            self.d.push(identity(self.gpu, Direction::Forward, dy, &g)?);
        } else {
            self.d.push(accumulate(self.gpu, dy, &g)?);
        }
        Ok(())
    }

    fn backward(&mut self, node: &Node) -> Result<()> {
        let gpu = self.gpu;
        let batch = self.batch;
        let i = node.input();
        let x = self.acts[i].clone();
        let y = self.acts[node.output()].clone();
        let dy = self.grads[node.output()]
            .clone()
            .expect("every output of a trained node has a gradient");
        match &node.op {
            Op::Conv2d { out, .. } => {
                let conv = node
                    .op
                    .conv(node.in_shape.image().expect("conv2d takes an image"), batch)
                    .expect("a conv2d op");
                let params = Conv2dParams::of(&conv).expect("checked by the graph");
                let u = gpu.uniform("conv2d", &params)?;
                let pw = node.params[0];
                let w = self.param(node, 0);
                // Without a bias, its gradient goes to a scratch buffer nobody reads.
                let scratch = match node.params.get(1) {
                    Some(_) => None,
                    None => Some(gpu.tensor(
                        &format!("{} (no bias gradient)", node.name),
                        *out,
                        TensorUsage::Storage,
                    )?),
                };
                let db = match (&scratch, node.params.get(1)) {
                    (Some(t), _) => &t.buffer,
                    (None, Some(&pb)) => &self.param_grads[pb].buffer,
                    (None, None) => unreachable!("a scratch buffer without a bias"),
                };
                self.d.extend(super::conv::weight_gradient(
                    gpu,
                    gpu.conv_variant(),
                    &self.param_grads[pw].name,
                    &params,
                    &u,
                    [&x.buffer, &dy.buffer, &self.param_grads[pw].buffer, db],
                )?);
                if let Some(sink) = self.sink(i)? {
                    self.d.push(super::conv::input_gradient(
                        gpu,
                        gpu.conv_variant(),
                        &params,
                        &u,
                        [&dy.buffer, &w.buffer, &sink.write.buffer],
                    )?);
                    self.settle(sink)?;
                }
            }
            Op::Pool2d { .. } | Op::GlobalAvgPool => {
                if let Some(sink) = self.sink(i)? {
                    let pool = node
                        .op
                        .pool(
                            node.in_shape.image().expect("pooling takes an image"),
                            batch,
                        )
                        .expect("a pooling op");
                    let u = gpu.uniform(
                        "pool2d",
                        &Pool2dParams::of(&pool).expect("checked by the graph"),
                    )?;
                    let argmax = self.saved[node.index].first().unwrap_or(self.ph(0));
                    self.d.push(gpu.dispatch(
                        &POOL2D_BACKWARD,
                        &Pool2dParams::constants(pool.kind),
                        &[&u, &dy.buffer, &argmax.buffer, &sink.write.buffer],
                        gpu.groups_1d(&POOL2D_BACKWARD, x.len),
                    )?);
                    self.settle(sink)?;
                }
            }
            Op::Flatten => {
                if let Some(sink) = self.sink(i)? {
                    self.d.push(identity(
                        gpu,
                        Direction::Backward(&x, &y),
                        &dy,
                        &sink.write,
                    )?);
                    self.settle(sink)?;
                }
            }
            Op::Linear { input, output, .. } => {
                let rows = self.rows(node.in_shape);
                let pw = node.params[0];
                // dW[out, in] = dYᵀ · X
                self.d.push(matmul(
                    gpu,
                    (*output, *input, rows),
                    (true, false, false),
                    &dy.buffer,
                    &x.buffer,
                    &x.buffer,
                    &self.param_grads[pw].buffer,
                )?);
                if let Some(&pb) = node.params.get(1) {
                    self.d.extend(column_sums(
                        gpu,
                        &self.param_grads[pb].name,
                        (rows, *output),
                        &dy.buffer,
                        &self.param_grads[pb].buffer,
                    )?);
                }
                if let Some(sink) = self.sink(i)? {
                    // dX[rows, in] = dY · W
                    self.d.push(matmul(
                        gpu,
                        (rows, *input, *output),
                        (false, false, false),
                        &dy.buffer,
                        &self.param(node, 0).buffer,
                        &dy.buffer,
                        &sink.write.buffer,
                    )?);
                    self.settle(sink)?;
                }
            }
            Op::Activation { kind, slope } => {
                if let Some(sink) = self.sink(i)? {
                    let u = gpu.uniform(
                        "activation",
                        &ActivationParams {
                            n: x.len as u32,
                            slope: *slope as f32,
                            ..Default::default()
                        },
                    )?;
                    let k = activation_kernels(*kind);
                    self.d.push(gpu.dispatch(
                        k.backward,
                        &k.constants,
                        &[&u, &x.buffer, &y.buffer, &dy.buffer, &sink.write.buffer],
                        gpu.groups_1d(k.backward, k.invocations(x.len)),
                    )?);
                    self.settle(sink)?;
                }
            }
            Op::BatchNorm { eps, momentum } => {
                let saved = &self.saved[node.index];
                let (mean, invstd) = (saved[0].clone(), saved[1].clone());
                let u = gpu.uniform(
                    "batchnorm",
                    &BatchNormParams::new(batch, node.out_shape, *eps, *momentum),
                )?;
                // A first-layer batch norm still needs somewhere to write dx.
                let sink = match self.sink(i)? {
                    Some(s) => s,
                    None => Sink {
                        write: gpu.tensor("grad.scratch", x.len, TensorUsage::Storage)?,
                        add_to: None,
                    },
                };
                let (pg, pb) = (node.params[0], node.params[1]);
                self.d.push(gpu.dispatch(
                    &BATCHNORM_BACKWARD,
                    &[],
                    &[
                        &u,
                        &x.buffer,
                        &self.param(node, 0).buffer,
                        &mean.buffer,
                        &invstd.buffer,
                        &dy.buffer,
                        &sink.write.buffer,
                        &self.param_grads[pg].buffer,
                        &self.param_grads[pb].buffer,
                    ],
                    [(node.out_shape.features() as u32).div_ceil(64), 1, 1],
                )?);
                self.settle(sink)?;
            }
            Op::Dropout { rate } => {
                if let Some(sink) = self.sink(i)? {
                    self.d.push(dropout(
                        gpu,
                        self.net,
                        node.index,
                        *rate,
                        &dy.buffer,
                        &sink.write.buffer,
                        x.len,
                    )?);
                    self.settle(sink)?;
                }
            }
            Op::Add => {
                for &t in &node.inputs {
                    self.pass(t, &dy)?;
                }
            }
            Op::LayerNorm { eps, affine } => {
                let rows = self.rows(node.in_shape);
                let width = node.in_shape.last();
                let u = gpu.uniform(
                    "layer_norm",
                    &LayerNormParams::new(rows, width, *eps, *affine),
                )?;
                let saved = &self.saved[node.index];
                let (mean, invstd) = (saved[0].clone(), saved[1].clone());
                let gamma = if *affine {
                    self.param(node, 0)
                } else {
                    self.ph(0)
                };
                // dy·x̂ per value, summed over the rows into dγ.
                let dyxhat = gpu.tensor(
                    &format!("{}.dy_xhat", node.name),
                    x.len,
                    TensorUsage::Storage,
                )?;
                let sink = match self.sink(i)? {
                    Some(s) => s,
                    None => Sink {
                        write: gpu.tensor("grad.scratch", x.len, TensorUsage::Storage)?,
                        add_to: None,
                    },
                };
                self.d.push(super::rows::layer_norm_backward(
                    gpu,
                    &u,
                    [
                        &x.buffer,
                        &gamma.buffer,
                        &mean.buffer,
                        &invstd.buffer,
                        &dy.buffer,
                        &sink.write.buffer,
                        &dyxhat.buffer,
                    ],
                    rows,
                )?);
                self.settle(sink)?;
                if *affine {
                    let (pg, pb) = (node.params[0], node.params[1]);
                    self.d.extend(column_sums(
                        gpu,
                        &self.param_grads[pg].name,
                        (rows, width),
                        &dyxhat.buffer,
                        &self.param_grads[pg].buffer,
                    )?);
                    self.d.extend(column_sums(
                        gpu,
                        &self.param_grads[pb].name,
                        (rows, width),
                        &dy.buffer,
                        &self.param_grads[pb].buffer,
                    )?);
                }
            }
            Op::Embedding { vocab, dim } => {
                // A stable counting sort of the batch's tokens, then one sum per table entry
                // over its tokens' rows in order: no atomics, the same sums on every run.
                let rows = batch * node.in_shape.len();
                let u = gpu.uniform("embedding", &EmbeddingParams::new(rows, *dim, *vocab))?;
                let order =
                    gpu.tensor(&format!("{}.order", node.name), rows, TensorUsage::Storage)?;
                let sorted =
                    gpu.tensor(&format!("{}.sorted", node.name), rows, TensorUsage::Storage)?;
                let pw = node.params[0];
                self.d.push(gpu.dispatch(
                    &EMBEDDING_SORT,
                    &[],
                    &[&u, &x.buffer, &order.buffer, &sorted.buffer],
                    gpu.groups_1d(&EMBEDDING_SORT, rows),
                )?);
                self.d.push(gpu.dispatch(
                    &EMBEDDING_BACKWARD,
                    &[],
                    &[
                        &u,
                        &sorted.buffer,
                        &order.buffer,
                        &dy.buffer,
                        &self.param_grads[pw].buffer,
                    ],
                    gpu.groups_1d(&EMBEDDING_BACKWARD, vocab * dim),
                )?);
            }
            Op::Position { max_len } => {
                // dP[t] = Σ_batch dY[·, t] for the positions used; the rest of the table gets
                // no gradient (its zeros are written once, here).
                let period = node.in_shape.len();
                let pw = node.params[0];
                let table = max_len * node.in_shape.last();
                if period < table {
                    gpu.write(&self.param_grads[pw].buffer, &vec![0.0f32; table]);
                }
                self.d.extend(column_sums(
                    gpu,
                    &self.param_grads[pw].name,
                    (batch, period),
                    &dy.buffer,
                    &self.param_grads[pw].buffer,
                )?);
                self.pass(i, &dy)?;
            }
            Op::ToHeads { parts, .. } => {
                if let Some(sink) = self.sink(i)? {
                    let p = self.heads_params(node, *parts);
                    let u = gpu.uniform("from_heads", &p)?;
                    let grad = |k: usize| -> Tensor {
                        match node.outputs.get(k) {
                            Some(&t) => self.grads[t].clone().expect("outputs have gradients"),
                            None => self.ph(0).clone(),
                        }
                    };
                    let (g0, g1, g2) = (grad(0), grad(1), grad(2));
                    let (kernel, invocations) = p.from_heads_launch();
                    self.d.push(gpu.dispatch(
                        kernel,
                        &[],
                        &[&u, &g0.buffer, &g1.buffer, &g2.buffer, &sink.write.buffer],
                        gpu.groups_1d(kernel, invocations),
                    )?);
                    self.settle(sink)?;
                }
            }
            Op::FromHeads => {
                if let Some(sink) = self.sink(i)? {
                    let p = self.heads_params(node, 1);
                    let u = gpu.uniform("to_heads", &p)?;
                    let (kernel, invocations) = p.to_heads_launch();
                    self.d.push(gpu.dispatch(
                        kernel,
                        &[],
                        &[
                            &u,
                            &dy.buffer,
                            &sink.write.buffer,
                            &self.ph(1).buffer,
                            &self.ph(2).buffer,
                        ],
                        gpu.groups_1d(kernel, invocations),
                    )?);
                    self.settle(sink)?;
                }
            }
            Op::Matmul { trans_b } => {
                let (count, m, k) = self.heads_dims(node.in_shape);
                let n = node.out_shape.last();
                let b = self.acts[node.inputs[1]].clone();
                // C = A·Bᵀ: dA = dC·B, dB = dCᵀ·A.  C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC.
                if let Some(sink) = self.sink(i)? {
                    self.d.push(matmul_batched(
                        gpu,
                        count,
                        (m, k, n),
                        (false, !*trans_b),
                        [&dy.buffer, &b.buffer, &sink.write.buffer],
                    )?);
                    self.settle(sink)?;
                }
                if let Some(sink) = self.sink(node.inputs[1])? {
                    let d = if *trans_b {
                        matmul_batched(
                            gpu,
                            count,
                            (n, k, m),
                            (true, false),
                            [&dy.buffer, &x.buffer, &sink.write.buffer],
                        )?
                    } else {
                        matmul_batched(
                            gpu,
                            count,
                            (k, n, m),
                            (true, false),
                            [&x.buffer, &dy.buffer, &sink.write.buffer],
                        )?
                    };
                    self.d.push(d);
                    self.settle(sink)?;
                }
            }
            Op::Softmax { scale, causal } => {
                if let Some(sink) = self.sink(i)? {
                    let u = gpu.uniform("softmax", &self.softmax_params(node, *scale, *causal))?;
                    self.d.push(super::rows::softmax_backward(
                        gpu,
                        &u,
                        [&y.buffer, &dy.buffer, &sink.write.buffer],
                        self.rows(node.in_shape),
                    )?);
                    self.settle(sink)?;
                }
            }
        }
        Ok(())
    }

    /// Planted gradient faults on the parameters of a faulted layer's nodes.
    fn gradient_faults(&mut self, node: &Node) -> Result<()> {
        if node.params.is_empty() {
            return Ok(());
        }
        for f in self.opt.faults.iter().filter(|f| f.layer == node.layer) {
            if let Some(factor) = f.gradient_factor() {
                for &p in &node.params {
                    self.d.push(scale(self.gpu, &self.param_grads[p], factor)?);
                }
            }
        }
        Ok(())
    }

    /// The statistics reductions before the update, the optimizer, and the update statistics.
    /// With `fused_statistics` the optimizer itself folds the weights and the updates into
    /// partial statistics (see shaders/optimizer.wgsl), which one combine turns into the
    /// numbers; otherwise the weights are reduced with the gradients and each update is stored
    /// and reduced after the optimizer.
    fn statistics_and_update(
        &mut self,
        layout: &StatsLayout,
        stats: &Tensor,
        deltas: &[Tensor],
        full: bool,
    ) -> Result<()> {
        let gpu = self.gpu;
        let net = self.net;
        let opt = self.opt;
        let nparams = net.params.len();
        let fused = full && opt.fused_statistics;
        // Without clipping by norm nothing needs the gradients' statistics before the update:
        // the optimizer folds them too, and one combine after it serves every statistic.
        let grads_fused = fused && opt.clip_norm <= 0.0;
        // Statistics before the update, all in one set of reductions (the activations' were
        // reduced during the forward pass).
        let mut before = Vec::new();
        for (base, tensors) in [
            (
                layout.grads.filter(|_| !grads_fused),
                self.param_grads.iter().collect::<Vec<_>>(),
            ),
            (
                layout.weights.filter(|_| !fused),
                net.params.iter().collect::<Vec<_>>(),
            ),
        ] {
            if let Some(base) = base {
                before.extend(
                    tensors
                        .into_iter()
                        .enumerate()
                        .map(|(k, t)| (t, base + k * REDUCE_WIDTH)),
                );
            }
        }
        // The fused statistics' partial records: the set before the update's first when their
        // combine waits for the optimizer's, then per tensor its gradients' (when folded),
        // weights' and updates'. One grain for all, so that the optimizer's folds and the
        // separate reductions fold alike.
        let grain = gpu.reduce_values_per_lane();
        let lanes: Vec<usize> = net
            .infos
            .iter()
            .map(|i| reduce_lanes(i.len(), grain))
            .collect();
        let first = if grads_fused {
            partial_records(&before, grain)
        } else {
            0
        };
        let per_tensor = if grads_fused { 3 } else { 2 };
        let partials = if fused {
            let records = first + lanes.iter().sum::<usize>() * per_tensor;
            Some(gpu.tensor(
                "statistics (partials)",
                records * REDUCE_WIDTH,
                TensorUsage::Storage,
            )?)
        } else {
            None
        };
        let mut combine = Vec::new();
        let start = self.d.len();
        match &partials {
            Some(partials) if grads_fused => {
                let (dispatches, jobs) = partials_into(gpu, &before, partials, 0, grain)?;
                self.d.extend(dispatches);
                combine.extend(jobs);
            }
            _ => self.d.extend(reduce_all(gpu, &before, stats)?),
        }
        if full {
            // Untracked: the gradients alone, when clipping needs their norms.
            let grads_only: Vec<(&Tensor, usize)> = match layout.grads {
                Some(base) if opt.clip_norm > 0.0 => self
                    .param_grads
                    .iter()
                    .enumerate()
                    .map(|(k, g)| (g, base + k * REDUCE_WIDTH))
                    .collect(),
                _ => Vec::new(),
            };
            let swap = reduce_all(gpu, &grads_only, stats)?;
            self.untracked_swaps.push((start..self.d.len(), swap));
        }

        let mut record = first;
        for (k, info) in net.infos.iter().enumerate() {
            let skipped = opt
                .faults
                .iter()
                .any(|f| f.layer == info.layer && f.kind == FaultKind::SkipUpdate);
            let plain = OptimizerParams {
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
                lanes: info.len().div_ceil(4) as u32,
                fold: fold::NONE,
                partial_w: 0,
                partial_u: 0,
                apply: u32::from(!skipped),
                partial_g: 0,
                _pad: [0; 2],
            };
            let (tracked, out) = match (&partials, deltas.get(k)) {
                (Some(partials), _) => {
                    // Where each folded tensor's partial records go, and their combine job.
                    let mut place = |base: Option<usize>| {
                        let at = record * REDUCE_WIDTH;
                        combine.push(ReduceCombineJob {
                            records: lanes[k] as u32,
                            partial: at as u32,
                            out: (base.unwrap_or(0) + k * REDUCE_WIDTH) as u32,
                            _pad: 0,
                        });
                        record += lanes[k];
                        at as u32
                    };
                    let partial_g = if grads_fused { place(layout.grads) } else { 0 };
                    let params = OptimizerParams {
                        lanes: lanes[k] as u32,
                        fold: if grads_fused {
                            fold::ALL_STATISTICS
                        } else {
                            fold::STATISTICS
                        },
                        partial_g,
                        partial_w: place(layout.weights),
                        partial_u: place(layout.updates),
                        ..plain
                    };
                    (Some(params), partials)
                }
                (None, Some(delta)) if !skipped => (
                    Some(OptimizerParams {
                        fold: fold::UPDATES,
                        ..plain
                    }),
                    delta,
                ),
                // A skipped tensor's stored update stays zero, as it was made.
                (None, Some(delta)) => (None, delta),
                (None, None) => ((!skipped).then_some(plain), &net.placeholders[2]),
            };
            let update = |params: &OptimizerParams| -> Result<Dispatch> {
                let u = gpu.uniform("optimizer", params)?;
                let lanes = params.lanes as usize;
                Ok(gpu
                    .dispatch(
                        &OPTIMIZER,
                        &[("OPT", opt.optimizer.code() as f64)],
                        &[
                            &u,
                            &net.step,
                            &net.params[k].buffer,
                            &self.param_grads[k].buffer,
                            &net.m[k].as_ref().unwrap_or(&net.placeholders[0]).buffer,
                            &net.v[k].as_ref().unwrap_or(&net.placeholders[1]).buffer,
                            &out.buffer,
                            &stats.buffer,
                        ],
                        gpu.groups_1d(&OPTIMIZER, lanes),
                    )?
                    .labeled(format!("update {}", info.name)))
            };
            let Some(tracked) = tracked else { continue };
            self.d.push(update(&tracked)?);
            if full {
                // Untracked: the update alone (nothing for a skipped tensor).
                let swap = if skipped {
                    Vec::new()
                } else {
                    vec![update(&plain)?]
                };
                self.untracked_swaps
                    .push((self.d.len() - 1..self.d.len(), swap));
            }
        }
        if let Some(partials) = &partials {
            let start = self.d.len();
            self.d.push(combine_partials(
                gpu,
                &combine,
                partials,
                stats,
                "statistics",
            )?);
            self.untracked_swaps.push((start..self.d.len(), Vec::new()));
        } else if let Some(base) = layout.updates {
            let updates: Vec<(&Tensor, usize)> = deltas
                .iter()
                .enumerate()
                .map(|(k, u)| (u, base + k * REDUCE_WIDTH))
                .collect();
            let start = self.d.len();
            self.d.extend(reduce_all(gpu, &updates, stats)?);
            self.untracked_swaps.push((start..self.d.len(), Vec::new()));
        }
        Ok(())
    }
}

/// Which pass of the identity a [`identity`] dispatch computes: backward also binds the
/// layer's input and output, as every activation backward does.
enum Direction<'t> {
    Forward,
    Backward(&'t Tensor, &'t Tensor),
}

/// `dst` ← `src` through the identity activation's kernels: flatten's forward and backward
/// (NCHW images are already the vectors flatten gives, but each layer owns its buffers), and
/// a gradient copied to a tensor with several readers.
fn identity(gpu: &Gpu, direction: Direction, src: &Tensor, dst: &Tensor) -> Result<Dispatch> {
    let k = activation_kernels(crate::ops::Activation::Identity);
    let u = gpu.uniform(
        "activation",
        &ActivationParams {
            n: src.len as u32,
            slope: 0.0,
            ..Default::default()
        },
    )?;
    match direction {
        Direction::Forward => gpu.dispatch(
            k.forward,
            &k.constants,
            &[&u, &src.buffer, &dst.buffer],
            gpu.groups_1d(k.forward, k.invocations(src.len)),
        ),
        Direction::Backward(x, y) => gpu.dispatch(
            k.backward,
            &k.constants,
            &[&u, &x.buffer, &y.buffer, &src.buffer, &dst.buffer],
            gpu.groups_1d(k.backward, k.invocations(src.len)),
        ),
    }
}

/// `dst += src` (src at least as long): a later gradient contribution added to a tensor's
/// gradient.
fn accumulate(gpu: &Gpu, src: &Tensor, dst: &Tensor) -> Result<Dispatch> {
    let n = dst.len;
    let u = gpu.uniform(
        "accumulate",
        &ScaleParams {
            n: n as u32,
            factor: 1.0,
            _pad: [0; 2],
        },
    )?;
    Ok(gpu
        .dispatch(
            &ACCUMULATE,
            &[],
            &[&u, &src.buffer, &dst.buffer],
            gpu.groups_1d(&ACCUMULATE, n.div_ceil(4)),
        )?
        .labeled(format!("accumulate {}", dst.name)))
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

/// Dropout of `n` values with the mask of stream `layer` (the node's index: a layer list's
/// layer index).
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
