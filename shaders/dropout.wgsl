// Inverted dropout: out = in · keep / (1 − rate), keep = (u ≥ rate) with u from the
// counter-based generator. The same kernel serves the forward pass (in = x) and the backward
// pass (in = dy): the mask is recomputed, never stored.
struct Params {
    n: u32,
    layer: u32,
    rate: f32,
    _pad: u32,
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
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) {
        return;
    }
    if (p.rate <= 0.0) {
        dst[i] = src[i];
        return;
    }
    let u = counter_uniform(st.seed, st.step, p.layer, i);
    dst[i] = select(0.0, src[i] / (1.0 - p.rate), u >= p.rate);
}
