// dw and db of conv2d as an implicit GEMM on the subgroup tile (subgroup_tile.wgsl and
// conv2d_gemm_weight_common.wgsl), for software adapters with subgroups of 8, where an output
// plane is a multiple of 4 positions and at least 4 wide (`Conv2dParams::gemm_weight_vec4_fits`):
// the depth is this split's run of `positions_per_split` output positions (a multiple of 4),
// walked in 4-wide steps along the plane, so that a row's gradients are one vec4 (the forward's
// weights likewise) and only the columns' inputs are read one by one. A step never leaves its
// example (the plane is a multiple of 4); a cursor carries the position from step to step, so
// that no position needs a division (integer division is scalar on llvmpipe).
@group(0) @binding(0) var<uniform> p: Conv2dParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

// The first position of a 4-wide step: its example, its index in the plane and its output row
// and column.
struct Cursor {
    n: u32,
    at: u32,
    oy: u32,
    ox: u32,
}

fn cursor_at(position: u32) -> Cursor {
    let plane = p.out_height * p.out_width;
    let at = position % plane;
    return Cursor(position / plane, at, at / p.out_width, at % p.out_width);
}

// The next step's cursor (the plane is at least 4 wide, so a row wraps at most once).
fn advance(c: Cursor) -> Cursor {
    let plane = p.out_height * p.out_width;
    if (c.at + 4u >= plane) {
        return Cursor(c.n + 1u, 0u, 0u, 0u);
    }
    var next = Cursor(c.n, c.at + 4u, c.oy, c.ox + 4u);
    if (next.ox >= p.out_width) {
        next.ox = next.ox - p.out_width;
        next.oy = next.oy + 1u;
    }
    return next;
}

// Tap `tap`'s input at the step's four positions, zero past the split's end.
fn x_quad(tap: Tap, c: Cursor, live: vec4<bool>) -> vec4<f32> {
    let x_n = c.n * p.in_channels * p.height * p.width;
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < 4u; q = q + 1u) {
        var oy = c.oy;
        var ox = c.ox + q;
        if (ox >= p.out_width) {
            ox = ox - p.out_width;
            oy = oy + 1u;
        }
        v[q] = select(0.0, x_at(tap, x_n, min(oy, p.out_height - 1u), ox), live[q]);
    }
    return v;
}

// Output gradients of this lane's channel in row group t at the step's four positions (zero
// past the split's end and for row groups not in the tile; channels past the last read the
// last and are not stored).
fn dy_quad(lane: u32, t: u32, c: Cursor, live: vec4<bool>) -> vec4<f32> {
    if (t >= ROW_GROUPS) {
        return vec4<f32>(0.0);
    }
    let o = min(row0 + 8u * t + lane, p.out_channels - 1u);
    let plane = p.out_height * p.out_width;
    let v = dy[((c.n * p.out_channels + o) * plane + c.at) / 4u];
    return select(vec4<f32>(0.0), v, live);
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
    let total = p.batch * p.out_height * p.out_width;
    let first = min(split * p.positions_per_split, total);
    let end = min(first + p.positions_per_split, total);
    var c = cursor_at(min(first, total - 1u));
    var tile: Tile;
    // No early return: the broadcasts need every lane.
    for (var g = first; g < end; g = g + 4u) {
        let live = vec4<u32>(g) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(end);
        let bm = mat4x4<f32>(
            x_quad(tap0, c, live),
            x_quad(tap1, c, live),
            x_quad(tap2, c, live),
            x_quad(tap3, c, live),
        );
        let a0 = dy_quad(lane, 0u, c, live);
        let a1 = dy_quad(lane, 1u, c, live);
        let a2 = dy_quad(lane, 2u, c, live);
        let a3 = dy_quad(lane, 3u, c, live);
        accumulate(&tile, a0, a1, a2, a3, bm);
        c = advance(c);
    }
    store_tile(&tile);
}
