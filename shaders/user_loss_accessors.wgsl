// The example a user loss sees: `logit(j)`, `label(j)` (for class labels `label(0u)` is the
// class index) and `outputs()`, read at row `netdx_row` of the bindings 0–2 that both user-loss
// templates share (user_loss.wgsl adds the gradient and statistics, user_loss_probe.wgsl its
// steps and output). The probe nudges one logit by `netdx_bump` to take finite differences.
override NETDX_CLASSES: bool = true;

// The layout of `LossParams` (src/kernels/mod.rs), as loss.wgsl has it.
struct NetdxLossParams {
    batch: u32,
    width: u32,
    out_slot: u32,
    _pad0: u32,
    gamma: f32,
    alpha: f32,
    _pad1: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> netdx_p: NetdxLossParams;
@group(0) @binding(1) var<storage, read> netdx_logits: array<f32>;
@group(0) @binding(2) var<storage, read> netdx_targets: array<f32>;

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
