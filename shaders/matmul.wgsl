// The register-blocked matmul (contract in matmul_common.wgsl), for software adapters.
// Each invocation keeps an 8×8 block of C in registers (named variables: arrays spill on
// llvmpipe): on software adapters memory access is the cost, and the block reads 16 values for
// every 64 multiply-adds. Measured on lavapipe (Mesa 25): 4×4 ≈ 4.2, 8×4 ≈ 4.9, 8×8 ≈ 6.0
// GFLOP/s at n = 512; MATMUL_ROWS/MATMUL_COLS in src/kernels/mod.rs must match. Where subgroups
// are 8 wide, matmul_subgroup.wgsl shares the A loads; hardware GPUs use matmul_tiled.wgsl.

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    select_batch(gid.z);
    let row0 = gid.y * 8u;
    let col0 = gid.x * 8u;
    if (row0 >= p.m || col0 >= p.n) {
        return;
    }
    // Edge blocks read clamped (valid) indices and simply do not store the duplicates, which
    // keeps the inner loop free of bounds branches.
    let r0 = min(row0 + 0u, p.m - 1u);
    let r1 = min(row0 + 1u, p.m - 1u);
    let r2 = min(row0 + 2u, p.m - 1u);
    let r3 = min(row0 + 3u, p.m - 1u);
    let r4 = min(row0 + 4u, p.m - 1u);
    let r5 = min(row0 + 5u, p.m - 1u);
    let r6 = min(row0 + 6u, p.m - 1u);
    let r7 = min(row0 + 7u, p.m - 1u);
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
        let a0 = a_at(r0, kk);
        acc0_0 = acc0_0 + a0 * b0;
        acc0_1 = acc0_1 + a0 * b1;
        let a1 = a_at(r1, kk);
        acc1_0 = acc1_0 + a1 * b0;
        acc1_1 = acc1_1 + a1 * b1;
        let a2 = a_at(r2, kk);
        acc2_0 = acc2_0 + a2 * b0;
        acc2_1 = acc2_1 + a2 * b1;
        let a3 = a_at(r3, kk);
        acc3_0 = acc3_0 + a3 * b0;
        acc3_1 = acc3_1 + a3 * b1;
        let a4 = a_at(r4, kk);
        acc4_0 = acc4_0 + a4 * b0;
        acc4_1 = acc4_1 + a4 * b1;
        let a5 = a_at(r5, kk);
        acc5_0 = acc5_0 + a5 * b0;
        acc5_1 = acc5_1 + a5 * b1;
        let a6 = a_at(r6, kk);
        acc6_0 = acc6_0 + a6 * b0;
        acc6_1 = acc6_1 + a6 * b1;
        let a7 = a_at(r7, kk);
        acc7_0 = acc7_0 + a7 * b0;
        acc7_1 = acc7_1 + a7 * b1;
    }
    var bias0 = vec4<f32>(0.0);
    var bias1 = vec4<f32>(0.0);
    if (HAS_BIAS) {
        bias0 = vec4<f32>(bias[c0], bias[c1], bias[c2], bias[c3]);
        bias1 = vec4<f32>(bias[c4], bias[c5], bias[c6], bias[c7]);
    }
    let rows = min(8u, p.m - row0);
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
