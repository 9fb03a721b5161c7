// y = forward(x), elementwise, with the user's `forward` spliced in front of this file
// (src/kernels/user.rs). Same bindings and parameters as activation_forward.wgsl.
struct NetdxParams {
    n: u32,
    slope: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> netdx_p: NetdxParams;
@group(0) @binding(1) var<storage, read> netdx_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> netdx_y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= netdx_p.n) {
        return;
    }
    netdx_y[i] = forward(netdx_x[i]);
}
