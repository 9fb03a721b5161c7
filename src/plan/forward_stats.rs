//! The activations' statistics, reduced during the forward pass a few tensors at a time, right
//! after the kernels that write them. Stage 1 then reads each activation while it is still in
//! the caches; reduced after backward with the other statistics, as they once were, every
//! activation had long been evicted and was read back from memory, which on a CPU adapter is
//! most of what a transformer's statistics cost. The kernels, grain and folding order are
//! [`reduce_all`](super::reduction::reduce_all)'s, so the numbers are the same bit for bit.
//! Where the writing kernel can fold what it writes in the same order (the vec4 activations
//! and additions, shaders/slices_folded.wgsl), it does, and the tensor is not read again.

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, Tensor, TensorUsage};
use crate::graph::TensorId;
use crate::kernels::{reduce_lanes, ReduceCombineJob, REDUCE_INPUTS, REDUCE_WIDTH};

use super::reduction::{combine_partials, partial_records, partials_into};

/// Values of the activations waiting to be reduced beyond which they are reduced at once:
/// 1 Mi values (4 MiB) stay within the last-level cache of CPUs and GPUs alike while the next
/// writers run, and still let one stage-1 dispatch serve several small tensors.
const PENDING_VALUES: usize = 1 << 20;

/// Stage 1 of the activations' reductions, queued as their writers are compiled.
pub struct ActivationReductions {
    scratch: Tensor,
    grain: usize,
    /// The next free partial record of `scratch`.
    record: usize,
    /// Written activations not yet reduced, with where their statistics go.
    pending: Vec<(TensorId, usize)>,
    /// Activations whose writers fold their statistics (no stage-1 dispatch).
    folded: Vec<TensorId>,
    combine: Vec<ReduceCombineJob>,
}

impl ActivationReductions {
    /// The reductions of `outs` (a tensor of `acts` and where its statistics go), whose
    /// partial records one scratch buffer holds.
    pub fn new(gpu: &Gpu, acts: &[Tensor], outs: &[(TensorId, usize)]) -> Result<Self> {
        let grain = gpu.reduce_values_per_lane();
        let jobs: Vec<(&Tensor, usize)> = outs.iter().map(|&(t, out)| (&acts[t], out)).collect();
        let records = partial_records(&jobs, grain);
        Ok(ActivationReductions {
            scratch: gpu.tensor(
                "activations (partials)",
                records * REDUCE_WIDTH,
                TensorUsage::Storage,
            )?,
            grain,
            record: 0,
            pending: Vec::new(),
            folded: Vec::new(),
            combine: Vec::new(),
        })
    }

    /// The buffer of every activation's partial records.
    pub fn scratch(&self) -> &Tensor {
        &self.scratch
    }

    /// Where a kernel that folds `t`'s statistics as it writes `t` (for `out`) puts its partial
    /// records: its lanes, one record each, and the offset (floats) of the first in
    /// [`Self::scratch`]. `t` then gets no stage-1 dispatch.
    pub fn folded(&mut self, acts: &[Tensor], t: TensorId, out: usize) -> (u32, u32) {
        let lanes = reduce_lanes(acts[t].len, self.grain);
        let at = self.record * REDUCE_WIDTH;
        self.combine.push(ReduceCombineJob {
            records: lanes as u32,
            partial: at as u32,
            out: out as u32,
            _pad: 0,
        });
        self.record += lanes;
        self.folded.push(t);
        (lanes as u32, at as u32)
    }

    /// Queues `t`, just written, for its statistics at `out` (unless its writer folded them);
    /// returns the stage-1 dispatches when the queue is full (empty otherwise).
    pub fn written(
        &mut self,
        gpu: &Gpu,
        acts: &[Tensor],
        t: TensorId,
        out: usize,
    ) -> Result<Vec<Dispatch>> {
        if self.folded.contains(&t) {
            return Ok(Vec::new());
        }
        self.pending.push((t, out));
        let pending_values: usize = self.pending.iter().map(|&(p, _)| acts[p].len).sum();
        if self.pending.len() == REDUCE_INPUTS || pending_values >= PENDING_VALUES {
            self.flush(gpu, acts)
        } else {
            Ok(Vec::new())
        }
    }

    /// The stage-1 dispatches of every queued tensor.
    pub fn flush(&mut self, gpu: &Gpu, acts: &[Tensor]) -> Result<Vec<Dispatch>> {
        let jobs: Vec<(&Tensor, usize)> = self
            .pending
            .iter()
            .map(|&(t, out)| (&acts[t], out))
            .collect();
        let (dispatches, combine) =
            partials_into(gpu, &jobs, &self.scratch, self.record, self.grain)?;
        self.record += combine.iter().map(|j| j.records as usize).sum::<usize>();
        self.combine.extend(combine);
        self.pending.clear();
        Ok(dispatches)
    }

    /// The stage-1 dispatches of the tensors still queued and the stage-2 dispatch writing every
    /// activation's statistics to `stats`.
    pub fn finish(mut self, gpu: &Gpu, acts: &[Tensor], stats: &Tensor) -> Result<Vec<Dispatch>> {
        let mut dispatches = self.flush(gpu, acts)?;
        if !self.combine.is_empty() {
            dispatches.push(combine_partials(
                gpu,
                &self.combine,
                &self.scratch,
                stats,
                "activations",
            )?);
        }
        Ok(dispatches)
    }
}
