// x ← x · factor, in place. Used to plant faults (a flipped, scaled or zeroed gradient, a
// corrupted layer output) so that tests can show the checks catch them.
struct Params {
    n: u32,
    factor: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) {
        return;
    }
    x[i] = x[i] * p.factor;
}
