// y = act(x), elementwise, four values an invocation (vec4 reads and writes: a software
// adapter's cost is one lane-by-lane loop per access), through slices.wgsl or
// slices_folded.wgsl. The last slice may run past n into the buffers' padding (every tensor is
// a whole number of vec4s), whose values nothing reads. ACT selects the function (see
// activation_fns.wgsl).
override ACT: u32 = 1u;

struct Params {
    n: u32,
    slope: f32,
    // slices_folded.wgsl's: its lanes and first partial record.
    fold_lanes: u32,
    fold_partial: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

fn slice_value(q: u32) -> vec4<f32> {
    let v = x[q];
    return vec4<f32>(
        act_forward(ACT, v.x, p.slope),
        act_forward(ACT, v.y, p.slope),
        act_forward(ACT, v.z, p.slope),
        act_forward(ACT, v.w, p.slope),
    );
}
