// Statistics of x[offset .. offset + n] in one workgroup, written to stats[out .. out + 8]:
//   sum, sum of squares, min, max, mean, std (population), count of NaN/Inf, count of finite.
// Non-finite values are counted and left out of the other figures, so one NaN does not hide
// the magnitudes of the rest. Mean and std come from Welford's update per lane and Chan's
// pairwise combination, which avoids the cancellation of sumsq/n − mean².
// A fixed tree order makes the result identical from run to run.
struct Params {
    n: u32,
    offset: u32,
    out: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

const WG: u32 = 256u;
var<workgroup> r_count: array<f32, 256>;
var<workgroup> r_mean: array<f32, 256>;
var<workgroup> r_m2: array<f32, 256>;
var<workgroup> r_sum: array<f32, 256>;
var<workgroup> r_sumsq: array<f32, 256>;
var<workgroup> r_min: array<f32, 256>;
var<workgroup> r_max: array<f32, 256>;
var<workgroup> r_bad: array<f32, 256>;

fn is_finite(v: f32) -> bool {
    // Compare exponent bits: `v != v` may be folded away by fast-math backends.
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32) {
    var count = 0.0;
    var mean = 0.0;
    var m2 = 0.0;
    var sum = 0.0;
    var sumsq = 0.0;
    var lo = 3.4028235e38;
    var hi = -3.4028235e38;
    var bad = 0.0;
    for (var i = lid; i < p.n; i = i + WG) {
        let v = x[p.offset + i];
        if (is_finite(v)) {
            count = count + 1.0;
            let d = v - mean;
            mean = mean + d / count;
            m2 = m2 + d * (v - mean);
            sum = sum + v;
            sumsq = sumsq + v * v;
            lo = min(lo, v);
            hi = max(hi, v);
        } else {
            bad = bad + 1.0;
        }
    }
    r_count[lid] = count;
    r_mean[lid] = mean;
    r_m2[lid] = m2;
    r_sum[lid] = sum;
    r_sumsq[lid] = sumsq;
    r_min[lid] = lo;
    r_max[lid] = hi;
    r_bad[lid] = bad;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            let o = lid + s;
            let na = r_count[lid];
            let nb = r_count[o];
            let n = na + nb;
            if (nb > 0.0) {
                let d = r_mean[o] - r_mean[lid];
                r_mean[lid] = r_mean[lid] + d * (nb / n);
                r_m2[lid] = r_m2[lid] + r_m2[o] + d * d * (na * nb / n);
            }
            r_count[lid] = n;
            r_sum[lid] = r_sum[lid] + r_sum[o];
            r_sumsq[lid] = r_sumsq[lid] + r_sumsq[o];
            r_min[lid] = min(r_min[lid], r_min[o]);
            r_max[lid] = max(r_max[lid], r_max[o]);
            r_bad[lid] = r_bad[lid] + r_bad[o];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let n = r_count[0];
        stats[p.out] = r_sum[0];
        stats[p.out + 1u] = r_sumsq[0];
        stats[p.out + 2u] = select(0.0, r_min[0], n > 0.0);
        stats[p.out + 3u] = select(0.0, r_max[0], n > 0.0);
        stats[p.out + 4u] = r_mean[0];
        stats[p.out + 5u] = select(0.0, sqrt(max(r_m2[0] / n, 0.0)), n > 0.0);
        stats[p.out + 6u] = r_bad[0];
        stats[p.out + 7u] = n;
    }
}
