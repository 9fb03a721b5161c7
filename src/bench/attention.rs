//! The kernels a transformer step adds, on the benchmark transformer's shape (batch × context
//! tokens, heads of width/heads, causal): the batched products of attention, Q·Kᵀ and P·V,
//! against the FMA probe and the roofline; softmax and layer norm, forward and backward,
//! memory-bound, by bytes read + written against the copy probe. Each dispatch is built the
//! way the plan builds it for training (`plan::matmul_batched`, `plan::rows`, the same
//! parameters).

use serde::Serialize;

use super::timing::seconds_per_launch;
use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, TensorUsage};
use crate::kernels::{LayerNormParams, SoftmaxParams};
use crate::plan::rows::{
    layer_norm_backward, layer_norm_forward, softmax_backward, softmax_forward,
};
use crate::rng::SplitMix64;

/// Attention's kernels at one shape. Matmul FLOP count the whole product (2 per multiply-add;
/// the causal mask is applied by the softmax, not skipped by the product). Bytes are those a
/// kernel reads and writes once each: softmax forward reads the unmasked scores and writes
/// every probability, backward reads y and dy where unmasked and writes every dx; layer norm
/// forward reads x, γ, β and writes y, mean, invstd, backward reads x, γ, mean, invstd, dy and
/// writes dx and dy·x̂ (the column sums into dγ, dβ are separate kernels, not counted here).
#[derive(Clone, Debug, Serialize)]
pub struct AttentionFigure {
    /// `batch 32 × context 64, 4 heads × 16, causal`.
    pub shape: String,
    pub batch: usize,
    pub context: usize,
    pub heads: usize,
    pub head_dim: usize,
    /// Q·Kᵀ: batch·heads products of [context × head_dim]·[head_dim × context].
    pub scores_microseconds: f64,
    pub scores_gflops: f64,
    pub scores_fraction_of_fma: f64,
    /// P·V: batch·heads products of [context × context]·[context × head_dim].
    pub values_microseconds: f64,
    pub values_gflops: f64,
    pub values_fraction_of_fma: f64,
    /// min(FMA, arithmetic intensity × copy) of either product (both move the same bytes for
    /// the same FLOP), and each product's fraction of it.
    pub matmul_roofline_gflops: f64,
    pub scores_fraction_of_roofline: f64,
    pub values_fraction_of_roofline: f64,
    /// Causal softmax over batch·heads·context rows of context scores.
    pub softmax_forward_microseconds: f64,
    pub softmax_forward_gbytes_per_second: f64,
    pub softmax_forward_fraction_of_copy: f64,
    pub softmax_backward_microseconds: f64,
    pub softmax_backward_gbytes_per_second: f64,
    pub softmax_backward_fraction_of_copy: f64,
    /// Layer norm (affine) over batch·context rows of the model width.
    pub layer_norm_forward_microseconds: f64,
    pub layer_norm_forward_gbytes_per_second: f64,
    pub layer_norm_forward_fraction_of_copy: f64,
    pub layer_norm_backward_microseconds: f64,
    pub layer_norm_backward_gbytes_per_second: f64,
    pub layer_norm_backward_fraction_of_copy: f64,
}

/// The six kernels at `batch` × `context` tokens, `heads` heads over `width`, each timed alone
/// (best of `reps`), read against the probes' `(fma, copy)`.
pub(super) fn attention_figure(
    gpu: &Gpu,
    (batch, context, heads, width): (usize, usize, usize, usize),
    (fma, copy): (f64, f64),
    reps: usize,
) -> Result<AttentionFigure> {
    let head_dim = width / heads;
    let count = batch * heads;
    let mut rng = SplitMix64::new((batch * context * width) as u64);
    let mut values =
        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform_in(-1.0, 1.0) as f32).collect() };
    let time = |d: &Dispatch| seconds_per_launch(gpu, std::slice::from_ref(d), reps);

    // The batched products, as the plan dispatches an attention layer's forward.
    let heads_len = count * context * head_dim;
    let scores_len = count * context * context;
    let q = gpu.tensor_from("bench.attention.q", &values(heads_len))?;
    let k = gpu.tensor_from("bench.attention.k", &values(heads_len))?;
    let v = gpu.tensor_from("bench.attention.v", &values(heads_len))?;
    let p = gpu.tensor_from("bench.attention.p", &values(scores_len))?;
    let s = gpu.tensor("bench.attention.s", scores_len, TensorUsage::Storage)?;
    let o = gpu.tensor("bench.attention.o", heads_len, TensorUsage::Storage)?;
    let scores = crate::plan::matmul_batched(
        gpu,
        count,
        (context, context, head_dim),
        (false, true),
        [&q.buffer, &k.buffer, &s.buffer],
    )?;
    let weighted = crate::plan::matmul_batched(
        gpu,
        count,
        (context, head_dim, context),
        (false, false),
        [&p.buffer, &v.buffer, &o.buffer],
    )?;
    let flops = 2.0 * (count * context * context * head_dim) as f64;
    // Each product moves its two factors and its result once.
    let bytes = 4.0 * (count * (2 * context * head_dim + context * context)) as f64;
    let roofline = fma.min(flops / bytes * copy);
    let (ts, tv) = (time(&scores)?, time(&weighted)?);
    let (sg, vg) = (flops / ts / 1e9, flops / tv / 1e9);

    // Softmax over the scores, causal with 1/√head_dim, as the plan parameterizes it.
    let rows = count * context;
    let params = SoftmaxParams::new(rows, context, 1.0 / (head_dim as f64).sqrt(), true, context);
    let u = gpu.uniform("bench.softmax", &params)?;
    let dy = gpu.tensor_from("bench.softmax.dy", &values(scores_len))?;
    let y = gpu.tensor("bench.softmax.y", scores_len, TensorUsage::Storage)?;
    let dx = gpu.tensor("bench.softmax.dx", scores_len, TensorUsage::Storage)?;
    let sf = softmax_forward(gpu, &u, [&p.buffer, &y.buffer], rows)?;
    let sb = softmax_backward(gpu, &u, [&y.buffer, &dy.buffer, &dx.buffer], rows)?;
    // Unmasked scores: row t of each context block has t + 1.
    let unmasked = (count * context * (context + 1) / 2) as f64;
    let tsf = time(&sf)?;
    let tsb = time(&sb)?;
    let sf_rate = 4.0 * (unmasked + scores_len as f64) / tsf / 1e9;
    let sb_rate = 4.0 * (2.0 * unmasked + scores_len as f64) / tsb / 1e9;

    // Layer norm over the residual stream, affine, eps as the model's default.
    let rows = batch * context;
    let n = rows * width;
    let u = gpu.uniform(
        "bench.layer_norm",
        &LayerNormParams::new(rows, width, 1e-5, true),
    )?;
    let x = gpu.tensor_from("bench.layer_norm.x", &values(n))?;
    let gamma = gpu.tensor_from("bench.layer_norm.gamma", &values(width))?;
    let beta = gpu.tensor_from("bench.layer_norm.beta", &values(width))?;
    let dy = gpu.tensor_from("bench.layer_norm.dy", &values(n))?;
    let y = gpu.tensor("bench.layer_norm.y", n, TensorUsage::Storage)?;
    let mean = gpu.tensor("bench.layer_norm.mean", rows, TensorUsage::Storage)?;
    let invstd = gpu.tensor("bench.layer_norm.invstd", rows, TensorUsage::Storage)?;
    let dx = gpu.tensor("bench.layer_norm.dx", n, TensorUsage::Storage)?;
    let dyxhat = gpu.tensor("bench.layer_norm.dy_xhat", n, TensorUsage::Storage)?;
    let lf = layer_norm_forward(
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
    )?;
    let lb = layer_norm_backward(
        gpu,
        &u,
        [
            &x.buffer,
            &gamma.buffer,
            &mean.buffer,
            &invstd.buffer,
            &dy.buffer,
            &dx.buffer,
            &dyxhat.buffer,
        ],
        rows,
    )?;
    // The forward first, so that the backward reads the mean and invstd it saved.
    let tlf = time(&lf)?;
    let tlb = time(&lb)?;
    let lf_rate = 4.0 * (2 * n + 2 * width + 2 * rows) as f64 / tlf / 1e9;
    let lb_rate = 4.0 * (4 * n + width + 2 * rows) as f64 / tlb / 1e9;

    Ok(AttentionFigure {
        shape: format!("batch {batch} × context {context}, {heads} heads × {head_dim}, causal"),
        batch,
        context,
        heads,
        head_dim,
        scores_microseconds: ts * 1e6,
        scores_gflops: sg,
        scores_fraction_of_fma: sg / fma,
        values_microseconds: tv * 1e6,
        values_gflops: vg,
        values_fraction_of_fma: vg / fma,
        matmul_roofline_gflops: roofline,
        scores_fraction_of_roofline: sg / roofline,
        values_fraction_of_roofline: vg / roofline,
        softmax_forward_microseconds: tsf * 1e6,
        softmax_forward_gbytes_per_second: sf_rate,
        softmax_forward_fraction_of_copy: sf_rate / copy,
        softmax_backward_microseconds: tsb * 1e6,
        softmax_backward_gbytes_per_second: sb_rate,
        softmax_backward_fraction_of_copy: sb_rate / copy,
        layer_norm_forward_microseconds: tlf * 1e6,
        layer_norm_forward_gbytes_per_second: lf_rate,
        layer_norm_forward_fraction_of_copy: lf_rate / copy,
        layer_norm_backward_microseconds: tlb * 1e6,
        layer_norm_backward_gbytes_per_second: lb_rate,
        layer_norm_backward_fraction_of_copy: lb_rate / copy,
    })
}
