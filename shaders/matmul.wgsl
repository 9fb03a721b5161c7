// C[M,N] = op(A)[M,K] · op(B)[K,N] (+ bias[N]).
// op(A) is A stored [M,K], or with TRANS_A the transpose of A stored [K,M]; likewise op(B) is
// B stored [K,N], or with TRANS_B the transpose of B stored [N,K]. The three linear-layer
// products are all instances: Y = X·Wᵀ (TRANS_B), dX = dY·W, dW = dYᵀ·X (TRANS_A).
//
// Each invocation keeps a 4×4 block of C in registers: on software adapters memory access is
// the cost, and the block reads 8 values for every 16 multiply-adds.
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

fn a_at(row: u32, kk: u32) -> f32 {
    if (TRANS_A) {
        return a[kk * p.m + row];
    }
    return a[row * p.k + kk];
}

fn b_at(kk: u32, col: u32) -> f32 {
    if (TRANS_B) {
        return b[col * p.k + kk];
    }
    return b[kk * p.n + col];
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if (row0 >= p.m || col0 >= p.n) {
        return;
    }
    // Edge blocks read clamped (valid) indices and simply do not store the duplicates, which
    // keeps the inner loop free of bounds branches.
    let r0 = row0;
    let r1 = min(row0 + 1u, p.m - 1u);
    let r2 = min(row0 + 2u, p.m - 1u);
    let r3 = min(row0 + 3u, p.m - 1u);
    let c0 = col0;
    let c1 = min(col0 + 1u, p.n - 1u);
    let c2 = min(col0 + 2u, p.n - 1u);
    let c3 = min(col0 + 3u, p.n - 1u);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var kk = 0u; kk < p.k; kk = kk + 1u) {
        let bv = vec4<f32>(b_at(kk, c0), b_at(kk, c1), b_at(kk, c2), b_at(kk, c3));
        acc0 = acc0 + a_at(r0, kk) * bv;
        acc1 = acc1 + a_at(r1, kk) * bv;
        acc2 = acc2 + a_at(r2, kk) * bv;
        acc3 = acc3 + a_at(r3, kk) * bv;
    }
    if (HAS_BIAS) {
        let bb = vec4<f32>(bias[c0], bias[c1], bias[c2], bias[c3]);
        acc0 = acc0 + bb;
        acc1 = acc1 + bb;
        acc2 = acc2 + bb;
        acc3 = acc3 + bb;
    }
    let rows = min(4u, p.m - row0);
    let cols = min(4u, p.n - col0);
    var out = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < rows; i = i + 1u) {
        let base = (row0 + i) * p.n + col0;
        for (var j = 0u; j < cols; j = j + 1u) {
            c[base + j] = out[i][j];
        }
    }
}
