// The parameters of the embedding kernels: `rows` token ids (stored as f32, exact integers
// below 2^24) looking up rows of a [vocab, dim] table.
struct Params {
    rows: u32,
    dim: u32,
    vocab: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// The table row of token value t. The host validates ids; the clamp to [0, vocab − 1] only
// keeps every read inside the table (and makes every kernel agree on an invalid id).
fn token_id(t: f32) -> u32 {
    return min(u32(max(t, 0.0)), max(p.vocab, 1u) - 1u);
}
