// y = act(x), elementwise, four values an invocation (vec4 reads and writes: a software
// adapter's cost is one lane-by-lane loop per access). The last slice may run past n into the
// buffers' padding (every tensor is a whole number of vec4s), whose values nothing reads.
// ACT selects the function (see activation_fns.wgsl).
override ACT: u32 = 1u;

struct Params {
    n: u32,
    slope: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (4u * q >= p.n) {
        return;
    }
    let v = x[q];
    y[q] = vec4<f32>(
        act_forward(ACT, v.x, p.slope),
        act_forward(ACT, v.y, p.slope),
        act_forward(ACT, v.z, p.slope),
        act_forward(ACT, v.w, p.slope),
    );
}
