//! The kernels a transformer adds to the MLP/CNN set: layer norm, (causal) softmax over rows and
//! its entropy, token embeddings with a deterministic (sorted, atomic-free) backward, a periodic
//! add (residuals, learned positions, gradient accumulation) and the split of packed Q/K/V
//! projections into heads and back. Their f64 mirrors are in `reference::sequence`.
//!
//! Every kernel here is 1-D: dispatch it with `gpu.groups_1d(&KERNEL, n)`, n as documented on
//! each static (rows for the row kernels, elements for the elementwise ones); the shaders
//! rebuild the index from `num_workgroups` and ignore invocations past n. Nothing here touches
//! wgpu.

use bytemuck::{Pod, Zeroable};

use super::source::{wgsl, WgslFile};
use super::Binding::{Read as R, ReadWrite as RW, Uniform as U};
use super::{Kernel, REDUCE_STATS, SLICES, SLICES_FOLDED};

const SOFTMAX_COMMON: WgslFile = wgsl!("softmax_common.wgsl");
const EMBEDDING_COMMON: WgslFile = wgsl!("embedding_common.wgsl");
const HEADS_COMMON: WgslFile = wgsl!("heads_common.wgsl");

/// Layer norm over the last dimension ([`LayerNormParams`]), one invocation per row (n = rows).
/// Bindings: params, x [rows·width], γ [width], β [width], y [rows·width] (written),
/// mean [rows] (written), invstd [rows] (written). Without `affine`, γ and β are placeholders
/// (length ≥ 1) that are never read.
pub static LAYER_NORM_FORWARD: Kernel = Kernel {
    name: "layer_norm_forward",
    files: &[wgsl!("layer_norm_forward.wgsl")],
    bindings: &[U, R, R, R, RW, RW, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

/// The input gradient of [`LAYER_NORM_FORWARD`], one invocation per row (n = rows).
/// Bindings: params, x, γ, mean, invstd, dy, dx (written), dyxhat = dy·x̂ [rows·width]
/// (written; its column sums are dγ, those of dy are dβ: `sum_rows`).
pub static LAYER_NORM_BACKWARD: Kernel = Kernel {
    name: "layer_norm_backward",
    files: &[wgsl!("layer_norm_backward.wgsl")],
    bindings: &[U, R, R, R, R, R, RW, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

/// y = softmax(scale·x) over each row, optionally causally masked ([`SoftmaxParams`]), one
/// invocation per row (n = rows). Bindings: params, x [rows·width], y [rows·width] (written).
pub static SOFTMAX_FORWARD: Kernel = Kernel {
    name: "softmax_forward",
    files: &[SOFTMAX_COMMON, wgsl!("softmax_forward.wgsl")],
    bindings: &[U, R, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

/// dx = scale·y·(dy − Σ dy·y), masked entries exactly 0; one invocation per row (n = rows).
/// Bindings: params, y, dy, dx (written), all [rows·width].
pub static SOFTMAX_BACKWARD: Kernel = Kernel {
    name: "softmax_backward",
    files: &[SOFTMAX_COMMON, wgsl!("softmax_backward.wgsl")],
    bindings: &[U, R, R, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

/// out[r] = −Σ_j p log p (0 log 0 = 0) over each row ([`RowParams`]); one invocation per row
/// (n = rows). Bindings: params, p [rows·width], out [rows] (written).
pub static ROW_ENTROPY: Kernel = Kernel {
    name: "row_entropy",
    files: &[wgsl!("row_entropy.wgsl")],
    bindings: &[U, R, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

/// y[r, j] = weight[id(r), j] ([`EmbeddingParams`]), one invocation per output element
/// (n = rows·dim). Bindings: params, tokens [rows] (f32 ids), weight [vocab·dim],
/// y [rows·dim] (written). Ids are clamped to [0, vocab − 1] (the host validates them).
pub static EMBEDDING_FORWARD: Kernel = Kernel {
    name: "embedding_forward",
    files: &[EMBEDDING_COMMON, wgsl!("embedding_forward.wgsl")],
    bindings: &[U, R, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// A stable counting sort of the rows by token id, one invocation per row (n = rows), O(rows²)
/// reads. Bindings: params, tokens [rows], order [rows] u32 (written: the rows in sorted order),
/// sorted [rows] u32 (written: their ids). Feeds [`EMBEDDING_BACKWARD`].
pub static EMBEDDING_SORT: Kernel = Kernel {
    name: "embedding_sort",
    files: &[EMBEDDING_COMMON, wgsl!("embedding_sort.wgsl")],
    bindings: &[U, R, RW, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

/// dweight[v, j] = Σ dy[r, j] over the rows r with id v, in row order; one invocation per
/// table element (n = vocab·dim), deterministic without atomics. Bindings: params,
/// sorted [rows] u32, order [rows] u32 (both from [`EMBEDDING_SORT`]), dy [rows·dim],
/// dweight [vocab·dim] (written, every element: unused ids get 0).
pub static EMBEDDING_BACKWARD: Kernel = Kernel {
    name: "embedding_backward",
    files: &[EMBEDDING_COMMON, wgsl!("embedding_backward.wgsl")],
    bindings: &[U, R, R, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// y[i] = a[i] + b[i % period] ([`AddParams`]), one invocation per element (n). Bindings:
/// params, a [n], b [period], y [n] (written). y must be a separate buffer from a and b (wgpu
/// refuses one buffer bound read-only and read-write in the same dispatch).
pub static ADD: Kernel = Kernel {
    name: "add",
    files: &[ADD_COMMON, wgsl!("add.wgsl")],
    bindings: &[U, R, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// [`ADD`] four values an invocation (n / 4), where n and the period are multiples of 4.
/// Bindings as ADD's.
pub static ADD_VEC4: Kernel = Kernel {
    name: "add_vec4",
    files: &[ADD_COMMON, ADD_VEC4_VALUES, SLICES],
    bindings: &[U, R, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// [`ADD_VEC4`] folding what it writes into partial statistics, in [`REDUCE_PARTIAL`]'s order,
/// with [`AddParams::fold_lanes`] invocations. Bindings: ADD_VEC4's and the partial records
/// (written).
///
/// [`REDUCE_PARTIAL`]: super::REDUCE_PARTIAL
pub static ADD_VEC4_FOLDED: Kernel = Kernel {
    name: "add_vec4_folded",
    files: &[
        REDUCE_STATS,
        ADD_COMMON,
        ADD_VEC4_VALUES,
        wgsl!("add_vec4_folded.wgsl"),
        SLICES_FOLDED,
    ],
    bindings: &[U, R, R, RW, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

const ADD_VEC4_VALUES: WgslFile = wgsl!("add_vec4.wgsl");

const ADD_COMMON: WgslFile = wgsl!("add_common.wgsl");

/// Splits a packed [batch, seq, parts·d] tensor into `parts` tensors [batch, heads, seq,
/// head_dim] ([`HeadsParams`]), one invocation per packed element
/// (n = [`HeadsParams::packed_len`]). Bindings: params, src, dst0, dst1, dst2 (written; only
/// the first `parts` — the others may be 1-element placeholders).
pub static TO_HEADS: Kernel = Kernel {
    name: "to_heads",
    files: &[HEADS_COMMON, wgsl!("to_heads.wgsl")],
    bindings: &[U, R, RW, RW, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// The inverse of [`TO_HEADS`] (and its backward, as TO_HEADS is this one's): one invocation
/// per packed element (n = [`HeadsParams::packed_len`]). Bindings: params, src0, src1, src2
/// (only the first `parts` are read), dst [batch·seq·parts·d] (written).
pub static FROM_HEADS: Kernel = Kernel {
    name: "from_heads",
    files: &[HEADS_COMMON, wgsl!("from_heads.wgsl")],
    bindings: &[U, R, R, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// [`TO_HEADS`] four values an invocation (n = packed_len / 4), where head_dim is a multiple
/// of 4. Bindings as TO_HEADS's.
pub static TO_HEADS_VEC4: Kernel = Kernel {
    name: "to_heads_vec4",
    files: &[HEADS_COMMON, wgsl!("to_heads_vec4.wgsl")],
    bindings: &[U, R, RW, RW, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// [`FROM_HEADS`] four values an invocation (n = packed_len / 4), where head_dim is a
/// multiple of 4. Bindings as FROM_HEADS's.
pub static FROM_HEADS_VEC4: Kernel = Kernel {
    name: "from_heads_vec4",
    files: &[HEADS_COMMON, wgsl!("from_heads_vec4.wgsl")],
    bindings: &[U, R, R, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// `layer_norm_forward` / `layer_norm_backward` parameters: a row-major [rows, width] matrix
/// normalized over each row.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LayerNormParams {
    pub rows: u32,
    pub width: u32,
    pub eps: f32,
    /// 1: y = x̂·γ + β (nn.LayerNorm's elementwise_affine); 0: y = x̂.
    pub affine: u32,
}

impl LayerNormParams {
    pub fn new(rows: usize, width: usize, eps: f64, affine: bool) -> Self {
        LayerNormParams {
            rows: rows as u32,
            width: width as u32,
            eps: eps as f32,
            affine: affine as u32,
        }
    }
}

/// `softmax_forward` / `softmax_backward` parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct SoftmaxParams {
    pub rows: u32,
    pub width: u32,
    /// The scores are multiplied by this before the softmax (1/√head_dim for attention).
    pub scale: f32,
    /// 1: row r is query position r % seq and columns past it are masked (exactly 0 out).
    pub causal: u32,
    pub seq: u32,
    pub _pad: [u32; 3],
}

impl SoftmaxParams {
    pub fn new(rows: usize, width: usize, scale: f64, causal: bool, seq: usize) -> Self {
        SoftmaxParams {
            rows: rows as u32,
            width: width as u32,
            scale: scale as f32,
            causal: causal as u32,
            seq: seq as u32,
            _pad: [0; 3],
        }
    }
}

/// Parameters of a kernel over the rows of a row-major [rows, width] matrix (`row_entropy`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct RowParams {
    pub rows: u32,
    pub width: u32,
    pub _pad: [u32; 2],
}

impl RowParams {
    pub fn new(rows: usize, width: usize) -> Self {
        RowParams {
            rows: rows as u32,
            width: width as u32,
            _pad: [0; 2],
        }
    }
}

/// `embedding_*` parameters: `rows` tokens, a [vocab, dim] table.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct EmbeddingParams {
    pub rows: u32,
    pub dim: u32,
    pub vocab: u32,
    pub _pad: u32,
}

impl EmbeddingParams {
    pub fn new(rows: usize, dim: usize, vocab: usize) -> Self {
        EmbeddingParams {
            rows: rows as u32,
            dim: dim as u32,
            vocab: vocab as u32,
            _pad: 0,
        }
    }
}

/// `add` parameters: y[i] = a[i] + b[i % period] for i < n.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct AddParams {
    pub n: u32,
    pub period: u32,
    /// [`ADD_VEC4_FOLDED`]'s invocations and its first partial record's offset (floats);
    /// unused otherwise.
    pub fold_lanes: u32,
    pub fold_partial: u32,
}

impl AddParams {
    pub fn new(n: usize, period: usize) -> Self {
        AddParams {
            n: n as u32,
            period: period as u32,
            ..Default::default()
        }
    }

    /// The add kernel for these sizes and its invocations: the vec4 one where n and the
    /// period are multiples of 4, else one value an invocation.
    pub fn launch(&self) -> (&'static Kernel, usize) {
        if self.n.is_multiple_of(4) && self.period.is_multiple_of(4) {
            (&ADD_VEC4, self.n as usize / 4)
        } else {
            (&ADD, self.n as usize)
        }
    }
}

/// `to_heads` / `from_heads` parameters: packed [batch, seq, parts·heads·head_dim] against
/// `parts` (1, 2 or 3) tensors [batch, heads, seq, head_dim].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct HeadsParams {
    pub batch: u32,
    pub seq: u32,
    pub heads: u32,
    pub head_dim: u32,
    pub parts: u32,
    pub _pad: [u32; 3],
}

impl HeadsParams {
    pub fn new(batch: usize, seq: usize, heads: usize, head_dim: usize, parts: usize) -> Self {
        HeadsParams {
            batch: batch as u32,
            seq: seq as u32,
            heads: heads as u32,
            head_dim: head_dim as u32,
            parts: parts as u32,
            _pad: [0; 3],
        }
    }

    /// Elements of the packed side (the invocations of both kernels).
    pub fn packed_len(&self) -> usize {
        self.head_len() * self.parts as usize
    }

    /// The to_heads kernel for these shapes and its invocations: the vec4 one where head_dim
    /// is a multiple of 4 (on lavapipe it took a quarter of the time at the benchmark
    /// transformer's shapes), else one value an invocation.
    pub fn to_heads_launch(&self) -> (&'static Kernel, usize) {
        self.launch(&TO_HEADS, &TO_HEADS_VEC4)
    }

    /// As [`Self::to_heads_launch`], for from_heads.
    pub fn from_heads_launch(&self) -> (&'static Kernel, usize) {
        self.launch(&FROM_HEADS, &FROM_HEADS_VEC4)
    }

    fn launch(&self, scalar: &'static Kernel, vec4: &'static Kernel) -> (&'static Kernel, usize) {
        if self.head_dim.is_multiple_of(4) {
            (vec4, self.packed_len() / 4)
        } else {
            (scalar, self.packed_len())
        }
    }

    /// Elements of one split-side tensor.
    pub fn head_len(&self) -> usize {
        [self.batch, self.heads, self.seq, self.head_dim]
            .iter()
            .map(|&v| v as usize)
            .product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniform structs must be multiples of 16 bytes; the shader structs mirror these.
    #[test]
    fn params_are_padded_to_16_bytes() {
        for size in [
            std::mem::size_of::<LayerNormParams>(),
            std::mem::size_of::<SoftmaxParams>(),
            std::mem::size_of::<RowParams>(),
            std::mem::size_of::<EmbeddingParams>(),
            std::mem::size_of::<AddParams>(),
            std::mem::size_of::<HeadsParams>(),
        ] {
            assert_eq!(size % 16, 0, "{size} bytes");
        }
    }
}
