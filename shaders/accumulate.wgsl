// dst += src over all of dst: a later reader's contribution added to a tensor's gradient (a
// residual stream read by a block and by the addition after it). Contributions are added in
// the plan's fixed order, so the sum is the same on every run. Four values an invocation; the
// last slice may run into the buffers' padding (every tensor is a whole number of vec4s).
struct Params {
    n: u32,
    factor: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (4u * q >= p.n) {
        return;
    }
    dst[q] = dst[q] + src[q];
}
