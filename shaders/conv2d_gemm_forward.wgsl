// y = conv2d(x, w) + b as an implicit GEMM on the subgroup tile (subgroup_tile.wgsl), for
// software adapters with subgroups of 8: rows are output channels, columns are output
// positions (example, y, x) flattened, and the depth is the taps (input channel, ki, kj) in the
// order of a weight row, so that op(A) = w [out, taps] is read along the depth as vec4s (the
// taps per output channel must be a multiple of 4, `Conv2dParams::gemm_forward`). The input
// values of a column (its window) are read one by one, zero in the padding. Against
// conv2d_forward.wgsl, which reads four weights for every four multiply-adds, each value read
// here serves 32 (a window value) or 128 (a weight) multiply-adds.
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Where column `col`'s window starts: its example's first input value and the input row and
// column of its top-left tap (negative in the padding).
struct Window {
    base: i32,
    iy0: i32,
    ix0: i32,
}

fn window_of(col: u32) -> Window {
    let plane = p.out_height * p.out_width;
    let q = min(col, p.batch * plane - 1u);
    let n = q / plane;
    let at = q % plane;
    let oy = at / p.out_width;
    let ox = at % p.out_width;
    return Window(
        i32(n * p.in_channels * p.height * p.width),
        i32(oy * STRIDE) - i32(PADDING),
        i32(ox * STRIDE) - i32(PADDING),
    );
}

// The input value of tap `tap` in window `win`, zero in the padding.
fn x_at(win: Window, tap: u32) -> f32 {
    let c = tap / (KERNEL_H * KERNEL_W);
    let ki = (tap / KERNEL_W) % KERNEL_H;
    let kj = tap % KERNEL_W;
    let iy = win.iy0 + i32(ki * DILATION);
    let ix = win.ix0 + i32(kj * DILATION);
    let inside = iy >= 0 && iy < i32(p.height) && ix >= 0 && ix < i32(p.width);
    let at = win.base + (i32(c * p.height) + iy) * i32(p.width) + ix;
    return select(0.0, x[u32(select(0, at, inside))], inside);
}

// Taps k0 .. k0+3 of window `win`.
fn x_quad(win: Window, k0: u32) -> vec4<f32> {
    return vec4<f32>(x_at(win, k0), x_at(win, k0 + 1u), x_at(win, k0 + 2u), x_at(win, k0 + 3u));
}

// Taps k0 .. k0+3 of this lane's weight row in row group t (zero for row groups not in the
// tile; rows past the last read the last and are not stored).
fn w_quad(lane: u32, t: u32, k0: u32, taps: u32) -> vec4<f32> {
    if (t >= ROW_GROUPS) {
        return vec4<f32>(0.0);
    }
    return w[(min(row0 + 8u * t + lane, p.out_channels - 1u) * taps + k0) / 4u];
}

fn store_slot(t: u32, i: u32, v: vec4<f32>) {
    let o = row0 + 8u * t + i;
    let plane = p.out_height * p.out_width;
    if (o >= p.out_channels) {
        return;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
        let q = col0 + j;
        if (q < p.batch * plane) {
            y[((q / plane) * p.out_channels + o) * plane + q % plane] = v[j] + b[o];
        }
    }
}

@compute @workgroup_size(8, 1, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    place_tile(wg, lane);
    let taps = p.in_channels * KERNEL_H * KERNEL_W;
    let win0 = window_of(col0);
    let win1 = window_of(col0 + 1u);
    let win2 = window_of(col0 + 2u);
    let win3 = window_of(col0 + 3u);
    var tile: Tile;
    // No early return: the broadcasts need every lane.
    for (var k0 = 0u; k0 < taps; k0 = k0 + 4u) {
        let bm = mat4x4<f32>(x_quad(win0, k0), x_quad(win1, k0), x_quad(win2, k0), x_quad(win3, k0));
        let a0 = w_quad(lane, 0u, k0, taps);
        let a1 = w_quad(lane, 1u, k0, taps);
        let a2 = w_quad(lane, 2u, k0, taps);
        let a3 = w_quad(lane, 3u, k0, taps);
        accumulate(&tile, a0, a1, a2, a3, bm);
    }
    store_tile(&tile);
}
