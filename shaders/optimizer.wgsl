// One optimizer step for one parameter tensor, elementwise:
//   1. gradient clipping by global norm (the norm is read from the gradient reductions in
//      `stats`, computed earlier in the same submission — no read-back) then by value;
//   2. the L2 penalty's gradient l2·w (weights only; l2 = 0 for biases);
//   3. decoupled weight decay w ← w·(1 − lr·wd) (AdamW's rule, applied for any optimizer);
//   4. the update rule, PyTorch's formulation of each.
// Invocation `lane` updates the slices of 4 values w[4q .. 4q + 4] for q = lane, lane + lanes, …:
// with lanes = ⌈n/4⌉ one slice each. On a fully instrumented step lanes = the reduction's lanes,
// and each lane also folds the weights before the update and the applied updates w_new − w_old
// into partial statistics, in reduce_partial's order and record layout, so reduce_combine turns
// them into the very numbers that separate reductions of the weights and of stored updates give,
// while each weight is read once.
// `fold`: 0 nothing, 1 fold the weights and updates into `out`, 3 also the gradients (at
// `partial_g`, when no clipping by norm needs them before the update), 2 store each update in
// `out` (the unfused path the tests compare with). `apply` 0 leaves the weights (a skip_update
// fault), folding a zero update. Both are uniforms, not override constants: one compiled kernel
// serves the tracked and the untracked steps of a track schedule, so both round alike (a second
// specialization may be contracted differently by a GPU's compiler, and the weights would drift
// by an ulp).
// OPT: 0 sgd, 1 momentum, 2 nesterov, 3 adam, 4 adamw.
override OPT: u32 = 0u;

struct Params {
    n: u32,
    clip_first: u32,
    clip_count: u32,
    clip_stride: u32,
    momentum: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    l2: f32,
    weight_decay: f32,
    clip_norm: f32,
    clip_value: f32,
    lanes: u32,
    fold: u32,
    partial_w: u32,
    partial_u: u32,
    apply: u32,
    partial_g: u32,
    _pad1: u32,
    _pad2: u32,
}

struct Step {
    lr: f32,
    bias_correction1: f32,
    bias_correction2: f32,
    step: u32,
    seed: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> st: Step;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read> stats: array<f32>;

// The global-norm clipping coefficient: the same for every element.
fn clip_coefficient() -> f32 {
    if (p.clip_norm <= 0.0) {
        return 1.0;
    }
    var sq = 0.0;
    for (var s = 0u; s < p.clip_count; s = s + 1u) {
        sq = sq + stats[p.clip_first + s * p.clip_stride];
    }
    let coef = p.clip_norm / (sqrt(sq) + 1e-6);
    return min(coef, 1.0);
}

// Element i's new value (its moments written on the way).
fn updated(i: u32, w_old: f32, g_raw: f32, coef: f32) -> f32 {
    var grad = g_raw;
    if (p.clip_norm > 0.0) {
        grad = grad * coef;
    }
    if (p.clip_value > 0.0) {
        grad = clamp(grad, -p.clip_value, p.clip_value);
    }
    grad = grad + p.l2 * w_old;
    var wn = w_old * (1.0 - st.lr * p.weight_decay);
    switch OPT {
        case 1u: {
            let buf = p.momentum * m[i] + grad;
            m[i] = buf;
            wn = wn - st.lr * buf;
        }
        case 2u: {
            let buf = p.momentum * m[i] + grad;
            m[i] = buf;
            wn = wn - st.lr * (grad + p.momentum * buf);
        }
        case 3u, 4u: {
            let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * grad;
            let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * grad * grad;
            m[i] = m1;
            v[i] = v1;
            let denom = sqrt(v1) / sqrt(st.bias_correction2) + p.eps;
            wn = wn - (st.lr / st.bias_correction1) * m1 / denom;
        }
        default: {
            wn = wn - st.lr * grad;
        }
    }
    return wn;
}

// A partial record as reduce_partial writes it.
fn store(o: u32, a: Acc) {
    out[o] = a.count;
    out[o + 1u] = a.mean;
    out[o + 2u] = a.m2;
    out[o + 3u] = a.sum;
    out[o + 4u] = a.sumsq;
    out[o + 5u] = a.lo;
    out[o + 6u] = a.hi;
    out[o + 7u] = a.bad;
}

// 64 lanes a workgroup: a folding step runs the reduction's lanes, 256 for any tensor of up
// to 64 Ki values, which in one workgroup a software adapter runs on one core.
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let lane = gid.x + gid.y * nwg.x * 64u;
    if (lane >= p.lanes) {
        return;
    }
    let coef = clip_coefficient();
    let folds = p.fold == 1u || p.fold == 3u;
    var ag = acc_empty();
    var aw = acc_empty();
    var au = acc_empty();
    // Slices of 4 values, as reduce_partial reads them, so the folds run in its order.
    let slices = (p.n + 3u) / 4u;
    for (var q = lane; q < slices; q = q + p.lanes) {
        for (var i = 4u * q; i < min(4u * q + 4u, p.n); i = i + 1u) {
            let w_old = w[i];
            let g_raw = g[i];
            var wn = w_old;
            if (p.apply != 0u) {
                wn = updated(i, w_old, g_raw, coef);
                w[i] = wn;
            }
            if (folds) {
                aw = acc_push(aw, w_old);
                au = acc_push(au, wn - w_old);
                if (p.fold == 3u) {
                    ag = acc_push(ag, g_raw);
                }
            } else if (p.fold == 2u) {
                out[i] = wn - w_old;
            }
        }
    }
    if (folds) {
        store(p.partial_w + lane * 8u, aw);
        store(p.partial_u + lane * 8u, au);
        if (p.fold == 3u) {
            store(p.partial_g + lane * 8u, ag);
        }
    }
}
