// Fixed-bin histogram of x[0..n] over [lo, hi): bin = floor((v − lo)/(hi − lo)·bins), values
// below lo go to bin 0 and values at or above hi to the last bin; NaN/Inf are not counted
// (the reductions count them). Counts accumulate into `counts`, zeroed by the caller.
// Integer atomics make the result independent of scheduling.
//
// Each workgroup counts a block of SLICES_PER_LANE · 256 vec4 slices (every tensor's buffer is
// a whole number of vec4s; values past n are left out) into its own bins in workgroup memory,
// then adds them to `counts` once: a global atomic per value had every lane of every core
// contend for the same few cache lines, which on a software adapter cost more than the
// forward pass whose activations it counted. Up to MAX_BINS bins (HISTOGRAM_MAX_BINS in
// src/kernels/mod.rs must match).
const MAX_BINS: u32 = 256u;
const SLICES_PER_LANE: u32 = 16u;

struct Params {
    n: u32,
    bins: u32,
    lo: f32,
    hi: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;

var<workgroup> local_counts: array<atomic<u32>, MAX_BINS>;

fn count(v: f32) {
    if ((bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u) {
        return;
    }
    let t = (v - p.lo) / (p.hi - p.lo) * f32(p.bins);
    let bin = u32(clamp(t, 0.0, f32(p.bins - 1u)));
    atomicAdd(&local_counts[bin], 1u);
}

@compute @workgroup_size(256, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    // One bin a lane: the workgroup's 256 lanes zero all MAX_BINS.
    atomicStore(&local_counts[lane], 0u);
    workgroupBarrier();
    let group = wid.x + wid.y * nwg.x;
    let n4 = (p.n + 3u) / 4u;
    // Neighbouring lanes read neighbouring slices.
    let first = group * SLICES_PER_LANE * 256u + lane;
    for (var k = 0u; k < SLICES_PER_LANE; k = k + 1u) {
        let q = first + k * 256u;
        if (q >= n4) {
            break;
        }
        let s = x[q];
        let left = p.n - 4u * q;
        count(s.x);
        if (left > 1u) {
            count(s.y);
        }
        if (left > 2u) {
            count(s.z);
        }
        if (left > 3u) {
            count(s.w);
        }
    }
    workgroupBarrier();
    if (lane < p.bins) {
        let c = atomicLoad(&local_counts[lane]);
        if (c > 0u) {
            atomicAdd(&counts[lane], c);
        }
    }
}
