//! The f64 mirror of the sequence kernels (src/kernels/sequence.rs): layer norm, (causal)
//! softmax and its row entropy, token embeddings, the periodic add, the split into attention
//! heads and back, and a batched matmul. Written for clarity, not speed; the GPU kernels are
//! tested against it (tests/sequence_kernels.rs) and every backward here is tested against
//! central finite differences of its own forward (the tests at the end of this file). It must
//! never call into `gpu::`.

use super::matmul;

/// Layer norm forward: the output and what the backward pass needs.
#[derive(Clone, Debug)]
pub struct LayerNormForward {
    pub y: Vec<f64>,
    /// Per row.
    pub mean: Vec<f64>,
    /// 1/sqrt(biased variance + eps), per row.
    pub invstd: Vec<f64>,
}

/// Layer norm over each row of a row-major [rows, width] matrix, as PyTorch's
/// `nn.LayerNorm(width)`: biased variance, y = (x − mean)·invstd, then ·γ + β when `affine` is
/// given as (γ, β), each [width].
pub fn layer_norm_forward(
    x: &[f64],
    affine: Option<(&[f64], &[f64])>,
    rows: usize,
    width: usize,
    eps: f64,
) -> LayerNormForward {
    let mut out = LayerNormForward {
        y: vec![0.0; rows * width],
        mean: vec![0.0; rows],
        invstd: vec![0.0; rows],
    };
    for r in 0..rows {
        let row = &x[r * width..(r + 1) * width];
        let mean = row.iter().sum::<f64>() / width as f64;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / width as f64;
        let invstd = 1.0 / (var + eps).sqrt();
        for (j, v) in row.iter().enumerate() {
            let xh = (v - mean) * invstd;
            out.y[r * width + j] = match affine {
                Some((gamma, beta)) => xh * gamma[j] + beta[j],
                None => xh,
            };
        }
        out.mean[r] = mean;
        out.invstd[r] = invstd;
    }
    out
}

/// Layer norm backward from the saved mean and invstd: (dx, dγ, dβ). With x̂ = (x − mean)·invstd
/// and g = dy·γ (g = dy without γ), dx = invstd/width · (width·g − Σ_j g − x̂·Σ_j g·x̂);
/// dγ = Σ_rows dy·x̂ and dβ = Σ_rows dy (the gradients γ and β would have, even when absent).
pub fn layer_norm_backward(
    x: &[f64],
    gamma: Option<&[f64]>,
    mean: &[f64],
    invstd: &[f64],
    dy: &[f64],
    rows: usize,
    width: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dx = vec![0.0; rows * width];
    let mut dgamma = vec![0.0; width];
    let mut dbeta = vec![0.0; width];
    let w = width as f64;
    for r in 0..rows {
        let idx = r * width..(r + 1) * width;
        let xh: Vec<f64> = x[idx.clone()]
            .iter()
            .map(|v| (v - mean[r]) * invstd[r])
            .collect();
        let g: Vec<f64> = dy[idx.clone()]
            .iter()
            .enumerate()
            .map(|(j, d)| gamma.map_or(*d, |gm| d * gm[j]))
            .collect();
        let sg: f64 = g.iter().sum();
        let sgx: f64 = g.iter().zip(&xh).map(|(g, x)| g * x).sum();
        for j in 0..width {
            let i = r * width + j;
            dx[i] = invstd[r] / w * (w * g[j] - sg - xh[j] * sgx);
            dgamma[j] += dy[i] * xh[j];
            dbeta[j] += dy[i];
        }
    }
    (dx, dgamma, dbeta)
}

/// The unmasked columns of softmax row r are [0, this): all `width` without `causal`; with it,
/// row r is query position r % seq and sees keys 0..=r % seq (none only when seq = 0).
pub fn softmax_valid_columns(r: usize, width: usize, causal: bool, seq: usize) -> usize {
    if !causal {
        width
    } else if seq == 0 {
        0
    } else {
        (r % seq + 1).min(width)
    }
}

/// y = softmax(scale·x) over each row of [rows, width]; with `causal`, the masked columns
/// (see [`softmax_valid_columns`]) are 0 and take no part in the max or the sum.
pub fn softmax_forward(
    x: &[f64],
    rows: usize,
    width: usize,
    scale: f64,
    causal: bool,
    seq: usize,
) -> Vec<f64> {
    let mut y = vec![0.0; rows * width];
    for r in 0..rows {
        let n = softmax_valid_columns(r, width, causal, seq);
        let z: Vec<f64> = x[r * width..r * width + n]
            .iter()
            .map(|v| scale * v)
            .collect();
        let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
        for (j, v) in z.iter().enumerate() {
            y[r * width + j] = (v - max).exp() / sum;
        }
    }
    y
}

/// The input gradient of [`softmax_forward`] from its output y:
/// dx = scale·y·(dy − Σ_j dy_j·y_j) over the unmasked columns, exactly 0 on masked ones.
pub fn softmax_backward(
    y: &[f64],
    dy: &[f64],
    rows: usize,
    width: usize,
    scale: f64,
    causal: bool,
    seq: usize,
) -> Vec<f64> {
    let mut dx = vec![0.0; rows * width];
    for r in 0..rows {
        let n = softmax_valid_columns(r, width, causal, seq);
        let idx = r * width..r * width + n;
        let s: f64 = idx.clone().map(|i| dy[i] * y[i]).sum();
        for i in idx {
            dx[i] = scale * y[i] * (dy[i] - s);
        }
    }
    dx
}

/// −Σ_j p log p of each row of [rows, width], with 0·log 0 = 0 (entries ≤ 0 count as 0).
pub fn row_entropy(p: &[f64], rows: usize, width: usize) -> Vec<f64> {
    (0..rows)
        .map(|r| {
            -p[r * width..(r + 1) * width]
                .iter()
                .filter(|&&v| v > 0.0)
                .map(|v| v * v.ln())
                .sum::<f64>()
        })
        .collect()
}

/// The table row of a token value, as the shaders take it: truncated toward zero and clamped
/// to [0, vocab − 1] (the host validates ids; the clamp only keeps reads inside the table).
pub fn token_id(t: f64, vocab: usize) -> usize {
    // `as` saturates (and maps NaN to 0), like the shader's clamped conversion.
    (t.max(0.0) as usize).min(vocab.max(1) - 1)
}

/// y[r, j] = weight[id(r), j] for the tokens (f32 ids widened) and a [vocab, dim] table.
pub fn embedding_forward(tokens: &[f64], weight: &[f64], dim: usize, vocab: usize) -> Vec<f64> {
    tokens
        .iter()
        .flat_map(|&t| {
            let id = token_id(t, vocab);
            weight[id * dim..(id + 1) * dim].iter().copied()
        })
        .collect()
}

/// What `embedding_sort` writes: (order, sorted) — the rows stably sorted by id, and their ids.
pub fn embedding_sort(tokens: &[f64], vocab: usize) -> (Vec<u32>, Vec<u32>) {
    let mut order: Vec<u32> = (0..tokens.len() as u32).collect();
    // `sort_by_key` is stable: equal ids keep row order.
    order.sort_by_key(|&r| token_id(tokens[r as usize], vocab));
    let sorted = order
        .iter()
        .map(|&r| token_id(tokens[r as usize], vocab) as u32)
        .collect();
    (order, sorted)
}

/// The table gradient of [`embedding_forward`]: dweight[id(r)] += dy[r] for each row in order,
/// a plain scatter-add (the reference for the sorted, atomic-free GPU version).
pub fn embedding_backward(tokens: &[f64], dy: &[f64], dim: usize, vocab: usize) -> Vec<f64> {
    let mut dw = vec![0.0; vocab * dim];
    for (r, &t) in tokens.iter().enumerate() {
        let id = token_id(t, vocab);
        for j in 0..dim {
            dw[id * dim + j] += dy[r * dim + j];
        }
    }
    dw
}

/// y[i] = a[i] + b[i % period].
pub fn add_periodic(a: &[f64], b: &[f64], period: usize) -> Vec<f64> {
    a.iter()
        .enumerate()
        .map(|(i, v)| v + b[i % period])
        .collect()
}

/// Splits a packed [batch, seq, parts·d] tensor (d = heads·head_dim) into `parts` tensors
/// [batch, heads, seq, head_dim]: out[p][b, h, t, k] = src[b, t, p·d + h·head_dim + k].
/// Generic so that tests can compare f32 bit for bit.
pub fn to_heads<T: Copy + Default>(
    src: &[T],
    batch: usize,
    seq: usize,
    heads: usize,
    head_dim: usize,
    parts: usize,
) -> Vec<Vec<T>> {
    let d = heads * head_dim;
    let mut out = vec![vec![T::default(); batch * seq * d]; parts];
    for b in 0..batch {
        for t in 0..seq {
            for (p, dst) in out.iter_mut().enumerate() {
                for h in 0..heads {
                    for k in 0..head_dim {
                        dst[((b * heads + h) * seq + t) * head_dim + k] =
                            src[(b * seq + t) * parts * d + p * d + h * head_dim + k];
                    }
                }
            }
        }
    }
    out
}

/// The inverse of [`to_heads`]: parts.len() tensors [batch, heads, seq, head_dim] packed into
/// [batch, seq, parts·d].
pub fn from_heads<T: Copy + Default>(
    parts: &[&[T]],
    batch: usize,
    seq: usize,
    heads: usize,
    head_dim: usize,
) -> Vec<T> {
    let d = heads * head_dim;
    let np = parts.len();
    let mut out = vec![T::default(); batch * seq * np * d];
    for b in 0..batch {
        for t in 0..seq {
            for (p, src) in parts.iter().enumerate() {
                for h in 0..heads {
                    for k in 0..head_dim {
                        out[(b * seq + t) * np * d + p * d + h * head_dim + k] =
                            src[((b * heads + h) * seq + t) * head_dim + k];
                    }
                }
            }
        }
    }
    out
}

/// `batch` independent products C_b = op(A_b)·op(B_b) of contiguous blocks (A_b m·k values,
/// B_b k·n, C_b m·n), each with the conventions of [`matmul`] (a transposed block is stored
/// transposed within its own block).
#[allow(clippy::too_many_arguments)]
pub fn batched_matmul(
    a: &[f64],
    b: &[f64],
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
) -> Vec<f64> {
    (0..batch)
        .flat_map(|i| {
            matmul(
                &a[i * m * k..(i + 1) * m * k],
                &b[i * k * n..(i + 1) * k * n],
                m,
                n,
                k,
                trans_a,
                trans_b,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! Each backward against central differences of its forward, for a scalar objective
    //! L = Σ w ⊙ y with fixed random w, on odd sizes; plus the exact properties the kernels
    //! promise (masked zeros, stable sort, heads round trip).

    use super::*;
    use crate::rng::SplitMix64;

    const H: f64 = 1e-6;

    fn rand_vec(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
        let mut r = SplitMix64::new(seed);
        (0..n).map(|_| r.uniform_in(lo, hi)).collect()
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// Central difference of `f` at `x` along every coordinate.
    fn numeric_grad(x: &[f64], f: &dyn Fn(&[f64]) -> f64) -> Vec<f64> {
        let mut xp = x.to_vec();
        (0..x.len())
            .map(|i| {
                let v = xp[i];
                xp[i] = v + H;
                let fp = f(&xp);
                xp[i] = v - H;
                let fm = f(&xp);
                xp[i] = v;
                (fp - fm) / (2.0 * H)
            })
            .collect()
    }

    /// Tolerance: |a − n| ≤ 1e-5 · max(|a|, |n|, 1e-4) — central differences with h = 1e-6
    /// in f64 are good to about 1e-9 here (truncation h² and rounding ε/h).
    fn assert_grad(what: &str, analytic: &[f64], numeric: &[f64]) {
        assert_eq!(analytic.len(), numeric.len(), "{what}: length");
        for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
            let err = (a - n).abs() / a.abs().max(n.abs()).max(1e-4);
            assert!(
                err < 1e-5,
                "{what}[{i}]: analytic {a} vs numeric {n} (rel err {err:.2e})"
            );
        }
    }

    #[test]
    fn layer_norm_backward_matches_finite_differences_with_and_without_affine() {
        let mut seed = 100;
        // Width 1 is the degenerate row (x − mean = 0 exactly: every gradient is 0).
        for (rows, width) in [(1, 1), (3, 1), (1, 3), (3, 17), (17, 3), (2, 64)] {
            for affine in [false, true] {
                seed += 10;
                let x = rand_vec(rows * width, seed, -2.0, 2.0);
                let gamma = rand_vec(width, seed + 1, 0.5, 1.5);
                let beta = rand_vec(width, seed + 2, -0.5, 0.5);
                let w = rand_vec(rows * width, seed + 3, -1.0, 1.0);
                let eps = 1e-5;
                let what = format!("layer norm {rows}x{width} affine={affine}");
                let l = |x: &[f64], g: &[f64], b: &[f64]| -> f64 {
                    let aff = affine.then_some((g, b));
                    dot(&layer_norm_forward(x, aff, rows, width, eps).y, &w)
                };
                let aff = affine.then_some((&gamma[..], &beta[..]));
                let f = layer_norm_forward(&x, aff, rows, width, eps);
                let g = affine.then_some(&gamma[..]);
                let (dx, dg, db) = layer_norm_backward(&x, g, &f.mean, &f.invstd, &w, rows, width);
                assert_grad(
                    &format!("{what} dx"),
                    &dx,
                    &numeric_grad(&x, &|v| l(v, &gamma, &beta)),
                );
                if affine {
                    assert_grad(
                        &format!("{what} dgamma"),
                        &dg,
                        &numeric_grad(&gamma, &|v| l(&x, v, &beta)),
                    );
                    assert_grad(
                        &format!("{what} dbeta"),
                        &db,
                        &numeric_grad(&beta, &|v| l(&x, &gamma, v)),
                    );
                }
            }
        }
    }

    #[test]
    fn layer_norm_matches_known_values_and_a_constant_row_stays_finite() {
        // [1, 2, 3]: mean 2, biased variance 2/3.
        let f = layer_norm_forward(&[1.0, 2.0, 3.0], None, 1, 3, 0.0);
        let s = (1.5f64).sqrt();
        assert!((f.mean[0] - 2.0).abs() < 1e-15);
        for (y, want) in f.y.iter().zip([-s, 0.0, s]) {
            assert!((y - want).abs() < 1e-12, "{y} vs {want}");
        }
        // A constant row: var 0, invstd = 1/sqrt(eps), y = β.
        let f = layer_norm_forward(&[0.7; 5], Some((&[2.0; 5], &[0.25; 5])), 1, 5, 1e-5);
        assert!(f.invstd[0].is_finite());
        assert!(f.y.iter().all(|&y| (y - 0.25).abs() < 1e-9));
    }

    #[test]
    fn softmax_backward_matches_finite_differences_causal_and_not() {
        // (rows, width, causal, seq, scale): causal rows are [batch·heads, seq] blocks.
        let cases = [
            (1, 1, false, 1, 1.0),
            (3, 17, false, 1, 0.7),
            (17, 3, false, 1, -1.3),
            (1, 1, true, 1, 0.5),
            (2 * 3 * 5, 5, true, 5, 1.0 / 8f64.sqrt()),
            (17, 17, true, 17, 1.1),
            // Keys wider than queries: row t still sees keys 0..=t.
            (2 * 3, 7, true, 3, 0.9),
        ];
        for (k, &(rows, width, causal, seq, scale)) in cases.iter().enumerate() {
            let x = rand_vec(rows * width, 300 + k as u64, -3.0, 3.0);
            let w = rand_vec(rows * width, 400 + k as u64, -1.0, 1.0);
            let y = softmax_forward(&x, rows, width, scale, causal, seq);
            let dx = softmax_backward(&y, &w, rows, width, scale, causal, seq);
            let numeric = numeric_grad(&x, &|v| {
                dot(&softmax_forward(v, rows, width, scale, causal, seq), &w)
            });
            assert_grad(
                &format!("softmax {rows}x{width} causal={causal} seq={seq}"),
                &dx,
                &numeric,
            );
        }
    }

    #[test]
    fn causal_softmax_masks_exactly_zero_and_rows_sum_to_one() {
        let (rows, width, seq) = (2 * 5, 5, 5);
        let x = rand_vec(rows * width, 7, -50.0, 50.0);
        let y = softmax_forward(&x, rows, width, 2.0, true, seq);
        let dy = rand_vec(rows * width, 8, -1.0, 1.0);
        let dx = softmax_backward(&y, &dy, rows, width, 2.0, true, seq);
        for r in 0..rows {
            let t = r % seq;
            let row = &y[r * width..(r + 1) * width];
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12, "row {r}");
            for j in t + 1..width {
                assert_eq!(row[j].to_bits(), 0, "y[{r}, {j}] masked");
                assert_eq!(dx[r * width + j].to_bits(), 0, "dx[{r}, {j}] masked");
            }
            assert!(row[..=t].iter().all(|&v| v > 0.0), "row {r} unmasked");
        }
        // Query 0 sees only key 0.
        assert_eq!(y[0], 1.0);
        // seq = 0 masks every column: zeros, not NaN.
        let z = softmax_forward(&x[..width], 1, width, 1.0, true, 0);
        assert!(z.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn softmax_is_stable_for_huge_scores() {
        let y = softmax_forward(&[1000.0, 999.0, -1000.0], 1, 3, 1.0, false, 0);
        let e = (-1.0f64).exp();
        assert!((y[0] - 1.0 / (1.0 + e)).abs() < 1e-15);
        assert!((y[1] - e / (1.0 + e)).abs() < 1e-15);
        assert_eq!(y[2], 0.0);
    }

    #[test]
    fn row_entropy_is_log_width_for_uniform_rows_and_zero_for_one_hot() {
        let p = [
            0.25, 0.25, 0.25, 0.25, 0.0, 1.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0,
        ];
        let h = row_entropy(&p, 3, 4);
        assert!((h[0] - 4f64.ln()).abs() < 1e-15);
        assert_eq!(h[1], 0.0);
        assert!((h[2] - 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn embedding_backward_with_repeated_tokens_matches_finite_differences() {
        let (dim, vocab) = (3, 6);
        // Ids 2 and 5 unused, 3 used three times, in no particular order.
        let tokens = [3.0, 1.0, 3.0, 0.0, 4.0, 3.0, 1.0];
        let rows = tokens.len();
        let weight = rand_vec(vocab * dim, 21, -1.0, 1.0);
        let w = rand_vec(rows * dim, 22, -1.0, 1.0);
        let dw = embedding_backward(&tokens, &w, dim, vocab);
        let numeric = numeric_grad(&weight, &|v| {
            dot(&embedding_forward(&tokens, v, dim, vocab), &w)
        });
        assert_grad("embedding dweight", &dw, &numeric);
        for unused in [2, 5] {
            assert!(dw[unused * dim..(unused + 1) * dim]
                .iter()
                .all(|&g| g == 0.0));
        }
        // Row 0 of y is table row 3.
        let y = embedding_forward(&tokens, &weight, dim, vocab);
        assert_eq!(&y[..dim], &weight[3 * dim..4 * dim]);
    }

    #[test]
    fn embedding_sort_is_a_stable_permutation_and_ids_are_clamped() {
        let tokens = [4.0, 1.0, 4.0, 0.0, 9.0, 1.0, 4.0, -2.0];
        let (order, sorted) = embedding_sort(&tokens, 5);
        // 9 clamps to 4, −2 to 0.
        assert_eq!(order, vec![3, 7, 1, 5, 0, 2, 4, 6]);
        assert_eq!(sorted, vec![0, 0, 1, 1, 4, 4, 4, 4]);
        assert_eq!(token_id(f64::NAN, 5), 0);
        assert_eq!(token_id(1e30, 5), 4);
    }

    #[test]
    fn to_heads_then_from_heads_is_the_identity() {
        for (batch, seq, heads, head_dim, parts) in [
            (1, 1, 1, 1, 1),
            (3, 5, 2, 3, 3),
            (2, 17, 3, 1, 1),
            (1, 3, 4, 5, 3),
        ] {
            let n = batch * seq * parts * heads * head_dim;
            let src: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let split = to_heads(&src, batch, seq, heads, head_dim, parts);
            assert_eq!(split.len(), parts);
            let refs: Vec<&[f64]> = split.iter().map(|v| &v[..]).collect();
            assert_eq!(from_heads(&refs, batch, seq, heads, head_dim), src);
        }
        // One element by hand: batch 1, seq 2, 2 heads of 2, Q/K/V (d = 4). Packed row t = 1
        // starts at 12 and holds [q(h0) q(h1) k(h0) k(h1) v(h0) v(h1)], each head 2 wide: K of
        // head 1 at t = 1, k = 0 is packed index 12 + 4 + 2 = 18 and split index
        // ((0·2 + 1)·2 + 1)·2 + 0 = 6 of the K tensor.
        let src: Vec<f64> = (0..24).map(|i| i as f64).collect();
        let split = to_heads(&src, 1, 2, 2, 2, 3);
        assert_eq!(split[1][6], 18.0);
    }

    #[test]
    fn add_periodic_adds_positions_to_every_example() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            add_periodic(&a, &[10.0, 20.0, 30.0], 3),
            vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]
        );
        assert_eq!(
            add_periodic(&a, &a, 6),
            vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
        );
    }

    #[test]
    fn batched_matmul_is_matmul_per_block() {
        let (batch, m, n, k) = (3, 2, 5, 3);
        let a = rand_vec(batch * m * k, 31, -1.0, 1.0);
        let b = rand_vec(batch * k * n, 32, -1.0, 1.0);
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let c = batched_matmul(&a, &b, batch, m, n, k, ta, tb);
            for i in 0..batch {
                let want = matmul(
                    &a[i * m * k..(i + 1) * m * k],
                    &b[i * k * n..(i + 1) * k * n],
                    m,
                    n,
                    k,
                    ta,
                    tb,
                );
                assert_eq!(&c[i * m * n..(i + 1) * m * n], &want[..]);
            }
        }
    }

    /// The mirrors composed into causal scaled dot-product attention, O = softmax(QKᵀ·s)·V per
    /// (batch, head), with its backward written from the same mirrors (dP = dO·Vᵀ,
    /// dV = Pᵀ·dO, dS = softmax_backward, dQ = dS·K, dK = dSᵀ·Q): the transpose conventions the
    /// plan will use, against finite differences.
    #[test]
    fn attention_composed_from_mirrors_matches_finite_differences() {
        let (bh, t, dh) = (3, 5, 4);
        let scale = 1.0 / (dh as f64).sqrt();
        let q = rand_vec(bh * t * dh, 41, -1.0, 1.0);
        let k = rand_vec(bh * t * dh, 42, -1.0, 1.0);
        let v = rand_vec(bh * t * dh, 43, -1.0, 1.0);
        let w = rand_vec(bh * t * dh, 44, -1.0, 1.0);
        let forward = |q: &[f64], k: &[f64], v: &[f64]| {
            let s = batched_matmul(q, k, bh, t, t, dh, false, true);
            let p = softmax_forward(&s, bh * t, t, scale, true, t);
            let o = batched_matmul(&p, v, bh, t, dh, t, false, false);
            (p, o)
        };
        let (p, _) = forward(&q, &k, &v);
        let dp = batched_matmul(&w, &v, bh, t, t, dh, false, true);
        let dv = batched_matmul(&p, &w, bh, t, dh, t, true, false);
        let ds = softmax_backward(&p, &dp, bh * t, t, scale, true, t);
        let dq = batched_matmul(&ds, &k, bh, t, dh, t, false, false);
        let dk = batched_matmul(&ds, &q, bh, t, dh, t, true, false);
        let l = |q: &[f64], k: &[f64], v: &[f64]| dot(&forward(q, k, v).1, &w);
        assert_grad("attention dq", &dq, &numeric_grad(&q, &|x| l(x, &k, &v)));
        assert_grad("attention dk", &dk, &numeric_grad(&k, &|x| l(&q, x, &v)));
        assert_grad("attention dv", &dv, &numeric_grad(&v, &|x| l(&q, &k, x)));
    }
}
