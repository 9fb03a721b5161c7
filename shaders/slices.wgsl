// The entry point of a kernel that writes y one vec4 slice an invocation: y[q] = slice_value(q)
// for every slice holding values below p.n. The kernel's own file declares p (with n), y and
// slice_value; slices_folded.wgsl is the same kernel folding what it writes into statistics.
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.x + gid.y * nwg.x * 256u;
    if (4u * q >= p.n) {
        return;
    }
    y[q] = slice_value(q);
}
