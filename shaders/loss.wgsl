// Loss fused with its gradient, for a whole batch in one workgroup. Writes dlogits and, at
// stats[out_slot..out_slot+3], the mean loss, the count of correct predictions and the total
// example weight. One workgroup sums in a fixed order, so the loss is bit-identical run to run.
//
// LOSS: 0 softmax cross-entropy, 1 binary cross-entropy with logits (width 1),
//       2 mean squared error, 3 softmax focal loss (gamma, alpha).
// targets: a class index (as f32) per example for 0 and 3; 0/1 for 1; `width` values for 2.
// Means follow PyTorch: over the batch (weighted by class weight when HAS_WEIGHTS), and for
// MSE over batch and outputs. For binary cross-entropy HAS_WEIGHTS means class_weights[0] is
// pos_weight, the weight of the positive term (the mean stays over the batch). A sequence model's rows are its examples' positions; a negative
// class index marks a position that is not scored (PyTorch's ignore_index): weight 0, no loss,
// no gradient, not counted correct.
override LOSS: u32 = 0u;
override HAS_WEIGHTS: bool = false;

struct Params {
    batch: u32,
    width: u32,
    out_slot: u32,
    _pad0: u32,
    gamma: f32,
    alpha: f32,
    _pad1: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read> class_weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

fn workgroup_sum(lid: u32, v: f32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            red[lid] = red[lid] + red[lid + s];
        }
        workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return total;
}

fn class_of(i: u32) -> u32 {
    return min(u32(max(targets[i], 0.0)), p.width - 1u);
}

fn example_weight(i: u32) -> f32 {
    if ((LOSS == 0u || LOSS == 3u) && targets[i] < 0.0) {
        return 0.0;
    }
    if (HAS_WEIGHTS && (LOSS == 0u || LOSS == 3u)) {
        return class_weights[class_of(i)];
    }
    return 1.0;
}

fn sigmoid_stable(x: f32) -> f32 {
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

// Loss of example i, times its weight; writes its gradient row scaled by `scale`.
// Returns (weighted loss, correct).
fn example(i: u32, scale: f32) -> vec2<f32> {
    let w = p.width;
    let base = i * w;
    if (LOSS == 1u) {
        let z = logits[i];
        let y = targets[i];
        let correct = select(0.0, 1.0, (z > 0.0) == (y > 0.5));
        if (HAS_WEIGHTS) {
            // −[pw·y·log σ(z) + (1−y)·log(1−σ(z))] with log σ(z) = −softplus(−z).
            let pw = class_weights[0];
            let softplus_neg = max(-z, 0.0) + log(1.0 + exp(-abs(z)));
            let softplus_pos = max(z, 0.0) + log(1.0 + exp(-abs(z)));
            let loss = pw * y * softplus_neg + (1.0 - y) * softplus_pos;
            dlogits[i] = (sigmoid_stable(z) * (pw * y + 1.0 - y) - pw * y) * scale;
            return vec2<f32>(loss, correct);
        }
        let loss = max(z, 0.0) - z * y + log(1.0 + exp(-abs(z)));
        dlogits[i] = (sigmoid_stable(z) - y) * scale;
        return vec2<f32>(loss, correct);
    }
    if (LOSS == 2u) {
        var loss = 0.0;
        for (var j = 0u; j < w; j = j + 1u) {
            let d = logits[base + j] - targets[base + j];
            loss = loss + d * d;
            dlogits[base + j] = 2.0 * d * scale;
        }
        return vec2<f32>(loss, 0.0);
    }
    // Softmax cross-entropy and focal loss share the log-sum-exp.
    let t = class_of(i);
    var m = logits[base];
    var arg = 0u;
    for (var j = 1u; j < w; j = j + 1u) {
        let z = logits[base + j];
        if (z > m) {
            m = z;
            arg = j;
        }
    }
    var s = 0.0;
    for (var j = 0u; j < w; j = j + 1u) {
        s = s + exp(logits[base + j] - m);
    }
    let lse = m + log(s);
    let logp_t = logits[base + t] - lse;
    let wt = example_weight(i);
    let correct = select(0.0, 1.0, arg == t && targets[i] >= 0.0);
    if (LOSS == 3u) {
        let p_t = exp(logp_t);
        let q = max(1.0 - p_t, 0.0);
        var q_gamma = 0.0;
        var slope = 0.0;
        if (q > 0.0) {
            q_gamma = pow(q, p.gamma);
            slope = p.gamma * pow(q, p.gamma - 1.0) * p_t * logp_t;
        } else if (p.gamma == 0.0) {
            q_gamma = 1.0;
        }
        // d/dz_j of -α q^γ log p_t = α (γ q^(γ-1) p_t log p_t − q^γ) (δ_tj − p_j)
        let coef = p.alpha * (slope - q_gamma) * wt * scale;
        for (var j = 0u; j < w; j = j + 1u) {
            let pj = exp(logits[base + j] - lse);
            let delta = select(0.0, 1.0, j == t);
            dlogits[base + j] = coef * (delta - pj);
        }
        return vec2<f32>(-p.alpha * q_gamma * logp_t * wt, correct);
    }
    for (var j = 0u; j < w; j = j + 1u) {
        let pj = exp(logits[base + j] - lse);
        let delta = select(0.0, 1.0, j == t);
        dlogits[base + j] = (pj - delta) * wt * scale;
    }
    return vec2<f32>(-logp_t * wt, correct);
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32) {
    var wsum = 0.0;
    for (var i = lid; i < p.batch; i = i + WG) {
        wsum = wsum + example_weight(i);
    }
    let total_weight = workgroup_sum(lid, wsum);
    var denom = total_weight;
    if (LOSS == 2u) {
        denom = f32(p.batch) * f32(p.width);
    }
    let scale = 1.0 / denom;
    var lsum = 0.0;
    var csum = 0.0;
    for (var i = lid; i < p.batch; i = i + WG) {
        let r = example(i, scale);
        lsum = lsum + r.x;
        csum = csum + r.y;
    }
    let loss = workgroup_sum(lid, lsum);
    let correct = workgroup_sum(lid, csum);
    if (lid == 0u) {
        stats[p.out_slot] = loss / denom;
        stats[p.out_slot + 1u] = correct;
        stats[p.out_slot + 2u] = total_weight;
    }
}
