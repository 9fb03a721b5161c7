// dx = the transposed convolution of dy, one invocation per input element: the outputs a
// tap (ki, kj) maps to this element are those with oy·stride + ki·dilation − padding = iy.
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = conv_index(gid, nwg);
    if (i >= p.batch * p.in_channels * p.height * p.width) {
        return;
    }
    let ix = i % p.width;
    let iy = (i / p.width) % p.height;
    let c = (i / (p.width * p.height)) % p.in_channels;
    let n = i / (p.width * p.height * p.in_channels);
    var acc = 0.0;
    for (var o = 0u; o < p.out_channels; o = o + 1u) {
        let dy_base = (n * p.out_channels + o) * p.out_height;
        let w_base = (o * p.in_channels + c) * KERNEL_H;
        for (var ki = 0u; ki < KERNEL_H; ki = ki + 1u) {
            let ty = i32(iy + PADDING) - i32(ki * DILATION);
            if (ty < 0 || u32(ty) % STRIDE != 0u || u32(ty) / STRIDE >= p.out_height) {
                continue;
            }
            let oy = u32(ty) / STRIDE;
            for (var kj = 0u; kj < KERNEL_W; kj = kj + 1u) {
                let tx = i32(ix + PADDING) - i32(kj * DILATION);
                if (tx < 0 || u32(tx) % STRIDE != 0u || u32(tx) / STRIDE >= p.out_width) {
                    continue;
                }
                let ox = u32(tx) / STRIDE;
                acc = acc + dy[(dy_base + oy) * p.out_width + ox] * w[(w_base + ki) * KERNEL_W + kj];
            }
        }
    }
    dx[i] = acc;
}
