// y = pool(x), one invocation per output element. Max pooling also records the input index
// it took (the first maximum in row-major window order; NaN wins, as in PyTorch), which the
// backward pass routes the gradient to.
@group(0) @binding(0) var<uniform> p: Pool2dParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

// NaN by its bits: `v != v` may be folded away by fast-math backends (and is, on lavapipe).
fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = pool_index(gid, nwg);
    if (o >= p.planes * p.out_height * p.out_width) {
        return;
    }
    let ox = o % p.out_width;
    let oy = (o / p.out_width) % p.out_height;
    let plane = o / (p.out_width * p.out_height);
    var best = 0.0;
    var best_index = 0xffffffffu;
    var sum = 0.0;
    for (var ki = 0u; ki < p.kernel_h; ki = ki + 1u) {
        let iy = i32(oy * p.stride_h + ki) - i32(p.padding);
        if (iy < 0 || iy >= i32(p.height)) {
            continue;
        }
        for (var kj = 0u; kj < p.kernel_w; kj = kj + 1u) {
            let ix = i32(ox * p.stride_w + kj) - i32(p.padding);
            if (ix < 0 || ix >= i32(p.width)) {
                continue;
            }
            let i = (plane * p.height + u32(iy)) * p.width + u32(ix);
            let v = x[i];
            if (best_index == 0xffffffffu || v > best || is_nan(v)) {
                best = v;
                best_index = i;
            }
            sum = sum + v;
        }
    }
    if (MAX_POOL) {
        y[o] = best;
        argmax[o] = best_index;
    } else {
        y[o] = sum / f32(p.kernel_h * p.kernel_w);
    }
}
