// Batch norm backward (training mode), one invocation per feature, from the mean and inverse
// std saved by the forward pass:
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·invstd/B · (B·dy − Σdy − x̂·Σ(dy·x̂)).
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
@group(0) @binding(3) var<storage, read> save_mean: array<f32>;
@group(0) @binding(4) var<storage, read> save_invstd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(8) var<storage, read_write> dbeta: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let f = gid.x;
    if (f >= p.features) {
        return;
    }
    let mean = save_mean[f];
    let invstd = save_invstd[f];
    var sdy = 0.0;
    var sdyx = 0.0;
    for (var b = 0u; b < p.batch; b = b + 1u) {
        let base = (b * p.features + f) * p.spatial;
        for (var s = 0u; s < p.spatial; s = s + 1u) {
            let i = base + s;
            let xh = (x[i] - mean) * invstd;
            sdy = sdy + dy[i];
            sdyx = sdyx + dy[i] * xh;
        }
    }
    dbeta[f] = sdy;
    dgamma[f] = sdyx;
    let nb = f32(p.batch * p.spatial);
    let k = gamma[f] * invstd / nb;
    for (var b = 0u; b < p.batch; b = b + 1u) {
        let base = (b * p.features + f) * p.spatial;
        for (var s = 0u; s < p.spatial; s = s + 1u) {
            let i = base + s;
            let xh = (x[i] - mean) * invstd;
            dx[i] = k * (nb * dy[i] - sdy - xh * sdyx);
        }
    }
}
