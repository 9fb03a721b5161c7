// The parameters of add and add_vec4: y[i] = a[i] + b[i % period] for i < n.
struct Params {
    n: u32,
    period: u32,
    // slices_folded.wgsl's (add_vec4 only): its lanes and first partial record.
    fold_lanes: u32,
    fold_partial: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
