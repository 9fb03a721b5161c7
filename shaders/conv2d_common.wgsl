// 2-D convolution geometry shared by the conv2d kernels (NCHW, weight [o, c, kh, kw], as in
// PyTorch; src/reference/conv.rs is the f64 mirror). Matches `Conv2dParams` in
// src/kernels/mod.rs. The kernel's window is also specialized as override constants
// (`Conv2dParams::constants`): with constant trip counts the tap loops unroll and the stride's
// divisions fold away, which on lavapipe (integer division is scalar there) is most of the
// cost; the uniform keeps every field so the layout is one for all geometries.
override KERNEL_H: u32 = 3u;
override KERNEL_W: u32 = 3u;
override STRIDE: u32 = 1u;
override PADDING: u32 = 0u;
override DILATION: u32 = 1u;

struct Conv2dParams {
    batch: u32,
    in_channels: u32,
    out_channels: u32,
    height: u32,
    width: u32,
    out_height: u32,
    out_width: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride: u32,
    padding: u32,
    dilation: u32,
    // conv2d_backward_weight only: the (example, output row) pairs are cut into `splits` runs
    // of `rows_per_split`, each summed by its own invocations into its own partial gradient.
    splits: u32,
    rows_per_split: u32,
    // conv2d_gemm_backward_weight_vec4 only: the same splits as runs of this many positions.
    positions_per_split: u32,
    _pad: u32,
}

// The flat index of invocation `gid` in a 1-D launch split over x and y (see groups_1d).
fn conv_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}
