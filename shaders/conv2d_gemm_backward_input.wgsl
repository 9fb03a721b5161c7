// dx of conv2d as an implicit GEMM on the subgroup tile (subgroup_tile.wgsl), for software
// adapters with subgroups of 8: rows are input channels, columns are input positions (example,
// y, x) flattened, and the depth is the taps (output channel, ki, kj). A row's weights
// w[o, c, ki, kj] are not contiguous along that depth, so they are read one by one; a column's
// values are the output gradients its position fed, zero where no output used it (padding,
// stride). The last 4-step slice of the depth is masked when the depth is not a multiple of 4.
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// Column `col`'s position: its example's first output gradient and its input row and column
// shifted by the padding.
struct Position {
    base: u32,
    ty: i32,
    tx: i32,
}

fn position_of(col: u32) -> Position {
    let plane = p.height * p.width;
    let q = min(col, p.batch * plane - 1u);
    let at = q % plane;
    return Position(
        (q / plane) * p.out_channels * p.out_height * p.out_width,
        i32(at / p.width + PADDING),
        i32(at % p.width + PADDING),
    );
}

// The output gradient that tap `tap` (o, ki, kj) of position `pos` received, zero where the
// window never covered it.
fn dy_at(pos: Position, tap: u32, depth: u32) -> f32 {
    let o = tap / (KERNEL_H * KERNEL_W);
    let ki = (tap / KERNEL_W) % KERNEL_H;
    let kj = tap % KERNEL_W;
    let ty = pos.ty - i32(ki * DILATION);
    let tx = pos.tx - i32(kj * DILATION);
    let oy = u32(ty) / STRIDE;
    let ox = u32(tx) / STRIDE;
    let used = tap < depth && ty >= 0 && tx >= 0 && u32(ty) % STRIDE == 0u
        && u32(tx) % STRIDE == 0u && oy < p.out_height && ox < p.out_width;
    let at = pos.base + (o * p.out_height + oy) * p.out_width + ox;
    return select(0.0, dy[select(0u, at, used)], used);
}

fn dy_quad(pos: Position, k0: u32, depth: u32) -> vec4<f32> {
    return vec4<f32>(
        dy_at(pos, k0, depth),
        dy_at(pos, k0 + 1u, depth),
        dy_at(pos, k0 + 2u, depth),
        dy_at(pos, k0 + 3u, depth),
    );
}

// Taps k0 .. k0+3 of this lane's input channel in row group t: w[o, c, ki, kj] (zero past the
// depth and for row groups not in the tile; channels past the last read the last and are not
// stored).
fn w_quad(lane: u32, t: u32, k0: u32, depth: u32) -> vec4<f32> {
    if (t >= ROW_GROUPS) {
        return vec4<f32>(0.0);
    }
    let c = min(row0 + 8u * t + lane, p.in_channels - 1u);
    let window = KERNEL_H * KERNEL_W;
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < 4u; q = q + 1u) {
        let tap = min(k0 + q, depth - 1u);
        let o = tap / window;
        v[q] = select(0.0, w[(o * p.in_channels + c) * window + tap % window], k0 + q < depth);
    }
    return v;
}

fn store_slot(t: u32, i: u32, v: vec4<f32>) {
    let c = row0 + 8u * t + i;
    let plane = p.height * p.width;
    if (c >= p.in_channels) {
        return;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
        let q = col0 + j;
        if (q < p.batch * plane) {
            dx[((q / plane) * p.in_channels + c) * plane + q % plane] = v[j];
        }
    }
}

@compute @workgroup_size(8, 1, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    place_tile(wg, lane);
    let depth = p.out_channels * KERNEL_H * KERNEL_W;
    let pos0 = position_of(col0);
    let pos1 = position_of(col0 + 1u);
    let pos2 = position_of(col0 + 2u);
    let pos3 = position_of(col0 + 3u);
    var tile: Tile;
    // No early return: the broadcasts need every lane.
    for (var k0 = 0u; k0 < depth; k0 = k0 + 4u) {
        let bm = mat4x4<f32>(
            dy_quad(pos0, k0, depth),
            dy_quad(pos1, k0, depth),
            dy_quad(pos2, k0, depth),
            dy_quad(pos3, k0, depth),
        );
        let a0 = w_quad(lane, 0u, k0, depth);
        let a1 = w_quad(lane, 1u, k0, depth);
        let a2 = w_quad(lane, 2u, k0, depth);
        let a3 = w_quad(lane, 3u, k0, depth);
        accumulate(&tile, a0, a1, a2, a3, bm);
    }
    store_tile(&tile);
}
