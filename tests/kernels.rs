//! Each GPU kernel against the f64 reference, on sizes that are and are not multiples of the
//! workgroup size, with NaN sentinels in every output buffer.

use netdx::gpu::{Gpu, Tensor};
use netdx::kernels::*;
use netdx::ops::{Activation, LossKind, OptimizerKind};
use netdx::reference::{self as r, LossOptions, OptimizerConfig};

use crate::common::{assert_close, random, sentinel, widen};
use crate::gpu_or_skip;

fn t(gpu: &Gpu, name: &str, data: &[f32]) -> Tensor {
    gpu.tensor_from(name, data).expect("tensor")
}

fn read(gpu: &Gpu, x: &Tensor) -> Vec<f32> {
    gpu.read::<f32>(x).expect("read back")
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Shapes below, at and past one register block (8), one register workgroup (64) and one tile
/// (64), including k that ends inside a 16-deep slice of the tiled kernel.
const MATMUL_SHAPES: MatmulShapes = MatmulShapes {
    m: &[1, 3, 17, 129],
    n: &[1, 4, 17, 33, 65, 129],
    k: &[1, 3, 64, 129],
};

/// Shapes `matmul_vec4` takes (`vec4_layout`: the dimensions read along multiples of 4), below,
/// at and past its 32 × 32 tile, with m and n odd where the layout leaves them free.
const VEC4_SHAPES: MatmulShapes = MatmulShapes {
    m: &[1, 4, 17, 36, 132],
    n: &[1, 4, 17, 36, 132],
    k: &[4, 8, 68],
};

struct MatmulShapes {
    m: &'static [usize],
    n: &'static [usize],
    k: &'static [usize],
}

#[test]
fn matmul_matches_reference_for_every_variant_transpose_and_odd_shapes() {
    let gpu = gpu_or_skip!();
    assert!(gpu.matmul_variants().contains(&MatmulVariant::Register));
    for &variant in gpu.matmul_variants() {
        matmul_matches_reference(gpu, variant, &MATMUL_SHAPES);
    }
}

/// Every vec4 layout runs the vec4 kernel (not its fallback) and matches the reference.
#[test]
fn matmul_vec4_matches_reference_on_every_layout_it_takes() {
    let gpu = gpu_or_skip!();
    if !gpu.matmul_variants().contains(&MatmulVariant::Vec4) {
        eprintln!("skipped: {} has no subgroups of 8", gpu.info().name);
        return;
    }
    let ran = matmul_matches_reference(gpu, MatmulVariant::Vec4, &VEC4_SHAPES);
    assert!(ran >= 4 * 20, "only {ran} products took the vec4 kernel");
}

/// Every product of `shapes` × the four transposes by `variant` against the reference; returns
/// how many ran `matmul_vec4`.
fn matmul_matches_reference(gpu: &Gpu, variant: MatmulVariant, shapes: &MatmulShapes) -> usize {
    let mut seed = 1;
    let mut vec4 = 0;
    for &m in shapes.m {
        for &n in shapes.n {
            for &k in shapes.k {
                for (ta, tb, bias) in [
                    (false, false, false),
                    (false, true, true),
                    (true, false, false),
                    (true, true, true),
                ] {
                    seed += 1;
                    let a = random(m * k, seed, -1.0, 1.0);
                    let b = random(k * n, seed + 1000, -1.0, 1.0);
                    let bb = random(n, seed + 2000, -1.0, 1.0);
                    let (ga, gb, gbias) = (t(gpu, "a", &a), t(gpu, "b", &b), t(gpu, "bias", &bb));
                    let gc = t(gpu, "c", &sentinel(m * n));
                    let u = gpu
                        .uniform(
                            "p",
                            &MatmulParams {
                                m: m as u32,
                                n: n as u32,
                                k: k as u32,
                                _pad: 0,
                            },
                        )
                        .unwrap();
                    let (kernel, groups) = variant.launch((m, n, k), (ta, tb));
                    if std::ptr::eq(kernel, &MATMUL_VEC4) {
                        vec4 += 1;
                    }
                    let d = gpu
                        .dispatch(
                            kernel,
                            &[
                                ("TRANS_A", flag(ta)),
                                ("TRANS_B", flag(tb)),
                                ("HAS_BIAS", flag(bias)),
                            ],
                            &[&u, &ga.buffer, &gb.buffer, &gbias.buffer, &gc.buffer],
                            groups,
                        )
                        .unwrap();
                    gpu.run(&[d]).unwrap();
                    let mut want = r::matmul(&widen(&a), &widen(&b), m, n, k, ta, tb);
                    if bias {
                        for i in 0..m {
                            for j in 0..n {
                                want[i * n + j] += bb[j] as f64;
                            }
                        }
                    }
                    let what = format!(
                        "matmul {} ({}) m={m} n={n} k={k} ta={ta} tb={tb} bias={bias}",
                        variant.name(),
                        kernel.name
                    );
                    assert_close(
                        &what,
                        &read(gpu, &gc),
                        &want,
                        1e-5,
                        2e-6 * (k as f64).sqrt(),
                    );
                }
            }
        }
    }
    vec4
}

/// Batched products (attention's Q·Kᵀ and P·V): z layer `i` of the launch multiplies the
/// i-th contiguous blocks of A (m·k) and B (k·n) into the i-th block of C (m·n), for every
/// variant, every transpose, counts 1, 2 and 7 and shapes below, at and past a register block
/// (8), a 16-deep slice and a 64-wide tile. C has one block more than the batch, pre-filled
/// with NaN: the batch's blocks must all be written and the extra one left bit for bit. Half
/// the launches add a bias, which every product of the batch shares.
#[test]
fn batched_matmul_matches_reference_for_every_variant_transpose_and_count() {
    let gpu = gpu_or_skip!();
    const SHAPES: &[usize] = &[1, 3, 16, 17, 65];
    let mut seed = 50_000;
    for &variant in gpu.matmul_variants() {
        let mut worst = 0.0f64;
        for count in [1usize, 2, 7] {
            for &m in SHAPES {
                for &n in SHAPES {
                    for &k in SHAPES {
                        for flags in [
                            (false, false, false),
                            (false, true, true),
                            (true, false, true),
                            (true, true, false),
                        ] {
                            seed += 1;
                            let case = BatchedCase {
                                variant,
                                count,
                                shape: (m, n, k),
                                flags,
                            };
                            worst = worst.max(batched_matmul_case(gpu, &case, seed));
                        }
                    }
                }
            }
        }
        eprintln!(
            "batched matmul {}: worst error {worst:.2} of the tolerance",
            variant.name()
        );
    }
}

/// One batched launch: `count` products of (m, n, k) with (TRANS_A, TRANS_B, HAS_BIAS).
#[derive(Debug)]
struct BatchedCase {
    variant: MatmulVariant,
    count: usize,
    shape: (usize, usize, usize),
    flags: (bool, bool, bool),
}

/// Runs `case` and checks it (see the test above); returns its largest error as a fraction of
/// the tolerance.
fn batched_matmul_case(gpu: &Gpu, case: &BatchedCase, seed: u64) -> f64 {
    let BatchedCase {
        variant,
        count,
        shape: (m, n, k),
        flags: (ta, tb, bias),
    } = *case;
    let a = random(count * m * k, seed, -1.0, 1.0);
    let b = random(count * k * n, seed + 1000, -1.0, 1.0);
    let bb = random(n, seed + 2000, -1.0, 1.0);
    let (ga, gb, gbias) = (t(gpu, "a", &a), t(gpu, "b", &b), t(gpu, "bias", &bb));
    let gc = t(gpu, "c", &sentinel((count + 1) * m * n));
    let params = MatmulParams {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        _pad: 0,
    };
    let u = gpu.uniform("p", &params).unwrap();
    let (kernel, mut groups) = variant.launch((m, n, k), (ta, tb));
    groups[2] = count as u32;
    let constants = [
        ("TRANS_A", flag(ta)),
        ("TRANS_B", flag(tb)),
        ("HAS_BIAS", flag(bias)),
    ];
    let buffers = [&u, &ga.buffer, &gb.buffer, &gbias.buffer, &gc.buffer];
    let d = gpu.dispatch(kernel, &constants, &buffers, groups).unwrap();
    gpu.run(&[d]).unwrap();
    let (wa, wb) = (widen(&a), widen(&b));
    let mut want = r::sequence::batched_matmul(&wa, &wb, count, m, n, k, ta, tb);
    if bias {
        for (i, w) in want.iter_mut().enumerate() {
            *w += bb[i % n] as f64;
        }
    }
    let what = format!("batched matmul {case:?}");
    let bits = gpu.read::<u32>(&gc).expect("read back");
    let (inside, beyond) = bits.split_at(count * m * n);
    let got: Vec<f32> = inside.iter().map(|&v| f32::from_bits(v)).collect();
    let atol = 2e-6 * (k as f64).sqrt();
    assert_close(&what, &got, &want, 1e-5, atol);
    assert!(
        beyond.iter().all(|&v| v == f32::NAN.to_bits()),
        "{what}: the block past the batch was written"
    );
    got.iter()
        .zip(&want)
        .map(|(&x, &y)| {
            let x = x as f64;
            (x - y).abs() / (1e-5 * x.abs().max(y.abs())).max(atol)
        })
        .fold(0.0, f64::max)
}

#[test]
fn column_sums_match_reference_in_one_pass_and_split() {
    let gpu = gpu_or_skip!();
    // Rows up to 32 take one pass; more are split into runs summed in a second pass, the
    // last run shorter (1000 = 32 runs of 32, less 24; 5000 = 64 runs of 79, less 23).
    for &rows in &[1usize, 3, 32, 33, 129, 1000, 5000] {
        // Columns that are a multiple of 4 run sum_rows_vec4.
        for &cols in &[1usize, 4, 63, 64, 65, 300] {
            let x = random(rows * cols, (rows * 31 + cols) as u64, -1.0, 1.0);
            let gx = t(gpu, "x", &x);
            let out = t(gpu, "out", &sentinel(cols));
            let d = netdx::train::column_sums::column_sums(
                gpu,
                "x",
                (rows, cols),
                &gx.buffer,
                &out.buffer,
            )
            .unwrap();
            assert_eq!(
                d.len(),
                if rows > 32 { 2 } else { 1 },
                "passes for {rows} rows"
            );
            gpu.run(&d).unwrap();
            let want: Vec<f64> = (0..cols)
                .map(|j| (0..rows).map(|i| x[i * cols + j] as f64).sum())
                .collect();
            // Sums of `rows` f32 terms in [-1, 1].
            let got = read(gpu, &out);
            assert_close(
                &format!("column sums {rows}x{cols}"),
                &got,
                &want,
                1e-5,
                1e-6 * (rows as f64).sqrt().max(1.0) * 4.0,
            );
            if rows <= 32 {
                // One pass: the scalar kernel's sums, bit for bit, whichever kernel ran.
                let u = gpu
                    .uniform(
                        "p",
                        &MatrixParams {
                            rows: rows as u32,
                            cols: cols as u32,
                            rows_per_split: rows as u32,
                            splits: 1,
                        },
                    )
                    .unwrap();
                let scalar = t(gpu, "out", &sentinel(cols));
                let d = gpu
                    .dispatch(
                        &SUM_ROWS,
                        &[],
                        &[&u, &gx.buffer, &scalar.buffer],
                        gpu.groups_1d(&SUM_ROWS, cols),
                    )
                    .unwrap();
                gpu.run(&[d]).unwrap();
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&got),
                    bits(&read(gpu, &scalar)),
                    "column sums {rows}x{cols}"
                );
            }
        }
    }
}

#[test]
fn activations_forward_and_backward_match_reference() {
    let gpu = gpu_or_skip!();
    for kind in Activation::ALL {
        for &n in &[1usize, 3, 17, 255, 256, 257, 1031] {
            let x = random(n, n as u64 + kind.code() as u64, -6.0, 6.0);
            let dy = random(n, 77 + n as u64, -1.0, 1.0);
            let slope = 0.07;
            let gx = t(gpu, "x", &x);
            let gy = t(gpu, "y", &sentinel(n));
            let gdy = t(gpu, "dy", &dy);
            let gdx = t(gpu, "dx", &sentinel(n));
            let u = gpu
                .uniform(
                    "p",
                    &ActivationParams {
                        n: n as u32,
                        slope,
                        ..Default::default()
                    },
                )
                .unwrap();
            let c = [("ACT", kind.code() as f64)];
            let f = gpu
                .dispatch(
                    &ACTIVATION_FORWARD,
                    &c,
                    &[&u, &gx.buffer, &gy.buffer],
                    gpu.groups_1d(&ACTIVATION_FORWARD, activation_kernels(kind).invocations(n)),
                )
                .unwrap();
            let b = gpu
                .dispatch(
                    &ACTIVATION_BACKWARD,
                    &c,
                    &[&u, &gx.buffer, &gy.buffer, &gdy.buffer, &gdx.buffer],
                    gpu.groups_1d(
                        &ACTIVATION_BACKWARD,
                        activation_kernels(kind).invocations(n),
                    ),
                )
                .unwrap();
            gpu.run(&[f, b]).unwrap();
            let want_y: Vec<f64> = x
                .iter()
                .map(|&v| r::act_forward(kind, slope as f64, v as f64))
                .collect();
            let want_dx: Vec<f64> = x
                .iter()
                .zip(&dy)
                .map(|(&v, &g)| g as f64 * r::act_derivative(kind, slope as f64, v as f64))
                .collect();
            // erf is approximated to 1.5e-7 in WGSL; exp/tanh in f32 to a few ulps.
            assert_close(
                &format!("{} forward n={n}", kind.name()),
                &read(gpu, &gy),
                &want_y,
                2e-6,
                1e-6,
            );
            assert_close(
                &format!("{} backward n={n}", kind.name()),
                &read(gpu, &gdx),
                &want_dx,
                2e-5,
                1e-6,
            );
        }
    }
}

fn run_loss(
    gpu: &Gpu,
    kind: LossKind,
    batch: usize,
    width: usize,
    weights: Option<&[f32]>,
    gamma: f32,
    alpha: f32,
) {
    let logits = random(batch * width, (batch * 13 + width) as u64, -4.0, 4.0);
    let targets: Vec<f32> = match kind {
        LossKind::Mse => random(batch * width, 5, -2.0, 2.0),
        LossKind::BinaryCrossEntropy => (0..batch).map(|i| (i % 2) as f32).collect(),
        _ => (0..batch).map(|i| ((i * 7) % width) as f32).collect(),
    };
    let y_width = if kind == LossKind::Mse { width } else { 1 };
    assert_eq!(targets.len(), batch * y_width);
    let gl = t(gpu, "logits", &logits);
    let gt = t(gpu, "targets", &targets);
    let gw = t(gpu, "weights", weights.unwrap_or(&[1.0]));
    let gd = t(gpu, "dlogits", &sentinel(batch * width));
    let gs = t(gpu, "stats", &sentinel(4));
    let u = gpu
        .uniform(
            "p",
            &LossParams {
                batch: batch as u32,
                width: width as u32,
                out_slot: 0,
                _pad0: 0,
                gamma,
                alpha,
                _pad1: [0.0; 2],
            },
        )
        .unwrap();
    let d = gpu
        .dispatch(
            &LOSS,
            &[
                ("LOSS", kind.code() as f64),
                ("HAS_WEIGHTS", flag(weights.is_some())),
            ],
            &[
                &u, &gl.buffer, &gt.buffer, &gw.buffer, &gd.buffer, &gs.buffer,
            ],
            [1, 1, 1],
        )
        .unwrap();
    gpu.run(&[d]).unwrap();
    let opts = LossOptions {
        // For binary cross-entropy the one weight is pos_weight.
        class_weights: weights
            .filter(|_| kind != LossKind::BinaryCrossEntropy)
            .map(widen),
        pos_weight: weights
            .filter(|_| kind == LossKind::BinaryCrossEntropy)
            .map(|w| w[0] as f64),
        gamma: gamma as f64,
        alpha: alpha as f64,
    };
    let want = r::loss(kind, &widen(&logits), &widen(&targets), batch, width, &opts);
    let what = format!(
        "{kind:?} batch={batch} width={width} weights={}",
        weights.is_some()
    );
    let stats = read(gpu, &gs);
    assert_close(
        &format!("{what} loss"),
        &stats[..1],
        &[want.loss],
        1e-5,
        1e-6,
    );
    assert_eq!(stats[1] as usize, want.correct, "{what}: correct count");
    assert_close(
        &format!("{what} dlogits"),
        &read(gpu, &gd),
        &want.grad,
        1e-4,
        1e-7,
    );
}

#[test]
fn losses_match_reference() {
    let gpu = gpu_or_skip!();
    for &batch in &[1usize, 3, 17, 300] {
        for &width in &[2usize, 3, 10] {
            run_loss(
                gpu,
                LossKind::SoftmaxCrossEntropy,
                batch,
                width,
                None,
                0.0,
                1.0,
            );
            let w: Vec<f32> = (0..width).map(|j| 0.5 + j as f32).collect();
            run_loss(
                gpu,
                LossKind::SoftmaxCrossEntropy,
                batch,
                width,
                Some(&w),
                0.0,
                1.0,
            );
            run_loss(gpu, LossKind::Focal, batch, width, None, 2.0, 0.25);
            run_loss(gpu, LossKind::Focal, batch, width, Some(&w), 0.5, 1.0);
            run_loss(gpu, LossKind::Mse, batch, width, None, 0.0, 1.0);
        }
        run_loss(gpu, LossKind::BinaryCrossEntropy, batch, 1, None, 0.0, 1.0);
        for pos_weight in [0.25f32, 3.0] {
            run_loss(
                gpu,
                LossKind::BinaryCrossEntropy,
                batch,
                1,
                Some(&[pos_weight]),
                0.0,
                1.0,
            );
        }
    }
}

#[test]
fn optimizers_match_reference_over_three_steps() {
    let gpu = gpu_or_skip!();
    let kinds = [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Nesterov,
        OptimizerKind::Adam,
        OptimizerKind::Adamw,
    ];
    for kind in kinds {
        for &n in &[1usize, 257, 1000] {
            for (l2, wd, clip_norm, clip_value) in [
                (0.0, 0.0, 0.0, 0.0),
                (1e-2, 1e-2, 0.5, 0.0),
                (0.0, 0.0, 0.0, 0.01),
            ] {
                let w0 = random(n, n as u64, -1.0, 1.0);
                let g = random(n, n as u64 + 9, -1.0, 1.0);
                let gw = t(gpu, "w", &w0);
                let gg = t(gpu, "g", &g);
                let (gm, gv, gd) = (
                    t(gpu, "m", &vec![0.0; n]),
                    t(gpu, "v", &vec![0.0; n]),
                    t(gpu, "delta", &sentinel(n)),
                );
                // stats[1] holds the gradient's sum of squares, as a `reduce` slot would.
                let sumsq: f64 = g.iter().map(|&x| (x as f64).powi(2)).sum();
                let gs = t(gpu, "stats", &[0.0, sumsq as f32, 0.0, 0.0]);
                let params = OptimizerParams {
                    n: n as u32,
                    clip_first: 1,
                    clip_count: if clip_norm > 0.0 { 1 } else { 0 },
                    clip_stride: 8,
                    momentum: 0.9,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    l2,
                    weight_decay: wd,
                    clip_norm,
                    clip_value,
                    lanes: n.div_ceil(4) as u32,
                    fold: fold::UPDATES,
                    partial_w: 0,
                    partial_u: 0,
                    apply: 1,
                    partial_g: 0,
                    _pad: [0; 2],
                };
                let u = gpu.uniform("p", &params).unwrap();
                let step = gpu.uniform("step", &StepUniform::default()).unwrap();
                let d = gpu
                    .dispatch(
                        &OPTIMIZER,
                        &[("OPT", kind.code() as f64)],
                        &[
                            &u, &step, &gw.buffer, &gg.buffer, &gm.buffer, &gv.buffer, &gd.buffer,
                            &gs.buffer,
                        ],
                        gpu.groups_1d(&OPTIMIZER, n.div_ceil(4)),
                    )
                    .unwrap();
                let cfg = OptimizerConfig {
                    kind,
                    momentum: 0.9,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    l2: l2 as f64,
                    weight_decay: wd as f64,
                    clip_value: clip_value as f64,
                };
                let (mut w, mut m, mut v) = (widen(&w0), vec![0.0; n], vec![0.0; n]);
                let coef = r::clip_coefficient(sumsq.sqrt(), clip_norm as f64);
                let mut before = w.clone();
                for t_ in 1..=3u32 {
                    let lr = 0.05 * t_ as f64;
                    let su = StepUniform {
                        lr: lr as f32,
                        bias_correction1: (1.0 - 0.9f64.powi(t_ as i32)) as f32,
                        bias_correction2: (1.0 - 0.999f64.powi(t_ as i32)) as f32,
                        step: t_ - 1,
                        seed: 0,
                        _pad: [0; 3],
                    };
                    gpu.write(&step, &[su]);
                    gpu.run(std::slice::from_ref(&d)).unwrap();
                    before.clone_from(&w);
                    r::optimizer_step(&cfg, lr, t_, coef, &mut w, &widen(&g), &mut m, &mut v);
                }
                let what = format!("{kind:?} n={n} l2={l2} wd={wd} clip={clip_norm}/{clip_value}");
                // Three updates of size O(lr) = 0.1 each: atol 1e-5 is 1e-4 of the total move.
                assert_close(&format!("{what} weights"), &read(gpu, &gw), &w, 1e-5, 1e-5);
                let delta: Vec<f64> = w.iter().zip(&before).map(|(a, b)| a - b).collect();
                assert_close(
                    &format!("{what} delta"),
                    &read(gpu, &gd),
                    &delta,
                    1e-3,
                    1e-6,
                );
            }
        }
    }
}

/// The reference statistics in the order a `reduce` slot holds them.
fn slot_of(want: &r::ReduceStats) -> [f64; 8] {
    [
        want.sum,
        want.sumsq,
        want.min,
        want.max,
        want.mean,
        want.std,
        want.nonfinite,
        want.count,
    ]
}

#[test]
fn reduce_matches_reference_and_counts_non_finite() {
    let gpu = gpu_or_skip!();
    for &n in &[1usize, 3, 255, 256, 257, 4097, 100_003, 2_000_001] {
        let mut x = random(n, n as u64, -3.0, 5.0);
        if n > 3 {
            x[1] = f32::NAN;
            x[n - 1] = f32::INFINITY;
        }
        let gx = t(gpu, "x", &x);
        let want = r::reduce(&widen(&x));
        let w = slot_of(&want);
        for grain in REDUCE_GRAINS {
            let gs = t(gpu, "stats", &sentinel(16));
            let d =
                netdx::train::reduction::reduce_all_at_grain(gpu, &[(&gx, 8)], &gs, grain).unwrap();
            gpu.run(&d).unwrap();
            let s = read(gpu, &gs);
            // Sums of n f32 terms: relative error grows like √n·ε; the partial records keep it
            // small.
            assert_close(
                &format!("reduce n={n}, grain {grain}"),
                &s[8..16],
                &w,
                1e-4,
                1e-4,
            );
            assert!(
                s[..8].iter().all(|v| v.is_nan()),
                "reduce n={n}, grain {grain} wrote outside its slot"
            );
        }
    }
}

/// Values per stage-1 lane: a GPU's (16), a CPU adapter's (256), and 1, where a small tensor
/// has more lanes than slices of 4 values and most lanes fold nothing.
const REDUCE_GRAINS: [usize; 3] = [16, 256, 1];

/// The writers that fold what they write (activations and vec4 additions): y equal to the plain
/// kernel's bit for bit, and the statistics their partial records combine to equal to a
/// separate reduction of y bit for bit, at every grain, on odd sizes (the last slice partly
/// past n) and with a NaN and an infinity among the values.
#[test]
fn writers_folding_their_statistics_equal_a_separate_reduction() {
    use netdx::train::reduction::{combine_partials, reduce_all_at_grain};
    let gpu = gpu_or_skip!();
    // (what, n, the plain and the folded dispatch for (params' fold fields, y, partials)).
    type Launch<'a> = Box<dyn Fn(u32, u32, &Tensor, Option<&Tensor>) -> netdx::gpu::Dispatch + 'a>;
    let mut cases: Vec<(String, usize, Launch)> = Vec::new();
    for kind in [Activation::Gelu, Activation::LeakyRelu, Activation::Tanh] {
        for n in [1usize, 3, 17, 129, 1031, 100_003] {
            let mut x = random(n, 5 * n as u64 + kind.code() as u64, -4.0, 4.0);
            if n > 3 {
                x[n / 3] = f32::NAN;
                x[n / 2] = f32::INFINITY;
            }
            let gx = t(gpu, "x", &x);
            let launch: Launch = Box::new(move |lanes, partial, y, partials| {
                let u = gpu
                    .uniform(
                        "p",
                        &ActivationParams {
                            n: n as u32,
                            slope: 0.1,
                            fold_lanes: lanes,
                            fold_partial: partial,
                        },
                    )
                    .unwrap();
                let c = [("ACT", kind.code() as f64)];
                match partials {
                    Some(p) => gpu.dispatch(
                        &ACTIVATION_FORWARD_FOLDED,
                        &c,
                        &[&u, &gx.buffer, &y.buffer, &p.buffer],
                        gpu.groups_1d(&ACTIVATION_FORWARD_FOLDED, lanes as usize),
                    ),
                    None => gpu.dispatch(
                        &ACTIVATION_FORWARD,
                        &c,
                        &[&u, &gx.buffer, &y.buffer],
                        gpu.groups_1d(&ACTIVATION_FORWARD, n.div_ceil(4)),
                    ),
                }
                .unwrap()
            });
            cases.push((format!("{} n={n}", kind.name()), n, launch));
        }
    }
    for (n, period) in [(4usize, 4usize), (132, 132), (1028, 12), (65_536, 4096)] {
        let a = random(n, 3 * n as u64, -2.0, 2.0);
        let b = random(period, 11 + period as u64, -1.0, 1.0);
        let (ga, gb) = (t(gpu, "a", &a), t(gpu, "b", &b));
        let launch: Launch = Box::new(move |lanes, partial, y, partials| {
            let mut p = AddParams::new(n, period);
            (p.fold_lanes, p.fold_partial) = (lanes, partial);
            let u = gpu.uniform("p", &p).unwrap();
            match partials {
                Some(q) => gpu.dispatch(
                    &ADD_VEC4_FOLDED,
                    &[],
                    &[&u, &ga.buffer, &gb.buffer, &y.buffer, &q.buffer],
                    gpu.groups_1d(&ADD_VEC4_FOLDED, lanes as usize),
                ),
                None => {
                    let (kernel, invocations) = p.launch();
                    assert!(std::ptr::eq(kernel, &ADD_VEC4));
                    gpu.dispatch(
                        kernel,
                        &[],
                        &[&u, &ga.buffer, &gb.buffer, &y.buffer],
                        gpu.groups_1d(kernel, invocations),
                    )
                }
            }
            .unwrap()
        });
        cases.push((format!("add n={n} period={period}"), n, launch));
    }
    for (what, n, launch) in &cases {
        let plain = t(gpu, "y", &sentinel(*n));
        gpu.run(&[launch(0, 0, &plain, None)]).unwrap();
        for grain in REDUCE_GRAINS {
            let lanes = reduce_lanes(*n, grain);
            // The records start past one record's worth of sentinels, as a later tensor's do.
            let first = REDUCE_WIDTH;
            let partials = t(gpu, "partials", &sentinel((lanes + 1) * REDUCE_WIDTH));
            let y = t(gpu, "y", &sentinel(*n));
            let stats = t(gpu, "stats", &sentinel(2 * REDUCE_WIDTH));
            let job = ReduceCombineJob {
                records: lanes as u32,
                partial: first as u32,
                out: 0,
                _pad: 0,
            };
            let mut d = vec![launch(lanes as u32, first as u32, &y, Some(&partials))];
            d.push(combine_partials(gpu, &[job], &partials, &stats, "folded").unwrap());
            d.extend(reduce_all_at_grain(gpu, &[(&plain, REDUCE_WIDTH)], &stats, grain).unwrap());
            gpu.run(&d).unwrap();
            let (got_y, want_y) = (read(gpu, &y), read(gpu, &plain));
            assert!(
                got_y[..*n]
                    .iter()
                    .zip(&want_y[..*n])
                    .all(|(p, q)| p.to_bits() == q.to_bits()),
                "{what}, grain {grain}: y"
            );
            let s = read(gpu, &stats);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&s[..REDUCE_WIDTH]),
                bits(&s[REDUCE_WIDTH..]),
                "{what}, grain {grain}: folded statistics {:?} against {:?}",
                &s[..REDUCE_WIDTH],
                &s[REDUCE_WIDTH..]
            );
            assert!(
                read(gpu, &partials)[..first].iter().all(|v| v.is_nan()),
                "{what}, grain {grain}: wrote before its first record"
            );
        }
    }
}

#[test]
fn reduce_all_matches_reference_for_each_tensor_of_a_set() {
    let gpu = gpu_or_skip!();
    // Nine tensors: two stage-1 dispatches (seven inputs each), one combine for all; sizes
    // below, at and past one workgroup of lanes and the 64-workgroup cap.
    let sizes = [1usize, 3, 255, 256, 257, 4097, 100_003, 17, 1_100_000];
    let xs: Vec<Vec<f32>> = sizes
        .iter()
        .enumerate()
        .map(|(k, &n)| {
            let mut x = random(n, 7 * n as u64 + k as u64, -2.0 - k as f64, 3.0);
            if n > 3 {
                x[n / 2] = f32::NEG_INFINITY;
            }
            x
        })
        .collect();
    let tensors: Vec<Tensor> = xs.iter().map(|x| t(gpu, "x", x)).collect();
    // Slots in reverse order, leaving slot 0 unwritten.
    let slots = sizes.len() + 1;
    for grain in REDUCE_GRAINS {
        let gs = t(gpu, "stats", &sentinel(slots * REDUCE_WIDTH));
        let jobs: Vec<(&Tensor, usize)> = tensors
            .iter()
            .enumerate()
            .map(|(k, x)| (x, (slots - 1 - k) * REDUCE_WIDTH))
            .collect();
        let d = netdx::train::reduction::reduce_all_at_grain(gpu, &jobs, &gs, grain).unwrap();
        assert_eq!(d.len(), 3, "two stage-1 dispatches and one combine");
        gpu.run(&d).unwrap();
        let s = read(gpu, &gs);
        for (k, x) in xs.iter().enumerate() {
            let want = r::reduce(&widen(x));
            let w = slot_of(&want);
            let o = (slots - 1 - k) * REDUCE_WIDTH;
            assert_close(
                &format!("reduce_all tensor {k} (n={}), grain {grain}", x.len()),
                &s[o..o + REDUCE_WIDTH],
                &w,
                1e-4,
                1e-4,
            );
        }
        assert!(
            s[..REDUCE_WIDTH].iter().all(|v| v.is_nan()),
            "reduce_all, grain {grain}, wrote outside its slots"
        );
    }
}

#[test]
fn batchnorm_train_eval_and_backward_match_reference() {
    let gpu = gpu_or_skip!();
    // spatial 1 is batch norm over vectors (BatchNorm1d); spatial > 1 over the pixels of
    // each channel of NCHW images (BatchNorm2d).
    for &(batch, f, s) in &[
        (1usize, 3usize, 1usize),
        (3, 1, 1),
        (17, 65, 1),
        (129, 4, 1),
        (1, 3, 17),
        (3, 5, 49),
        (2, 1, 129),
    ] {
        let n = batch * f * s;
        let x = random(n, (batch + f + s) as u64, -2.0, 3.0);
        let gamma = random(f, 3, 0.5, 1.5);
        let beta = random(f, 4, -0.5, 0.5);
        let dy = random(n, 5, -1.0, 1.0);
        let rm0 = random(f, 6, -0.1, 0.1);
        let rv0 = random(f, 7, 0.5, 1.5);
        let (gx, gg, gb, gdy) = (
            t(gpu, "x", &x),
            t(gpu, "gamma", &gamma),
            t(gpu, "beta", &beta),
            t(gpu, "dy", &dy),
        );
        let (gy, gmean, ginv) = (
            t(gpu, "y", &sentinel(n)),
            t(gpu, "mean", &sentinel(f)),
            t(gpu, "invstd", &sentinel(f)),
        );
        let (grm, grv) = (t(gpu, "rm", &rm0), t(gpu, "rv", &rv0));
        let (gdx, gdg, gdb) = (
            t(gpu, "dx", &sentinel(n)),
            t(gpu, "dgamma", &sentinel(f)),
            t(gpu, "dbeta", &sentinel(f)),
        );
        let gye = t(gpu, "y_eval", &sentinel(n));
        let eps = 1e-5f32;
        let u = gpu
            .uniform(
                "p",
                &BatchNormParams {
                    batch: batch as u32,
                    features: f as u32,
                    eps,
                    momentum: 0.1,
                    spatial: s as u32,
                    _pad: [0; 3],
                },
            )
            .unwrap();
        let groups = [(f as u32).div_ceil(64), 1, 1];
        let train = gpu
            .dispatch(
                &BATCHNORM_TRAIN,
                &[],
                &[
                    &u,
                    &gx.buffer,
                    &gg.buffer,
                    &gb.buffer,
                    &gy.buffer,
                    &gmean.buffer,
                    &ginv.buffer,
                    &grm.buffer,
                    &grv.buffer,
                ],
                groups,
            )
            .unwrap();
        let back = gpu
            .dispatch(
                &BATCHNORM_BACKWARD,
                &[],
                &[
                    &u,
                    &gx.buffer,
                    &gg.buffer,
                    &gmean.buffer,
                    &ginv.buffer,
                    &gdy.buffer,
                    &gdx.buffer,
                    &gdg.buffer,
                    &gdb.buffer,
                ],
                groups,
            )
            .unwrap();
        let eval = gpu
            .dispatch(
                &BATCHNORM_EVAL,
                &[],
                &[
                    &u,
                    &gx.buffer,
                    &gg.buffer,
                    &gb.buffer,
                    &grm.buffer,
                    &grv.buffer,
                    &gye.buffer,
                ],
                gpu.groups_1d(&BATCHNORM_EVAL, n),
            )
            .unwrap();
        gpu.run(&[train, back, eval]).unwrap();
        let fwd = r::batchnorm_train(
            &widen(&x),
            &widen(&gamma),
            &widen(&beta),
            (batch, f, s),
            eps as f64,
        );
        let what = format!("batchnorm batch={batch} features={f} spatial={s}");
        // With batch 1 the variance is 0 and outputs are β exactly; tolerances cover 1/sqrt(eps).
        assert_close(&format!("{what} y"), &read(gpu, &gy), &fwd.y, 1e-4, 1e-5);
        let rm: Vec<f64> = rm0
            .iter()
            .zip(&fwd.mean)
            .map(|(&a, b)| 0.9 * a as f64 + 0.1 * b)
            .collect();
        let rv: Vec<f64> = rv0
            .iter()
            .zip(&fwd.var_unbiased)
            .map(|(&a, b)| 0.9 * a as f64 + 0.1 * b)
            .collect();
        assert_close(
            &format!("{what} running mean"),
            &read(gpu, &grm),
            &rm,
            1e-5,
            1e-6,
        );
        assert_close(
            &format!("{what} running var"),
            &read(gpu, &grv),
            &rv,
            1e-5,
            1e-6,
        );
        let (dx, dg, db) =
            r::batchnorm_backward(&widen(&x), &widen(&gamma), &fwd, &widen(&dy), (batch, f, s));
        assert_close(&format!("{what} dx"), &read(gpu, &gdx), &dx, 1e-3, 1e-4);
        assert_close(&format!("{what} dgamma"), &read(gpu, &gdg), &dg, 1e-4, 1e-5);
        assert_close(&format!("{what} dbeta"), &read(gpu, &gdb), &db, 1e-5, 1e-5);
        let ye = r::batchnorm_eval(
            &widen(&x),
            &widen(&gamma),
            &widen(&beta),
            &rm,
            &rv,
            (f, s),
            eps as f64,
        );
        assert_close(&format!("{what} eval"), &read(gpu, &gye), &ye, 1e-4, 1e-5);
    }
}

#[test]
fn dropout_masks_match_the_host_generator_and_scale_kept_values() {
    let gpu = gpu_or_skip!();
    for &n in &[1usize, 255, 257, 10_000] {
        for &rate in &[0.0f32, 0.1, 0.5, 0.9] {
            let x = random(n, 11, 0.5, 1.5);
            let gx = t(gpu, "x", &x);
            let gy = t(gpu, "y", &sentinel(n));
            let u = gpu
                .uniform(
                    "p",
                    &DropoutParams {
                        n: n as u32,
                        layer: 3,
                        rate,
                        _pad: 0,
                    },
                )
                .unwrap();
            let step = gpu
                .uniform(
                    "step",
                    &StepUniform {
                        step: 42,
                        seed: 7,
                        ..Default::default()
                    },
                )
                .unwrap();
            let d = gpu
                .dispatch(
                    &DROPOUT,
                    &[],
                    &[&u, &step, &gx.buffer, &gy.buffer],
                    gpu.groups_1d(&DROPOUT, n),
                )
                .unwrap();
            gpu.run(&[d]).unwrap();
            let scale = r::dropout_scale(rate, 7, 42, 3, n);
            let want: Vec<f64> = x.iter().zip(&scale).map(|(&v, s)| v as f64 * s).collect();
            let got = read(gpu, &gy);
            assert_close(
                &format!("dropout n={n} rate={rate}"),
                &got,
                &want,
                1e-6,
                0.0,
            );
            if n >= 10_000 {
                let dropped = got.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
                assert!(
                    (dropped - rate as f64).abs() < 0.02,
                    "rate {rate}: dropped fraction {dropped}"
                );
            }
        }
    }
}

#[test]
fn gather_count_positive_and_histogram_are_exact() {
    let gpu = gpu_or_skip!();
    // gather
    let (n, xw, yw, batch) = (50usize, 3usize, 2usize, 17usize);
    let x = random(n * xw, 1, -1.0, 1.0);
    let y = random(n * yw, 2, -1.0, 1.0);
    let idx: Vec<u32> = (0..batch as u32).map(|i| (i * 7 + 3) % n as u32).collect();
    let (gx, gy, gi) = (
        t(gpu, "x", &x),
        t(gpu, "y", &y),
        gpu.tensor_from("idx", &idx).unwrap(),
    );
    let (bx, by) = (
        t(gpu, "bx", &sentinel(batch * xw)),
        t(gpu, "by", &sentinel(batch * yw)),
    );
    let u = gpu
        .uniform(
            "p",
            &GatherParams {
                batch: batch as u32,
                x_width: xw as u32,
                y_width: yw as u32,
                _pad: 0,
            },
        )
        .unwrap();
    let d = gpu
        .dispatch(
            &GATHER,
            &[],
            &[
                &u, &gi.buffer, &gx.buffer, &gy.buffer, &bx.buffer, &by.buffer,
            ],
            gpu.groups_1d(&GATHER, batch * (xw + yw)),
        )
        .unwrap();
    gpu.run(&[d]).unwrap();
    let want_x: Vec<f32> = idx
        .iter()
        .flat_map(|&i| x[i as usize * xw..(i as usize + 1) * xw].to_vec())
        .collect();
    let want_y: Vec<f32> = idx
        .iter()
        .flat_map(|&i| y[i as usize * yw..(i as usize + 1) * yw].to_vec())
        .collect();
    assert_eq!(read(gpu, &bx), want_x);
    assert_eq!(read(gpu, &by), want_y);

    // count_positive per unit (spatial 1), accumulated over two launches
    let (rows, cols) = (33usize, 70usize);
    let a = random(rows * cols, 3, -1.0, 1.0);
    let ga = t(gpu, "a", &a);
    let counts = gpu.tensor_from("counts", &vec![0u32; cols]).unwrap();
    let u = gpu
        .uniform(
            "p",
            &CountPositiveParams {
                rows: rows as u32,
                features: cols as u32,
                spatial: 1,
                _pad: 0,
            },
        )
        .unwrap();
    let d = gpu
        .dispatch(
            &COUNT_POSITIVE,
            &[],
            &[&u, &ga.buffer, &counts.buffer],
            [(cols as u32).div_ceil(64), 1, 1],
        )
        .unwrap();
    gpu.run(&[d]).unwrap();
    gpu.run(&[gpu
        .dispatch(
            &COUNT_POSITIVE,
            &[],
            &[&u, &ga.buffer, &counts.buffer],
            [(cols as u32).div_ceil(64), 1, 1],
        )
        .unwrap()])
        .unwrap();
    let want: Vec<u32> = (0..cols)
        .map(|j| 2 * (0..rows).filter(|&i| a[i * cols + j] > 0.0).count() as u32)
        .collect();
    assert_eq!(gpu.read::<u32>(&counts).unwrap(), want);

    // count_positive per channel of 3 × 5 × 7 NCHW images (spatial 35)
    let (rows, channels, spatial) = (3usize, 5usize, 35usize);
    let a = random(rows * channels * spatial, 5, -1.0, 1.0);
    let ga = t(gpu, "a", &a);
    let counts = gpu.tensor_from("counts", &vec![0u32; channels]).unwrap();
    let u = gpu
        .uniform(
            "p",
            &CountPositiveParams {
                rows: rows as u32,
                features: channels as u32,
                spatial: spatial as u32,
                _pad: 0,
            },
        )
        .unwrap();
    gpu.run(&[gpu
        .dispatch(
            &COUNT_POSITIVE,
            &[],
            &[&u, &ga.buffer, &counts.buffer],
            [1, 1, 1],
        )
        .unwrap()])
        .unwrap();
    let want: Vec<u32> = (0..channels)
        .map(|c| {
            (0..rows)
                .flat_map(|i| (0..spatial).map(move |s| (i * channels + c) * spatial + s))
                .filter(|&k| a[k] > 0.0)
                .count() as u32
        })
        .collect();
    assert_eq!(gpu.read::<u32>(&counts).unwrap(), want);

    // Histograms: out-of-range values clamped to the edge bins, NaN and ±Inf skipped, counts
    // added to what the buffer holds; sizes around a workgroup's block and bins up to the most
    // the kernel keeps.
    let block = netdx::kernels::HISTOGRAM_VALUES_PER_GROUP;
    let max_bins = netdx::kernels::HISTOGRAM_MAX_BINS;
    for (n, bins) in [
        (1, 1),
        (3, 7),
        (17, 32),
        (129, max_bins),
        (1000, 7),
        (block - 1, 32),
        (block, 200),
        (block + 1, 3),
        (3 * block + 5, max_bins),
    ] {
        let mut h = random(n, n as u64, -1.5, 1.5);
        for (i, special) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
            .into_iter()
            .enumerate()
        {
            if let Some(v) = h.get_mut(i * 7 + 1) {
                *v = special;
            }
        }
        let gh = t(gpu, "h", &h);
        let before: Vec<u32> = (0..bins as u32).collect();
        let hc = gpu.tensor_from("hist", &before).unwrap();
        let u = gpu
            .uniform(
                "p",
                &HistogramParams {
                    n: n as u32,
                    bins: bins as u32,
                    lo: -1.0,
                    hi: 1.0,
                },
            )
            .unwrap();
        let d = gpu
            .dispatch(
                &HISTOGRAM,
                &[],
                &[&u, &gh.buffer, &hc.buffer],
                netdx::kernels::histogram_groups(n, 65535),
            )
            .unwrap();
        gpu.run(&[d]).unwrap();
        let mut want = before.clone();
        for &v in h.iter().filter(|v| v.is_finite()) {
            let b = (((v - -1.0) / 2.0 * bins as f32).clamp(0.0, (bins - 1) as f32)) as usize;
            want[b] += 1;
        }
        assert_eq!(
            gpu.read::<u32>(&hc).unwrap(),
            want,
            "n = {n}, bins = {bins}"
        );
    }
}

#[test]
fn a_wgpu_validation_error_comes_back_typed_and_names_the_kernel() {
    let gpu = gpu_or_skip!();
    // A read-back buffer lacks STORAGE usage: binding it to a storage slot is a validation
    // error, which must come back as an error naming the kernel, not a panic.
    let staging = gpu
        .tensor("not storage", 4, netdx::gpu::TensorUsage::ReadBack)
        .unwrap();
    let x = t(gpu, "x", &[1.0; 4]);
    let u = gpu
        .uniform(
            "p",
            &MatrixParams {
                rows: 1,
                cols: 4,
                rows_per_split: 1,
                splits: 1,
            },
        )
        .unwrap();
    let err = match gpu.dispatch(&SUM_ROWS, &[], &[&u, &x.buffer, &staging.buffer], [1, 1, 1]) {
        Ok(_) => panic!("binding a MAP_READ buffer as storage must fail"),
        Err(e) => e.to_string(),
    };
    assert!(err.starts_with("GPU error in `sum_rows`"), "{err}");
    // The device stays usable afterwards.
    let out = t(gpu, "out", &sentinel(4));
    gpu.run(&[gpu
        .dispatch(&SUM_ROWS, &[], &[&u, &x.buffer, &out.buffer], [1, 1, 1])
        .unwrap()])
        .unwrap();
    assert_eq!(read(gpu, &out), vec![1.0; 4]);
}

#[test]
fn one_dimensional_kernels_cover_more_than_65535_workgroups() {
    let gpu = gpu_or_skip!();
    // Past 65,535 workgroups of 256 the dispatch is split over y and kernels rebuild the index
    // from num_workgroups; elements on both sides of the split must be written. `scale` runs
    // one value an invocation (the activations run four, and would need 4× the memory).
    let n = 65_535 * 256 + 1_000;
    let groups = gpu.groups_1d(&SCALE, n);
    assert!(
        groups[1] > 1,
        "the test must use a 2-D dispatch: {groups:?}"
    );
    let x: Vec<f32> = (0..n)
        .map(|i| if i % 3 == 0 { -(i as f32) } else { i as f32 })
        .collect();
    let gx = t(gpu, "x", &x);
    let u = gpu
        .uniform(
            "p",
            &ScaleParams {
                n: n as u32,
                factor: -2.0,
                _pad: [0; 2],
            },
        )
        .unwrap();
    let d = gpu
        .dispatch(&SCALE, &[], &[&u, &gx.buffer], groups)
        .unwrap();
    gpu.run(&[d]).unwrap();
    let y = read(gpu, &gx);
    // Multiplying by -2 is exact in f32.
    let wrong = (0..n).find(|&i| y[i] != x[i] * -2.0);
    assert_eq!(wrong, None, "first wrong element at {wrong:?} of {n}");
}

/// Every conv2d kernel family the adapter runs (direct; implicit GEMM on the subgroup tile),
/// forward and backward, against src/reference/conv.rs. Tolerance for a sum of k f32 products of
/// values in [-1, 1]: relative 1e-5, absolute 2e-6·√k (as for matmul).
#[test]
fn conv2d_forward_and_backward_match_the_reference_on_odd_geometries() {
    let gpu = gpu_or_skip!();
    let (mut gemm_forwards, mut vec4_weights) = (0, 0);
    for &variant in gpu.conv_variants() {
        let mut splits_seen = Vec::new();
        for (seed, geometry) in CONV_GEOMETRIES.iter().enumerate() {
            let (params, kernels) = conv2d_case(gpu, variant, geometry, seed as u64);
            splits_seen.push(params.splits);
            gemm_forwards += usize::from(kernels[0] == CONV2D_GEMM_FORWARD.name);
            vec4_weights += usize::from(kernels[2] == CONV2D_GEMM_BACKWARD_WEIGHT_VEC4.name);
        }
        assert!(
            splits_seen.contains(&1),
            "a weight gradient in one piece: {splits_seen:?}"
        );
        assert!(splits_seen.contains(&58), "many splits: {splits_seen:?}");
    }
    if gpu.conv_variants().contains(&ConvVariant::Gemm) {
        assert!(
            gemm_forwards >= 5,
            "{gemm_forwards} forwards ran the GEMM kernel"
        );
        assert!(
            vec4_weights >= 4,
            "{vec4_weights} weight gradients ran the vec4 GEMM kernel"
        );
    }
}

/// (batch, in, out, h, w, [kh, kw], stride, padding, dilation)
type ConvGeometry = (
    usize,
    usize,
    usize,
    usize,
    usize,
    [usize; 2],
    usize,
    usize,
    usize,
);

const CONV_GEOMETRIES: &[ConvGeometry] = &[
    (1, 1, 1, 1, 1, [1, 1], 1, 0, 1),
    (2, 3, 4, 7, 5, [3, 3], 1, 1, 1),
    (3, 1, 2, 17, 13, [5, 3], 2, 2, 1),
    (1, 2, 3, 9, 11, [3, 2], 3, 0, 2),
    (2, 4, 5, 28, 28, [5, 5], 1, 0, 1),
    (1, 3, 1, 6, 6, [2, 2], 2, 3, 3),
    // Enough weights for one split of the weight gradient: no partial sums.
    (2, 64, 64, 4, 3, [3, 3], 1, 1, 1),
    // Many output rows: 58 splits of 8 rows, the last one of 3.
    (17, 2, 3, 29, 4, [3, 3], 1, 0, 1),
    // Taps a multiple of 4 (the GEMM forward's vec4 weight rows), across row-group counts
    // (9, 17, 33 and 40 channels: 2, 3, 4 row groups and a second row tile) and column tiles.
    (3, 4, 9, 5, 7, [3, 3], 1, 1, 1),
    (2, 8, 17, 6, 5, [1, 1], 1, 0, 1),
    (1, 4, 33, 9, 9, [3, 3], 2, 1, 1),
    (2, 16, 40, 7, 7, [3, 3], 1, 1, 1),
    // Output planes a multiple of 4 positions (the vec4 GEMM weight gradient): stride 2 over
    // 16×16; 54 splits of 24 positions; and (below) 40 splits of 8 positions over 240, the last
    // ten empty.
    (3, 5, 12, 16, 16, [3, 3], 2, 1, 1),
    (9, 3, 8, 12, 12, [3, 3], 1, 1, 1),
    (5, 2, 6, 8, 6, [2, 2], 1, 1, 2),
];

/// One geometry by `variant`; returns its parameters and the kernels its forward, input
/// gradient and weight gradient ran.
fn conv2d_case(
    gpu: &Gpu,
    variant: ConvVariant,
    &(batch, cin, cout, h, w, kernel, stride, padding, dilation): &ConvGeometry,
    seed: u64,
) -> (Conv2dParams, [&'static str; 3]) {
    use netdx::reference::conv::Conv2d;
    use netdx::train::conv;
    let c = Conv2d {
        batch,
        in_channels: cin,
        out_channels: cout,
        height: h,
        width: w,
        kernel,
        stride,
        padding,
        dilation,
    };
    let what = format!("{} {c:?}", variant.name());
    let params = Conv2dParams::of(&c).expect("kernel fits");
    let x = random(c.input_len(), 10 * seed + 1, -1.0, 1.0);
    let wt = random(c.weight_len(), 10 * seed + 2, -1.0, 1.0);
    let b = random(cout, 10 * seed + 3, -1.0, 1.0);
    let dy = random(c.output_len(), 10 * seed + 4, -1.0, 1.0);
    let u = gpu.uniform("conv2d", &params).unwrap();
    let (xt, wtt, bt, dyt) = (
        t(gpu, "x", &x),
        t(gpu, "w", &wt),
        t(gpu, "b", &b),
        t(gpu, "dy", &dy),
    );
    let yt = t(gpu, "y", &sentinel(c.output_len()));
    let dxt = t(gpu, "dx", &sentinel(c.input_len()));
    let dwt = t(gpu, "dw", &sentinel(c.weight_len()));
    let dbt = t(gpu, "db", &sentinel(cout));
    let forward = conv::forward(
        gpu,
        variant,
        &params,
        &u,
        [&xt.buffer, &wtt.buffer, &bt.buffer, &yt.buffer],
    )
    .unwrap();
    let mut d = vec![
        forward,
        conv::input_gradient(
            gpu,
            variant,
            &params,
            &u,
            [&dyt.buffer, &wtt.buffer, &dxt.buffer],
        )
        .unwrap(),
    ];
    // The weight gradient as training runs it: split into partial gradients and summed.
    d.extend(
        conv::weight_gradient(
            gpu,
            variant,
            "w",
            &params,
            &u,
            [&xt.buffer, &dyt.buffer, &dwt.buffer, &dbt.buffer],
        )
        .unwrap(),
    );
    gpu.run(&d).unwrap();
    let kernels = [d[0].kernel_name(), d[1].kernel_name(), d[2].kernel_name()];
    let (x64, w64, b64, dy64) = (widen(&x), widen(&wt), widen(&b), widen(&dy));
    let y = c.forward(&x64, &w64, &b64);
    let (dx, dw, db) = c.backward(&x64, &w64, &dy64);
    let (oh, ow) = c.output_size().unwrap();
    let atol = |k: usize| 2e-6 * (k as f64).sqrt().max(1.0);
    let taps = cin * kernel[0] * kernel[1];
    let positions = batch * oh * ow;
    for (name, got, want, k) in [
        ("y", &yt, &y, taps),
        ("dx", &dxt, &dx, cout * taps),
        ("dw", &dwt, &dw, positions),
        ("db", &dbt, &db, positions),
    ] {
        let label = format!("conv2d {name} {what}");
        assert_close(&label, &read(gpu, got), want, 1e-5, atol(k));
    }
    (params, kernels)
}

/// Max and average pooling, forward and backward, against src/reference/pool.rs on odd planes,
/// windows, strides and paddings, and global average pooling (the whole plane as the window).
/// Tolerances: max pooling is exact (a copy and a routed gradient); average pooling sums at
/// most kh·kw terms in f32 (relative 1e-5, absolute 2e-6·√terms).
#[test]
fn pool2d_forward_and_backward_match_the_reference_on_odd_geometries() {
    use netdx::model::PoolKind;
    use netdx::reference::pool::Pool2d;
    let gpu = gpu_or_skip!();
    let geometries = [
        // (planes, h, w, [kh, kw], [sh, sw], padding)
        (1, 1, 1, [1, 1], [1, 1], 0),
        (3, 7, 5, [3, 3], [2, 2], 1),
        (2, 17, 13, [2, 3], [2, 1], 1),
        (6, 28, 28, [2, 2], [2, 2], 0),
        (5, 9, 11, [3, 2], [1, 3], 0),
        // Overlapping windows: an input in several windows takes several gradients.
        (4, 6, 6, [3, 3], [1, 1], 1),
        // Global average pooling of a 129-pixel plane.
        (3, 3, 43, [3, 43], [1, 1], 0),
    ];
    for kind in [PoolKind::Max, PoolKind::Avg] {
        for (seed, &(planes, h, w, kernel, stride, padding)) in geometries.iter().enumerate() {
            let pool = Pool2d {
                kind,
                planes,
                height: h,
                width: w,
                kernel,
                stride,
                padding,
            };
            let what = format!("{pool:?}");
            let params = Pool2dParams::of(&pool).expect("window fits");
            let x = random(pool.input_len(), 20 * seed as u64 + 1, -1.0, 1.0);
            let dy = random(pool.output_len(), 20 * seed as u64 + 2, -1.0, 1.0);
            let u = gpu.uniform("pool2d", &params).unwrap();
            let (xt, dyt) = (t(gpu, "x", &x), t(gpu, "dy", &dy));
            let yt = t(gpu, "y", &sentinel(pool.output_len()));
            let argmax = t(gpu, "argmax", &sentinel(pool.output_len()));
            let dxt = t(gpu, "dx", &sentinel(pool.input_len()));
            let constants = Pool2dParams::constants(kind);
            let d = [
                gpu.dispatch(
                    &POOL2D_FORWARD,
                    &constants,
                    &[&u, &xt.buffer, &yt.buffer, &argmax.buffer],
                    gpu.groups_1d(&POOL2D_FORWARD, pool.output_len()),
                )
                .unwrap(),
                gpu.dispatch(
                    &POOL2D_BACKWARD,
                    &constants,
                    &[&u, &dyt.buffer, &argmax.buffer, &dxt.buffer],
                    gpu.groups_1d(&POOL2D_BACKWARD, pool.input_len()),
                )
                .unwrap(),
            ];
            gpu.run(&d).unwrap();
            let (y, chosen) = pool.forward(&widen(&x));
            let dx = pool.backward(&chosen, &widen(&dy));
            let terms = (kernel[0] * kernel[1]) as f64;
            let (rtol, atol) = match kind {
                PoolKind::Max => (0.0, 0.0),
                PoolKind::Avg => (1e-5, 2e-6 * terms.sqrt()),
            };
            assert_close(&format!("pool y {what}"), &read(gpu, &yt), &y, rtol, atol);
            if kind == PoolKind::Max {
                let got: Vec<u32> = gpu.read::<u32>(&argmax).unwrap();
                let want: Vec<u32> = chosen.iter().map(|&i| i as u32).collect();
                assert_eq!(got, want, "pool argmax {what}");
            }
            // Overlapping max windows may route several gradients to one input: sums of a
            // few terms in f32.
            assert_close(
                &format!("pool dx {what}"),
                &read(gpu, &dxt),
                &dx,
                1e-5,
                2e-6 * terms.sqrt(),
            );
        }
    }
}

/// Max pooling's edge cases, compared bit for bit with the reference: a window of −∞ only, NaN
/// winning over larger numbers (the last NaN in row-major window order, as PyTorch's
/// `val > max || isnan(val)`), and ties going to the first maximum.
#[test]
fn max_pooling_propagates_nan_keeps_minus_infinity_and_breaks_ties_first() {
    use netdx::model::PoolKind;
    use netdx::reference::pool::Pool2d;
    let gpu = gpu_or_skip!();
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    // Two 2×4 planes, 2×2 windows with stride 2: four windows.
    #[rustfmt::skip]
    let x = [
        -inf, -inf, 1.0, nan,
        -inf, -inf, nan, 2.0,
        3.0, 3.0, -1.0, 5.0,
        3.0, 3.0, 5.0, 4.0,
    ];
    let pool = Pool2d {
        kind: PoolKind::Max,
        planes: 2,
        height: 2,
        width: 4,
        kernel: [2, 2],
        stride: [2, 2],
        padding: 0,
    };
    let u = gpu
        .uniform("pool2d", &Pool2dParams::of(&pool).unwrap())
        .unwrap();
    let (xt, yt, at) = (
        t(gpu, "x", &x),
        t(gpu, "y", &sentinel(4)),
        t(gpu, "argmax", &sentinel(4)),
    );
    gpu.run(&[gpu
        .dispatch(
            &POOL2D_FORWARD,
            &Pool2dParams::constants(PoolKind::Max),
            &[&u, &xt.buffer, &yt.buffer, &at.buffer],
            [1, 1, 1],
        )
        .unwrap()])
        .unwrap();
    let (y, chosen) = pool.forward(&widen(&x));
    let got_y: Vec<u32> = read(gpu, &yt).iter().map(|v| v.to_bits()).collect();
    let want_y: Vec<u32> = y.iter().map(|&v| (v as f32).to_bits()).collect();
    assert_eq!(chosen, vec![0, 6, 8, 11]);
    assert!(y[1].is_nan() && y[0] == f64::NEG_INFINITY);
    assert_eq!(got_y, want_y, "y as bits: {:?}", read(gpu, &yt));
    assert_eq!(
        gpu.read::<u32>(&at).unwrap(),
        chosen.iter().map(|&i| i as u32).collect::<Vec<_>>()
    );
}
