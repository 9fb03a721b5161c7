// Stage 2 of a set of reductions: workgroup j combines job j's `records` partial statistics in a
// fixed tree order (so results are identical run to run) and writes stats[out .. out + 8]:
//   sum, sum of squares, min, max, mean, std (population), count of NaN/Inf, count of finite.
// One dispatch serves every reduction of a training step. 64 invocations: each barrier of the
// tree costs a software adapter about as much as the combining, and a job has few records
// there (CPU adapters' lanes fold 256 values each); measured on lavapipe, 256 invocations took
// 2.2× as long for the benchmark transformer's statistics.
struct Job {
    records: u32,
    partial: u32,
    out: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> jobs: array<Job>;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

const WG: u32 = 64u;
var<workgroup> red: array<Acc, 64>;

fn load(first: u32, r: u32) -> Acc {
    let o = first + r * 8u;
    return Acc(partials[o], partials[o + 1u], partials[o + 2u], partials[o + 3u],
               partials[o + 4u], partials[o + 5u], partials[o + 6u], partials[o + 7u]);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let p = jobs[wg.x];
    var a = acc_empty();
    for (var r = lid; r < p.records; r = r + WG) {
        a = acc_combine(a, load(p.partial, r));
    }
    red[lid] = a;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            red[lid] = acc_combine(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let t = red[0];
        let any = t.count > 0.0;
        stats[p.out] = t.sum;
        stats[p.out + 1u] = t.sumsq;
        stats[p.out + 2u] = select(0.0, t.lo, any);
        stats[p.out + 3u] = select(0.0, t.hi, any);
        stats[p.out + 4u] = t.mean;
        stats[p.out + 5u] = select(0.0, sqrt(max(t.m2 / t.count, 0.0)), any);
        stats[p.out + 6u] = t.bad;
        stats[p.out + 7u] = t.count;
    }
}
