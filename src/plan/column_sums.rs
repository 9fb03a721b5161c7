//! Column sums of a row-major matrix on the GPU (bias gradients, and the partial gradients of a
//! split conv2d weight gradient), in one dispatch for a few rows and two for many: runs of rows
//! into partial rows, then those (see shaders/sum_rows.wgsl).

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, TensorUsage};
use crate::kernels::{MatrixParams, SUM_ROWS, SUM_ROWS_VEC4};

/// Rows one invocation sums before the rows are split.
const ROWS_PER_INVOCATION: usize = 32;

/// Partial rows at most (the second dispatch sums this many serially).
const MAX_SPLITS: usize = 64;

/// `out[j] = Σ_i x[i, j]` for the [rows, cols] matrix in `x`; `name` labels the scratch buffer
/// of partial rows.
pub fn column_sums(
    gpu: &Gpu,
    name: &str,
    (rows, cols): (usize, usize),
    x: &wgpu::Buffer,
    out: &wgpu::Buffer,
) -> Result<Vec<Dispatch>> {
    let pass = |rows: usize, splits: usize, x: &wgpu::Buffer, out: &wgpu::Buffer| {
        let rows_per_split = rows.div_ceil(splits).max(1);
        let u = gpu.uniform(
            "sum_rows",
            &MatrixParams {
                rows: rows as u32,
                cols: cols as u32,
                rows_per_split: rows_per_split as u32,
                splits: rows.div_ceil(rows_per_split).max(1) as u32,
            },
        )?;
        // Four columns an invocation where the rows are whole vec4s.
        let (kernel, columns) = if cols.is_multiple_of(4) {
            (&SUM_ROWS_VEC4, cols / 4)
        } else {
            (&SUM_ROWS, cols)
        };
        gpu.dispatch(
            kernel,
            &[],
            &[&u, x, out],
            gpu.groups_1d(kernel, columns * splits),
        )
    };
    let splits = rows.div_ceil(ROWS_PER_INVOCATION).min(MAX_SPLITS);
    if splits <= 1 {
        return Ok(vec![pass(rows, 1, x, out)?]);
    }
    let rows_per_split = rows.div_ceil(splits);
    let splits = rows.div_ceil(rows_per_split);
    let partial = gpu.tensor(
        &format!("{name} (partial column sums)"),
        splits * cols,
        TensorUsage::Storage,
    )?;
    Ok(vec![
        pass(rows, splits, x, &partial.buffer)?,
        pass(splits, 1, &partial.buffer, out)?,
    ])
}
