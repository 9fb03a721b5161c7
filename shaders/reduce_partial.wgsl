// Stage 1 of a reduction: each of `lanes` invocations folds x[offset + i] for
// i = lane, lane + lanes, … (neighbouring lanes read neighbouring values) into one partial
// statistic at partials[partial + 8·lane]. No barriers: on software adapters they are the
// expensive part, and stage 2 (reduce_combine) does the tree.
struct Params {
    n: u32,
    offset: u32,
    partial: u32,
    lanes: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let lane = gid.x;
    if (lane >= p.lanes) {
        return;
    }
    var a = acc_empty();
    for (var i = lane; i < p.n; i = i + p.lanes) {
        a = acc_push(a, x[p.offset + i]);
    }
    let o = p.partial + lane * 8u;
    partials[o] = a.count;
    partials[o + 1u] = a.mean;
    partials[o + 2u] = a.m2;
    partials[o + 3u] = a.sum;
    partials[o + 4u] = a.sumsq;
    partials[o + 5u] = a.lo;
    partials[o + 6u] = a.hi;
    partials[o + 7u] = a.bad;
}
