// out[s, j] = Σ x[i, j] over the rows i of split s of a row-major [rows, cols] matrix: row runs
// of `rows_per_split`, `splits` of them. One split is a column sum (the bias gradient
// db = Σ_batch dY); with more, each invocation sums one column of one run into a partial row,
// and a second one-split dispatch adds up the partial rows (see src/train/column_sums.rs): one
// invocation walking a thousand rows keeps a GPU idle. Sums run in row order, so the result is
// the same on every run.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    if (i >= p.cols * p.splits) {
        return;
    }
    let s = i / p.cols;
    let j = i % p.cols;
    let first = s * p.rows_per_split;
    let end = min(first + p.rows_per_split, p.rows);
    var sum = 0.0;
    for (var r = first; r < end; r = r + 1u) {
        sum = sum + x[r * p.cols + j];
    }
    out[i] = sum;
}
