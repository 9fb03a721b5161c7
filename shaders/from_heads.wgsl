// The inverse of to_heads: dst[b, t, part·d + h·head_dim + k] = src_part[b, h, t, k], one
// invocation per packed element. Only the first `parts` inputs are read.
@group(0) @binding(1) var<storage, read> src0: array<f32>;
@group(0) @binding(2) var<storage, read> src1: array<f32>;
@group(0) @binding(3) var<storage, read> src2: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= packed_len()) {
        return;
    }
    let at = head_index(i);
    var v: f32;
    if (at.x == 0u) {
        v = src0[at.y];
    } else if (at.x == 1u) {
        v = src1[at.y];
    } else {
        v = src2[at.y];
    }
    dst[i] = v;
}
