// The kernel gradient check's probe for a user loss, one example per invocation: writes
// loss() and, for each logit j, grad(j) and loss() with logit j moved by +h, −h, +2h, −2h
// (h = steps[i·w + j]) to out[i·(1 + 5w) ..]. The host forms the finite differences.
@group(0) @binding(3) var<storage, read> netdx_steps: array<f32>;
@group(0) @binding(4) var<storage, read_write> netdx_out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= netdx_p.batch) {
        return;
    }
    let w = netdx_p.width;
    let base = i * (1u + 5u * w);
    netdx_row = i;
    netdx_bump_j = 0xffffffffu;
    netdx_out[base] = loss();
    for (var j = 0u; j < w; j = j + 1u) {
        let o = base + 1u + 5u * j;
        netdx_bump_j = 0xffffffffu;
        netdx_out[o] = grad(j);
        let h = netdx_steps[i * w + j];
        netdx_bump_j = j;
        netdx_bump = h;
        netdx_out[o + 1u] = loss();
        netdx_bump = -h;
        netdx_out[o + 2u] = loss();
        netdx_bump = 2.0 * h;
        netdx_out[o + 3u] = loss();
        netdx_bump = -2.0 * h;
        netdx_out[o + 4u] = loss();
    }
    netdx_bump_j = 0xffffffffu;
    netdx_bump = 0.0;
}
