// 2-D pooling geometry shared by the pool2d kernels: `planes` = batch · channels planes of
// height × width, NCHW (src/reference/pool.rs is the f64 mirror). MAX_POOL selects max
// pooling; otherwise average pooling divides by the whole window, padding included (PyTorch's
// count_include_pad=True). Matches `Pool2dParams` in src/kernels/mod.rs.
override MAX_POOL: bool = true;

struct Pool2dParams {
    planes: u32,
    height: u32,
    width: u32,
    out_height: u32,
    out_width: u32,
    kernel_h: u32,
    kernel_w: u32,
    stride_h: u32,
    stride_w: u32,
    padding: u32,
    _pad0: u32,
    _pad1: u32,
}

// The flat index of invocation `gid` in a 1-D launch split over x and y (see groups_1d).
fn pool_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 64u;
}
