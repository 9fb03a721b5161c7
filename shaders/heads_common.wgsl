// The parameters of to_heads and from_heads. The packed side is [batch, seq, parts·d] with
// d = heads·head_dim (nn.MultiheadAttention's in_proj output for parts = 3: Q, K, V side by
// side; one projection for parts = 1); the split side is one [batch, heads, seq, head_dim]
// tensor per part. parts is 1, 2 or 3.
struct Params {
    batch: u32,
    seq: u32,
    heads: u32,
    head_dim: u32,
    parts: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

fn packed_len() -> u32 {
    return p.batch * p.seq * p.parts * p.heads * p.head_dim;
}

// Packed element i as (part, index in that part's [batch, heads, seq, head_dim]).
fn head_index(i: u32) -> vec2<u32> {
    let d = p.heads * p.head_dim;
    let row = i / (p.parts * d);
    let c = i % (p.parts * d);
    let b = row / p.seq;
    let t = row % p.seq;
    let part = c / d;
    let h = (c % d) / p.head_dim;
    let k = c % p.head_dim;
    return vec2<u32>(part, ((b * p.heads + h) * p.seq + t) * p.head_dim + k);
}
