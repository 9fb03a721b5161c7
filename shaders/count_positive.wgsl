// counts[f] += number of (row i, position s) with x[(i·features + f)·spatial + s] > 0:
// per-unit activity over a batch (spatial = 1), or per-channel activity of NCHW images
// (spatial = pixels per channel), accumulated across batches for the dead-unit check. The
// caller zeroes `counts` before the first batch.
struct Params {
    rows: u32,
    features: u32,
    spatial: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let f = gid.x;
    if (f >= p.features) {
        return;
    }
    var c = 0u;
    for (var i = 0u; i < p.rows; i = i + 1u) {
        let base = (i * p.features + f) * p.spatial;
        for (var s = 0u; s < p.spatial; s = s + 1u) {
            c = c + select(0u, 1u, x[base + s] > 0.0);
        }
    }
    counts[f] = counts[f] + c;
}
