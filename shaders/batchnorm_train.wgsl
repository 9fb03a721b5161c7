// Batch norm over the batch dimension (and the pixels of each channel) in training mode, one
// invocation per feature (channel):
// batch mean and biased variance, y = γ·(x − mean)/sqrt(var + eps) + β, and PyTorch's running
// statistics update (the running variance uses the unbiased variance).
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
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> save_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> save_invstd: array<f32>;
@group(0) @binding(7) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(8) var<storage, read_write> running_var: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let f = gid.x;
    if (f >= p.features) {
        return;
    }
    let count = p.batch * p.spatial;
    let nb = f32(count);
    var s = 0.0;
    for (var b = 0u; b < p.batch; b = b + 1u) {
        let base = (b * p.features + f) * p.spatial;
        for (var k = 0u; k < p.spatial; k = k + 1u) {
            s = s + x[base + k];
        }
    }
    let mean = s / nb;
    var ss = 0.0;
    for (var b = 0u; b < p.batch; b = b + 1u) {
        let base = (b * p.features + f) * p.spatial;
        for (var k = 0u; k < p.spatial; k = k + 1u) {
            let d = x[base + k] - mean;
            ss = ss + d * d;
        }
    }
    let var_b = ss / nb;
    let invstd = 1.0 / sqrt(var_b + p.eps);
    let g = gamma[f];
    let bt = beta[f];
    for (var b = 0u; b < p.batch; b = b + 1u) {
        let base = (b * p.features + f) * p.spatial;
        for (var k = 0u; k < p.spatial; k = k + 1u) {
            let i = base + k;
            y[i] = g * (x[i] - mean) * invstd + bt;
        }
    }
    save_mean[f] = mean;
    save_invstd[f] = invstd;
    let unbiased = select(var_b, ss / (nb - 1.0), count > 1u);
    running_mean[f] = (1.0 - p.momentum) * running_mean[f] + p.momentum * mean;
    running_var[f] = (1.0 - p.momentum) * running_var[f] + p.momentum * unbiased;
}
