// dst_part[b, h, t, k] = src[b, t, part·d + h·head_dim + k]: one invocation per packed element
// (contiguous reads, runs of head_dim contiguous writes). Only the first `parts` outputs are
// written; the others may be placeholders.
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst0: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst1: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst2: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= packed_len()) {
        return;
    }
    let at = head_index(i);
    let v = src[i];
    if (at.x == 0u) {
        dst0[at.y] = v;
    } else if (at.x == 1u) {
        dst1[at.y] = v;
    } else if (at.x == 2u) {
        dst2[at.y] = v;
    }
}
