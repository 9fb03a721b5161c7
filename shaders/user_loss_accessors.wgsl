// The example a user loss sees: `logit(j)`, `label(j)` (for class labels `label(0u)` is the
// class index) and `outputs()`, read at row `netdx_row` of the bindings that both user-loss
// templates declare (user_loss.wgsl, user_loss_probe.wgsl). The probe nudges one logit by
// `netdx_bump` to take finite differences.
override NETDX_CLASSES: bool = true;

var<private> netdx_row: u32 = 0u;
var<private> netdx_bump_j: u32 = 0xffffffffu;
var<private> netdx_bump: f32 = 0.0;

fn logit(j: u32) -> f32 {
    let c = min(j, netdx_p.width - 1u);
    return netdx_logits[netdx_row * netdx_p.width + c] + select(0.0, netdx_bump, c == netdx_bump_j);
}

fn label(j: u32) -> f32 {
    if (NETDX_CLASSES) {
        return netdx_targets[netdx_row];
    }
    return netdx_targets[netdx_row * netdx_p.width + min(j, netdx_p.width - 1u)];
}

fn outputs() -> u32 {
    return netdx_p.width;
}
