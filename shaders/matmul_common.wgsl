// The matmul kernels' contract (matmul.wgsl, matmul_subgroup.wgsl, matmul_tiled.wgsl share it;
// `MatmulVariant` in src/kernels/mod.rs chooses one per adapter):
// C[M,N] = op(A)[M,K] · op(B)[K,N] (+ bias[N]).
// op(A) is A stored [M,K], or with TRANS_A the transpose of A stored [K,M]; likewise op(B) is
// B stored [K,N], or with TRANS_B the transpose of B stored [N,K]. The three linear-layer
// products are all instances: Y = X·Wᵀ (TRANS_B), dX = dY·W, dW = dYᵀ·X (TRANS_A).
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
