//! A whole model's forward and backward pass in f64, layer by layer with the functions of
//! `reference`. Used to test the GPU training step and, later, by the gradient check.

use super::{
    act_derivative, act_forward, batchnorm_backward, batchnorm_eval, batchnorm_train,
    dropout_scale, linear_backward, linear_forward, loss, BatchNormForward, LossOptions,
};
use crate::config::LossConfig;
use crate::model::{LayerSpec, Model};

/// Training mode uses batch statistics and dropout masks of (seed, step); evaluation mode uses
/// running statistics and no dropout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train { seed: u32, step: u32 },
    Eval,
}

/// Parameters in f64, in `Model::params` order, and batch-norm running statistics in the
/// order of `HostParams::state`.
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

/// Index of each layer's first parameter tensor and first state tensor.
fn offsets(model: &Model) -> (Vec<usize>, Vec<usize>) {
    let (mut p, mut s) = (0, 0);
    let mut po = Vec::new();
    let mut so = Vec::new();
    for l in &model.layers {
        po.push(p);
        so.push(s);
        match l.spec {
            LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. } => p += 2,
            LayerSpec::BatchNorm { .. } => {
                p += 2;
                s += 2;
            }
            _ => {}
        }
    }
    (po, so)
}

/// Every layer's output, plus what backward needs.
#[derive(Clone, Debug)]
pub struct ForwardTrace {
    /// acts[0] is the input, acts[i + 1] the output of layer i.
    pub acts: Vec<Vec<f64>>,
    bn: Vec<Option<BatchNormForward>>,
    dropout: Vec<Option<Vec<f64>>>,
    /// Max pooling's chosen input per output.
    argmax: Vec<Option<Vec<usize>>>,
}

pub fn forward(model: &Model, p: &RefParams, x: &[f64], batch: usize, mode: Mode) -> ForwardTrace {
    let (po, so) = offsets(model);
    let mut acts = vec![x.to_vec()];
    let mut bn = Vec::new();
    let mut dropout = Vec::new();
    let mut argmax = Vec::new();
    for (i, l) in model.layers.iter().enumerate() {
        let input = &acts[i];
        let (mut b, mut d, mut a) = (None, None, None);
        let bn_dims = (l.out_shape.features(), l.out_shape.spatial());
        let out = match &l.spec {
            LayerSpec::Conv2d { .. } => l.conv(batch).expect("conv2d on an image").forward(
                input,
                &p.params[po[i]],
                &p.params[po[i] + 1],
            ),
            LayerSpec::Pool2d { .. } | LayerSpec::GlobalAvgPool => {
                let (y, chosen) = l.pool(batch).expect("pooling on an image").forward(input);
                a = Some(chosen);
                y
            }
            LayerSpec::Flatten => input.clone(),
            LayerSpec::Linear { .. } => linear_forward(
                input,
                &p.params[po[i]],
                &p.params[po[i] + 1],
                batch,
                l.input,
                l.output,
            ),
            LayerSpec::Activation { kind, slope } => input
                .iter()
                .map(|&v| act_forward(*kind, *slope, v))
                .collect(),
            LayerSpec::BatchNorm { eps, .. } => match mode {
                Mode::Train { .. } => {
                    let f = batchnorm_train(
                        input,
                        &p.params[po[i]],
                        &p.params[po[i] + 1],
                        (batch, bn_dims.0, bn_dims.1),
                        *eps,
                    );
                    let y = f.y.clone();
                    b = Some(f);
                    y
                }
                Mode::Eval => batchnorm_eval(
                    input,
                    &p.params[po[i]],
                    &p.params[po[i] + 1],
                    &p.state[so[i]],
                    &p.state[so[i] + 1],
                    bn_dims,
                    *eps,
                ),
            },
            LayerSpec::Dropout { rate } => match mode {
                Mode::Train { seed, step } => {
                    let s = dropout_scale(*rate as f32, seed, step, i as u32, input.len());
                    let y = input.iter().zip(&s).map(|(v, k)| v * k).collect();
                    d = Some(s);
                    y
                }
                Mode::Eval => input.clone(),
            },
        };
        bn.push(b);
        dropout.push(d);
        argmax.push(a);
        acts.push(out);
    }
    ForwardTrace {
        acts,
        bn,
        dropout,
        argmax,
    }
}

/// Loss, gradients of every parameter tensor and of the input, for one batch.
#[derive(Clone, Debug)]
pub struct Gradients {
    /// The data loss (without the L2 term).
    pub loss: f64,
    pub correct: usize,
    pub params: Vec<Vec<f64>>,
    pub input: Vec<f64>,
    pub trace: ForwardTrace,
}

/// Forward, data loss and backward. The gradients are of the data loss alone: the L2 penalty's
/// gradient λ·W is added by the optimizer step, as PyTorch's `weight_decay` argument does, and
/// its loss term 0.5·λ·Σ‖W‖² is reported separately (see `l2_term`).
pub fn loss_and_grads(
    model: &Model,
    p: &RefParams,
    x: &[f64],
    targets: &[f64],
    batch: usize,
    loss_cfg: &LossConfig,
    mode: Mode,
) -> Gradients {
    let (po, _) = offsets(model);
    let trace = forward(model, p, x, batch, mode);
    let logits = trace.acts.last().expect("input is always present");
    let opts = LossOptions {
        class_weights: loss_cfg.class_weights.clone(),
        gamma: loss_cfg.gamma,
        alpha: loss_cfg.alpha,
    };
    let out = loss(loss_cfg.name, logits, targets, batch, model.output(), &opts);
    let mut grads: Vec<Vec<f64>> = p.params.iter().map(|t| vec![0.0; t.len()]).collect();
    let mut dy = out.grad;
    for (i, l) in model.layers.iter().enumerate().rev() {
        let x_in = &trace.acts[i];
        dy = match &l.spec {
            LayerSpec::Linear { .. } => {
                let w = &p.params[po[i]];
                let (dx, dw, db) = linear_backward(x_in, w, &dy, batch, l.input, l.output);
                grads[po[i]] = dw;
                grads[po[i] + 1] = db;
                dx
            }
            LayerSpec::Conv2d { .. } => {
                let conv = l.conv(batch).expect("conv2d on an image");
                let (dx, dw, db) = conv.backward(x_in, &p.params[po[i]], &dy);
                grads[po[i]] = dw;
                grads[po[i] + 1] = db;
                dx
            }
            LayerSpec::Pool2d { .. } | LayerSpec::GlobalAvgPool => {
                let chosen = trace.argmax[i].as_ref().expect("recorded by forward");
                l.pool(batch)
                    .expect("pooling on an image")
                    .backward(chosen, &dy)
            }
            LayerSpec::Flatten => dy,
            LayerSpec::Activation { kind, slope } => x_in
                .iter()
                .zip(&dy)
                .map(|(&v, &g)| match kind {
                    // The user's backward takes dy itself: it need not be linear in it.
                    crate::ops::Activation::User(id) => {
                        crate::kernels::user::get(*id).backward_f64(v, g)
                    }
                    _ => g * act_derivative(*kind, *slope, v),
                })
                .collect(),
            LayerSpec::BatchNorm { .. } => {
                let fwd = trace.bn[i]
                    .as_ref()
                    .expect("batch-norm backward needs training mode");
                let dims = (batch, l.out_shape.features(), l.out_shape.spatial());
                let (dx, dg, db) = batchnorm_backward(x_in, &p.params[po[i]], fwd, &dy, dims);
                grads[po[i]] = dg;
                grads[po[i] + 1] = db;
                dx
            }
            LayerSpec::Dropout { .. } => match &trace.dropout[i] {
                Some(s) => dy.iter().zip(s).map(|(g, k)| g * k).collect(),
                None => dy,
            },
        };
    }
    Gradients {
        loss: out.loss,
        correct: out.correct,
        params: grads,
        input: dy,
        trace,
    }
}

/// 0.5·λ·Σ‖W‖² over the linear weights.
pub fn l2_term(model: &Model, p: &RefParams, l2: f64) -> f64 {
    let infos = model.params();
    0.5 * l2
        * infos
            .iter()
            .zip(&p.params)
            .filter(|(i, _)| i.regularized())
            .map(|(_, t)| t.iter().map(|v| v * v).sum::<f64>())
            .sum::<f64>()
}
