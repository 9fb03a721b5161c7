//! The f64 CPU mirror of every kernel, written for clarity rather than speed. GPU kernels are
//! tested against it, and it is itself tested against central finite differences
//! (tests in this module), so a wrong formula cannot hide in both places at once.
//! It follows the kernels' conventions exactly (PyTorch's: see the README), and it must never
//! call into `gpu::`.

pub mod conv;
pub mod network;
pub mod pool;
pub mod sequence;
pub mod wgsl_eval;

use crate::ops::{Activation, LossKind, OptimizerKind};

/// C[m, n] = op(A)[m, k] · op(B)[k, n], row-major, with the same transpose convention as
/// shaders/matmul.wgsl. Each C[i, j] is Σ_k A[i, k]·B[k, j] summed in k order; the operands
/// are first laid out as rows of k values so that the sum walks contiguous memory (the
/// gradient check runs whole models through this thousands of times).
pub fn matmul(
    a: &[f64],
    b: &[f64],
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
) -> Vec<f64> {
    // op(A) as m rows of k, op(B)ᵀ as n rows of k.
    let rows_a: std::borrow::Cow<[f64]> = if trans_a {
        let mut t = vec![0.0; m * k];
        for kk in 0..k {
            for i in 0..m {
                t[i * k + kk] = a[kk * m + i];
            }
        }
        t.into()
    } else {
        a[..m * k].into()
    };
    let rows_b: std::borrow::Cow<[f64]> = if trans_b {
        b[..n * k].into()
    } else {
        let mut t = vec![0.0; n * k];
        for kk in 0..k {
            for j in 0..n {
                t[j * k + kk] = b[kk * n + j];
            }
        }
        t.into()
    };
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        let ra = &rows_a[i * k..(i + 1) * k];
        for j in 0..n {
            let rb = &rows_b[j * k..(j + 1) * k];
            let mut s = 0.0;
            for kk in 0..k {
                s += ra[kk] * rb[kk];
            }
            c[i * n + j] = s;
        }
    }
    c
}

/// Y[batch, out] = X · Wᵀ + b with W stored [out, in].
pub fn linear_forward(
    x: &[f64],
    w: &[f64],
    b: &[f64],
    batch: usize,
    inp: usize,
    out: usize,
) -> Vec<f64> {
    let mut y = matmul(x, w, batch, out, inp, false, true);
    for r in 0..batch {
        for o in 0..out {
            y[r * out + o] += b[o];
        }
    }
    y
}

/// Gradients of a linear layer: (dX = dY·W, dW = dYᵀ·X, db = Σ_batch dY).
pub fn linear_backward(
    x: &[f64],
    w: &[f64],
    dy: &[f64],
    batch: usize,
    inp: usize,
    out: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let dx = matmul(dy, w, batch, inp, out, false, false);
    let dw = matmul(dy, x, out, inp, batch, true, false);
    let mut db = vec![0.0; out];
    for r in 0..batch {
        for o in 0..out {
            db[o] += dy[r * out + o];
        }
    }
    (dx, dw, db)
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// act(x) for one element.
pub fn act_forward(kind: Activation, slope: f64, x: f64) -> f64 {
    use std::f64::consts::{FRAC_1_SQRT_2, PI};
    match kind {
        Activation::Identity => x,
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu => {
            if x > 0.0 {
                x
            } else {
                slope * x
            }
        }
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => sigmoid(x),
        Activation::Gelu => 0.5 * x * (1.0 + libm::erf(x * FRAC_1_SQRT_2)),
        Activation::GeluTanh => {
            let u = (2.0 / PI).sqrt() * (x + 0.044715 * x * x * x);
            0.5 * x * (1.0 + u.tanh())
        }
        Activation::User(id) => crate::kernels::user::get(id).forward_f64(x),
    }
}

/// act'(x) for one element; relu'(0) = 0 as in PyTorch.
pub fn act_derivative(kind: Activation, slope: f64, x: f64) -> f64 {
    use std::f64::consts::{FRAC_1_SQRT_2, PI};
    match kind {
        Activation::Identity => 1.0,
        Activation::Relu => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::LeakyRelu => {
            if x > 0.0 {
                1.0
            } else {
                slope
            }
        }
        Activation::Tanh => 1.0 - x.tanh().powi(2),
        Activation::Sigmoid => sigmoid(x) * (1.0 - sigmoid(x)),
        Activation::Gelu => {
            0.5 * (1.0 + libm::erf(x * FRAC_1_SQRT_2))
                + x * (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
        }
        Activation::GeluTanh => {
            let c = (2.0 / PI).sqrt();
            let u = c * (x + 0.044715 * x * x * x);
            let t = u.tanh();
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * x * x)
        }
        Activation::User(id) => crate::kernels::user::get(id).backward_f64(x, 1.0),
    }
}

/// What a loss evaluation gives: the mean loss, its gradient w.r.t. the logits, the number of
/// correct predictions and the total example weight (the denominator of the mean).
#[derive(Clone, Debug)]
pub struct LossOutput {
    pub loss: f64,
    pub grad: Vec<f64>,
    pub correct: usize,
    pub total_weight: f64,
}

/// Loss parameters beyond the kind.
#[derive(Clone, Debug, Default)]
pub struct LossOptions {
    pub class_weights: Option<Vec<f64>>,
    /// Binary cross-entropy's weight of the positive term (PyTorch's `pos_weight`).
    pub pos_weight: Option<f64>,
    pub gamma: f64,
    pub alpha: f64,
}

/// The loss of a batch of `logits` [batch, width] against `targets` (see shaders/loss.wgsl for
/// the target layouts).
pub fn loss(
    kind: LossKind,
    logits: &[f64],
    targets: &[f64],
    batch: usize,
    width: usize,
    opt: &LossOptions,
) -> LossOutput {
    let mut grad = vec![0.0; logits.len()];
    let mut correct = 0;
    match kind {
        LossKind::User(id) => {
            let u = crate::kernels::user_loss::get(id);
            let mut total = 0.0;
            for i in 0..batch {
                let row = &logits[i * width..(i + 1) * width];
                let t = if u.classes() {
                    &targets[i..i + 1]
                } else {
                    &targets[i * width..(i + 1) * width]
                };
                let (l, g) = u.example_f64(row, t);
                total += l;
                for (j, gj) in g.iter().enumerate() {
                    grad[i * width + j] = gj / batch as f64;
                }
                if u.classes() {
                    let right = if width == 1 {
                        (row[0] > 0.0) == (t[0] > 0.5)
                    } else {
                        let arg = (0..width).fold(0, |a, j| if row[j] > row[a] { j } else { a });
                        arg == t[0].max(0.0) as usize
                    };
                    correct += right as usize;
                }
            }
            LossOutput {
                loss: total / batch as f64,
                grad,
                correct,
                total_weight: batch as f64,
            }
        }
        LossKind::BinaryCrossEntropy => {
            let mut total = 0.0;
            // −[p·y·log σ(z) + (1−y)·log(1−σ(z))], log σ(z) = −softplus(−z), mean over the batch
            // whatever p (as PyTorch's BCEWithLogitsLoss).
            let softplus = |x: f64| x.max(0.0) + (1.0 + (-x.abs()).exp()).ln();
            let pw = opt.pos_weight.unwrap_or(1.0);
            for i in 0..batch {
                let z = logits[i];
                let y = targets[i];
                total += pw * y * softplus(-z) + (1.0 - y) * softplus(z);
                grad[i] = (sigmoid(z) * (pw * y + 1.0 - y) - pw * y) / batch as f64;
                if (z > 0.0) == (y > 0.5) {
                    correct += 1;
                }
            }
            LossOutput {
                loss: total / batch as f64,
                grad,
                correct,
                total_weight: batch as f64,
            }
        }
        LossKind::Mse => {
            let denom = (batch * width) as f64;
            let mut total = 0.0;
            for i in 0..batch * width {
                let d = logits[i] - targets[i];
                total += d * d;
                grad[i] = 2.0 * d / denom;
            }
            LossOutput {
                loss: total / denom,
                grad,
                correct: 0,
                total_weight: batch as f64,
            }
        }
        LossKind::SoftmaxCrossEntropy | LossKind::Focal => {
            let class = |i: usize| (targets[i].max(0.0) as usize).min(width - 1);
            // A negative target is a position that is not scored (PyTorch's ignore_index).
            let weight = |i: usize| {
                if targets[i] < 0.0 {
                    0.0
                } else {
                    opt.class_weights.as_ref().map_or(1.0, |w| w[class(i)])
                }
            };
            let total_weight: f64 = (0..batch).map(weight).sum();
            let mut total = 0.0;
            for i in 0..batch {
                let row = &logits[i * width..(i + 1) * width];
                let t = class(i);
                let (mut arg, mut m) = (0, row[0]);
                for (j, &z) in row.iter().enumerate().skip(1) {
                    if z > m {
                        m = z;
                        arg = j;
                    }
                }
                if arg == t && targets[i] >= 0.0 {
                    correct += 1;
                }
                let lse = m + row.iter().map(|z| (z - m).exp()).sum::<f64>().ln();
                let logp_t = row[t] - lse;
                let wt = weight(i);
                let g = &mut grad[i * width..(i + 1) * width];
                if kind == LossKind::Focal {
                    let p_t = logp_t.exp();
                    let q = (1.0 - p_t).max(0.0);
                    let (q_gamma, slope) = if q > 0.0 {
                        (
                            q.powf(opt.gamma),
                            opt.gamma * q.powf(opt.gamma - 1.0) * p_t * logp_t,
                        )
                    } else {
                        (if opt.gamma == 0.0 { 1.0 } else { 0.0 }, 0.0)
                    };
                    total += -opt.alpha * q_gamma * logp_t * wt;
                    let coef = opt.alpha * (slope - q_gamma) * wt / total_weight;
                    for j in 0..width {
                        let pj = (row[j] - lse).exp();
                        let delta = if j == t { 1.0 } else { 0.0 };
                        g[j] = coef * (delta - pj);
                    }
                } else {
                    total += -logp_t * wt;
                    for j in 0..width {
                        let pj = (row[j] - lse).exp();
                        let delta = if j == t { 1.0 } else { 0.0 };
                        g[j] = (pj - delta) * wt / total_weight;
                    }
                }
            }
            LossOutput {
                loss: total / total_weight,
                grad,
                correct,
                total_weight,
            }
        }
    }
}

/// Batch norm forward in training mode; also returns what backward needs and the unbiased
/// batch variance used for the running statistics.
#[derive(Clone, Debug)]
pub struct BatchNormForward {
    pub y: Vec<f64>,
    pub mean: Vec<f64>,
    pub invstd: Vec<f64>,
    pub var_unbiased: Vec<f64>,
}

/// The flat indices of feature `f`'s values in a batch laid out [batch, features, spatial]
/// (spatial = 1 for vectors, pixels per channel for NCHW images).
fn feature_indices(
    batch: usize,
    features: usize,
    spatial: usize,
    f: usize,
) -> impl Iterator<Item = usize> + Clone {
    (0..batch).flat_map(move |b| (0..spatial).map(move |s| (b * features + f) * spatial + s))
}

/// Batch norm over the batch (and, for images, the pixels of each channel): the statistics
/// of feature `f` are taken over every value of it in the batch, as `nn.BatchNorm1d` and
/// `nn.BatchNorm2d` do.
pub fn batchnorm_train(
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    (batch, features, spatial): (usize, usize, usize),
    eps: f64,
) -> BatchNormForward {
    let mut out = BatchNormForward {
        y: vec![0.0; x.len()],
        mean: vec![0.0; features],
        invstd: vec![0.0; features],
        var_unbiased: vec![0.0; features],
    };
    let count = batch * spatial;
    let nb = count as f64;
    for f in 0..features {
        let idx = feature_indices(batch, features, spatial, f);
        let mean = idx.clone().map(|i| x[i]).sum::<f64>() / nb;
        let ss: f64 = idx.clone().map(|i| (x[i] - mean).powi(2)).sum();
        let invstd = 1.0 / (ss / nb + eps).sqrt();
        for i in idx {
            out.y[i] = gamma[f] * (x[i] - mean) * invstd + beta[f];
        }
        out.mean[f] = mean;
        out.invstd[f] = invstd;
        out.var_unbiased[f] = if count > 1 { ss / (nb - 1.0) } else { ss / nb };
    }
    out
}

/// Batch norm in evaluation mode, from running statistics.
pub fn batchnorm_eval(
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
    running_mean: &[f64],
    running_var: &[f64],
    (features, spatial): (usize, usize),
    eps: f64,
) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = (i / spatial) % features;
            gamma[f] * (v - running_mean[f]) / (running_var[f] + eps).sqrt() + beta[f]
        })
        .collect()
}

/// Batch norm backward in training mode: (dx, dγ, dβ).
pub fn batchnorm_backward(
    x: &[f64],
    gamma: &[f64],
    fwd: &BatchNormForward,
    dy: &[f64],
    (batch, features, spatial): (usize, usize, usize),
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dx = vec![0.0; x.len()];
    let mut dgamma = vec![0.0; features];
    let mut dbeta = vec![0.0; features];
    let nb = (batch * spatial) as f64;
    for f in 0..features {
        let idx = feature_indices(batch, features, spatial, f);
        let xh = |i: usize| (x[i] - fwd.mean[f]) * fwd.invstd[f];
        let sdy: f64 = idx.clone().map(|i| dy[i]).sum();
        let sdyx: f64 = idx.clone().map(|i| dy[i] * xh(i)).sum();
        dbeta[f] = sdy;
        dgamma[f] = sdyx;
        let k = gamma[f] * fwd.invstd[f] / nb;
        for i in idx {
            dx[i] = k * (nb * dy[i] - sdy - xh(i) * sdyx);
        }
    }
    (dx, dgamma, dbeta)
}

/// The dropout mask's scale per element (0 or 1/(1 − rate)), from the same counter-based
/// generator as the shader, compared in f32 as the shader compares.
pub fn dropout_scale(rate: f32, seed: u32, step: u32, layer: u32, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            if rate <= 0.0 {
                1.0
            } else if crate::rng::counter_uniform(seed, step, layer, i as u32) >= rate {
                1.0 / (1.0 - rate as f64)
            } else {
                0.0
            }
        })
        .collect()
}

/// Optimizer hyperparameters, as in shaders/optimizer.wgsl.
#[derive(Clone, Debug)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    pub momentum: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub l2: f64,
    pub weight_decay: f64,
    pub clip_value: f64,
}

/// One optimizer step on one tensor: `lr` is this step's learning rate, `t` the 1-based step
/// count, `clip_coef` the global-norm clipping factor (already min(·, 1)).
#[allow(clippy::too_many_arguments)]
pub fn optimizer_step(
    cfg: &OptimizerConfig,
    lr: f64,
    t: u32,
    clip_coef: f64,
    w: &mut [f64],
    g: &[f64],
    m: &mut [f64],
    v: &mut [f64],
) {
    let bc1 = 1.0 - cfg.beta1.powi(t as i32);
    let bc2 = 1.0 - cfg.beta2.powi(t as i32);
    for i in 0..w.len() {
        let mut grad = g[i] * clip_coef;
        if cfg.clip_value > 0.0 {
            grad = grad.clamp(-cfg.clip_value, cfg.clip_value);
        }
        let w_old = w[i];
        grad += cfg.l2 * w_old;
        let mut wn = w_old * (1.0 - lr * cfg.weight_decay);
        match cfg.kind {
            OptimizerKind::Sgd => wn -= lr * grad,
            OptimizerKind::Momentum => {
                m[i] = cfg.momentum * m[i] + grad;
                wn -= lr * m[i];
            }
            OptimizerKind::Nesterov => {
                m[i] = cfg.momentum * m[i] + grad;
                wn -= lr * (grad + cfg.momentum * m[i]);
            }
            OptimizerKind::Adam | OptimizerKind::Adamw => {
                m[i] = cfg.beta1 * m[i] + (1.0 - cfg.beta1) * grad;
                v[i] = cfg.beta2 * v[i] + (1.0 - cfg.beta2) * grad * grad;
                let denom = v[i].sqrt() / bc2.sqrt() + cfg.eps;
                wn -= (lr / bc1) * m[i] / denom;
            }
        }
        w[i] = wn;
    }
}

/// The global-norm clipping factor min(max_norm / (‖g‖ + 1e-6), 1), as PyTorch computes it.
pub fn clip_coefficient(total_norm: f64, max_norm: f64) -> f64 {
    if max_norm <= 0.0 {
        return 1.0;
    }
    (max_norm / (total_norm + 1e-6)).min(1.0)
}

/// What shaders/reduce.wgsl computes, over finite values (non-finite ones are counted).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReduceStats {
    pub sum: f64,
    pub sumsq: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub std: f64,
    pub nonfinite: f64,
    pub count: f64,
}

impl ReduceStats {
    /// Reads the 8 floats a `reduce` dispatch wrote.
    pub fn from_slot(s: &[f32]) -> Self {
        ReduceStats {
            sum: s[0] as f64,
            sumsq: s[1] as f64,
            min: s[2] as f64,
            max: s[3] as f64,
            mean: s[4] as f64,
            std: s[5] as f64,
            nonfinite: s[6] as f64,
            count: s[7] as f64,
        }
    }

    pub fn norm(&self) -> f64 {
        self.sumsq.sqrt()
    }
}

pub fn reduce(x: &[f64]) -> ReduceStats {
    let finite: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len() as f64;
    let sum: f64 = finite.iter().sum();
    let mean = if n > 0.0 { sum / n } else { 0.0 };
    let var = if n > 0.0 {
        finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
    } else {
        0.0
    };
    ReduceStats {
        sum,
        sumsq: finite.iter().map(|v| v * v).sum(),
        min: if n > 0.0 {
            finite.iter().copied().fold(f64::INFINITY, f64::min)
        } else {
            0.0
        },
        max: if n > 0.0 {
            finite.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        } else {
            0.0
        },
        mean,
        std: var.sqrt(),
        nonfinite: (x.len() - finite.len()) as f64,
        count: n,
    }
}

#[cfg(test)]
mod tests;
