// dw and db of conv2d as an implicit GEMM on the subgroup tile (subgroup_tile.wgsl), for
// software adapters with subgroups of 8: rows are output channels, columns are the taps
// (input channel, ki, kj) of a weight row plus one more, the bias, whose input is 1, and the
// depth is the output positions of this split's (example, output row) pairs (z layer = split,
// as conv2d_backward_weight.wgsl splits them; src/plan/conv.rs sums the splits). Each output
// row is walked in 4-wide steps, the last masked past the row's end, so that no position needs
// a division (integer division is scalar on llvmpipe). A row's gradients and a column's inputs
// are read one by one.
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

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

// Tap `tap`'s input at output positions (oy, ox0 .. ox0+3) of the example whose input starts
// at `x_n`; zero in the padding and past the row's end, 1 for the bias column.
fn x_quad(tap: Tap, x_n: u32, oy: u32, ox0: u32) -> vec4<f32> {
    let iy = i32(oy * STRIDE) + tap.dy;
    let row_in = tap.valid && iy >= 0 && iy < i32(p.height);
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < 4u; q = q + 1u) {
        let ox = ox0 + q;
        let ix = i32(ox * STRIDE) + tap.dx;
        let inside = row_in && ox < p.out_width && ix >= 0 && ix < i32(p.width);
        let at = i32(x_n + tap.channel) + iy * i32(p.width) + ix;
        v[q] = select(0.0, x[u32(select(0, at, inside))], inside);
        if (tap.ones) {
            v[q] = select(0.0, 1.0, ox < p.out_width);
        }
    }
    return v;
}

// Output gradients of this lane's channel in row group t at (oy, ox0 .. ox0+3) of the example
// whose gradients start at `dy_n` (zero past the row's end and for row groups not in the tile;
// channels past the last read the last and are not stored).
fn dy_quad(lane: u32, t: u32, dy_n: u32, oy: u32, ox0: u32) -> vec4<f32> {
    if (t >= ROW_GROUPS) {
        return vec4<f32>(0.0);
    }
    let o = min(row0 + 8u * t + lane, p.out_channels - 1u);
    let at = dy_n + (o * p.out_height + oy) * p.out_width;
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < 4u; q = q + 1u) {
        let ox = ox0 + q;
        v[q] = select(0.0, dy[at + min(ox, p.out_width - 1u)], ox < p.out_width);
    }
    return v;
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

@compute @workgroup_size(8, 1, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    place_tile(wg, lane);
    split = wg.z;
    let tap0 = tap_of(col0);
    let tap1 = tap_of(col0 + 1u);
    let tap2 = tap_of(col0 + 2u);
    let tap3 = tap_of(col0 + 3u);
    let first_row = split * p.rows_per_split;
    let end_row = min(first_row + p.rows_per_split, p.batch * p.out_height);
    var tile: Tile;
    // No early return: the broadcasts need every lane.
    for (var r = first_row; r < end_row; r = r + 1u) {
        let n = r / p.out_height;
        let oy = r % p.out_height;
        let x_n = n * p.in_channels * p.height * p.width;
        let dy_n = n * p.out_channels * p.out_height * p.out_width;
        for (var ox0 = 0u; ox0 < p.out_width; ox0 = ox0 + 4u) {
            let bm = mat4x4<f32>(
                x_quad(tap0, x_n, oy, ox0),
                x_quad(tap1, x_n, oy, ox0),
                x_quad(tap2, x_n, oy, ox0),
                x_quad(tap3, x_n, oy, ox0),
            );
            let a0 = dy_quad(lane, 0u, dy_n, oy, ox0);
            let a1 = dy_quad(lane, 1u, dy_n, oy, ox0);
            let a2 = dy_quad(lane, 2u, dy_n, oy, ox0);
            let a3 = dy_quad(lane, 3u, dy_n, oy, ox0);
            accumulate(&tile, a0, a1, a2, a3, bm);
        }
    }
    store_tile(&tile);
}
