// Shared by the register-blocked kernels (matmul.wgsl, matmul_subgroup.wgsl): unchecked reads
// (their callers clamp the indices) and the store of one row of a block.
fn a_at(row: u32, kk: u32) -> f32 {
    if (TRANS_A) {
        return a[a_base + kk * p.m + row];
    }
    return a[a_base + row * p.k + kk];
}

fn b_at(kk: u32, col: u32) -> f32 {
    if (TRANS_B) {
        return b[b_base + col * p.k + kk];
    }
    return b[b_base + kk * p.n + col];
}

// Stores one row of a block, skipping rows and columns past the edge of C.
fn store_row(row: u32, col0: u32, cols: u32, valid: bool, v: vec4<f32>) {
    if (!valid) {
        return;
    }
    let base = c_base + row * p.n + col0;
    for (var j = 0u; j < cols; j = j + 1u) {
        c[base + j] = v[j];
    }
}
