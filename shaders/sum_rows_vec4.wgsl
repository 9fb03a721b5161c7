// sum_rows.wgsl four columns an invocation, where cols is a multiple of 4: vec4 reads (a
// software adapter's cost is one lane-by-lane loop per read), each column still summed in row
// order, so the sums are sum_rows's bit for bit.
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 64u;
    let cols4 = p.cols / 4u;
    if (i >= cols4 * p.splits) {
        return;
    }
    let s = i / cols4;
    let j = i % cols4;
    let first = s * p.rows_per_split;
    let end = min(first + p.rows_per_split, p.rows);
    var sum = vec4<f32>(0.0);
    for (var r = first; r < end; r = r + 1u) {
        sum = sum + x[r * cols4 + j];
    }
    out[i] = sum;
}
