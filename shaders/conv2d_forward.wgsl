// y = conv2d(x, w) + b, one invocation per output element; taps in the padding are skipped.
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = conv_index(gid, nwg);
    if (i >= p.batch * p.out_channels * p.out_height * p.out_width) {
        return;
    }
    let ox = i % p.out_width;
    let oy = (i / p.out_width) % p.out_height;
    let o = (i / (p.out_width * p.out_height)) % p.out_channels;
    let n = i / (p.out_width * p.out_height * p.out_channels);
    var acc = b[o];
    for (var c = 0u; c < p.in_channels; c = c + 1u) {
        let x_base = (n * p.in_channels + c) * p.height;
        let w_base = (o * p.in_channels + c) * KERNEL_H;
        for (var ki = 0u; ki < KERNEL_H; ki = ki + 1u) {
            let iy = i32(oy * STRIDE + ki * DILATION) - i32(PADDING);
            if (iy < 0 || iy >= i32(p.height)) {
                continue;
            }
            for (var kj = 0u; kj < KERNEL_W; kj = kj + 1u) {
                let ix = i32(ox * STRIDE + kj * DILATION) - i32(PADDING);
                if (ix < 0 || ix >= i32(p.width)) {
                    continue;
                }
                acc = acc + x[(x_base + u32(iy)) * p.width + u32(ix)] * w[(w_base + ki) * KERNEL_W + kj];
            }
        }
    }
    y[i] = acc;
}
