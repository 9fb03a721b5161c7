// y = softmax(scale·x) over each row, one invocation per row (rows are a sequence length or a
// class count wide): the row max first (stability), then Σ exp(scale·x − max), then
// y = exp(scale·x − max)/Σ, recomputing the exponentials rather than writing and re-reading y.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let base = r * p.width;
    let n = valid_columns(r);
    if (n > 0u) {
        var mx = p.scale * x[base];
        for (var j = 1u; j < n; j = j + 1u) {
            mx = max(mx, p.scale * x[base + j]);
        }
        var s = 0.0;
        for (var j = 0u; j < n; j = j + 1u) {
            s = s + exp(p.scale * x[base + j] - mx);
        }
        for (var j = 0u; j < n; j = j + 1u) {
            y[base + j] = exp(p.scale * x[base + j] - mx) / s;
        }
    }
    for (var j = n; j < p.width; j = j + 1u) {
        y[base + j] = 0.0;
    }
}
