// The kernel gradient check's probe. For each point k, given the stencil
// (x, x + h, x − h, x + 2h, x − 2h) at points[5k..5k+5], writes forward(x),
// backward(x, forward(x), 0.75) and forward at the four stencil points to out[6k..6k+6]. The host
// forms the finite difference from these f32 values, so every function value the check uses
// comes from the GPU.
struct NetdxParams {
    n: u32,
    slope: f32,
    _pad0: u32,
    _pad1: u32,
}

// Not 1: a backward that ignores dy must show (the host divides by it).
const NETDX_PROBE_DY: f32 = 0.75;

@group(0) @binding(0) var<uniform> netdx_p: NetdxParams;
@group(0) @binding(1) var<storage, read> netdx_points: array<f32>;
@group(0) @binding(2) var<storage, read_write> netdx_out: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = gid.x + gid.y * nwg.x * 256u;
    if (k >= netdx_p.n) {
        return;
    }
    let x = netdx_points[5u * k];
    let y = forward(x);
    netdx_out[6u * k] = y;
    netdx_out[6u * k + 1u] = backward(x, y, NETDX_PROBE_DY);
    for (var j = 1u; j < 5u; j = j + 1u) {
        netdx_out[6u * k + 1u + j] = forward(netdx_points[5u * k + j]);
    }
}
