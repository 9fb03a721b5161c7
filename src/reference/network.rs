//! A whole model's forward and backward pass in f64, node by node over the model graph with
//! the functions of `reference`: tests compare the GPU training step with it, and the gradient
//! check differentiates it. Gradients of a tensor read by several nodes are summed (in f64 the
//! order does not matter).

use super::{
    act_derivative, act_forward, batchnorm_backward, batchnorm_eval, batchnorm_train,
    dropout_scale, linear_backward, linear_forward, loss, sequence, BatchNormForward, LossOptions,
};
use crate::config::LossConfig;
use crate::graph::{Graph, Node, Op, Shape};

/// Training mode uses batch statistics and dropout masks of (seed, step); evaluation mode uses
/// running statistics and no dropout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train { seed: u32, step: u32 },
    Eval,
}

/// Parameters in f64, in `Graph::params` order, and batch-norm running statistics in the
/// order of `Graph::state`.
#[derive(Clone, Debug)]
pub struct RefParams {
    pub params: Vec<Vec<f64>>,
    pub state: Vec<Vec<f64>>,
}

impl RefParams {
    pub fn from_host(h: &crate::model::HostParams) -> Self {
        let widen = |v: &Vec<f32>| v.iter().map(|&x| x as f64).collect();
        RefParams {
            params: h.params.iter().map(|t| widen(&t.data)).collect(),
            state: h.state.iter().map(|t| widen(&t.data)).collect(),
        }
    }
}

/// What a node's forward keeps for its backward.
#[derive(Clone, Debug, Default)]
enum Saved {
    #[default]
    Nothing,
    BatchNorm(BatchNormForward),
    /// Dropout's scale per element (0 or 1/(1 − rate)).
    Dropout(Vec<f64>),
    /// Max pooling's chosen input per output.
    Argmax(Vec<usize>),
    /// Layer norm's mean and 1/σ per row.
    LayerNorm(Vec<f64>, Vec<f64>),
}

/// Every tensor's value, plus what backward needs.
#[derive(Clone, Debug)]
pub struct ForwardTrace {
    /// `acts[t]` is tensor t for the batch: `acts[0]` the input; for a layer list `acts[i + 1]`
    /// layer i's output.
    pub acts: Vec<Vec<f64>>,
    saved: Vec<Saved>,
}

/// Rows of the last dimension of `shape` in a batch.
fn rows(shape: Shape, batch: usize) -> usize {
    batch * shape.rows()
}

/// (batch·heads, len, dim) of a heads tensor.
fn heads_dims(shape: Shape, batch: usize) -> (usize, usize, usize) {
    match shape {
        Shape::Heads { heads, len, dim } => (batch * heads, len, dim),
        _ => (batch, shape.rows(), shape.last()),
    }
}

/// The sequence geometry of a `to_heads`/`from_heads` node: (seq, heads, head_dim).
fn head_geometry(node: &Node, g: &Graph) -> (usize, usize, usize) {
    let heads_shape = match node.op {
        Op::ToHeads { .. } => g.tensors[node.outputs[0]].shape,
        _ => node.in_shape,
    };
    match heads_shape {
        Shape::Heads { heads, len, dim } => (len, heads, dim),
        _ => (1, 1, 1),
    }
}

pub fn forward(g: &Graph, p: &RefParams, x: &[f64], batch: usize, mode: Mode) -> ForwardTrace {
    let mut acts: Vec<Vec<f64>> = vec![Vec::new(); g.tensors.len()];
    acts[g.input] = x.to_vec();
    let mut saved = vec![Saved::Nothing; g.nodes.len()];
    for node in &g.nodes {
        let input = &acts[node.input()];
        let w = |k: usize| &p.params[node.params[k]];
        let mut outs: Vec<Vec<f64>> = Vec::new();
        let out = match &node.op {
            Op::Conv2d { out, bias, .. } => node
                .op
                .conv(node.in_shape.image().expect("conv2d on an image"), batch)
                .expect("a conv2d op")
                .forward(input, w(0), &bias_or_zeros(bias.then(|| w(1)), *out)),
            Op::Pool2d { .. } | Op::GlobalAvgPool => {
                let (y, chosen) = node
                    .op
                    .pool(node.in_shape.image().expect("pooling on an image"), batch)
                    .expect("a pooling op")
                    .forward(input);
                saved[node.index] = Saved::Argmax(chosen);
                y
            }
            Op::Flatten => input.clone(),
            Op::Linear {
                input: i,
                output: o,
                bias,
            } => linear_forward(
                input,
                w(0),
                &bias_or_zeros(bias.then(|| w(1)), *o),
                rows(node.in_shape, batch),
                *i,
                *o,
            ),
            Op::Activation { kind, slope } => input
                .iter()
                .map(|&v| act_forward(*kind, *slope, v))
                .collect(),
            Op::BatchNorm { eps, .. } => {
                let dims = (node.out_shape.features(), node.out_shape.spatial());
                match mode {
                    Mode::Train { .. } => {
                        let f = batchnorm_train(input, w(0), w(1), (batch, dims.0, dims.1), *eps);
                        let y = f.y.clone();
                        saved[node.index] = Saved::BatchNorm(f);
                        y
                    }
                    Mode::Eval => batchnorm_eval(
                        input,
                        w(0),
                        w(1),
                        &p.state[node.state[0]],
                        &p.state[node.state[1]],
                        dims,
                        *eps,
                    ),
                }
            }
            Op::Dropout { rate } => match mode {
                Mode::Train { seed, step } => {
                    let s = dropout_scale(*rate as f32, seed, step, node.index as u32, input.len());
                    let y = input.iter().zip(&s).map(|(v, k)| v * k).collect();
                    saved[node.index] = Saved::Dropout(s);
                    y
                }
                Mode::Eval => input.clone(),
            },
            Op::LayerNorm { eps, affine } => {
                let width = node.in_shape.last();
                let affine = affine.then(|| (w(0).as_slice(), w(1).as_slice()));
                let f = sequence::layer_norm_forward(
                    input,
                    affine,
                    rows(node.in_shape, batch),
                    width,
                    *eps,
                );
                saved[node.index] = Saved::LayerNorm(f.mean, f.invstd);
                f.y
            }
            Op::Embedding { vocab, dim } => sequence::embedding_forward(input, w(0), *dim, *vocab),
            Op::Position { .. } => sequence::add_periodic(input, w(0), node.in_shape.len()),
            Op::Add => sequence::add_periodic(input, &acts[node.inputs[1]], input.len()),
            Op::ToHeads { parts, .. } => {
                let (seq, heads, head_dim) = head_geometry(node, g);
                outs = sequence::to_heads(input, batch, seq, heads, head_dim, *parts);
                Vec::new()
            }
            Op::FromHeads => {
                let (seq, heads, head_dim) = head_geometry(node, g);
                sequence::from_heads(&[input.as_slice()], batch, seq, heads, head_dim)
            }
            Op::Matmul { trans_b } => {
                let (count, m, k) = heads_dims(node.in_shape, batch);
                let n = node.out_shape.last();
                sequence::batched_matmul(
                    input,
                    &acts[node.inputs[1]],
                    count,
                    m,
                    n,
                    k,
                    false,
                    *trans_b,
                )
            }
            Op::Softmax { scale, causal } => {
                let width = node.in_shape.last();
                let seq = node.in_shape.rows().min(width);
                sequence::softmax_forward(
                    input,
                    rows(node.in_shape, batch),
                    width,
                    *scale,
                    *causal,
                    seq.max(1),
                )
            }
        };
        if outs.is_empty() {
            outs.push(out);
        }
        for (&t, v) in node.outputs.iter().zip(outs) {
            acts[t] = v;
        }
    }
    ForwardTrace { acts, saved }
}

/// Loss, gradients of every parameter tensor and of the input, for one batch.
#[derive(Clone, Debug)]
pub struct Gradients {
    /// The data loss (without the L2 term).
    pub loss: f64,
    pub correct: usize,
    pub params: Vec<Vec<f64>>,
    /// dL/d input (empty for token inputs, which have none).
    pub input: Vec<f64>,
    /// dL/d every tensor (empty where none flows: the token input).
    pub tensors: Vec<Vec<f64>>,
    pub trace: ForwardTrace,
}

/// The data loss of one batch (forward and loss only: what finite differences need).
pub fn loss_value(
    g: &Graph,
    p: &RefParams,
    x: &[f64],
    targets: &[f64],
    batch: usize,
    loss_cfg: &LossConfig,
    mode: Mode,
) -> f64 {
    let trace = forward(g, p, x, batch, mode);
    let opts = LossOptions {
        class_weights: loss_cfg.class_weights.clone(),
        pos_weight: loss_cfg.pos_weight,
        gamma: loss_cfg.gamma,
        alpha: loss_cfg.alpha,
    };
    loss(
        loss_cfg.name,
        &trace.acts[g.output],
        targets,
        batch * g.predictions(),
        g.output_width(),
        &opts,
    )
    .loss
}

/// `acc += v` elementwise, or `acc = v` when nothing was added yet.
fn add_into(acc: &mut Vec<f64>, v: Vec<f64>) {
    if acc.is_empty() {
        *acc = v;
    } else {
        for (a, b) in acc.iter_mut().zip(v) {
            *a += b;
        }
    }
}

/// Forward, data loss and backward. The gradients are of the data loss alone: the L2 penalty's
/// gradient λ·W is added by the optimizer step, as PyTorch's `weight_decay` argument does, and
/// its loss term 0.5·λ·Σ‖W‖² is reported separately (see `l2_term`).
pub fn loss_and_grads(
    g: &Graph,
    p: &RefParams,
    x: &[f64],
    targets: &[f64],
    batch: usize,
    loss_cfg: &LossConfig,
    mode: Mode,
) -> Gradients {
    let trace = forward(g, p, x, batch, mode);
    let logits = &trace.acts[g.output];
    let opts = LossOptions {
        class_weights: loss_cfg.class_weights.clone(),
        pos_weight: loss_cfg.pos_weight,
        gamma: loss_cfg.gamma,
        alpha: loss_cfg.alpha,
    };
    let out = loss(
        loss_cfg.name,
        logits,
        targets,
        batch * g.predictions(),
        g.output_width(),
        &opts,
    );
    let mut grads: Vec<Vec<f64>> = p.params.iter().map(|t| vec![0.0; t.len()]).collect();
    let mut dt: Vec<Vec<f64>> = vec![Vec::new(); g.tensors.len()];
    dt[g.output] = out.grad;
    for node in g.nodes.iter().rev() {
        let dy = dt[node.output()].clone();
        if dy.is_empty() {
            continue;
        }
        let x_in = &trace.acts[node.input()];
        let w = |k: usize| &p.params[node.params[k]];
        let saved = &trace.saved[node.index];
        // Contributions to the inputs' gradients, in input order.
        let mut dx: Vec<Vec<f64>> = Vec::new();
        match &node.op {
            Op::Linear { input, output, .. } => {
                let (d, dw, db) =
                    linear_backward(x_in, w(0), &dy, rows(node.in_shape, batch), *input, *output);
                grads[node.params[0]] = dw;
                if let Some(&b) = node.params.get(1) {
                    grads[b] = db;
                }
                dx.push(d);
            }
            Op::Conv2d { .. } => {
                let conv = node
                    .op
                    .conv(node.in_shape.image().expect("conv2d on an image"), batch)
                    .expect("a conv2d op");
                let (d, dw, db) = conv.backward(x_in, w(0), &dy);
                grads[node.params[0]] = dw;
                if let Some(&b) = node.params.get(1) {
                    grads[b] = db;
                }
                dx.push(d);
            }
            Op::Pool2d { .. } | Op::GlobalAvgPool => {
                let Saved::Argmax(chosen) = saved else {
                    unreachable!("pooling records its argmax")
                };
                let pool = node
                    .op
                    .pool(node.in_shape.image().expect("pooling on an image"), batch)
                    .expect("a pooling op");
                dx.push(pool.backward(chosen, &dy));
            }
            Op::Flatten => dx.push(dy),
            Op::Activation { kind, slope } => dx.push(
                x_in.iter()
                    .zip(&dy)
                    .map(|(&v, &gy)| match kind {
                        // The user's backward takes dy itself: it need not be linear in it.
                        crate::ops::Activation::User(id) => {
                            crate::kernels::user::get(*id).backward_f64(v, gy)
                        }
                        _ => gy * act_derivative(*kind, *slope, v),
                    })
                    .collect(),
            ),
            Op::BatchNorm { .. } => {
                let Saved::BatchNorm(fwd) = saved else {
                    panic!("batch-norm backward needs training mode")
                };
                let dims = (batch, node.out_shape.features(), node.out_shape.spatial());
                let (d, dg, db) = batchnorm_backward(x_in, w(0), fwd, &dy, dims);
                grads[node.params[0]] = dg;
                grads[node.params[1]] = db;
                dx.push(d);
            }
            Op::Dropout { .. } => dx.push(match saved {
                Saved::Dropout(s) => dy.iter().zip(s).map(|(g, k)| g * k).collect(),
                _ => dy,
            }),
            Op::LayerNorm { affine, .. } => {
                let Saved::LayerNorm(mean, invstd) = saved else {
                    unreachable!("layer norm saves its statistics")
                };
                let width = node.in_shape.last();
                let gamma = affine.then(|| w(0).as_slice());
                let (d, dg, db) = sequence::layer_norm_backward(
                    x_in,
                    gamma,
                    mean,
                    invstd,
                    &dy,
                    rows(node.in_shape, batch),
                    width,
                );
                if *affine {
                    grads[node.params[0]] = dg;
                    grads[node.params[1]] = db;
                }
                dx.push(d);
            }
            Op::Embedding { vocab, dim } => {
                grads[node.params[0]] = sequence::embedding_backward(x_in, &dy, *dim, *vocab);
                dx.push(Vec::new());
            }
            Op::Position { max_len } => {
                let period = node.in_shape.len();
                let mut dw = vec![0.0; max_len * node.in_shape.last()];
                for (i, v) in dy.iter().enumerate() {
                    dw[i % period] += v;
                }
                grads[node.params[0]] = dw;
                dx.push(dy);
            }
            Op::Add => {
                dx.push(dy.clone());
                dx.push(dy);
            }
            Op::ToHeads { .. } => {
                let (seq, heads, head_dim) = head_geometry(node, g);
                let parts: Vec<&[f64]> = node.outputs.iter().map(|&t| dt[t].as_slice()).collect();
                dx.push(sequence::from_heads(&parts, batch, seq, heads, head_dim));
            }
            Op::FromHeads => {
                let (seq, heads, head_dim) = head_geometry(node, g);
                dx.push(
                    sequence::to_heads(&dy, batch, seq, heads, head_dim, 1)
                        .pop()
                        .expect("one part"),
                );
            }
            Op::Matmul { trans_b } => {
                let (count, m, k) = heads_dims(node.in_shape, batch);
                let n = node.out_shape.last();
                let b = &trace.acts[node.inputs[1]];
                let mm = sequence::batched_matmul;
                if *trans_b {
                    // C = A·Bᵀ: dA = dC·B, dB = dCᵀ·A.
                    dx.push(mm(&dy, b, count, m, k, n, false, false));
                    dx.push(mm(&dy, x_in, count, n, k, m, true, false));
                } else {
                    // C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC.
                    dx.push(mm(&dy, b, count, m, k, n, false, true));
                    dx.push(mm(x_in, &dy, count, k, n, m, true, false));
                }
            }
            Op::Softmax { scale, causal } => {
                let width = node.in_shape.last();
                let seq = node.in_shape.rows().min(width);
                let y = &trace.acts[node.output()];
                dx.push(sequence::softmax_backward(
                    y,
                    &dy,
                    rows(node.in_shape, batch),
                    width,
                    *scale,
                    *causal,
                    seq.max(1),
                ));
            }
        }
        for (&t, d) in node.inputs.iter().zip(dx) {
            if !d.is_empty() {
                add_into(&mut dt[t], d);
            }
        }
    }
    Gradients {
        loss: out.loss,
        correct: out.correct,
        params: grads,
        input: dt[g.input].clone(),
        tensors: dt,
        trace,
    }
}

/// 0.5·λ·Σ‖W‖² over the regularized weights.
pub fn l2_term(g: &Graph, p: &RefParams, l2: f64) -> f64 {
    0.5 * l2
        * g.params
            .iter()
            .zip(&p.params)
            .filter(|(i, _)| i.regularized())
            .map(|(_, t)| t.iter().map(|v| v * v).sum::<f64>())
            .sum::<f64>()
}

/// A layer's bias, or zeros for a layer without one (`bias=False`).
fn bias_or_zeros(bias: Option<&Vec<f64>>, n: usize) -> std::borrow::Cow<'_, [f64]> {
    match bias {
        Some(b) => std::borrow::Cow::Borrowed(b),
        None => std::borrow::Cow::Owned(vec![0.0; n]),
    }
}
