// activation_forward.wgsl's bindings and the partial records slices_folded.wgsl writes.
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
