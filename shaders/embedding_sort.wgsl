// The first half of the deterministic embedding backward: a stable counting sort of the rows by
// token id, without atomics. One invocation per row r finds its place
//   pos = #{r' : id(r') < id(r)} + #{r' < r : id(r') = id(r)}
// (a permutation of 0..rows, so every output element is written exactly once) and writes
// order[pos] = r, sorted[pos] = id(r). O(rows²) reads of a buffer small enough to stay in
// cache: fine up to ~16k rows.
@group(0) @binding(1) var<storage, read> tokens: array<f32>;
@group(0) @binding(2) var<storage, read_write> order: array<u32>;
@group(0) @binding(3) var<storage, read_write> sorted: array<u32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let id = token_id(tokens[r]);
    var pos = 0u;
    // Earlier rows go first on equal ids (stability), later rows only on smaller ids.
    for (var q = 0u; q < r; q = q + 1u) {
        pos = pos + select(0u, 1u, token_id(tokens[q]) <= id);
    }
    for (var q = r + 1u; q < p.rows; q = q + 1u) {
        pos = pos + select(0u, 1u, token_id(tokens[q]) < id);
    }
    order[pos] = r;
    sorted[pos] = id;
}
