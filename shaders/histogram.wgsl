// Fixed-bin histogram of x[0..n] over [lo, hi): bin = floor((v − lo)/(hi − lo)·bins), values
// below lo go to bin 0 and values at or above hi to the last bin; NaN/Inf are not counted
// (the reductions count them). Counts accumulate into `counts`, zeroed by the caller.
// Integer atomics make the result independent of scheduling.
struct Params {
    n: u32,
    bins: u32,
    lo: f32,
    hi: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) {
        return;
    }
    let v = x[i];
    if ((bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u) {
        return;
    }
    let t = (v - p.lo) / (p.hi - p.lo) * f32(p.bins);
    let bin = u32(clamp(t, 0.0, f32(p.bins - 1u)));
    atomicAdd(&counts[bin], 1u);
}
