// What the two implicit-GEMM conv2d weight gradients share (conv2d_gemm_backward_weight.wgsl
// walks each output row in 4-wide steps; conv2d_gemm_backward_weight_vec4.wgsl walks the output
// plane in 4-wide steps and reads dy as vec4s): rows are output channels, columns are the taps
// (input channel, ki, kj) of a weight row plus one more, the bias, whose input is 1, and the
// depth is output positions (z layer = split; src/plan/conv.rs sums the splits). The kernels
// declare x, dy, dw and db.

// The split this workgroup sums (for `store_slot`).
var<private> split: u32;

// Column `col`'s tap: its input channel's offset in an example's input and its (ki, kj)
// offsets, or the bias column (`ones`).
struct Tap {
    channel: u32,
    dy: i32,
    dx: i32,
    ones: bool,
    valid: bool,
}

fn tap_of(col: u32) -> Tap {
    let taps = p.in_channels * KERNEL_H * KERNEL_W;
    let t = min(col, taps - 1u);
    return Tap(
        (t / (KERNEL_H * KERNEL_W)) * p.height * p.width,
        i32(((t / KERNEL_W) % KERNEL_H) * DILATION) - i32(PADDING),
        i32((t % KERNEL_W) * DILATION) - i32(PADDING),
        col == taps,
        col < taps,
    );
}

// Tap `tap`'s input at output position (oy, ox) of the example whose input starts at `x_n`:
// zero in the padding, 1 for the bias column.
fn x_at(tap: Tap, x_n: u32, oy: u32, ox: u32) -> f32 {
    let iy = i32(oy * STRIDE) + tap.dy;
    let ix = i32(ox * STRIDE) + tap.dx;
    let inside = tap.valid && iy >= 0 && iy < i32(p.height) && ix >= 0 && ix < i32(p.width);
    let at = i32(x_n + tap.channel) + iy * i32(p.width) + ix;
    return select(select(0.0, x[u32(select(0, at, inside))], inside), 1.0, tap.ones);
}

fn store_slot(t: u32, i: u32, v: vec4<f32>) {
    let o = row0 + 8u * t + i;
    let taps = p.in_channels * KERNEL_H * KERNEL_W;
    if (o >= p.out_channels) {
        return;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
        let col = col0 + j;
        if (col < taps) {
            dw[(split * p.out_channels + o) * taps + col] = v[j];
        } else if (col == taps) {
            db[split * p.out_channels + o] = v[j];
        }
    }
}
