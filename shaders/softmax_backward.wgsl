// The input gradient of softmax_forward, one invocation per row, from its output y:
//   dx = scale · y · (dy − Σ_j dy_j·y_j),
// the sum over the unmasked columns; masked columns get exactly 0 (whatever dy holds there).
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let base = r * p.width;
    let n = valid_columns(r);
    var s = 0.0;
    for (var j = 0u; j < n; j = j + 1u) {
        s = s + dy[base + j] * y[base + j];
    }
    for (var j = 0u; j < n; j = j + 1u) {
        let i = base + j;
        dx[i] = p.scale * y[i] * (dy[i] - s);
    }
    for (var j = n; j < p.width; j = j + 1u) {
        dx[base + j] = 0.0;
    }
}
