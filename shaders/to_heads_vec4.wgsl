// to_heads four values at a time, where head_dim is a multiple of 4 (so no vec4 crosses a head
// or a part): one invocation per packed vec4, i.e. a quarter of the index arithmetic, whose
// integer divisions a software adapter runs lane by lane, and of the loads and stores.
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst0: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst1: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst2: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (4u * q >= packed_len()) {
        return;
    }
    let at = head_index(4u * q);
    let v = src[q];
    let o = at.y / 4u;
    if (at.x == 0u) {
        dst0[o] = v;
    } else if (at.x == 1u) {
        dst1[o] = v;
    } else if (at.x == 2u) {
        dst2[o] = v;
    }
}
