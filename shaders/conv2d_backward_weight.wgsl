// dw = Σ over batch and output positions of dy · x, one invocation per weight element; the
// invocation of tap (o, 0, 0, 0) also sums db[o] = Σ dy over batch and positions.
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = conv_index(gid, nwg);
    if (i >= p.out_channels * p.in_channels * KERNEL_H * KERNEL_W) {
        return;
    }
    let kj = i % KERNEL_W;
    let ki = (i / KERNEL_W) % KERNEL_H;
    let c = (i / (KERNEL_W * KERNEL_H)) % p.in_channels;
    let o = i / (KERNEL_W * KERNEL_H * p.in_channels);
    let first_tap = c == 0u && ki == 0u && kj == 0u;
    var acc = 0.0;
    var bias = 0.0;
    for (var n = 0u; n < p.batch; n = n + 1u) {
        let dy_base = (n * p.out_channels + o) * p.out_height;
        let x_base = (n * p.in_channels + c) * p.height;
        for (var oy = 0u; oy < p.out_height; oy = oy + 1u) {
            let iy = i32(oy * STRIDE + ki * DILATION) - i32(PADDING);
            let row_in = iy >= 0 && iy < i32(p.height);
            for (var ox = 0u; ox < p.out_width; ox = ox + 1u) {
                let g = dy[(dy_base + oy) * p.out_width + ox];
                bias = bias + g;
                let ix = i32(ox * STRIDE + kj * DILATION) - i32(PADDING);
                if (row_in && ix >= 0 && ix < i32(p.width)) {
                    acc = acc + g * x[(x_base + u32(iy)) * p.width + u32(ix)];
                }
            }
        }
    }
    dw[i] = acc;
    if (first_tap) {
        db[o] = bias;
    }
}
