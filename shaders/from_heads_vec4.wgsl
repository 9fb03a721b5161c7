// from_heads four values at a time, where head_dim is a multiple of 4 (see to_heads_vec4.wgsl).
@group(0) @binding(1) var<storage, read> src0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> src1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> src2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (4u * q >= packed_len()) {
        return;
    }
    let at = head_index(4u * q);
    let o = at.y / 4u;
    var v: vec4<f32>;
    if (at.x == 0u) {
        v = src0[o];
    } else if (at.x == 1u) {
        v = src1[o];
    } else {
        v = src2[o];
    }
    dst[q] = v;
}
