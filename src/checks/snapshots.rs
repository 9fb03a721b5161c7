//! What the observation run measures of a graph's structure at a few of its steps, on one
//! fixed probe batch in the training-mode forward pass: the entropy of every attention head's
//! weights (`attention_entropy`) and the size of the residual stream after every residual block
//! (`residual_growth`). Measured on the GPU (row entropies by `row_entropy`, norms by the
//! statistics reductions); the batch-norm running statistics the training-mode pass would move
//! are put back afterwards, so probing changes nothing of the run.

use serde::Serialize;

use crate::error::Result;
use crate::gpu::{Gpu, TensorUsage};
use crate::graph::{Graph, NodeId, Op, Shape, TensorId};
use crate::kernels::{RowParams, StepUniform, REDUCE_WIDTH, ROW_ENTROPY};
use crate::train::{BatchPlan, PlanMode, PlanOptions, Trainer};

/// Examples in the probe batch (fewer when the dataset is smaller).
pub const PROBE_EXAMPLES: usize = 64;

/// An attention layer's weights: the softmax node of `softmax(Q·Kᵀ)`.
#[derive(Clone, Debug, Serialize)]
pub struct AttentionSite {
    pub node: NodeId,
    /// The attention layer as a user reads it (`2.1`).
    pub layer: String,
    pub heads: usize,
    pub causal: bool,
}

/// A residual block: its addition's output, the stream after it.
#[derive(Clone, Debug, Serialize)]
pub struct ResidualSite {
    pub node: NodeId,
    pub layer: String,
    pub tensor: TensorId,
}

/// The attention layers of `g`: softmax nodes that read the product of two head tensors.
pub fn attention_sites(g: &Graph) -> Vec<AttentionSite> {
    g.nodes
        .iter()
        .filter_map(|n| {
            let Op::Softmax { causal, .. } = n.op else {
                return None;
            };
            let producer = g.tensors[n.input()].producer?;
            let Shape::Heads { heads, .. } = n.in_shape else {
                return None;
            };
            matches!(g.nodes[producer].op, Op::Matmul { .. }).then(|| AttentionSite {
                node: n.index,
                layer: n
                    .short_name()
                    .strip_suffix(".softmax")
                    .unwrap_or(n.short_name())
                    .to_string(),
                heads,
                causal,
            })
        })
        .collect()
}

/// The top-level residual blocks of `g` in order (a block's addition is the last node of its
/// layer), preceded by the stream that enters the first one: the first block's own input,
/// not its projection (`node` is the node writing it, or `usize::MAX` for the graph input).
/// Blocks nested inside blocks are part of their outer block's update.
pub fn residual_sites(g: &Graph) -> Vec<ResidualSite> {
    let blocks: Vec<&crate::graph::Node> = (0..g.layer_count)
        .filter_map(|layer| g.layer_output(layer))
        .filter(|n| matches!(n.op, Op::Add))
        .collect();
    let Some(first) = blocks.first() else {
        return Vec::new();
    };
    // The block's input: the first node of its layer reads it.
    let stream = g
        .layer_nodes(first.layer)
        .next()
        .map_or(first.inputs[0], |n| n.input());
    let entry = ResidualSite {
        node: g.tensors[stream].producer.unwrap_or(usize::MAX),
        layer: g.tensors[stream]
            .producer
            .map_or("input".to_string(), |p| g.nodes[p].short_name().to_string()),
        tensor: stream,
    };
    std::iter::once(entry)
        .chain(blocks.iter().map(|n| ResidualSite {
            node: n.index,
            layer: n.short_name().to_string(),
            tensor: n.output(),
        }))
        .collect()
}

/// The measurements of one snapshot.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    pub step: usize,
    /// Per attention site, per head: the mean over the batch's rows of the weights' entropy
    /// divided by its largest possible value (ln of the columns a row may attend to; rows that
    /// may attend to one column only are left out): 1 is uniform attention, 0 one-hot.
    pub attention: Vec<Vec<f64>>,
    /// Per residual site: the root mean square of the stream's values.
    pub residual_rms: Vec<f64>,
}

/// Measures a snapshot of `trainer`'s network at `step` (see the module doc).
pub fn snapshot(
    gpu: &Gpu,
    trainer: &Trainer,
    attention: &[AttentionSite],
    residual: &[ResidualSite],
    step: usize,
) -> Result<Snapshot> {
    if attention.is_empty() && residual.is_empty() {
        return Ok(Snapshot {
            step,
            ..Default::default()
        });
    }
    let g = &trainer.model;
    let batch = trainer.dataset.n.min(PROBE_EXAMPLES);
    let opts = PlanOptions::from_config(&trainer.config, crate::train::Instrumentation::Bare);
    let plan = BatchPlan::new(
        gpu,
        &trainer.net,
        &trainer.data,
        batch,
        PlanMode::TrainForward,
        &opts,
    )?;
    let mut extra = Vec::new();
    let mut entropies = Vec::new();
    for site in attention {
        let p = &plan.acts[g.nodes[site.node].output()];
        let width = g.nodes[site.node].in_shape.last();
        let rows = p.len / width.max(1);
        let out = gpu.tensor("probe.entropy", rows, TensorUsage::Storage)?;
        let u = gpu.uniform("row_entropy", &RowParams::new(rows, width))?;
        extra.push(gpu.dispatch(
            &ROW_ENTROPY,
            &[],
            &[&u, &p.buffer, &out.buffer],
            gpu.groups_1d(&ROW_ENTROPY, rows),
        )?);
        entropies.push((out, rows, width));
    }
    let stats = gpu.tensor(
        "probe.residual",
        residual.len().max(1) * REDUCE_WIDTH,
        TensorUsage::Storage,
    )?;
    let jobs: Vec<(&crate::gpu::Tensor, usize)> = residual
        .iter()
        .enumerate()
        .map(|(k, s)| (&plan.acts[s.tensor], k * REDUCE_WIDTH))
        .collect();
    extra.extend(crate::train::reduction::reduce_all(gpu, &jobs, &stats)?);
    // The training-mode pass moves batch norm's running statistics: keep them.
    let state = trainer.net.download(gpu)?.state;
    let idx: Vec<u32> = (0..batch as u32).collect();
    let uniform = StepUniform {
        seed: trainer.config.seed as u32,
        step: step as u32,
        ..Default::default()
    };
    plan.run_with(gpu, &trainer.net, &idx, &uniform, &extra)?;
    for (t, s) in trainer.net.state.iter().zip(&state) {
        gpu.write(&t.buffer, &s.data);
    }
    let mut snapshot = Snapshot {
        step,
        ..Default::default()
    };
    for (site, (out, rows, width)) in attention.iter().zip(entropies) {
        let h: Vec<f32> = gpu.read(&out)?;
        let seq = g.nodes[site.node].in_shape.rows() / site.heads.max(1);
        let mut sums = vec![(0.0f64, 0usize); site.heads];
        for (r, &e) in h.iter().enumerate().take(rows) {
            let t = r % seq.max(1);
            let columns = if site.causal {
                (t + 1).min(width)
            } else {
                width
            };
            if columns < 2 {
                continue;
            }
            let head = (r / seq.max(1)) % site.heads;
            sums[head].0 += e as f64 / (columns as f64).ln();
            sums[head].1 += 1;
        }
        snapshot.attention.push(
            sums.iter()
                .map(|&(s, n)| if n > 0 { s / n as f64 } else { 1.0 })
                .collect(),
        );
    }
    let s: Vec<f32> = gpu.read(&stats)?;
    for k in 0..residual.len() {
        let slot = &s[k * REDUCE_WIDTH..(k + 1) * REDUCE_WIDTH];
        let (sumsq, count) = (slot[1] as f64, slot[7] as f64);
        snapshot.residual_rms.push((sumsq / count.max(1.0)).sqrt());
    }
    Ok(snapshot)
}
