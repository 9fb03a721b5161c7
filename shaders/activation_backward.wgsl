// dx = dy · act'(x), elementwise, with y = act(x) saved by the forward pass; four values an
// invocation, as activation_forward.wgsl (the last slice may run into the buffers' padding).
override ACT: u32 = 1u;

struct Params {
    n: u32,
    slope: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> y: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (4u * q >= p.n) {
        return;
    }
    let xv = x[q];
    let yv = y[q];
    dx[q] = dy[q] * vec4<f32>(
        act_derivative(ACT, xv.x, yv.x, p.slope),
        act_derivative(ACT, xv.y, yv.y, p.slope),
        act_derivative(ACT, xv.z, yv.z, p.slope),
        act_derivative(ACT, xv.w, yv.w, p.slope),
    );
}
