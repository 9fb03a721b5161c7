// Shared by the reductions, the optimizer and the kernels that fold what they write
// (prepended by src/kernels/source.rs).
// A partial statistic of finite values: count, mean and M2 (Welford), sum, sum of squares,
// min, max, and the count of NaN/Inf values, which are left out of everything else.
struct Acc {
    count: f32,
    mean: f32,
    m2: f32,
    sum: f32,
    sumsq: f32,
    lo: f32,
    hi: f32,
    bad: f32,
}

fn acc_empty() -> Acc {
    return Acc(0.0, 0.0, 0.0, 0.0, 0.0, 3.4028235e38, -3.4028235e38, 0.0);
}

fn is_finite(v: f32) -> bool {
    // Compare exponent bits: `v != v` may be folded away by fast-math backends.
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// Welford's update with one value.
fn acc_push(a: Acc, v: f32) -> Acc {
    var r = a;
    if (!is_finite(v)) {
        r.bad = r.bad + 1.0;
        return r;
    }
    r.count = r.count + 1.0;
    let d = v - r.mean;
    r.mean = r.mean + d / r.count;
    r.m2 = r.m2 + d * (v - r.mean);
    r.sum = r.sum + v;
    r.sumsq = r.sumsq + v * v;
    r.lo = min(r.lo, v);
    r.hi = max(r.hi, v);
    return r;
}

// The values of slice `q` (x[4q ..]) below n, in order.
fn push_slice(a: Acc, v: vec4<f32>, q: u32, n: u32) -> Acc {
    let i = 4u * q;
    var r = a;
    if (i + 3u < n) {
        r = acc_push(r, v.x);
        r = acc_push(r, v.y);
        r = acc_push(r, v.z);
        r = acc_push(r, v.w);
    } else {
        if (i < n) { r = acc_push(r, v.x); }
        if (i + 1u < n) { r = acc_push(r, v.y); }
        if (i + 2u < n) { r = acc_push(r, v.z); }
    }
    return r;
}

// Chan et al.'s pairwise combination: no cancellation of sumsq/n − mean².
fn acc_combine(a: Acc, b: Acc) -> Acc {
    var r = a;
    let n = a.count + b.count;
    if (b.count > 0.0) {
        let d = b.mean - a.mean;
        r.mean = a.mean + d * (b.count / n);
        r.m2 = a.m2 + b.m2 + d * d * (a.count * b.count / n);
    }
    r.count = n;
    r.sum = a.sum + b.sum;
    r.sumsq = a.sumsq + b.sumsq;
    r.lo = min(a.lo, b.lo);
    r.hi = max(a.hi, b.hi);
    r.bad = a.bad + b.bad;
    return r;
}
