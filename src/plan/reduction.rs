//! Statistics of tensors reduced on the GPU in two stages: many lanes fold strided slices into
//! partial records (no barriers), then one workgroup per tensor combines them in a fixed order,
//! so results are deterministic and large tensors use the whole GPU (or every CPU core).
//!
//! Every tensor of a set is reduced by the same few dispatches (one stage-1 dispatch per
//! [`REDUCE_INPUTS`] tensors, one stage-2 dispatch for all): on a GPU each dispatch costs
//! microseconds whatever its size, and a training step reduces two dozen mostly small tensors.

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, Tensor, TensorUsage};
use crate::kernels::{
    reduce_lanes, ReduceCombineJob, ReducePartialJob, ReducePartialParams, REDUCE_COMBINE,
    REDUCE_INPUTS, REDUCE_PARTIAL, REDUCE_WIDTH,
};

/// The dispatches writing the statistics of `x` to `stats[out .. out + 8]` (layout in
/// shaders/reduce_combine.wgsl).
pub fn reduce(gpu: &Gpu, x: &Tensor, stats: &Tensor, out: usize) -> Result<Vec<Dispatch>> {
    reduce_all(gpu, &[(x, out)], stats)
}

/// The dispatches writing the statistics of each `(x, out)` to `stats[out .. out + 8]`, with
/// their own scratch buffer. Labeled `reduce` and the tensors' names, for profiles.
pub fn reduce_all(gpu: &Gpu, jobs: &[(&Tensor, usize)], stats: &Tensor) -> Result<Vec<Dispatch>> {
    reduce_all_at_grain(gpu, jobs, stats, gpu.reduce_values_per_lane())
}

/// [`reduce_all`] with each stage-1 lane folding at least `values_per_lane` values, for tests
/// of the grain another kind of adapter uses.
pub fn reduce_all_at_grain(
    gpu: &Gpu,
    jobs: &[(&Tensor, usize)],
    stats: &Tensor,
    values_per_lane: usize,
) -> Result<Vec<Dispatch>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = jobs.iter().map(|(x, _)| x.name.as_str()).collect();
    let scratch = gpu.tensor(
        &format!("{} (partials)", names.join(", ")),
        partial_records(jobs, values_per_lane) * REDUCE_WIDTH,
        TensorUsage::Storage,
    )?;
    let (mut dispatches, combine) = partials_into(gpu, jobs, &scratch, 0, values_per_lane)?;
    dispatches.push(combine_partials(
        gpu,
        &combine,
        &scratch,
        stats,
        &names.join(", "),
    )?);
    Ok(dispatches)
}

/// The partial records the reductions of `jobs` write, at `values_per_lane`.
pub fn partial_records(jobs: &[(&Tensor, usize)], values_per_lane: usize) -> usize {
    jobs.iter()
        .map(|(x, _)| reduce_lanes(x.len, values_per_lane))
        .sum()
}

/// Stage 1 of the reductions of `jobs`: the dispatches writing their partial records into
/// `scratch` from record `first` on, each lane folding at least `values_per_lane` values, and
/// the stage-2 jobs that turn them into each tensor's statistics at its `out` (for
/// [`combine_partials`], alone or with other jobs').
pub fn partials_into(
    gpu: &Gpu,
    jobs: &[(&Tensor, usize)],
    scratch: &Tensor,
    first: usize,
    values_per_lane: usize,
) -> Result<(Vec<Dispatch>, Vec<ReduceCombineJob>)> {
    let lanes: Vec<usize> = jobs
        .iter()
        .map(|(x, _)| reduce_lanes(x.len, values_per_lane))
        .collect();
    let wg = REDUCE_PARTIAL.workgroup[0] as usize;
    let mut dispatches = Vec::new();
    let mut combine = Vec::with_capacity(jobs.len());
    let mut record = first;
    for (group, group_lanes) in jobs.chunks(REDUCE_INPUTS).zip(lanes.chunks(REDUCE_INPUTS)) {
        let mut params = ReducePartialParams {
            jobs: group.len() as u32,
            ..Default::default()
        };
        let mut groups = 0;
        for (k, (&(x, out), &l)) in group.iter().zip(group_lanes).enumerate() {
            params.job[k] = ReducePartialJob {
                n: x.len as u32,
                lanes: l as u32,
                first_group: groups as u32,
                partial: (record * REDUCE_WIDTH) as u32,
            };
            combine.push(ReduceCombineJob {
                records: l as u32,
                partial: (record * REDUCE_WIDTH) as u32,
                out: out as u32,
                _pad: 0,
            });
            groups += l / wg;
            record += l;
        }
        let u = gpu.uniform("reduce_partial", &params)?;
        // Unused inputs are bound to the first tensor; no job reads them.
        let inputs: Vec<&wgpu::Buffer> = (0..REDUCE_INPUTS)
            .map(|k| &group.get(k).unwrap_or(&group[0]).0.buffer)
            .collect();
        let mut buffers = vec![&u];
        buffers.extend(inputs);
        buffers.push(&scratch.buffer);
        let label = group
            .iter()
            .map(|(x, _)| x.name.as_str())
            .collect::<Vec<_>>();
        dispatches.push(
            gpu.dispatch(&REDUCE_PARTIAL, &[], &buffers, [groups as u32, 1, 1])?
                .labeled(format!("reduce {}", label.join(", "))),
        );
    }
    Ok((dispatches, combine))
}

/// The stage-2 dispatch turning each job's partial records in `partials` into its 8
/// statistics in `stats`; labeled `reduce` and `what`, for profiles.
pub fn combine_partials(
    gpu: &Gpu,
    jobs: &[ReduceCombineJob],
    partials: &Tensor,
    stats: &Tensor,
    what: &str,
) -> Result<Dispatch> {
    let table = gpu.tensor_from::<u32>("reduce_combine jobs", bytemuck::cast_slice(jobs))?;
    Ok(gpu
        .dispatch(
            &REDUCE_COMBINE,
            &[],
            &[&table.buffer, &partials.buffer, &stats.buffer],
            [jobs.len() as u32, 1, 1],
        )?
        .labeled(format!("reduce {what}")))
}
