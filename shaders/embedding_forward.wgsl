// y[r, j] = weight[id(r), j]: one invocation per output element of [rows, dim].
@group(0) @binding(1) var<storage, read> tokens: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.rows * p.dim) {
        return;
    }
    let r = i / p.dim;
    let j = i % p.dim;
    y[i] = weight[token_id(tokens[r]) * p.dim + j];
}
