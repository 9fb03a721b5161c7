// Batch norm in evaluation mode: y = γ·(x − running_mean)/sqrt(running_var + eps) + β.
struct Params {
    batch: u32,
    features: u32,
    eps: f32,
    momentum: f32,
    // Values per feature and example: 1 for vectors, pixels per channel for NCHW images; the
    // value (b, f, s) is at (b·features + f)·spatial + s.
    spatial: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read> running_var: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.batch * p.features * p.spatial) {
        return;
    }
    let f = (i / p.spatial) % p.features;
    y[i] = gamma[f] * (x[i] - running_mean[f]) / sqrt(running_var[f] + p.eps) + beta[f];
}
