//! The Rust side of every shader: its files, its bindings (checked against naga's reflection in
//! tests/shaders.rs), its workgroup size and its parameter struct. Nothing here touches wgpu;
//! `gpu::` turns a [`Kernel`] into a pipeline.

pub mod sequence;
pub mod source;
pub mod user;
pub mod user_loss;

pub use sequence::*;

use bytemuck::{Pod, Zeroable};
use source::{wgsl, WgslFile};

/// How a binding is declared in the shader. Bindings are numbered 0, 1, 2 … in order, all in
/// group 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Uniform,
    Read,
    ReadWrite,
}

/// One compute kernel: entry point `main` of the concatenation of `files`.
#[derive(Debug)]
pub struct Kernel {
    pub name: &'static str,
    pub files: &'static [WgslFile],
    pub bindings: &'static [Binding],
    pub workgroup: [u32; 3],
    /// The override constants the kernel declares (checked against naga's reflection).
    pub constants: &'static [&'static str],
}

impl Kernel {
    pub fn source(&self) -> String {
        source::compose(self.files)
    }
}

use Binding::{Read as R, ReadWrite as RW, Uniform as U};

const ACTIVATION_FNS: WgslFile = wgsl!("activation_fns.wgsl");
const MATMUL_COMMON: WgslFile = wgsl!("matmul_common.wgsl");
const MATMUL_BLOCKS: WgslFile = wgsl!("matmul_blocks.wgsl");
const RNG: WgslFile = wgsl!("rng.wgsl");
const SUBGROUP_TILE: WgslFile = wgsl!("subgroup_tile.wgsl");

pub static MATMUL: Kernel = Kernel {
    name: "matmul",
    files: &[MATMUL_COMMON, MATMUL_BLOCKS, wgsl!("matmul.wgsl")],
    bindings: &[U, R, R, R, RW],
    workgroup: [8, 8, 1],
    constants: &["TRANS_A", "TRANS_B", "HAS_BIAS"],
};
/// Each matmul invocation computes a block of MATMUL_ROWS × MATMUL_COLS outputs.
pub const MATMUL_ROWS: u32 = 8;
pub const MATMUL_COLS: u32 = 8;

/// The same product as [`MATMUL`], staged through workgroup memory: for hardware GPUs.
pub static MATMUL_TILED: Kernel = Kernel {
    name: "matmul_tiled",
    files: &[MATMUL_COMMON, wgsl!("matmul_tiled.wgsl")],
    bindings: &[U, R, R, R, RW],
    workgroup: [16, 16, 1],
    constants: &["TRANS_A", "TRANS_B", "HAS_BIAS"],
};
/// The same product as [`MATMUL`], its A values shared between the lanes of subgroups of 8: for
/// software adapters that have them (lavapipe).
pub static MATMUL_SUBGROUP: Kernel = Kernel {
    name: "matmul_subgroup",
    files: &[MATMUL_COMMON, MATMUL_BLOCKS, wgsl!("matmul_subgroup.wgsl")],
    bindings: &[U, R, R, R, RW],
    // An 8×8 grid of register blocks, as `MATMUL`, laid out in one dimension.
    workgroup: [64, 1, 1],
    constants: &["TRANS_A", "TRANS_B", "HAS_BIAS"],
};

/// Each `matmul_tiled` workgroup computes a MATMUL_TILE × MATMUL_TILE tile of C.
pub const MATMUL_TILE: u32 = 64;

/// The same product as [`MATMUL`], every matrix read four values at a time and a tall tile per
/// subgroup of 8: for software adapters that have such subgroups, on products whose layout
/// allows it ([`vec4_layout`]).
pub static MATMUL_VEC4: Kernel = Kernel {
    name: "matmul_vec4",
    files: &[SUBGROUP_TILE, wgsl!("matmul_vec4.wgsl")],
    bindings: &[U, R, R, R, RW],
    // One subgroup.
    workgroup: [8, 1, 1],
    // ROW_GROUPS is left at its 4 (32 rows).
    constants: &["ROW_GROUPS", "TRANS_A", "TRANS_B", "HAS_BIAS"],
};
/// Each `matmul_vec4` workgroup computes MATMUL_VEC4_TILE × MATMUL_VEC4_TILE outputs (the
/// subgroup tile of shaders/subgroup_tile.wgsl with its 4 row groups).
pub const MATMUL_VEC4_TILE: u32 = 32;

/// Whether `matmul_vec4` can run the product C[m,n] = op(A)·op(B) of depth k: it reads op(A)
/// and op(B) as vec4s along the dimension that is contiguous in memory (k for A stored [M,K] and
/// B stored [N,K], else m or n) and steps k by 4, so those dimensions and k must be multiples of
/// 4 (which also keeps every batched block's start on a vec4).
pub fn vec4_layout((m, n, k): (usize, usize, usize), (trans_a, trans_b): (bool, bool)) -> bool {
    let a_fits = !trans_a || m.is_multiple_of(4);
    let b_fits = trans_b || n.is_multiple_of(4);
    k.is_multiple_of(4) && a_fits && b_fits
}

/// The matmul kernels, one product in four designs; every variant is tested against the
/// reference, and a device picks one when it is opened (`gpu::Gpu::matmul_variant`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatmulVariant {
    /// 8×8 outputs per invocation in registers, no workgroup memory or barriers: for software
    /// adapters, where memory access is the cost and a barrier switches threads (the fallback
    /// everywhere).
    Register,
    /// 64×64 tiles staged in workgroup memory behind barriers: for hardware GPUs.
    Tiled,
    /// `Register`, with A values shared by subgroup broadcasts: for software adapters whose
    /// subgroups are exactly 8 lanes wide.
    Subgroup,
    /// `matmul_vec4` where the product's layout allows it ([`vec4_layout`]), else `Subgroup`:
    /// for software adapters whose subgroups are exactly 8 lanes wide.
    Vec4,
}

impl MatmulVariant {
    pub const ALL: [MatmulVariant; 4] = [
        MatmulVariant::Register,
        MatmulVariant::Tiled,
        MatmulVariant::Subgroup,
        MatmulVariant::Vec4,
    ];

    /// The kernel this variant runs for the product C[m,n] = op(A)·op(B) of depth k with
    /// (trans_a, trans_b), and its workgroup counts (z = 1: batched launches set the count).
    pub fn launch(
        self,
        shape: (usize, usize, usize),
        transposes: (bool, bool),
    ) -> (&'static Kernel, [u32; 3]) {
        let (m, n, _) = shape;
        let (kernel, [cols, rows]) = match self {
            MatmulVariant::Register => (&MATMUL, Self::REGISTER_OUTPUTS),
            MatmulVariant::Subgroup => (&MATMUL_SUBGROUP, Self::REGISTER_OUTPUTS),
            MatmulVariant::Tiled => (&MATMUL_TILED, [MATMUL_TILE, MATMUL_TILE]),
            MatmulVariant::Vec4 if vec4_layout(shape, transposes) => {
                (&MATMUL_VEC4, [MATMUL_VEC4_TILE, MATMUL_VEC4_TILE])
            }
            MatmulVariant::Vec4 => (&MATMUL_SUBGROUP, Self::REGISTER_OUTPUTS),
        };
        let groups = [(n as u32).div_ceil(cols), (m as u32).div_ceil(rows), 1];
        (kernel, groups)
    }

    /// Outputs per workgroup of the register-blocked kernels along [columns, rows].
    const REGISTER_OUTPUTS: [u32; 2] = [
        MATMUL_COLS * MATMUL.workgroup[0],
        MATMUL_ROWS * MATMUL.workgroup[1],
    ];

    /// `register`, `tiled`, `subgroup` or `vec4`, as `NETDX_MATMUL` takes it.
    pub fn name(self) -> &'static str {
        match self {
            MatmulVariant::Register => "register",
            MatmulVariant::Tiled => "tiled",
            MatmulVariant::Subgroup => "subgroup",
            MatmulVariant::Vec4 => "vec4",
        }
    }

    pub fn parse(name: &str) -> Option<MatmulVariant> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }
}

const SUM_ROWS_COMMON: WgslFile = wgsl!("sum_rows_common.wgsl");

pub static SUM_ROWS: Kernel = Kernel {
    name: "sum_rows",
    files: &[SUM_ROWS_COMMON, wgsl!("sum_rows.wgsl")],
    bindings: &[U, R, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

/// [`SUM_ROWS`] four columns an invocation (n = cols / 4 · splits), where cols is a multiple
/// of 4; the same sums bit for bit.
pub static SUM_ROWS_VEC4: Kernel = Kernel {
    name: "sum_rows_vec4",
    files: &[SUM_ROWS_COMMON, wgsl!("sum_rows_vec4.wgsl")],
    bindings: &[U, R, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

/// The entry points of kernels that write one vec4 slice an invocation, plain and folding what
/// they write into statistics (see the files).
pub(crate) const SLICES: WgslFile = wgsl!("slices.wgsl");
pub(crate) const SLICES_FOLDED: WgslFile = wgsl!("slices_folded.wgsl");

const ACTIVATION_FORWARD_VALUES: WgslFile = wgsl!("activation_forward.wgsl");

pub static ACTIVATION_FORWARD: Kernel = Kernel {
    name: "activation_forward",
    files: &[ACTIVATION_FNS, ACTIVATION_FORWARD_VALUES, SLICES],
    bindings: &[U, R, RW],
    workgroup: [256, 1, 1],
    constants: &["ACT"],
};

/// [`ACTIVATION_FORWARD`] folding what it writes into partial statistics, in
/// [`REDUCE_PARTIAL`]'s order, with [`ActivationParams::fold_lanes`] invocations. Bindings:
/// ACTIVATION_FORWARD's and the partial records (written).
pub static ACTIVATION_FORWARD_FOLDED: Kernel = Kernel {
    name: "activation_forward_folded",
    files: &[
        REDUCE_STATS,
        ACTIVATION_FNS,
        ACTIVATION_FORWARD_VALUES,
        wgsl!("activation_forward_folded.wgsl"),
        SLICES_FOLDED,
    ],
    bindings: &[U, R, RW, RW],
    workgroup: [256, 1, 1],
    constants: &["ACT"],
};

pub static ACTIVATION_BACKWARD: Kernel = Kernel {
    name: "activation_backward",
    files: &[ACTIVATION_FNS, wgsl!("activation_backward.wgsl")],
    bindings: &[U, R, R, R, RW],
    workgroup: [256, 1, 1],
    constants: &["ACT"],
};

/// An activation's kernels, forward and backward, the constants that specialize them, and
/// how many values one invocation computes.
pub struct ActivationKernels {
    pub forward: &'static Kernel,
    pub backward: &'static Kernel,
    pub constants: Vec<(&'static str, f64)>,
    /// 4 for the built-ins (a vec4 each), 1 for a user activation.
    pub values_per_invocation: usize,
}

impl ActivationKernels {
    /// Invocations of either kernel over `n` values.
    pub fn invocations(&self, n: usize) -> usize {
        n.div_ceil(self.values_per_invocation)
    }
}

/// The kernels of an activation: the built-ins share two kernels switched by `ACT`; a user
/// activation has its own.
pub fn activation_kernels(kind: crate::ops::Activation) -> ActivationKernels {
    match kind {
        crate::ops::Activation::User(id) => {
            let u = user::get(id);
            ActivationKernels {
                forward: u.forward,
                backward: u.backward,
                constants: u.constants(),
                values_per_invocation: 1,
            }
        }
        builtin => ActivationKernels {
            forward: &ACTIVATION_FORWARD,
            backward: &ACTIVATION_BACKWARD,
            constants: vec![("ACT", builtin.code() as f64)],
            values_per_invocation: 4,
        },
    }
}

/// The loss kernel for `kind` and its constants: the built-ins share one kernel switched by
/// `LOSS`; a user loss has its own with the same bindings.
pub fn loss_kernel(
    kind: crate::ops::LossKind,
    has_weights: bool,
) -> (&'static Kernel, Vec<(&'static str, f64)>) {
    match kind {
        crate::ops::LossKind::User(id) => {
            let u = user_loss::get(id);
            (u.kernel, u.constants())
        }
        builtin => (
            &LOSS,
            vec![
                ("LOSS", builtin.code() as f64),
                ("HAS_WEIGHTS", if has_weights { 1.0 } else { 0.0 }),
            ],
        ),
    }
}

pub static LOSS: Kernel = Kernel {
    name: "loss",
    files: &[wgsl!("loss.wgsl")],
    bindings: &[U, R, R, R, RW, RW],
    workgroup: [256, 1, 1],
    constants: &["LOSS", "HAS_WEIGHTS"],
};

pub static OPTIMIZER: Kernel = Kernel {
    name: "optimizer",
    files: &[REDUCE_STATS, wgsl!("optimizer.wgsl")],
    bindings: &[U, U, RW, R, RW, RW, RW, R],
    workgroup: [64, 1, 1],
    constants: &["OPT"],
};

pub(crate) const REDUCE_STATS: WgslFile = wgsl!("reduce_stats.wgsl");

pub static REDUCE_PARTIAL: Kernel = Kernel {
    name: "reduce_partial",
    files: &[REDUCE_STATS, wgsl!("reduce_partial.wgsl")],
    bindings: &[U, R, R, R, R, R, R, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

pub static REDUCE_COMBINE: Kernel = Kernel {
    name: "reduce_combine",
    files: &[REDUCE_STATS, wgsl!("reduce_combine.wgsl")],
    bindings: &[R, R, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};
/// Floats written by one reduction (and per partial record).
pub const REDUCE_WIDTH: usize = 8;
/// Tensors one `reduce_partial` dispatch folds.
pub const REDUCE_INPUTS: usize = 7;
/// The most stage-1 workgroups per reduction.
pub const REDUCE_MAX_GROUPS: usize = 64;

/// Stage-1 lanes for a reduction over `n` values, each lane folding at least `values_per_lane`
/// of them (see `Gpu::reduce_values_per_lane`).
pub fn reduce_lanes(n: usize, values_per_lane: usize) -> usize {
    let wg = REDUCE_PARTIAL.workgroup[0] as usize;
    n.div_ceil(wg * values_per_lane).clamp(1, REDUCE_MAX_GROUPS) * wg
}

pub static GATHER: Kernel = Kernel {
    name: "gather",
    files: &[wgsl!("gather.wgsl")],
    bindings: &[U, R, R, R, RW, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

pub static BATCHNORM_TRAIN: Kernel = Kernel {
    name: "batchnorm_train",
    files: &[wgsl!("batchnorm_train.wgsl")],
    bindings: &[U, R, R, R, RW, RW, RW, RW, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

pub static BATCHNORM_EVAL: Kernel = Kernel {
    name: "batchnorm_eval",
    files: &[wgsl!("batchnorm_eval.wgsl")],
    bindings: &[U, R, R, R, R, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

pub static BATCHNORM_BACKWARD: Kernel = Kernel {
    name: "batchnorm_backward",
    files: &[wgsl!("batchnorm_backward.wgsl")],
    bindings: &[U, R, R, R, R, R, RW, RW, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

pub static DROPOUT: Kernel = Kernel {
    name: "dropout",
    files: &[RNG, wgsl!("dropout.wgsl")],
    bindings: &[U, U, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

pub static COUNT_POSITIVE: Kernel = Kernel {
    name: "count_positive",
    files: &[wgsl!("count_positive.wgsl")],
    bindings: &[U, R, RW],
    workgroup: [64, 1, 1],
    constants: &[],
};

/// The most bins one `histogram` dispatch counts (its bins in workgroup memory; MAX_BINS in
/// shaders/histogram.wgsl).
pub const HISTOGRAM_MAX_BINS: usize = 256;
/// Values one `histogram` workgroup counts: 256 lanes of SLICES_PER_LANE = 16 vec4 slices.
pub const HISTOGRAM_VALUES_PER_GROUP: usize = 256 * 16 * 4;

/// Workgroups of a `histogram` dispatch over `n` values.
pub fn histogram_groups(n: usize, max_per_dim: u32) -> [u32; 3] {
    groups_1d(n, HISTOGRAM_VALUES_PER_GROUP as u32, max_per_dim)
}

pub static HISTOGRAM: Kernel = Kernel {
    name: "histogram",
    files: &[wgsl!("histogram.wgsl")],
    bindings: &[U, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

pub static SCALE: Kernel = Kernel {
    name: "scale",
    files: &[wgsl!("scale.wgsl")],
    bindings: &[U, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// `dst += src` over all of dst, four values an invocation (n.div_ceil(4)): gradient
/// contributions of a tensor with several readers (`ScaleParams`, the factor unused).
pub static ACCUMULATE: Kernel = Kernel {
    name: "accumulate",
    files: &[wgsl!("accumulate.wgsl")],
    bindings: &[U, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

pub static MIX_ROWS: Kernel = Kernel {
    name: "mix_rows",
    files: &[wgsl!("mix_rows.wgsl")],
    bindings: &[U, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

pub static FMA_PROBE: Kernel = Kernel {
    name: "fma_probe",
    files: &[wgsl!("fma_probe.wgsl")],
    bindings: &[U, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

pub static COPY_PROBE: Kernel = Kernel {
    name: "copy_probe",
    files: &[wgsl!("copy_probe.wgsl")],
    bindings: &[U, R, RW],
    workgroup: [256, 1, 1],
    constants: &[],
};

/// Every kernel, for validation tests and for warming the pipeline cache.
const CONV2D_COMMON: WgslFile = wgsl!("conv2d_common.wgsl");

/// The override constants of the conv2d kernels (see `Conv2dParams::constants`).
const CONV2D_CONSTANTS: &[&str] = &["KERNEL_H", "KERNEL_W", "STRIDE", "PADDING", "DILATION"];

/// Output channels one `conv2d_forward` invocation computes (`OUT_BLOCK` in the shader), and
/// input channels one `conv2d_backward_input` invocation computes (`IN_BLOCK`).
pub const CONV2D_OUT_BLOCK: u32 = 4;

/// 2-D convolution, NCHW (see src/reference/conv.rs): one invocation per output position and
/// block of `CONV2D_OUT_BLOCK` output channels.
pub static CONV2D_FORWARD: Kernel = Kernel {
    name: "conv2d_forward",
    files: &[CONV2D_COMMON, wgsl!("conv2d_forward.wgsl")],
    bindings: &[U, R, R, R, RW],
    workgroup: [64, 1, 1],
    constants: CONV2D_CONSTANTS,
};

/// The input gradient of `conv2d_forward`: one invocation per input position and block of
/// `CONV2D_OUT_BLOCK` input channels.
pub static CONV2D_BACKWARD_INPUT: Kernel = Kernel {
    name: "conv2d_backward_input",
    files: &[CONV2D_COMMON, wgsl!("conv2d_backward_input.wgsl")],
    bindings: &[U, R, R, RW],
    workgroup: [64, 1, 1],
    constants: CONV2D_CONSTANTS,
};

/// The weight and bias gradients of `conv2d_forward`: one invocation per tap and block of
/// `CONV2D_OUT_BLOCK` output channels.
pub static CONV2D_BACKWARD_WEIGHT: Kernel = Kernel {
    name: "conv2d_backward_weight",
    files: &[CONV2D_COMMON, wgsl!("conv2d_backward_weight.wgsl")],
    bindings: &[U, R, R, RW, RW],
    workgroup: [64, 1, 1],
    constants: CONV2D_CONSTANTS,
};

const CONV2D_GEMM_CONSTANTS: &[&str] = &[
    "KERNEL_H",
    "KERNEL_W",
    "STRIDE",
    "PADDING",
    "DILATION",
    "ROW_GROUPS",
];

/// `conv2d_forward` as an implicit GEMM on the subgroup tile (output channels × output
/// positions, depth the taps), for software adapters with subgroups of 8, where the taps of a
/// weight row are a multiple of 4 ([`Conv2dParams::gemm_forward_fits`]).
pub static CONV2D_GEMM_FORWARD: Kernel = Kernel {
    name: "conv2d_gemm_forward",
    files: &[
        CONV2D_COMMON,
        SUBGROUP_TILE,
        wgsl!("conv2d_gemm_forward.wgsl"),
    ],
    bindings: &[U, R, R, R, RW],
    workgroup: [8, 1, 1],
    constants: CONV2D_GEMM_CONSTANTS,
};

/// `conv2d_backward_input` as an implicit GEMM on the subgroup tile (input channels × input
/// positions, depth the output channels' taps).
pub static CONV2D_GEMM_BACKWARD_INPUT: Kernel = Kernel {
    name: "conv2d_gemm_backward_input",
    files: &[
        CONV2D_COMMON,
        SUBGROUP_TILE,
        wgsl!("conv2d_gemm_backward_input.wgsl"),
    ],
    bindings: &[U, R, R, RW],
    workgroup: [8, 1, 1],
    constants: CONV2D_GEMM_CONSTANTS,
};

const CONV2D_GEMM_WEIGHT_COMMON: WgslFile = wgsl!("conv2d_gemm_weight_common.wgsl");

/// `conv2d_backward_weight` as an implicit GEMM on the subgroup tile (output channels × taps
/// and the bias, depth the output positions of a split), on any geometry.
pub static CONV2D_GEMM_BACKWARD_WEIGHT: Kernel = Kernel {
    name: "conv2d_gemm_backward_weight",
    files: &[
        CONV2D_COMMON,
        SUBGROUP_TILE,
        CONV2D_GEMM_WEIGHT_COMMON,
        wgsl!("conv2d_gemm_backward_weight.wgsl"),
    ],
    bindings: &[U, R, R, RW, RW],
    workgroup: [8, 1, 1],
    constants: CONV2D_GEMM_CONSTANTS,
};

/// The same, reading the output gradients as vec4s along the output plane, where the plane is
/// a multiple of 4 positions and at least 4 wide ([`Conv2dParams::gemm_weight_vec4_fits`]).
pub static CONV2D_GEMM_BACKWARD_WEIGHT_VEC4: Kernel = Kernel {
    name: "conv2d_gemm_backward_weight_vec4",
    files: &[
        CONV2D_COMMON,
        SUBGROUP_TILE,
        CONV2D_GEMM_WEIGHT_COMMON,
        wgsl!("conv2d_gemm_backward_weight_vec4.wgsl"),
    ],
    bindings: &[U, R, R, RW, RW],
    workgroup: [8, 1, 1],
    constants: CONV2D_GEMM_CONSTANTS,
};

/// Rows and columns of the subgroup tile (shaders/subgroup_tile.wgsl): 8 rows per row group,
/// 32 columns.
pub const SUBGROUP_TILE_ROWS_PER_GROUP: u32 = 8;
pub const SUBGROUP_TILE_COLS: u32 = 32;

/// The conv2d kernels: one invocation per output (`Direct`, everywhere) or implicit GEMMs on the
/// subgroup tile (`Gemm`, for software adapters with subgroups of 8; shapes it does not take run
/// `Direct`). Every variant is tested against the reference; a device picks one when it is
/// opened (`gpu::Gpu::conv_variant`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvVariant {
    Direct,
    Gemm,
}

/// Which conv2d pass a launch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPass {
    Forward,
    BackwardInput,
    /// Launched with one z layer per split ([`Conv2dParams::splits`]).
    BackwardWeight,
}

impl ConvVariant {
    pub const ALL: [ConvVariant; 2] = [ConvVariant::Direct, ConvVariant::Gemm];

    pub fn name(self) -> &'static str {
        match self {
            ConvVariant::Direct => "direct",
            ConvVariant::Gemm => "gemm",
        }
    }

    pub fn parse(name: &str) -> Option<ConvVariant> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The kernel this variant runs for `pass` of the conv2d `params`, its override constants
    /// and its workgroup counts (`Direct` launches are one-dimensional: the caller splits them
    /// with `Gpu::groups_1d`, so their counts here are the invocations in x).
    pub fn launch(self, pass: ConvPass, params: &Conv2dParams) -> ConvLaunch {
        let gemm =
            self == ConvVariant::Gemm && (pass != ConvPass::Forward || params.gemm_forward_fits());
        let window = params.constants();
        if !gemm {
            let (kernel, invocations) = match pass {
                ConvPass::Forward => (&CONV2D_FORWARD, params.forward_invocations()),
                ConvPass::BackwardInput => {
                    (&CONV2D_BACKWARD_INPUT, params.backward_input_invocations())
                }
                ConvPass::BackwardWeight => (
                    &CONV2D_BACKWARD_WEIGHT,
                    params.backward_weight_invocations(),
                ),
            };
            return ConvLaunch {
                kernel,
                constants: window.to_vec(),
                groups: ConvGroups::Invocations(invocations),
            };
        }
        let taps = params.in_channels * params.kernel_h * params.kernel_w;
        let (kernel, rows, cols, layers) = match pass {
            ConvPass::Forward => (
                &CONV2D_GEMM_FORWARD,
                params.out_channels,
                params.batch * params.out_height * params.out_width,
                1,
            ),
            ConvPass::BackwardInput => (
                &CONV2D_GEMM_BACKWARD_INPUT,
                params.in_channels,
                params.batch * params.height * params.width,
                1,
            ),
            // The taps and the bias.
            ConvPass::BackwardWeight => (
                if params.gemm_weight_vec4_fits() {
                    &CONV2D_GEMM_BACKWARD_WEIGHT_VEC4
                } else {
                    &CONV2D_GEMM_BACKWARD_WEIGHT
                },
                params.out_channels,
                taps + 1,
                params.splits,
            ),
        };
        let row_groups = rows.div_ceil(SUBGROUP_TILE_ROWS_PER_GROUP).clamp(1, 4);
        let mut constants = window.to_vec();
        constants.push(("ROW_GROUPS", row_groups as f64));
        ConvLaunch {
            kernel,
            constants,
            groups: ConvGroups::Workgroups([
                cols.div_ceil(SUBGROUP_TILE_COLS),
                rows.div_ceil(SUBGROUP_TILE_ROWS_PER_GROUP * row_groups),
                layers,
            ]),
        }
    }
}

/// One conv2d launch: see [`ConvVariant::launch`].
#[derive(Clone, Debug)]
pub struct ConvLaunch {
    pub kernel: &'static Kernel,
    pub constants: Vec<(&'static str, f64)>,
    pub groups: ConvGroups,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvGroups {
    /// A one-dimensional launch of this many invocations.
    Invocations(usize),
    /// Workgroup counts as they are.
    Workgroups([u32; 3]),
}

const POOL2D_COMMON: WgslFile = wgsl!("pool2d_common.wgsl");

/// Max or average pooling (`MAX_POOL`), NCHW (see src/reference/pool.rs): one invocation per
/// output element; max pooling records the input index it took.
pub static POOL2D_FORWARD: Kernel = Kernel {
    name: "pool2d_forward",
    files: &[POOL2D_COMMON, wgsl!("pool2d_forward.wgsl")],
    bindings: &[U, R, RW, RW],
    workgroup: [64, 1, 1],
    constants: &["MAX_POOL"],
};

/// The input gradient of `pool2d_forward`: one invocation per input element.
pub static POOL2D_BACKWARD: Kernel = Kernel {
    name: "pool2d_backward",
    files: &[POOL2D_COMMON, wgsl!("pool2d_backward.wgsl")],
    bindings: &[U, R, R, RW],
    workgroup: [64, 1, 1],
    constants: &["MAX_POOL"],
};

pub static ALL: &[&Kernel] = &[
    &MATMUL,
    &MATMUL_TILED,
    &MATMUL_SUBGROUP,
    &MATMUL_VEC4,
    &CONV2D_GEMM_FORWARD,
    &CONV2D_GEMM_BACKWARD_INPUT,
    &CONV2D_GEMM_BACKWARD_WEIGHT,
    &CONV2D_GEMM_BACKWARD_WEIGHT_VEC4,
    &SUM_ROWS,
    &SUM_ROWS_VEC4,
    &ACTIVATION_FORWARD,
    &ACTIVATION_FORWARD_FOLDED,
    &ACTIVATION_BACKWARD,
    &LOSS,
    &OPTIMIZER,
    &REDUCE_PARTIAL,
    &REDUCE_COMBINE,
    &GATHER,
    &BATCHNORM_TRAIN,
    &BATCHNORM_EVAL,
    &BATCHNORM_BACKWARD,
    &DROPOUT,
    &COUNT_POSITIVE,
    &HISTOGRAM,
    &SCALE,
    &ACCUMULATE,
    &MIX_ROWS,
    &FMA_PROBE,
    &COPY_PROBE,
    &CONV2D_FORWARD,
    &CONV2D_BACKWARD_INPUT,
    &CONV2D_BACKWARD_WEIGHT,
    &POOL2D_FORWARD,
    &POOL2D_BACKWARD,
    &LAYER_NORM_FORWARD,
    &LAYER_NORM_BACKWARD,
    &SOFTMAX_FORWARD,
    &SOFTMAX_BACKWARD,
    &ROW_ENTROPY,
    &EMBEDDING_FORWARD,
    &EMBEDDING_SORT,
    &EMBEDDING_BACKWARD,
    &ADD,
    &TO_HEADS,
    &FROM_HEADS,
    &TO_HEADS_VEC4,
    &FROM_HEADS_VEC4,
    &ADD_VEC4,
    &ADD_VEC4_FOLDED,
];

/// `matmul` parameters: C[m, n] = op(A)[m, k] · op(B)[k, n].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub _pad: u32,
}

/// `sum_rows` parameters: a row-major [rows, cols] matrix, summed over runs of
/// `rows_per_split` rows into `splits` partial rows (one split: the column sums).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MatrixParams {
    pub rows: u32,
    pub cols: u32,
    pub rows_per_split: u32,
    pub splits: u32,
}

/// `count_positive` parameters: `rows` examples of `features` × `spatial` values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct CountPositiveParams {
    pub rows: u32,
    pub features: u32,
    pub spatial: u32,
    pub _pad: u32,
}

/// Activation forward and backward parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ActivationParams {
    pub n: u32,
    pub slope: f32,
    /// [`ACTIVATION_FORWARD_FOLDED`]'s invocations and its first partial record's offset
    /// (floats); unused otherwise.
    pub fold_lanes: u32,
    pub fold_partial: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LossParams {
    pub batch: u32,
    pub width: u32,
    /// Index into the stats buffer of [mean loss, correct count, total weight].
    pub out_slot: u32,
    pub _pad0: u32,
    pub gamma: f32,
    pub alpha: f32,
    pub _pad1: [f32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct OptimizerParams {
    pub n: u32,
    /// Stats index of the first gradient's sum of squares, for clipping by global norm.
    pub clip_first: u32,
    pub clip_count: u32,
    pub clip_stride: u32,
    pub momentum: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub l2: f32,
    pub weight_decay: f32,
    /// 0 disables clipping by global norm.
    pub clip_norm: f32,
    /// 0 disables clipping by value.
    pub clip_value: f32,
    /// Invocations; each updates elements lane, lane + lanes, … (see shaders/optimizer.wgsl).
    pub lanes: u32,
    /// What each lane also does (see [`fold`]): fold statistics into partial records at
    /// `partial_w`, `partial_u` (and `partial_g`) of `out`, or store each update in `out`.
    pub fold: u32,
    pub partial_w: u32,
    pub partial_u: u32,
    /// 0: leave the weights (a skip_update fault), folding a zero update.
    pub apply: u32,
    /// Where the gradients' partial records go with [`fold::ALL_STATISTICS`].
    pub partial_g: u32,
    pub _pad: [u32; 2],
}

/// [`OptimizerParams::fold`]: what an optimizer lane does beside the update.
pub mod fold {
    pub const NONE: u32 = 0;
    pub const STATISTICS: u32 = 1;
    pub const UPDATES: u32 = 2;
    /// The gradients' too (when no clipping by norm needs them before the update).
    pub const ALL_STATISTICS: u32 = 3;
}

/// Per-step values written by the host before each step's submission.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct StepUniform {
    pub lr: f32,
    /// 1 − β1^t, computed on the host in f64.
    pub bias_correction1: f32,
    /// 1 − β2^t.
    pub bias_correction2: f32,
    /// 0-based step index (seeds dropout masks).
    pub step: u32,
    pub seed: u32,
    pub _pad: [u32; 3],
}

/// One tensor of a `reduce_partial` dispatch.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ReducePartialJob {
    pub n: u32,
    pub lanes: u32,
    /// The dispatch's first workgroup for this tensor (lanes fill whole workgroups).
    pub first_group: u32,
    /// Index of the first partial record's first float.
    pub partial: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ReducePartialParams {
    pub jobs: u32,
    pub _pad: [u32; 3],
    pub job: [ReducePartialJob; REDUCE_INPUTS],
}

/// One reduction of a `reduce_combine` dispatch (its workgroup's row of the job table).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ReduceCombineJob {
    pub records: u32,
    pub partial: u32,
    /// Index in the stats buffer of the 8 results.
    pub out: u32,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct GatherParams {
    pub batch: u32,
    pub x_width: u32,
    pub y_width: u32,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BatchNormParams {
    pub batch: u32,
    pub features: u32,
    pub eps: f32,
    pub momentum: f32,
    /// Values per feature and example: 1 for vectors, pixels per channel for images.
    pub spatial: u32,
    pub _pad: [u32; 3],
}

impl BatchNormParams {
    /// Batch norm of a batch of `batch` examples of `shape` (per channel for an image).
    pub fn new(batch: usize, shape: crate::model::Shape, eps: f64, momentum: f64) -> Self {
        BatchNormParams {
            batch: batch as u32,
            features: shape.features() as u32,
            eps: eps as f32,
            momentum: momentum as f32,
            spatial: shape.spatial() as u32,
            _pad: [0; 3],
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct DropoutParams {
    pub n: u32,
    pub layer: u32,
    pub rate: f32,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct HistogramParams {
    pub n: u32,
    pub bins: u32,
    pub lo: f32,
    pub hi: f32,
}

/// `mix_rows` parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MixRowsParams {
    pub rows: u32,
    pub cols: u32,
    pub factor: f32,
    pub _pad: u32,
}

/// `scale` parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ScaleParams {
    pub n: u32,
    pub factor: f32,
    pub _pad: [u32; 2],
}

/// `conv2d_*` parameters (shaders/conv2d_common.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Conv2dParams {
    pub batch: u32,
    pub in_channels: u32,
    pub out_channels: u32,
    pub height: u32,
    pub width: u32,
    pub out_height: u32,
    pub out_width: u32,
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride: u32,
    pub padding: u32,
    pub dilation: u32,
    /// Runs of (example, output row) pairs the weight gradient is split into
    /// ([`Conv2dParams::weight_splits`]).
    pub splits: u32,
    pub rows_per_split: u32,
    /// The same splits as runs of output positions, a multiple of 4 each (for
    /// `conv2d_gemm_backward_weight_vec4`; the last runs may be short or empty).
    pub positions_per_split: u32,
    pub _pad: u32,
}

/// The weight gradient is split until it has about this many invocations…
const CONV2D_WEIGHT_INVOCATIONS: u32 = 4096;
/// …into at most this many partial gradients (sum_rows adds them up one invocation per
/// weight, serially: more would make that sum the slow part).
const CONV2D_MAX_SPLITS: u32 = 64;

impl Conv2dParams {
    /// The parameters of `c`, or `None` when its kernel does not fit its padded input.
    pub fn of(c: &crate::reference::conv::Conv2d) -> Option<Conv2dParams> {
        let (oh, ow) = c.output_size()?;
        Some(
            Conv2dParams {
                batch: c.batch as u32,
                in_channels: c.in_channels as u32,
                out_channels: c.out_channels as u32,
                height: c.height as u32,
                width: c.width as u32,
                out_height: oh as u32,
                out_width: ow as u32,
                kernel_h: c.kernel[0] as u32,
                kernel_w: c.kernel[1] as u32,
                stride: c.stride as u32,
                padding: c.padding as u32,
                dilation: c.dilation as u32,
                splits: 1,
                rows_per_split: (c.batch * oh) as u32,
                positions_per_split: 0,
                _pad: 0,
            }
            .with_weight_splits(),
        )
    }

    /// Splits the weight gradient's (example, output row) pairs into as many runs as give
    /// about `CONV2D_WEIGHT_INVOCATIONS` invocations, at most `CONV2D_MAX_SPLITS`.
    fn with_weight_splits(mut self) -> Self {
        let rows = self.batch * self.out_height;
        let per_split = self.backward_weight_invocations_per_split() as u32;
        let wanted = CONV2D_WEIGHT_INVOCATIONS.div_ceil(per_split.max(1));
        let splits = wanted.clamp(1, CONV2D_MAX_SPLITS.min(rows.max(1)));
        self.rows_per_split = rows.div_ceil(splits).max(1);
        // No empty split at the end.
        self.splits = rows.div_ceil(self.rows_per_split).max(1);
        let positions = rows * self.out_width;
        self.positions_per_split = positions.div_ceil(self.splits).next_multiple_of(4).max(4);
        self
    }

    /// Weights of the layer (`dw` of one split).
    pub fn weight_len(&self) -> usize {
        (self.out_channels * self.in_channels * self.kernel_h * self.kernel_w) as usize
    }

    /// Invocations of `conv2d_forward`: one per output position and block of
    /// `CONV2D_OUT_BLOCK` output channels.
    pub fn forward_invocations(&self) -> usize {
        (self.batch
            * self.out_channels.div_ceil(CONV2D_OUT_BLOCK)
            * self.out_height
            * self.out_width) as usize
    }

    /// Invocations of `conv2d_backward_input`: one per input position and block of
    /// `CONV2D_OUT_BLOCK` input channels.
    pub fn backward_input_invocations(&self) -> usize {
        (self.batch * self.in_channels.div_ceil(CONV2D_OUT_BLOCK) * self.height * self.width)
            as usize
    }

    /// Invocations of `conv2d_backward_weight`: one per tap, block of `CONV2D_OUT_BLOCK`
    /// output channels and split.
    pub fn backward_weight_invocations(&self) -> usize {
        self.backward_weight_invocations_per_split() * self.splits as usize
    }

    fn backward_weight_invocations_per_split(&self) -> usize {
        (self.out_channels.div_ceil(CONV2D_OUT_BLOCK)
            * self.in_channels
            * self.kernel_h
            * self.kernel_w) as usize
    }

    /// Whether `conv2d_gemm_forward` takes this layer: it reads a weight row's taps as vec4s.
    pub fn gemm_forward_fits(&self) -> bool {
        (self.in_channels * self.kernel_h * self.kernel_w).is_multiple_of(4)
    }

    /// Whether `conv2d_gemm_backward_weight_vec4` takes this layer: it reads the output
    /// gradients as vec4s along the output plane and steps its cursor by 4 positions.
    pub fn gemm_weight_vec4_fits(&self) -> bool {
        (self.out_height * self.out_width).is_multiple_of(4) && self.out_width >= 4
    }

    /// The window as the conv2d kernels' override constants.
    pub fn constants(&self) -> [(&'static str, f64); 5] {
        [
            ("KERNEL_H", self.kernel_h as f64),
            ("KERNEL_W", self.kernel_w as f64),
            ("STRIDE", self.stride as f64),
            ("PADDING", self.padding as f64),
            ("DILATION", self.dilation as f64),
        ]
    }
}

/// `pool2d_*` parameters (shaders/pool2d_common.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Pool2dParams {
    pub planes: u32,
    pub height: u32,
    pub width: u32,
    pub out_height: u32,
    pub out_width: u32,
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub padding: u32,
    pub _pad: [u32; 2],
}

impl Pool2dParams {
    /// The parameters of `p`, or `None` when its window does not fit its padded input.
    pub fn of(p: &crate::reference::pool::Pool2d) -> Option<Pool2dParams> {
        let (oh, ow) = p.output_size()?;
        Some(Pool2dParams {
            planes: p.planes as u32,
            height: p.height as u32,
            width: p.width as u32,
            out_height: oh as u32,
            out_width: ow as u32,
            kernel_h: p.kernel[0] as u32,
            kernel_w: p.kernel[1] as u32,
            stride_h: p.stride[0] as u32,
            stride_w: p.stride[1] as u32,
            padding: p.padding as u32,
            _pad: [0; 2],
        })
    }

    /// The `MAX_POOL` constant for `kind`.
    pub fn constants(kind: crate::model::PoolKind) -> [(&'static str, f64); 1] {
        [(
            "MAX_POOL",
            if kind == crate::model::PoolKind::Max {
                1.0
            } else {
                0.0
            },
        )]
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ProbeParams {
    pub n: u32,
    pub iterations: u32,
    pub _pad: [u32; 2],
}

/// Workgroup counts for `n` invocations of a 1-D kernel with `wg` lanes, split over y when x
/// would exceed the per-dimension limit (the kernels rebuild the index from `num_workgroups`).
pub fn groups_1d(n: usize, wg: u32, max_per_dim: u32) -> [u32; 3] {
    let groups = (n as u64).div_ceil(wg as u64).max(1);
    if groups <= max_per_dim as u64 {
        return [groups as u32, 1, 1];
    }
    let y = groups.div_ceil(max_per_dim as u64);
    let x = groups.div_ceil(y);
    [x as u32, y as u32, 1]
}
