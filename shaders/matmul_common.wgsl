// The matmul kernels' contract (matmul.wgsl, matmul_subgroup.wgsl, matmul_tiled.wgsl share it;
// `MatmulVariant` in src/kernels/mod.rs chooses one per adapter):
// C[M,N] = op(A)[M,K] · op(B)[K,N] (+ bias[N]).
// op(A) is A stored [M,K], or with TRANS_A the transpose of A stored [K,M]; likewise op(B) is
// B stored [K,N], or with TRANS_B the transpose of B stored [N,K]. The three linear-layer
// products are all instances: Y = X·Wᵀ (TRANS_B), dX = dY·W, dW = dYᵀ·X (TRANS_A).
// Batched products (attention's Q·Kᵀ and P·V per example and head) launch one z layer of
// workgroups per product: layer z reads the z-th contiguous block of A (M·K values) and of B
// (K·N) and writes the z-th block of C (M·N); the bias is shared. Unbatched launches have z = 0.
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

// The first value of this z layer's blocks of A, B and C (see `select_batch`).
var<private> a_base: u32;
var<private> b_base: u32;
var<private> c_base: u32;

fn select_batch(z: u32) {
    a_base = z * p.m * p.k;
    b_base = z * p.k * p.n;
    c_base = z * p.m * p.n;
}
