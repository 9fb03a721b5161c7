// The matmul (contract in matmul_common.wgsl) for software adapters with subgroups of 8
// (lavapipe), where every matrix is read four values at a time: chosen when the dimensions that
// are contiguous in memory are multiples of 4 (`vec4_layout` in src/kernels/mod.rs), else
// matmul_subgroup.wgsl runs.
//
// Why it is shaped so (measured on lavapipe, Mesa 25.0.7 with LLVM 15): llvmpipe compiles a
// storage-buffer read whose offset is not a compile-time constant into a loop over the 8 SIMD
// lanes with a bounds check each, about a dozen instructions per lane, while an FMA costs two (no
// fused multiply-add with LLVM 15). Reads are the whole cost, and what pays for them is:
// - reading vec4s: one lane loop fetches four values;
// - a tall tile: a subgroup of 8 lanes computes 32 rows × 32 columns; each lane reads 4 rows of
//   op(A) and its own 4 columns of op(B) per 4 steps of k, and the rows reach the other lanes
//   by subgroupBroadcast (a register shuffle), so each value read serves 32 or 128 products;
// - the register tile of subgroup_tile.wgsl (its comment says why it is written out).
//
// Layouts: op(A) rows are read along k (A stored [M,K]) or, with TRANS_A, four rows at one k
// (A stored [K,M]) and transposed in registers; op(B) columns likewise. Slot (t, i) of the
// tile, the row lane i brings in row group t, is row 8t + i, or 4i + t with TRANS_A (which
// therefore takes all 4 row groups; without it, products of few rows take fewer).
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
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// Written a vec4 at a time where a row's four columns are one (n a multiple of 4), else a
// value at a time: with k as small as a transformer's 64, scalar stores and per-row bias reads
// cost as much as the product's reads on llvmpipe.
@group(0) @binding(4) var<storage, read_write> c: array<vec4<f32>>;

// Where this z layer's C starts, and the bias of this lane's columns (with HAS_BIAS), for
// `store_slot`.
var<private> c_base: u32;
var<private> bias_quad: vec4<f32>;

// Four values of op(A) for the 4-step slice of k at k0, as this lane reads them for row group
// t: row row0 + 8t + lane along k, or (TRANS_A) rows row0 + 4·lane .. +3 at k0 + t. Indices
// are clamped into the matrix; what they read past its edge is never stored.
fn a_quad(base: u32, lane: u32, k0: u32, t: u32) -> vec4<f32> {
    if (TRANS_A) {
        return a[(base + (k0 + t) * p.m + min(row0 + 4u * lane, p.m - 4u)) / 4u];
    }
    return a[(base + min(row0 + 8u * t + lane, p.m - 1u) * p.k + k0) / 4u];
}

// Four values of op(B) for the slice at k0: column col0 + j along k (TRANS_B), or columns
// col0 .. col0+3 at k0 + j.
fn b_quad(base: u32, k0: u32, j: u32) -> vec4<f32> {
    if (TRANS_B) {
        return b[(base + min(col0 + j, p.n - 1u) * p.k + k0) / 4u];
    }
    return b[(base + (k0 + j) * p.n + min(col0, p.n - 4u)) / 4u];
}

fn store_slot(t: u32, i: u32, v: vec4<f32>) {
    var row = row0 + 8u * t + i;
    if (TRANS_A) {
        row = row0 + 4u * i + t;
    }
    if (row >= p.m || col0 >= p.n) {
        return;
    }
    var out = v;
    if (HAS_BIAS) {
        out = out + bias_quad;
    }
    let at = c_base + row * p.n + col0;
    if (p.n % 4u == 0u) {
        // c_base and col0 are then multiples of 4 too, and col0 + 3 < n.
        c[at / 4u] = out;
        return;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
        if (col0 + j < p.n) {
            c[(at + j) / 4u][(at + j) % 4u] = out[j];
        }
    }
}

@compute @workgroup_size(8, 1, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let a_base = wg.z * p.m * p.k;
    let b_base = wg.z * p.k * p.n;
    c_base = wg.z * p.m * p.n;
    place_tile(wg, lane);
    var tile: Tile;
    // No early return: the broadcasts need every lane.
    for (var k0 = 0u; k0 < p.k; k0 = k0 + 4u) {
        var a0 = a_quad(a_base, lane, k0, 0u);
        var a1 = a_quad(a_base, lane, k0, 1u);
        var a2 = a_quad(a_base, lane, k0, 2u);
        var a3 = a_quad(a_base, lane, k0, 3u);
        if (TRANS_A) {
            // a_t held rows 4·lane .. +3 at k0 + t; now it holds row 4·lane + t along k.
            let rows = transpose(mat4x4<f32>(a0, a1, a2, a3));
            a0 = rows[0];
            a1 = rows[1];
            a2 = rows[2];
            a3 = rows[3];
        }
        var bm = mat4x4<f32>(
            b_quad(b_base, k0, 0u),
            b_quad(b_base, k0, 1u),
            b_quad(b_base, k0, 2u),
            b_quad(b_base, k0, 3u),
        );
        if (!TRANS_B) {
            // Column j held columns col0 .. +3 at k0 + j; now column j holds col0 + j along k.
            bm = transpose(bm);
        }
        accumulate(&tile, a0, a1, a2, a3, bm);
    }
    if (HAS_BIAS) {
        for (var j = 0u; j < 4u; j = j + 1u) {
            bias_quad[j] = bias[min(col0 + j, p.n - 1u)];
        }
    }
    store_tile(&tile);
}
