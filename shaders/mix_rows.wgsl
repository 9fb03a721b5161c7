// A planted batch-mixing bug: y[b, j] += factor · y[0, j] for every row b > 0 (row 0 is only
// read, so the update is race-free). The batch_independence check must catch it.
struct Params {
    rows: u32,
    cols: u32,
    factor: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u + p.cols;
    if (i >= p.rows * p.cols) {
        return;
    }
    y[i] = y[i] + p.factor * y[i % p.cols];
}
