// y = conv2d(x, w) + b. Each invocation computes OUT_BLOCK (4) output channels at one output
// position, so every input value it loads feeds four multiply-adds (loads, not arithmetic, are
// the cost on software adapters); neighbouring invocations are neighbouring positions, so their
// input loads are contiguous and their weight loads the same. Taps in the padding are skipped.
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const OUT_BLOCK: u32 = 4u;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = conv_index(gid, nwg);
    let blocks = (p.out_channels + OUT_BLOCK - 1u) / OUT_BLOCK;
    let plane = p.out_height * p.out_width;
    if (i >= p.batch * blocks * plane) {
        return;
    }
    let ox = i % p.out_width;
    let oy = (i / p.out_width) % p.out_height;
    let o0 = ((i / plane) % blocks) * OUT_BLOCK;
    let n = i / (plane * blocks);
    // Channels past the last are computed on the last one's weights and not written.
    let last = p.out_channels - 1u;
    let taps = p.in_channels * KERNEL_H * KERNEL_W;
    let w0 = min(o0, last) * taps;
    let w1 = min(o0 + 1u, last) * taps;
    let w2 = min(o0 + 2u, last) * taps;
    let w3 = min(o0 + 3u, last) * taps;
    var acc = vec4<f32>(0.0);
    for (var c = 0u; c < p.in_channels; c = c + 1u) {
        let x_base = (n * p.in_channels + c) * p.height;
        let w_c = c * KERNEL_H;
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
                let v = x[(x_base + u32(iy)) * p.width + u32(ix)];
                let t = (w_c + ki) * KERNEL_W + kj;
                acc = acc + v * vec4<f32>(w[w0 + t], w[w1 + t], w[w2 + t], w[w3 + t]);
            }
        }
    }
    let at = ((n * p.out_channels + o0) * p.out_height + oy) * p.out_width + ox;
    for (var k = 0u; k < OUT_BLOCK; k = k + 1u) {
        if (o0 + k < p.out_channels) {
            y[at + k * plane] = acc[k] + b[o0 + k];
        }
    }
}
