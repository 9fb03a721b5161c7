//! Statistics of a tensor reduced on the GPU in two dispatches: many lanes fold strided slices
//! into partial records (no barriers), then one workgroup combines them in a fixed order, so
//! results are deterministic and large tensors use the whole GPU (or every CPU core).

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, Tensor, TensorUsage};
use crate::kernels::{
    reduce_lanes, ReduceCombineParams, ReducePartialParams, REDUCE_COMBINE, REDUCE_PARTIAL,
    REDUCE_WIDTH,
};

/// The two dispatches writing the statistics of `x` to `stats[out .. out + 8]` (layout in
/// shaders/reduce_combine.wgsl), with their own scratch buffer.
pub fn reduce(gpu: &Gpu, x: &Tensor, stats: &Tensor, out: usize) -> Result<[Dispatch; 2]> {
    let lanes = reduce_lanes(x.len);
    let scratch = gpu.tensor(
        &format!("{} (partials)", x.name),
        lanes * REDUCE_WIDTH,
        TensorUsage::Storage,
    )?;
    let up = gpu.uniform(
        "reduce_partial",
        &ReducePartialParams {
            n: x.len as u32,
            offset: 0,
            partial: 0,
            lanes: lanes as u32,
        },
    )?;
    let uc = gpu.uniform(
        "reduce_combine",
        &ReduceCombineParams {
            records: lanes as u32,
            partial: 0,
            out: out as u32,
            _pad: 0,
        },
    )?;
    let partial = gpu
        .dispatch(
            &REDUCE_PARTIAL,
            &[],
            &[&up, &x.buffer, &scratch.buffer],
            gpu.groups_1d(&REDUCE_PARTIAL, lanes),
        )?
        .labeled(format!("reduce {}", x.name));
    let combine = gpu
        .dispatch(
            &REDUCE_COMBINE,
            &[],
            &[&uc, &scratch.buffer, &stats.buffer],
            [1, 1, 1],
        )?
        .labeled(format!("reduce {}", x.name));
    Ok([partial, combine])
}
