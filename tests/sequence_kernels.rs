//! The transformer kernels (src/kernels/sequence.rs) against their f64 mirrors
//! (src/reference/sequence.rs) on odd shapes — rows and batches of 1, 3, 17, 129, widths of
//! 1, 3, 17, 64, 129 — with NaN sentinels in every output (and in every placeholder binding a
//! kernel must not touch). Each tolerance is |x − y| ≤ max(rtol·max(|x|, |y|), atol), stated at
//! its assertion. Copies (embedding lookup, the head split) are compared bit for bit.

use netdx::gpu::{Gpu, Tensor};
use netdx::kernels::*;
use netdx::reference::sequence as rs;

use crate::common::{assert_close, random, sentinel, widen};
use crate::gpu_or_skip;

fn t<T: bytemuck::Pod>(gpu: &Gpu, name: &str, data: &[T]) -> Tensor {
    gpu.tensor_from(name, data).expect("tensor")
}

fn read(gpu: &Gpu, x: &Tensor) -> Vec<f32> {
    gpu.read::<f32>(x).expect("read back")
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs one kernel over `n` invocations (rows or elements, as its static documents).
fn run<P: bytemuck::Pod>(
    gpu: &Gpu,
    kernel: &'static Kernel,
    params: &P,
    bufs: &[&Tensor],
    n: usize,
) {
    let u = gpu.uniform("p", params).expect("uniform");
    let mut all: Vec<&wgpu::Buffer> = vec![&u];
    all.extend(bufs.iter().map(|b| &b.buffer));
    let d = gpu
        .dispatch(kernel, &[], &all, gpu.groups_1d(kernel, n))
        .expect("dispatch");
    gpu.run(&[d]).expect("run");
}

/// [`assert_close`], also logging the largest error relative to the allowed one (`--nocapture`
/// shows how much room each tolerance leaves on this adapter).
fn close(what: &str, gpu: &[f32], want: &[f64], rtol: f64, atol: f64) {
    let worst = gpu
        .iter()
        .zip(want)
        .map(|(&x, &y)| {
            let x = x as f64;
            (x - y).abs() / (rtol * x.abs().max(y.abs())).max(atol)
        })
        .fold(0.0f64, f64::max);
    eprintln!("{what}: worst error {worst:.3} of allowed");
    assert_close(what, gpu, want, rtol, atol);
}

/// Rows whose values sit on an offset (mean ≠ 0, so the two-pass variance matters).
fn offset_rows(rows: usize, width: usize, seed: u64) -> Vec<f32> {
    let x = random(rows * width, seed, -2.0, 2.0);
    x.iter()
        .enumerate()
        .map(|(i, v)| v + (i / width.max(1)) as f32 % 7.0 - 3.0)
        .collect()
}

const LN_SHAPES: &[(usize, usize)] = &[(1, 1), (3, 3), (17, 17), (1, 129), (129, 64), (3, 129)];

#[test]
fn layer_norm_forward_and_backward_match_reference_with_and_without_affine() {
    let gpu = gpu_or_skip!();
    let mut seed = 1;
    for &(rows, width) in LN_SHAPES {
        for affine in [false, true] {
            seed += 3;
            let x = offset_rows(rows, width, seed);
            let dy = random(rows * width, seed + 1, -1.0, 1.0);
            // Without affine γ and β are 1-element NaN placeholders: reading them would show.
            let (gamma, beta) = if affine {
                (
                    random(width, seed + 2, 0.5, 1.5),
                    random(width, seed + 3, -0.5, 0.5),
                )
            } else {
                (sentinel(1), sentinel(1))
            };
            let params = LayerNormParams::new(rows, width, 1e-5, affine);
            let (gx, gg, gb, gdy) = (
                t(gpu, "x", &x),
                t(gpu, "gamma", &gamma),
                t(gpu, "beta", &beta),
                t(gpu, "dy", &dy),
            );
            let gy = t(gpu, "y", &sentinel(rows * width));
            let gmean = t(gpu, "mean", &sentinel(rows));
            let ginv = t(gpu, "invstd", &sentinel(rows));
            let gdx = t(gpu, "dx", &sentinel(rows * width));
            let gdyx = t(gpu, "dyxhat", &sentinel(rows * width));
            run(
                gpu,
                &LAYER_NORM_FORWARD,
                &params,
                &[&gx, &gg, &gb, &gy, &gmean, &ginv],
                rows,
            );
            run(
                gpu,
                &LAYER_NORM_BACKWARD,
                &params,
                &[&gx, &gg, &gmean, &ginv, &gdy, &gdx, &gdyx],
                rows,
            );
            let (xw, gw, bw, dyw) = (widen(&x), widen(&gamma), widen(&beta), widen(&dy));
            let aff = affine.then_some((&gw[..], &bw[..]));
            let want = rs::layer_norm_forward(&xw, aff, rows, width, 1e-5);
            let what = format!("layer norm {rows}x{width} affine={affine}");
            // Sums of ≤ 129 f32 terms of size ≤ 5: the mean to a few ulps of the row's scale.
            close(
                &format!("{what} mean"),
                &read(gpu, &gmean),
                &want.mean,
                1e-5,
                1e-6,
            );
            close(
                &format!("{what} invstd"),
                &read(gpu, &ginv),
                &want.invstd,
                1e-5,
                0.0,
            );
            // y is O(1); the mean of up to 129 values of size ≤ 5 carries ~1e-6 of rounding
            // into x − mean: 1e-5 relative, 5e-6 absolute.
            close(&format!("{what} y"), &read(gpu, &gy), &want.y, 1e-5, 5e-6);
            // The backward kernel on its own: the mirror from the GPU's saved statistics.
            let (mean, invstd) = (widen(&read(gpu, &gmean)), widen(&read(gpu, &ginv)));
            let g = affine.then_some(&gw[..]);
            let (dx, dgamma, dbeta) =
                rs::layer_norm_backward(&xw, g, &mean, &invstd, &dyw, rows, width);
            // dx = invstd/width·(width·g − Σg − x̂·Σg·x̂) cancels: 1e-4 relative, and
            // 1e-5·invstd absolute (the size of one g·invstd term's rounding, amplified).
            let atol = 1e-5 * invstd.iter().fold(1.0f64, |a, &b| a.max(b));
            close(&format!("{what} dx"), &read(gpu, &gdx), &dx, 1e-4, atol);
            let dyxhat: Vec<f64> = (0..rows * width)
                .map(|i| dyw[i] * (xw[i] - mean[i / width]) * invstd[i / width])
                .collect();
            let gdyxhat = read(gpu, &gdyx);
            // One product of two rounded values (x̂ has x − mean's rounding): 1e-5, 1e-6.
            close(&format!("{what} dyxhat"), &gdyxhat, &dyxhat, 1e-5, 1e-6);
            // Column sums of dyxhat and dy are dγ and dβ (the host's `sum_rows`).
            let col = |v: &[f32], j: usize| (0..rows).map(|r| v[r * width + j]).sum::<f32>();
            let dg: Vec<f32> = (0..width).map(|j| col(&gdyxhat, j)).collect();
            let db: Vec<f32> = (0..width).map(|j| col(&dy, j)).collect();
            // Sums of ≤ 129 terms of size ≤ 3: 1e-5 relative, 1e-6·√rows absolute.
            let atol = 1e-6 * (rows as f64).sqrt();
            close(&format!("{what} dgamma"), &dg, &dgamma, 1e-5, atol);
            close(&format!("{what} dbeta"), &db, &dbeta, 1e-5, atol);
        }
    }
}

#[test]
fn layer_norm_of_constant_rows_is_finite_and_gives_beta() {
    let gpu = gpu_or_skip!();
    let (rows, width) = (4, 17);
    // Row sums that are and are not exact in f32.
    let consts = [0.1f32, -7.3, 1000.0, 0.0];
    let x: Vec<f32> = (0..rows * width).map(|i| consts[i / width]).collect();
    let gamma = random(width, 5, 0.5, 1.5);
    let beta = random(width, 6, -0.5, 0.5);
    let dy = random(rows * width, 7, -1.0, 1.0);
    let params = LayerNormParams::new(rows, width, 1e-5, true);
    let (gx, gg, gb, gdy) = (
        t(gpu, "x", &x),
        t(gpu, "gamma", &gamma),
        t(gpu, "beta", &beta),
        t(gpu, "dy", &dy),
    );
    let gy = t(gpu, "y", &sentinel(rows * width));
    let gmean = t(gpu, "mean", &sentinel(rows));
    let ginv = t(gpu, "invstd", &sentinel(rows));
    let gdx = t(gpu, "dx", &sentinel(rows * width));
    let gdyx = t(gpu, "dyxhat", &sentinel(rows * width));
    run(
        gpu,
        &LAYER_NORM_FORWARD,
        &params,
        &[&gx, &gg, &gb, &gy, &gmean, &ginv],
        rows,
    );
    run(
        gpu,
        &LAYER_NORM_BACKWARD,
        &params,
        &[&gx, &gg, &gmean, &ginv, &gdy, &gdx, &gdyx],
        rows,
    );
    let y = read(gpu, &gy);
    let beta_rows: Vec<f64> = (0..rows * width).map(|i| beta[i % width] as f64).collect();
    // x − mean is 0 up to the mean's rounding (a few ulps of |x| ≤ 7.3, ≈ 5e-7 each),
    // amplified by invstd = 316 and γ ≤ 1.5: y = β within 2e-3.
    close("constant rows y", &y, &beta_rows, 0.0, 2e-3);
    let invstd = read(gpu, &ginv);
    close(
        "constant rows invstd",
        &invstd,
        &[1.0 / 1e-5f64.sqrt(); 4],
        1e-5,
        0.0,
    );
    let (xw, gw, dyw) = (widen(&x), widen(&gamma), widen(&dy));
    let (dx, _, _) = rs::layer_norm_backward(
        &xw,
        Some(&gw),
        &widen(&read(gpu, &gmean)),
        &widen(&invstd),
        &dyw,
        rows,
        width,
    );
    // dx = invstd·(g − mean g) ≈ 316·O(1): 1e-4 relative, 1e-3 absolute.
    close("constant rows dx", &read(gpu, &gdx), &dx, 1e-4, 1e-3);
    assert!(read(gpu, &gdyx).iter().all(|v| v.is_finite()));
}

/// Forward, then backward from the GPU's own y; the mirror's backward takes the same y.
fn softmax_case(gpu: &Gpu, rows: usize, width: usize, scale: f64, causal: bool, seq: usize) {
    let n = rows * width;
    let x = random(n, (rows * 1000 + width) as u64, -4.0, 4.0);
    let dy = random(n, (rows * 1000 + width + 7) as u64, -1.0, 1.0);
    let params = SoftmaxParams::new(rows, width, scale, causal, seq);
    let (gx, gdy) = (t(gpu, "x", &x), t(gpu, "dy", &dy));
    let (gy, gdx) = (t(gpu, "y", &sentinel(n)), t(gpu, "dx", &sentinel(n)));
    run(gpu, &SOFTMAX_FORWARD, &params, &[&gx, &gy], rows);
    run(gpu, &SOFTMAX_BACKWARD, &params, &[&gy, &gdy, &gdx], rows);
    let what = format!("softmax {rows}x{width} scale={scale:.3} causal={causal} seq={seq}");
    let y = read(gpu, &gy);
    let dx = read(gpu, &gdx);
    let want_y = rs::softmax_forward(&widen(&x), rows, width, scale, causal, seq);
    // exp to a few ulps, one division: 1e-5 relative; probabilities below 1e-7 absolute.
    close(&format!("{what} y"), &y, &want_y, 1e-5, 1e-7);
    let want_dx = rs::softmax_backward(&widen(&y), &widen(&dy), rows, width, scale, causal, seq);
    // dy − Σ dy·y cancels: 1e-5 relative, 1e-7 absolute (|dy|, |y| ≤ 1).
    close(&format!("{what} dx"), &dx, &want_dx, 1e-5, 1e-7);
    for r in 0..rows {
        let valid = rs::softmax_valid_columns(r, width, causal, seq);
        let row = &y[r * width..(r + 1) * width];
        let sum: f64 = row.iter().map(|&v| v as f64).sum();
        assert!(
            (sum - 1.0).abs() <= 1e-5 * (width as f64).sqrt().max(1.0),
            "{what}: row {r} sums to {sum}"
        );
        for j in valid..width {
            assert_eq!(row[j].to_bits(), 0, "{what}: y[{r}, {j}] is masked");
            assert_eq!(
                dx[r * width + j].to_bits(),
                0,
                "{what}: dx[{r}, {j}] is masked"
            );
        }
    }
}

#[test]
fn softmax_forward_and_backward_match_reference_on_odd_rows() {
    let gpu = gpu_or_skip!();
    for &(rows, width) in &[(1, 1), (3, 3), (17, 17), (129, 64), (3, 129), (129, 3)] {
        softmax_case(gpu, rows, width, 1.0, false, 0);
        softmax_case(gpu, rows, width, 1.0 / 8f64.sqrt(), false, 0);
    }
}

#[test]
fn causal_softmax_masks_future_keys_exactly_zero_and_rows_sum_to_one() {
    let gpu = gpu_or_skip!();
    // rows = batch·heads·seq, width = seq (self-attention scores), scale 1/√head_dim.
    for &(batch, heads, seq) in &[(1, 1, 1), (1, 1, 3), (3, 2, 17), (1, 2, 64), (1, 1, 129)] {
        softmax_case(gpu, batch * heads * seq, seq, 0.25, true, seq);
    }
    // More keys than queries: query t still sees keys 0..=t.
    softmax_case(gpu, 2 * 3, 7, 0.5, true, 3);
}

#[test]
fn row_entropy_matches_reference_with_zero_probabilities() {
    let gpu = gpu_or_skip!();
    for &(rows, width) in &[(1, 1), (17, 3), (129, 64), (3, 129)] {
        // Causal softmax rows: zeros past the diagonal; row 0 is one-hot (entropy 0).
        let x = widen(&random(rows * width, rows as u64 + 3, -3.0, 3.0));
        let p: Vec<f32> = rs::softmax_forward(&x, rows, width, 1.0, true, rows)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let gp = t(gpu, "p", &p);
        let out = t(gpu, "entropy", &sentinel(rows));
        run(
            gpu,
            &ROW_ENTROPY,
            &RowParams::new(rows, width),
            &[&gp, &out],
            rows,
        );
        let want = rs::row_entropy(&widen(&p), rows, width);
        // Entropies ≤ ln 129 ≈ 4.9, sums of ≤ 129 f32 terms with log to a few ulps.
        close(
            &format!("row entropy {rows}x{width}"),
            &read(gpu, &out),
            &want,
            1e-5,
            1e-6 * (width as f64).sqrt(),
        );
    }
}

/// Token ids in arbitrary order, drawn from `used` distinct ids spread over the vocabulary
/// (so most table rows are unused and most used ids repeat).
fn tokens(rows: usize, vocab: usize, used: usize, seed: u64) -> Vec<f32> {
    let mut r = netdx::rng::SplitMix64::new(seed);
    let ids: Vec<usize> = (0..used.max(1)).map(|k| (k * 7919 + 3) % vocab).collect();
    (0..rows).map(|_| ids[r.below(ids.len())] as f32).collect()
}

/// (rows, dim, vocab, distinct ids used).
const EMBEDDING_SHAPES: &[(usize, usize, usize, usize)] = &[
    (1, 1, 1, 1),
    (3, 3, 5, 2),
    (17, 17, 129, 5),
    (129, 64, 300, 7),
    (129, 129, 3, 3),
    (1000, 17, 64, 40),
];

#[test]
fn embedding_forward_copies_table_rows_exactly() {
    let gpu = gpu_or_skip!();
    for &(rows, dim, vocab, used) in EMBEDDING_SHAPES {
        let tok = tokens(rows, vocab, used, rows as u64);
        let weight = random(vocab * dim, vocab as u64, -1.0, 1.0);
        let (gt, gw) = (t(gpu, "tokens", &tok), t(gpu, "weight", &weight));
        let gy = t(gpu, "y", &sentinel(rows * dim));
        run(
            gpu,
            &EMBEDDING_FORWARD,
            &EmbeddingParams::new(rows, dim, vocab),
            &[&gt, &gw, &gy],
            rows * dim,
        );
        let want: Vec<f32> = rs::embedding_forward(&widen(&tok), &widen(&weight), dim, vocab)
            .iter()
            .map(|&v| v as f32)
            .collect();
        // A lookup is a copy: bit for bit.
        assert_eq!(
            bits(&read(gpu, &gy)),
            bits(&want),
            "embedding forward {rows}x{dim} vocab {vocab}"
        );
    }
}

/// Sort and backward into fresh NaN-filled buffers: (order, sorted, dweight).
fn embedding_backward_gpu(
    gpu: &Gpu,
    tok: &[f32],
    dy: &[f32],
    dim: usize,
    vocab: usize,
) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
    let rows = tok.len();
    let params = EmbeddingParams::new(rows, dim, vocab);
    let (gt, gdy) = (t(gpu, "tokens", tok), t(gpu, "dy", dy));
    let order = t(gpu, "order", &vec![u32::MAX; rows]);
    let sorted = t(gpu, "sorted", &vec![u32::MAX; rows]);
    let dw = t(gpu, "dweight", &sentinel(vocab * dim));
    run(gpu, &EMBEDDING_SORT, &params, &[&gt, &order, &sorted], rows);
    run(
        gpu,
        &EMBEDDING_BACKWARD,
        &params,
        &[&sorted, &order, &gdy, &dw],
        vocab * dim,
    );
    (
        gpu.read::<u32>(&order).expect("read back"),
        gpu.read::<u32>(&sorted).expect("read back"),
        read(gpu, &dw),
    )
}

#[test]
fn embedding_backward_sums_repeated_tokens_and_leaves_unused_rows_exactly_zero() {
    let gpu = gpu_or_skip!();
    for &(rows, dim, vocab, used) in EMBEDDING_SHAPES {
        let tok = tokens(rows, vocab, used, rows as u64 + 11);
        let dy = random(rows * dim, (rows + dim) as u64, -1.0, 1.0);
        let (order, sorted, dw) = embedding_backward_gpu(gpu, &tok, &dy, dim, vocab);
        let what = format!("embedding backward {rows}x{dim} vocab {vocab}");
        let (want_order, want_sorted) = rs::embedding_sort(&widen(&tok), vocab);
        assert_eq!(order, want_order, "{what}: order (a stable sort by id)");
        assert_eq!(sorted, want_sorted, "{what}: sorted ids");
        let want = rs::embedding_backward(&widen(&tok), &widen(&dy), dim, vocab);
        // Sums of up to `rows` terms in [-1, 1]: 1e-5 relative, 1e-6·√rows absolute.
        close(&what, &dw, &want, 1e-5, 1e-6 * (rows as f64).sqrt());
        let mut unused = 0;
        for v in 0..vocab {
            if !want_sorted.contains(&(v as u32)) {
                unused += 1;
                assert!(
                    dw[v * dim..(v + 1) * dim].iter().all(|g| g.to_bits() == 0),
                    "{what}: unused id {v} has a nonzero gradient"
                );
            }
        }
        assert_eq!(
            unused,
            vocab
                - want_sorted
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
        );
    }
}

#[test]
fn embedding_backward_is_bit_identical_on_two_runs() {
    let gpu = gpu_or_skip!();
    let (rows, dim, vocab) = (1000, 64, 50);
    let tok = tokens(rows, vocab, 9, 5);
    let dy = random(rows * dim, 6, -1.0, 1.0);
    let first = embedding_backward_gpu(gpu, &tok, &dy, dim, vocab);
    let second = embedding_backward_gpu(gpu, &tok, &dy, dim, vocab);
    assert_eq!(first.0, second.0);
    assert_eq!(bits(&first.2), bits(&second.2));
}

#[test]
fn add_matches_reference_for_residuals_and_learned_positions() {
    let gpu = gpu_or_skip!();
    // (batch, seq, d, max_len): period = seq·d; a position table longer than the sequence.
    // Periods that are multiples of 4 also run the vec4 kernel.
    let cases = [
        (1, 1, 1, 1),
        (3, 3, 3, 5),
        (17, 17, 3, 17),
        (3, 129, 64, 200),
        (129, 3, 17, 3),
        (1, 1, 4, 1),
        (3, 17, 4, 20),
        (17, 3, 132, 5),
    ];
    let mut vec4_runs = 0;
    for (batch, seq, d, max_len) in cases {
        let n = batch * seq * d;
        let a = random(n, n as u64, -2.0, 2.0);
        let table = random(max_len * d, n as u64 + 1, -2.0, 2.0);
        let residual = random(n, n as u64 + 2, -2.0, 2.0);
        for (what, b, period) in [
            ("learned positions", &table, seq * d),
            ("residual", &residual, n),
        ] {
            let params = AddParams::new(n, period);
            let mut kernels = vec![(&ADD, n)];
            if period % 4 == 0 {
                kernels.push((&ADD_VEC4, n / 4));
                vec4_runs += 1;
            }
            let (chosen, invocations) = params.launch();
            assert_eq!(
                (chosen.name, invocations),
                (
                    kernels[kernels.len() - 1].0.name,
                    kernels[kernels.len() - 1].1
                )
            );
            for (kernel, invocations) in kernels {
                let (ga, gb) = (t(gpu, "a", &a), t(gpu, "b", b));
                let gy = t(gpu, "y", &sentinel(n));
                run(gpu, kernel, &params, &[&ga, &gb, &gy], invocations);
                let want = rs::add_periodic(&widen(&a), &widen(b), period);
                // One rounded f32 addition: within half an ulp of the sum.
                close(
                    &format!("{} {what} {batch}x{seq}x{d}", kernel.name),
                    &read(gpu, &gy),
                    &want,
                    1e-7,
                    0.0,
                );
            }
        }
    }
    assert_eq!(vec4_runs, 8);
}

/// `accumulate` (dst += src, four values an invocation) over whole tensors of odd and round
/// lengths, from a source longer than the destination (a shared scratch buffer).
#[test]
fn accumulate_adds_the_source_to_every_value() {
    let gpu = gpu_or_skip!();
    for n in [1usize, 3, 4, 17, 129, 1031] {
        let dst = random(n, n as u64, -2.0, 2.0);
        let src = random(n + 5, n as u64 + 1, -2.0, 2.0);
        let (gd, gs) = (t(gpu, "dst", &dst), t(gpu, "src", &src));
        let params = ScaleParams {
            n: n as u32,
            factor: 1.0,
            _pad: [0; 2],
        };
        run(gpu, &ACCUMULATE, &params, &[&gs, &gd], n.div_ceil(4));
        let want: Vec<f64> = dst
            .iter()
            .zip(&src)
            .map(|(&d, &s)| d as f64 + s as f64)
            .collect();
        // One rounded f32 addition: within half an ulp of the sum.
        close(
            &format!("accumulate n={n}"),
            &read(gpu, &gd),
            &want,
            1e-7,
            0.0,
        );
    }
}

/// More than 65535 workgroups of 256: the host splits the grid over y and the kernel rebuilds
/// its index from `num_workgroups`; every element, the last included, is written once.
#[test]
fn add_covers_a_grid_split_over_two_dimensions() {
    let gpu = gpu_or_skip!();
    let n = 65_536 * 256 + 3;
    let groups = gpu.groups_1d(&ADD, n);
    if groups[1] == 1 {
        eprintln!(
            "SKIPPED split grid: this adapter takes {} groups in x",
            groups[0]
        );
        return;
    }
    let a: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let b: Vec<f32> = (0..17).map(|i| i as f32 * 0.5).collect();
    let (ga, gb) = (t(gpu, "a", &a), t(gpu, "b", &b));
    let gy = t(gpu, "y", &sentinel(n));
    run(gpu, &ADD, &AddParams::new(n, 17), &[&ga, &gb, &gy], n);
    let y = read(gpu, &gy);
    // Small integers and halves: exact.
    for (i, &v) in y.iter().enumerate() {
        assert_eq!(v, a[i] + b[i % 17], "y[{i}]");
    }
}

#[test]
fn to_heads_and_from_heads_are_exact_inverses_matching_reference() {
    let gpu = gpu_or_skip!();
    // (batch, seq, heads, head_dim, parts); head_dim a multiple of 4 also runs the vec4 kernels.
    let shapes = [
        (1, 1, 1, 1, 1),
        (1, 1, 1, 1, 3),
        (3, 17, 2, 3, 3),
        (2, 5, 3, 17, 1),
        (1, 129, 4, 16, 3),
        (3, 3, 1, 129, 3),
        (17, 3, 3, 1, 1),
        (1, 1, 1, 4, 3),
        (3, 17, 3, 4, 2),
        (2, 5, 1, 8, 1),
        (17, 3, 2, 132, 3),
    ];
    let mut vec4_shapes = 0;
    for (batch, seq, heads, head_dim, parts) in shapes {
        let params = HeadsParams::new(batch, seq, heads, head_dim, parts);
        let (n, h) = (params.packed_len(), params.head_len());
        let mut kernels = vec![(&TO_HEADS, &FROM_HEADS, n)];
        if head_dim % 4 == 0 {
            kernels.push((&TO_HEADS_VEC4, &FROM_HEADS_VEC4, n / 4));
            vec4_shapes += 1;
        }
        // The plan's choice is the last of these.
        let chosen = kernels[kernels.len() - 1];
        let name = |(k, n): (&Kernel, usize)| (k.name, n);
        assert_eq!(name(params.to_heads_launch()), (chosen.0.name, chosen.2));
        assert_eq!(name(params.from_heads_launch()), (chosen.1.name, chosen.2));
        for (to_heads, from_heads, invocations) in kernels {
            let what = format!(
                "{} heads {batch}x{seq} {heads}x{head_dim} parts={parts}",
                to_heads.name
            );
            let src = random(n, n as u64, -3.0, 3.0);
            let gsrc = t(gpu, "src", &src);
            // Unused outputs are 1-element placeholders, which must stay NaN.
            let len = |p: usize| if p < parts { h } else { 1 };
            let dst: Vec<Tensor> = (0..3).map(|p| t(gpu, "dst", &sentinel(len(p)))).collect();
            run(
                gpu,
                to_heads,
                &params,
                &[&gsrc, &dst[0], &dst[1], &dst[2]],
                invocations,
            );
            let split: Vec<Vec<f32>> = dst.iter().map(|d| read(gpu, d)).collect();
            let want = rs::to_heads(&src, batch, seq, heads, head_dim, parts);
            for p in 0..3 {
                if p < parts {
                    assert_eq!(bits(&split[p]), bits(&want[p]), "{what}: to_heads part {p}");
                } else {
                    assert!(split[p][0].is_nan(), "{what}: placeholder {p} was written");
                }
            }
            // And back, from the split tensors (placeholders bound where parts < 3).
            let back = t(gpu, "packed", &sentinel(n));
            run(
                gpu,
                from_heads,
                &params,
                &[&dst[0], &dst[1], &dst[2], &back],
                invocations,
            );
            assert_eq!(
                bits(&read(gpu, &back)),
                bits(&src),
                "{what}: from_heads ∘ to_heads"
            );
            // from_heads on its own inputs against the mirror.
            let parts_in: Vec<Vec<f32>> = (0..parts)
                .map(|p| random(h, (n + p) as u64 + 99, -3.0, 3.0))
                .collect();
            let gin: Vec<Tensor> = (0..3)
                .map(|p| match parts_in.get(p) {
                    Some(v) => t(gpu, "src", v),
                    None => t(gpu, "placeholder", &sentinel(1)),
                })
                .collect();
            let packed = t(gpu, "packed", &sentinel(n));
            run(
                gpu,
                from_heads,
                &params,
                &[&gin[0], &gin[1], &gin[2], &packed],
                invocations,
            );
            let refs: Vec<&[f32]> = parts_in.iter().map(|v| &v[..]).collect();
            let want = rs::from_heads(&refs, batch, seq, heads, head_dim);
            assert_eq!(bits(&read(gpu, &packed)), bits(&want), "{what}: from_heads");
        }
    }
    assert_eq!(vec4_shapes, 5);
}
