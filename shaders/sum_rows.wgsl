// out[j] = Σ_i x[i, j] over the rows of a row-major [rows, cols] matrix: the bias gradient
// db = Σ_batch dY. One invocation per column, summing in row order, so the result is the same
// on every run.
struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= p.cols) {
        return;
    }
    var s = 0.0;
    for (var i = 0u; i < p.rows; i = i + 1u) {
        s = s + x[i * p.cols + j];
    }
    out[j] = s;
}
