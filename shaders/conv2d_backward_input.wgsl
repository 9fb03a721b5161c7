// dx = the transposed convolution of dy. Each invocation computes IN_BLOCK (4) input channels
// at one input position, so every dy value it loads feeds four multiply-adds: the outputs a tap
// (ki, kj) maps to this position are those with oy·stride + ki·dilation − padding = iy.
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

const IN_BLOCK: u32 = 4u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = conv_index(gid, nwg);
    let blocks = (p.in_channels + IN_BLOCK - 1u) / IN_BLOCK;
    let plane = p.height * p.width;
    if (i >= p.batch * blocks * plane) {
        return;
    }
    let ix = i % p.width;
    let iy = (i / p.width) % p.height;
    let c0 = ((i / plane) % blocks) * IN_BLOCK;
    let n = i / (plane * blocks);
    // Channels past the last are computed on the last one's weights and not written.
    let last = p.in_channels - 1u;
    let window = KERNEL_H * KERNEL_W;
    let c1 = min(c0 + 1u, last);
    let c2 = min(c0 + 2u, last);
    let c3 = min(c0 + 3u, last);
    var acc = vec4<f32>(0.0);
    for (var o = 0u; o < p.out_channels; o = o + 1u) {
        let dy_base = (n * p.out_channels + o) * p.out_height;
        let w_o = o * p.in_channels;
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
                let g = dy[(dy_base + oy) * p.out_width + u32(tx) / STRIDE];
                let t = ki * KERNEL_W + kj;
                acc = acc + g * vec4<f32>(
                    w[(w_o + c0) * window + t],
                    w[(w_o + c1) * window + t],
                    w[(w_o + c2) * window + t],
                    w[(w_o + c3) * window + t],
                );
            }
        }
    }
    let at = ((n * p.in_channels + c0) * p.height + iy) * p.width + ix;
    for (var k = 0u; k < IN_BLOCK; k = k + 1u) {
        if (c0 + k < p.in_channels) {
            dx[at + k * plane] = acc[k];
        }
    }
}
