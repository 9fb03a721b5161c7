// Register-only multiply-add throughput: 8 independent vec4 chains per invocation, `iterations`
// rounds, 8·4·2 = 64 FLOP per round. The result is stored so the work cannot be removed.
struct Params {
    n: u32,
    iterations: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) {
        return;
    }
    let s = f32(i) * 1e-9;
    let m = vec4<f32>(0.9999, 0.9998, 0.9997, 0.9996);
    let c = vec4<f32>(1e-4, 2e-4, 3e-4, 4e-4);
    var a0 = vec4<f32>(s); var a1 = a0 + 1.0; var a2 = a0 + 2.0; var a3 = a0 + 3.0;
    var a4 = a0 + 4.0; var a5 = a0 + 5.0; var a6 = a0 + 6.0; var a7 = a0 + 7.0;
    for (var r = 0u; r < p.iterations; r = r + 1u) {
        a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
        a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    }
    let t = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7);
    out[i] = t.x + t.y + t.z + t.w;
}
