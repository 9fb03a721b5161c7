// add.wgsl four values an invocation, where n and the period are multiples of 4 (so a slice
// never straddles the period): a quarter of the loads, stores and integer divisions, which a
// software adapter runs lane by lane.
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (4u * q >= p.n) {
        return;
    }
    y[q] = a[q] + b[q % (p.period / 4u)];
}
