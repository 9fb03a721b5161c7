// A user loss over a batch in one workgroup, like loss.wgsl and with its bindings: the mean of
// the user's `loss()` over the examples, dlogits = grad(j) / batch, and at
// stats[out_slot..out_slot+3] the mean loss, the correct count (argmax against the class, or
// the sign of a single logit against a 0/1 label) and the example count. The user's file and
// user_loss_accessors.wgsl come first (src/kernels/user_loss.rs). Sums in a fixed order:
// bit-identical run to run. Bindings 0–2 (parameters, logits, targets) are in the accessors.
@group(0) @binding(3) var<storage, read> netdx_class_weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> netdx_dlogits: array<f32>;
@group(0) @binding(5) var<storage, read_write> netdx_stats: array<f32>;

var<workgroup> netdx_red: array<f32, 256>;

fn netdx_sum(lid: u32, v: f32) -> f32 {
    netdx_red[lid] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            netdx_red[lid] = netdx_red[lid] + netdx_red[lid + s];
        }
        workgroupBarrier();
    }
    let total = netdx_red[0];
    workgroupBarrier();
    return total;
}

fn netdx_correct(i: u32) -> f32 {
    let w = netdx_p.width;
    let t = netdx_targets[i];
    if (w == 1u) {
        return select(0.0, 1.0, (netdx_logits[i] > 0.0) == (t > 0.5));
    }
    var arg = 0u;
    var m = netdx_logits[i * w];
    for (var j = 1u; j < w; j = j + 1u) {
        let z = netdx_logits[i * w + j];
        if (z > m) {
            m = z;
            arg = j;
        }
    }
    return select(0.0, 1.0, arg == u32(max(t, 0.0)));
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32) {
    let w = netdx_p.width;
    let scale = 1.0 / f32(netdx_p.batch);
    var lsum = 0.0;
    var csum = 0.0;
    for (var i = lid; i < netdx_p.batch; i = i + 256u) {
        netdx_row = i;
        lsum = lsum + loss();
        for (var j = 0u; j < w; j = j + 1u) {
            netdx_dlogits[i * w + j] = grad(j) * scale;
        }
        if (NETDX_CLASSES) {
            csum = csum + netdx_correct(i);
        }
    }
    let total = netdx_sum(lid, lsum);
    let correct = netdx_sum(lid, csum);
    if (lid == 0u) {
        netdx_stats[netdx_p.out_slot] = total * scale;
        netdx_stats[netdx_p.out_slot + 1u] = correct;
        netdx_stats[netdx_p.out_slot + 2u] = f32(netdx_p.batch);
    }
}
