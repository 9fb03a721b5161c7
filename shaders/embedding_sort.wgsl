// The first half of the deterministic embedding backward: a stable counting sort of the rows by
// token id, without atomics. One invocation per row r finds its place
//   pos = #{r' : id(r') < id(r)} + #{r' < r : id(r') = id(r)}
// (a permutation of 0..rows, so every output element is written exactly once) and writes
// order[pos] = r, sorted[pos] = id(r). O(rows²) reads of a buffer small enough to stay in
// cache: fine up to ~16k rows. The ids are read four at a time (the tokens' buffer is a whole
// number of vec4s): a software adapter's cost is one lane-by-lane loop per read.
@group(0) @binding(1) var<storage, read> tokens: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> order: array<u32>;
@group(0) @binding(3) var<storage, read_write> sorted: array<u32>;

fn token_ids(t: vec4<f32>) -> vec4<u32> {
    return min(vec4<u32>(max(t, vec4<f32>(0.0))), vec4<u32>(max(p.vocab, 1u) - 1u));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let id = token_id(tokens[r / 4u][r % 4u]);
    let ids = vec4<u32>(id);
    let rs = vec4<u32>(r);
    let rows = vec4<u32>(p.rows);
    var count = vec4<u32>(0u);
    var rows_at = vec4<u32>(0u, 1u, 2u, 3u);
    // Earlier rows go first on equal ids (stability), any row on a smaller id; r itself and
    // the buffer's padding past `rows` do not count.
    for (var q = 0u; 4u * q < p.rows; q = q + 1u) {
        let other = token_ids(tokens[q]);
        let first = (other < ids) | ((other == ids) & (rows_at < rs));
        count = count + select(vec4<u32>(0u), vec4<u32>(1u), first & (rows_at < rows));
        rows_at = rows_at + vec4<u32>(4u);
    }
    let pos = count.x + count.y + count.z + count.w;
    order[pos] = r;
    sorted[pos] = id;
}
