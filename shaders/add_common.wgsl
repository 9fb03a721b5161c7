// The parameters of add and add_vec4: y[i] = a[i] + b[i % period] for i < n.
struct Params {
    n: u32,
    period: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
