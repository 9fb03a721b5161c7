// The register tile of the subgroup kernels (matmul_vec4.wgsl, conv2d_gemm_*.wgsl), for
// software adapters with subgroups of 8 (lavapipe): one subgroup computes 8·ROW_GROUPS rows ×
// 32 columns of its output, each lane 4 columns of every row. Per 4-step slice of the product's
// depth, a lane brings four vec4s of its rows (`a0`..`a3`: row group t's lane-th row along the
// slice) and a mat4x4 of its columns (column j: column j along the slice); every row reaches
// every lane by subgroupBroadcast, and vec4 × mat4x4 adds row · column j to column j.
//
// Why named accumulators behind constant indices, and not a loop: llvmpipe keeps an array that a
// loop indexes in memory, and the loop-and-array form of matmul_vec4 ran 4× slower; indexed by
// constants only, the array is split into registers. The kernel defines `store_slot(t, i, v)`,
// which writes slot (t, i) — the row that lane i brought in row group t — of its columns.
override ROW_GROUPS: u32 = 4u;

// The tile's first row (this workgroup's) and this lane's first column, for the kernel's loads
// and `store_slot`; `place_tile` sets them.
var<private> row0: u32;
var<private> col0: u32;

fn place_tile(wg: vec3<u32>, lane: u32) {
    row0 = wg.y * 8u * ROW_GROUPS;
    col0 = wg.x * 32u + 4u * lane;
}

struct Tile {
    acc: array<vec4<f32>, 32>,
}

fn accumulate(
    tile: ptr<function, Tile>,
    a0: vec4<f32>,
    a1: vec4<f32>,
    a2: vec4<f32>,
    a3: vec4<f32>,
    bm: mat4x4<f32>,
) {
    (*tile).acc[0] += subgroupBroadcast(a0, 0u) * bm;
    (*tile).acc[1] += subgroupBroadcast(a0, 1u) * bm;
    (*tile).acc[2] += subgroupBroadcast(a0, 2u) * bm;
    (*tile).acc[3] += subgroupBroadcast(a0, 3u) * bm;
    (*tile).acc[4] += subgroupBroadcast(a0, 4u) * bm;
    (*tile).acc[5] += subgroupBroadcast(a0, 5u) * bm;
    (*tile).acc[6] += subgroupBroadcast(a0, 6u) * bm;
    (*tile).acc[7] += subgroupBroadcast(a0, 7u) * bm;
    if (ROW_GROUPS > 1u) {
        (*tile).acc[8] += subgroupBroadcast(a1, 0u) * bm;
        (*tile).acc[9] += subgroupBroadcast(a1, 1u) * bm;
        (*tile).acc[10] += subgroupBroadcast(a1, 2u) * bm;
        (*tile).acc[11] += subgroupBroadcast(a1, 3u) * bm;
        (*tile).acc[12] += subgroupBroadcast(a1, 4u) * bm;
        (*tile).acc[13] += subgroupBroadcast(a1, 5u) * bm;
        (*tile).acc[14] += subgroupBroadcast(a1, 6u) * bm;
        (*tile).acc[15] += subgroupBroadcast(a1, 7u) * bm;
    }
    if (ROW_GROUPS > 2u) {
        (*tile).acc[16] += subgroupBroadcast(a2, 0u) * bm;
        (*tile).acc[17] += subgroupBroadcast(a2, 1u) * bm;
        (*tile).acc[18] += subgroupBroadcast(a2, 2u) * bm;
        (*tile).acc[19] += subgroupBroadcast(a2, 3u) * bm;
        (*tile).acc[20] += subgroupBroadcast(a2, 4u) * bm;
        (*tile).acc[21] += subgroupBroadcast(a2, 5u) * bm;
        (*tile).acc[22] += subgroupBroadcast(a2, 6u) * bm;
        (*tile).acc[23] += subgroupBroadcast(a2, 7u) * bm;
    }
    if (ROW_GROUPS > 3u) {
        (*tile).acc[24] += subgroupBroadcast(a3, 0u) * bm;
        (*tile).acc[25] += subgroupBroadcast(a3, 1u) * bm;
        (*tile).acc[26] += subgroupBroadcast(a3, 2u) * bm;
        (*tile).acc[27] += subgroupBroadcast(a3, 3u) * bm;
        (*tile).acc[28] += subgroupBroadcast(a3, 4u) * bm;
        (*tile).acc[29] += subgroupBroadcast(a3, 5u) * bm;
        (*tile).acc[30] += subgroupBroadcast(a3, 6u) * bm;
        (*tile).acc[31] += subgroupBroadcast(a3, 7u) * bm;
    }
}

fn store_tile(tile: ptr<function, Tile>) {
    store_slot(0u, 0u, (*tile).acc[0]);
    store_slot(0u, 1u, (*tile).acc[1]);
    store_slot(0u, 2u, (*tile).acc[2]);
    store_slot(0u, 3u, (*tile).acc[3]);
    store_slot(0u, 4u, (*tile).acc[4]);
    store_slot(0u, 5u, (*tile).acc[5]);
    store_slot(0u, 6u, (*tile).acc[6]);
    store_slot(0u, 7u, (*tile).acc[7]);
    if (ROW_GROUPS > 1u) {
        store_slot(1u, 0u, (*tile).acc[8]);
        store_slot(1u, 1u, (*tile).acc[9]);
        store_slot(1u, 2u, (*tile).acc[10]);
        store_slot(1u, 3u, (*tile).acc[11]);
        store_slot(1u, 4u, (*tile).acc[12]);
        store_slot(1u, 5u, (*tile).acc[13]);
        store_slot(1u, 6u, (*tile).acc[14]);
        store_slot(1u, 7u, (*tile).acc[15]);
    }
    if (ROW_GROUPS > 2u) {
        store_slot(2u, 0u, (*tile).acc[16]);
        store_slot(2u, 1u, (*tile).acc[17]);
        store_slot(2u, 2u, (*tile).acc[18]);
        store_slot(2u, 3u, (*tile).acc[19]);
        store_slot(2u, 4u, (*tile).acc[20]);
        store_slot(2u, 5u, (*tile).acc[21]);
        store_slot(2u, 6u, (*tile).acc[22]);
        store_slot(2u, 7u, (*tile).acc[23]);
    }
    if (ROW_GROUPS > 3u) {
        store_slot(3u, 0u, (*tile).acc[24]);
        store_slot(3u, 1u, (*tile).acc[25]);
        store_slot(3u, 2u, (*tile).acc[26]);
        store_slot(3u, 3u, (*tile).acc[27]);
        store_slot(3u, 4u, (*tile).acc[28]);
        store_slot(3u, 5u, (*tile).acc[29]);
        store_slot(3u, 6u, (*tile).acc[30]);
        store_slot(3u, 7u, (*tile).acc[31]);
    }
}
