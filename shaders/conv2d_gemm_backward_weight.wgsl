// dw and db of conv2d as an implicit GEMM on the subgroup tile (subgroup_tile.wgsl and
// conv2d_gemm_weight_common.wgsl), for software adapters with subgroups of 8, on any geometry:
// the depth is this split's (example, output row) pairs (as conv2d_backward_weight.wgsl splits
// them), each output row walked in 4-wide steps, the last masked past the row's end, so that no
// position needs a division (integer division is scalar on llvmpipe). A row's gradients and a
// column's inputs are read one by one.
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

// Tap `tap`'s input at output positions (oy, ox0 .. ox0+3), zero past the row's end.
fn x_quad(tap: Tap, x_n: u32, oy: u32, ox0: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < 4u; q = q + 1u) {
        let ox = ox0 + q;
        v[q] = select(0.0, x_at(tap, x_n, oy, min(ox, p.out_width - 1u)), ox < p.out_width);
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
