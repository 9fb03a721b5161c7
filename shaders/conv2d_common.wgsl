// 2-D convolution geometry shared by the conv2d kernels (NCHW, weight [o, c, kh, kw], as in
// PyTorch; src/reference/conv.rs is the f64 mirror). Matches `Conv2dParams` in
// src/kernels/mod.rs.
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
}

// The flat index of invocation `gid` in a 1-D launch split over x and y (see groups_1d).
fn conv_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}
