// The matmul (contract in matmul_common.wgsl) for hardware GPUs.
//
// A workgroup of 16×16 invocations computes a 64×64 tile of C; each invocation keeps a 4×4
// block in registers. The tile's slices of op(A) and op(B), 16 deep in k, are staged in
// workgroup memory, so each value read from global memory serves 64 multiply-adds instead of 8.
// On a GPU, workgroup memory and barriers are cheap and global memory is far; on a software
// adapter the opposite holds (a barrier is a thread switch), which is why the register-blocked
// kernel stays the choice there. MATMUL_TILE in src/kernels/mod.rs must match.

const TILE: u32 = 64u;
const DEPTH: u32 = 16u;
// Groups of four along the tile's side: one vec4 of workgroup memory each.
const QUADS: u32 = 16u;

// a_tile[kk * QUADS + q] = op(A)[tile row 4q .. 4q+3, k0 + kk]; b_tile likewise along columns.
var<workgroup> a_tile: array<vec4<f32>, 256>;
var<workgroup> b_tile: array<vec4<f32>, 256>;

// op(A)[row, kk], zero outside the matrix (edge tiles and the last, partial k slice).
fn a_at(row: u32, kk: u32) -> f32 {
    if (row >= p.m || kk >= p.k) {
        return 0.0;
    }
    if (TRANS_A) {
        return a[a_base + kk * p.m + row];
    }
    return a[a_base + row * p.k + kk];
}

// op(B)[kk, col], zero outside the matrix.
fn b_at(kk: u32, col: u32) -> f32 {
    if (kk >= p.k || col >= p.n) {
        return 0.0;
    }
    if (TRANS_B) {
        return b[b_base + col * p.k + kk];
    }
    return b[b_base + kk * p.n + col];
}

fn store(row: u32, col0: u32, v: vec4<f32>) {
    if (row >= p.m) {
        return;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
        let col = col0 + j;
        if (col < p.n) {
            var out = v[j];
            if (HAS_BIAS) {
                out = out + bias[col];
            }
            c[c_base + row * p.n + col] = out;
        }
    }
}

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    select_batch(wg.z);
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    // Which slice element this invocation stages: consecutive invocations walk the direction
    // that is contiguous in memory, so a subgroup's loads coalesce.
    var a_kk = t / QUADS;
    var a_quad = t % QUADS;
    if (!TRANS_A) {
        a_kk = t % DEPTH;
        a_quad = t / DEPTH;
    }
    var b_kk = t % DEPTH;
    var b_quad = t / DEPTH;
    if (!TRANS_B) {
        b_kk = t / QUADS;
        b_quad = t % QUADS;
    }
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    // Every invocation runs every slice (no early return): the barriers need the whole group.
    for (var k0 = 0u; k0 < p.k; k0 = k0 + DEPTH) {
        let ar = row0 + 4u * a_quad;
        let ak = k0 + a_kk;
        a_tile[a_kk * QUADS + a_quad] =
            vec4<f32>(a_at(ar, ak), a_at(ar + 1u, ak), a_at(ar + 2u, ak), a_at(ar + 3u, ak));
        let bc = col0 + 4u * b_quad;
        let bk = k0 + b_kk;
        b_tile[b_kk * QUADS + b_quad] =
            vec4<f32>(b_at(bk, bc), b_at(bk, bc + 1u), b_at(bk, bc + 2u), b_at(bk, bc + 3u));
        workgroupBarrier();
        for (var kk = 0u; kk < DEPTH; kk = kk + 1u) {
            let av = a_tile[kk * QUADS + lid.y];
            let bv = b_tile[kk * QUADS + lid.x];
            acc0 = fma(vec4<f32>(av.x), bv, acc0);
            acc1 = fma(vec4<f32>(av.y), bv, acc1);
            acc2 = fma(vec4<f32>(av.z), bv, acc2);
            acc3 = fma(vec4<f32>(av.w), bv, acc3);
        }
        workgroupBarrier();
    }
    let row = row0 + 4u * lid.y;
    let col = col0 + 4u * lid.x;
    store(row, col, acc0);
    store(row + 1u, col, acc1);
    store(row + 2u, col, acc2);
    store(row + 3u, col, acc3);
}
