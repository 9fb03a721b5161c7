// add.wgsl four values an invocation, where n and the period are multiples of 4 (so a slice
// never straddles the period): a quarter of the loads, stores and integer divisions, which a
// software adapter runs lane by lane. Through slices.wgsl or slices_folded.wgsl.
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;

fn slice_value(q: u32) -> vec4<f32> {
    return a[q] + b[q % (p.period / 4u)];
}
