// dx of pooling, one invocation per input element, gathering from the outputs whose windows
// hold it (no atomics, so the sum order is fixed): max pooling takes dy where that output's
// recorded argmax is this element, average pooling dy / window size.
@group(0) @binding(0) var<uniform> p: Pool2dParams;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// The first and one past the last output position along one side whose window holds padded
// position `t` (= input position + padding).
fn covering(t: u32, kernel: u32, stride: u32, outputs: u32) -> vec2<u32> {
    var lo = 0u;
    if (t + 1u > kernel) {
        lo = (t + 1u - kernel + stride - 1u) / stride;
    }
    let hi = min(t / stride + 1u, outputs);
    return vec2<u32>(lo, hi);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = pool_index(gid, nwg);
    if (i >= p.planes * p.height * p.width) {
        return;
    }
    let ix = i % p.width;
    let iy = (i / p.width) % p.height;
    let plane = i / (p.width * p.height);
    let rows = covering(iy + p.padding, p.kernel_h, p.stride_h, p.out_height);
    let cols = covering(ix + p.padding, p.kernel_w, p.stride_w, p.out_width);
    let inv_window = 1.0 / f32(p.kernel_h * p.kernel_w);
    var acc = 0.0;
    for (var oy = rows.x; oy < rows.y; oy = oy + 1u) {
        for (var ox = cols.x; ox < cols.y; ox = ox + 1u) {
            let o = (plane * p.out_height + oy) * p.out_width + ox;
            if (MAX_POOL) {
                if (argmax[o] == i) {
                    acc = acc + dy[o];
                }
            } else {
                acc = acc + dy[o] * inv_window;
            }
        }
    }
    dx[i] = acc;
}
