// The second half of the deterministic embedding backward: one invocation per table element
// (v, j) of [vocab, dim] binary-searches embedding_sort's `sorted` ids for the first position
// holding v, then sums dy[order[q], j] over v's run in increasing q — the rows that used v, in
// row order (the sort is stable), so the sum has one fixed order. Ids that never occur give 0.
@group(0) @binding(1) var<storage, read> sorted: array<u32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dweight: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.vocab * p.dim) {
        return;
    }
    let v = i / p.dim;
    let j = i % p.dim;
    var lo = 0u;
    var hi = p.rows;
    while (lo < hi) {
        let mid = lo + (hi - lo) / 2u;
        if (sorted[mid] < v) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    var s = 0.0;
    for (var q = lo; q < p.rows; q = q + 1u) {
        if (sorted[q] != v) {
            break;
        }
        s = s + dy[order[q] * p.dim + j];
    }
    dweight[i] = s;
}
