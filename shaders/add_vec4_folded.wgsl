// add_vec4.wgsl's bindings and the partial records slices_folded.wgsl writes.
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
