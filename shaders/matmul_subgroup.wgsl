// (No `enable subgroups;`: naga takes the subgroup builtins without it, and rejects it as not
// yet supported; the device must have the SUBGROUP feature.)
//
// The matmul (contract in matmul_common.wgsl) for software adapters with subgroups of 8
// (lavapipe). The register blocking of matmul.wgsl, except that the eight lanes of a subgroup
// (one row block, eight column blocks) share the row block's A values: each lane loads one
// row's value and subgroupBroadcast hands it to the others. On llvmpipe a subgroup is one
// thread's 8 SIMD lanes and every storage load is a per-lane gather, so this turns the eight
// gathers of A per k step (the same address in every lane) into one gather and eight register
// shuffles. Only chosen where subgroups are exactly 8 wide (`matmul_variant` in
// src/gpu/context.rs).

// An 8×8 grid of register blocks in a one-dimensional workgroup of 64 (naga allows the
// subgroup builtins only there): subgroup s (of eight, each eight lanes wide) takes row block s
// and lane j column block j, whichever invocations the driver groups into subgroups.
@compute @workgroup_size(64, 1, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    select_batch(wg.z);
    let row0 = (wg.y * 8u + subgroup) * 8u;
    let col0 = (wg.x * 8u + lane) * 8u;
    // No early return: the broadcasts need every lane. Out-of-range rows and columns are read
    // clamped (valid indices) and not stored.
    let mine = min(row0 + lane, p.m - 1u);
    let c0 = min(col0 + 0u, p.n - 1u);
    let c1 = min(col0 + 1u, p.n - 1u);
    let c2 = min(col0 + 2u, p.n - 1u);
    let c3 = min(col0 + 3u, p.n - 1u);
    let c4 = min(col0 + 4u, p.n - 1u);
    let c5 = min(col0 + 5u, p.n - 1u);
    let c6 = min(col0 + 6u, p.n - 1u);
    let c7 = min(col0 + 7u, p.n - 1u);
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc4_0 = vec4<f32>(0.0);
    var acc4_1 = vec4<f32>(0.0);
    var acc5_0 = vec4<f32>(0.0);
    var acc5_1 = vec4<f32>(0.0);
    var acc6_0 = vec4<f32>(0.0);
    var acc6_1 = vec4<f32>(0.0);
    var acc7_0 = vec4<f32>(0.0);
    var acc7_1 = vec4<f32>(0.0);
    for (var kk = 0u; kk < p.k; kk = kk + 1u) {
        let b0 = vec4<f32>(b_at(kk, c0), b_at(kk, c1), b_at(kk, c2), b_at(kk, c3));
        let b1 = vec4<f32>(b_at(kk, c4), b_at(kk, c5), b_at(kk, c6), b_at(kk, c7));
        let a = a_at(mine, kk);
        let a0 = subgroupBroadcast(a, 0u);
        acc0_0 = acc0_0 + a0 * b0;
        acc0_1 = acc0_1 + a0 * b1;
        let a1 = subgroupBroadcast(a, 1u);
        acc1_0 = acc1_0 + a1 * b0;
        acc1_1 = acc1_1 + a1 * b1;
        let a2 = subgroupBroadcast(a, 2u);
        acc2_0 = acc2_0 + a2 * b0;
        acc2_1 = acc2_1 + a2 * b1;
        let a3 = subgroupBroadcast(a, 3u);
        acc3_0 = acc3_0 + a3 * b0;
        acc3_1 = acc3_1 + a3 * b1;
        let a4 = subgroupBroadcast(a, 4u);
        acc4_0 = acc4_0 + a4 * b0;
        acc4_1 = acc4_1 + a4 * b1;
        let a5 = subgroupBroadcast(a, 5u);
        acc5_0 = acc5_0 + a5 * b0;
        acc5_1 = acc5_1 + a5 * b1;
        let a6 = subgroupBroadcast(a, 6u);
        acc6_0 = acc6_0 + a6 * b0;
        acc6_1 = acc6_1 + a6 * b1;
        let a7 = subgroupBroadcast(a, 7u);
        acc7_0 = acc7_0 + a7 * b0;
        acc7_1 = acc7_1 + a7 * b1;
    }
    var bias0 = vec4<f32>(0.0);
    var bias1 = vec4<f32>(0.0);
    if (HAS_BIAS) {
        bias0 = vec4<f32>(bias[c0], bias[c1], bias[c2], bias[c3]);
        bias1 = vec4<f32>(bias[c4], bias[c5], bias[c6], bias[c7]);
    }
    let rows = select(0u, min(8u, p.m - row0), row0 < p.m);
    store_row(row0 + 0u, col0 + 0u, min(4u, p.n - min(p.n, col0 + 0u)), 0u < rows, acc0_0 + bias0);
    store_row(row0 + 0u, col0 + 4u, min(4u, p.n - min(p.n, col0 + 4u)), 0u < rows, acc0_1 + bias1);
    store_row(row0 + 1u, col0 + 0u, min(4u, p.n - min(p.n, col0 + 0u)), 1u < rows, acc1_0 + bias0);
    store_row(row0 + 1u, col0 + 4u, min(4u, p.n - min(p.n, col0 + 4u)), 1u < rows, acc1_1 + bias1);
    store_row(row0 + 2u, col0 + 0u, min(4u, p.n - min(p.n, col0 + 0u)), 2u < rows, acc2_0 + bias0);
    store_row(row0 + 2u, col0 + 4u, min(4u, p.n - min(p.n, col0 + 4u)), 2u < rows, acc2_1 + bias1);
    store_row(row0 + 3u, col0 + 0u, min(4u, p.n - min(p.n, col0 + 0u)), 3u < rows, acc3_0 + bias0);
    store_row(row0 + 3u, col0 + 4u, min(4u, p.n - min(p.n, col0 + 4u)), 3u < rows, acc3_1 + bias1);
    store_row(row0 + 4u, col0 + 0u, min(4u, p.n - min(p.n, col0 + 0u)), 4u < rows, acc4_0 + bias0);
    store_row(row0 + 4u, col0 + 4u, min(4u, p.n - min(p.n, col0 + 4u)), 4u < rows, acc4_1 + bias1);
    store_row(row0 + 5u, col0 + 0u, min(4u, p.n - min(p.n, col0 + 0u)), 5u < rows, acc5_0 + bias0);
    store_row(row0 + 5u, col0 + 4u, min(4u, p.n - min(p.n, col0 + 4u)), 5u < rows, acc5_1 + bias1);
    store_row(row0 + 6u, col0 + 0u, min(4u, p.n - min(p.n, col0 + 0u)), 6u < rows, acc6_0 + bias0);
    store_row(row0 + 6u, col0 + 4u, min(4u, p.n - min(p.n, col0 + 4u)), 6u < rows, acc6_1 + bias1);
    store_row(row0 + 7u, col0 + 0u, min(4u, p.n - min(p.n, col0 + 0u)), 7u < rows, acc7_0 + bias0);
    store_row(row0 + 7u, col0 + 4u, min(4u, p.n - min(p.n, col0 + 4u)), 7u < rows, acc7_1 + bias1);
}
