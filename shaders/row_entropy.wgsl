// out[r] = −Σ_j p log p over each row of probabilities (attention entropy statistics), one
// invocation per row, with 0·log 0 = 0 (entries ≤ 0 contribute nothing, so masked attention
// weights never reach log).
struct Params {
    rows: u32,
    width: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let base = r * p.width;
    var s = 0.0;
    for (var j = 0u; j < p.width; j = j + 1u) {
        let v = probs[base + j];
        if (v > 0.0) {
            s = s + v * log(v);
        }
    }
    // 0 − s rather than −s: an all-zero row gives +0.
    out[r] = 0.0 - s;
}
