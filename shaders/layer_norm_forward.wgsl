// Layer norm over the last dimension (PyTorch's nn.LayerNorm(width)), one invocation per row of
// a row-major [rows, width] matrix: the mean, then the biased variance as Σ(x − mean)²/width in
// a second pass (no E[x²] − mean² cancellation), invstd = 1/sqrt(var + eps),
// y = (x − mean)·invstd, and ·γ[j] + β[j] when `affine` is set. The mean and invstd are saved
// for the backward pass. Rows are a model dimension wide (a few hundred at most), so one
// invocation walking its row three times beats a workgroup reduction and its barriers on
// software adapters; sums run in column order, so results are the same on every run.
struct Params {
    rows: u32,
    width: u32,
    eps: f32,
    // 0: no γ and β; their bindings are placeholders and are never read.
    affine: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> invstd: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let base = r * p.width;
    let w = f32(p.width);
    var s = 0.0;
    for (var j = 0u; j < p.width; j = j + 1u) {
        s = s + x[base + j];
    }
    let m = s / w;
    var ss = 0.0;
    for (var j = 0u; j < p.width; j = j + 1u) {
        let d = x[base + j] - m;
        ss = ss + d * d;
    }
    let is = 1.0 / sqrt(ss / w + p.eps);
    if (p.affine != 0u) {
        for (var j = 0u; j < p.width; j = j + 1u) {
            y[base + j] = (x[base + j] - m) * is * gamma[j] + beta[j];
        }
    } else {
        for (var j = 0u; j < p.width; j = j + 1u) {
            y[base + j] = (x[base + j] - m) * is;
        }
    }
    mean[r] = m;
    invstd[r] = is;
}
