// The parameters of softmax_forward and softmax_backward: rows of `width` scores, softmax of
// scale·x over each row. With `causal` set, row r is query position t = r % seq (rows are
// [batch·heads, seq] blocks) and the columns j > t are masked: they take no part in the max or
// the sum and their outputs are exactly 0. Masked columns are never read, so no −inf or NaN
// arithmetic appears.
struct Params {
    rows: u32,
    width: u32,
    scale: f32,
    causal: u32,
    seq: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Row r's unmasked columns are [0, valid_columns(r)); none (all outputs 0) only for seq = 0.
fn valid_columns(r: u32) -> u32 {
    if (p.causal == 0u) {
        return p.width;
    }
    if (p.seq == 0u) {
        return 0u;
    }
    return min(r % p.seq + 1u, p.width);
}
