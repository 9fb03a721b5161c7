// Counter-based random numbers: a value depends only on (seed, step, layer, index), so dropout
// masks are reproducible from the seed, identical in the forward and backward pass, and
// mirrored bit for bit by src/rng.rs (`dropout_uniform`).
fn pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Uniform in [0, 1) with 24 bits of resolution.
fn counter_uniform(seed: u32, step: u32, layer: u32, index: u32) -> f32 {
    let h = pcg_hash(index ^ pcg_hash(layer ^ pcg_hash(step ^ pcg_hash(seed))));
    return f32(h >> 8u) * (1.0 / 16777216.0);
}
