// counts[j] += number of rows i with x[i, j] > 0: per-unit activity over a batch, accumulated
// across batches for the dead-unit check. The caller zeroes `counts` before the first batch.
struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= p.cols) {
        return;
    }
    var c = 0u;
    for (var i = 0u; i < p.rows; i = i + 1u) {
        c = c + select(0u, 1u, x[i * p.cols + j] > 0.0);
    }
    counts[j] = counts[j] + c;
}
