// Stage 1 of the reductions of up to seven tensors at once (one dispatch, however many tensors
// a training step reduces): job j folds tensor xj, read as vec4 slices (every tensor's buffer
// is a whole number of vec4s; values past n are left out). Each of a job's `lanes` invocations
// folds slices q = lane, lane + lanes, … (neighbouring lanes read neighbouring slices), each
// slice's values in order, into one partial statistic at partials[partial + 8·lane]; the
// optimizer's fused statistics and the kernels that fold what they write (slices_folded.wgsl)
// fold in this same order. A job's lanes fill whole workgroups, so a workgroup serves one job.
// No barriers: on software adapters they are the expensive part, and stage 2 (reduce_combine)
// does the tree. Seven inputs and the partials stay within the
// 8 storage buffers per stage that every WebGPU adapter has; REDUCE_INPUTS in
// src/kernels/mod.rs must match.
struct Job {
    n: u32,
    lanes: u32,
    first_group: u32,
    partial: u32,
}

struct Params {
    jobs: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    job: array<Job, 7>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> x2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> x3: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> x5: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> x6: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> partials: array<f32>;

// Bindings cannot be indexed, hence one loop per input; `j` is the same across a workgroup.
fn fold(j: u32, lane: u32, n: u32, lanes: u32) -> Acc {
    var a = acc_empty();
    let n4 = (n + 3u) / 4u;
    switch j {
        case 0u: { for (var q = lane; q < n4; q = q + lanes) { a = push_slice(a, x0[q], q, n); } }
        case 1u: { for (var q = lane; q < n4; q = q + lanes) { a = push_slice(a, x1[q], q, n); } }
        case 2u: { for (var q = lane; q < n4; q = q + lanes) { a = push_slice(a, x2[q], q, n); } }
        case 3u: { for (var q = lane; q < n4; q = q + lanes) { a = push_slice(a, x3[q], q, n); } }
        case 4u: { for (var q = lane; q < n4; q = q + lanes) { a = push_slice(a, x4[q], q, n); } }
        case 5u: { for (var q = lane; q < n4; q = q + lanes) { a = push_slice(a, x5[q], q, n); } }
        default: { for (var q = lane; q < n4; q = q + lanes) { a = push_slice(a, x6[q], q, n); } }
    }
    return a;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    var j = 0u;
    for (var k = 1u; k < p.jobs; k = k + 1u) {
        if (wg.x >= p.job[k].first_group) {
            j = k;
        }
    }
    let job = p.job[j];
    let lane = (wg.x - job.first_group) * 256u + lid;
    let a = fold(j, lane, job.n, job.lanes);
    let o = job.partial + lane * 8u;
    partials[o] = a.count;
    partials[o + 1u] = a.mean;
    partials[o + 2u] = a.m2;
    partials[o + 3u] = a.sum;
    partials[o + 4u] = a.sumsq;
    partials[o + 5u] = a.lo;
    partials[o + 6u] = a.hi;
    partials[o + 7u] = a.bad;
}
