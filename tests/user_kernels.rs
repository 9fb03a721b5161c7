//! User WGSL activations: spliced kernels against the f64 mirror of the user's file (and the
//! mirror against a hand-written swish), the kernel gradient check passing the correct swish
//! and failing the planted mistake with its worst point, declared kinks, training with a user
//! kernel, and the errors a bad file gets.

use std::path::{Path, PathBuf};

use netdx::kernels::user::{self, UserActivationSpec};
use netdx::kernels::ActivationParams;

use crate::common::{assert_close, netdx, random, widen};

fn kernels_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/kernels")
}

fn spec(file: &str, params: &[(&str, f64)], kinks: &[f64]) -> UserActivationSpec {
    UserActivationSpec {
        file: file.into(),
        params: params.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        kinks: kinks.to_vec(),
        range: user::DEFAULT_RANGE,
    }
}

/// A scratch folder with `files` written into it.
fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netdx-user-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir
}

fn swish(x: f64, beta: f64) -> f64 {
    x / (1.0 + (-beta * x).exp())
}

#[test]
fn the_f64_mirror_of_swish_matches_a_hand_written_swish() {
    let id = user::load(spec("swish.wgsl", &[("beta", 1.5)], &[]), &kernels_dir()).unwrap();
    let a = user::get(id);
    for i in 0..=200 {
        let x = -10.0 + 0.1 * i as f64;
        let s = 1.0 / (1.0 + (-1.5 * x).exp());
        assert!(
            (a.forward_f64(x) - swish(x, 1.5)).abs() < 1e-12,
            "forward at {x}"
        );
        let d = s + 1.5 * x * s * (1.0 - s);
        assert!(
            (a.backward_f64(x, 0.5) - 0.5 * d).abs() < 1e-12,
            "backward at {x}"
        );
    }
}

/// Tolerance: the spliced kernels run the user's f32 code; against the f64 mirror they agree
/// to f32 rounding of a handful of operations (rtol 1e-5, atol 1e-6).
#[test]
fn spliced_user_kernels_match_the_mirror_forward_and_backward_at_odd_sizes() {
    let gpu = crate::gpu_or_skip!();
    let id = user::load(spec("swish.wgsl", &[("beta", 0.75)], &[]), &kernels_dir()).unwrap();
    let a = user::get(id);
    for n in [1usize, 3, 17, 129, 1000] {
        let x = random(n, 7 + n as u64, -8.0, 8.0);
        let dy = random(n, 11 + n as u64, -2.0, 2.0);
        let u = gpu
            .uniform(
                "params",
                &ActivationParams {
                    n: n as u32,
                    slope: 0.0,
                    ..Default::default()
                },
            )
            .unwrap();
        let xt = gpu.tensor_from("x", &x).unwrap();
        let yt = gpu
            .tensor("y", n, netdx::gpu::TensorUsage::Storage)
            .unwrap();
        let dyt = gpu.tensor_from("dy", &dy).unwrap();
        let dxt = gpu
            .tensor("dx", n, netdx::gpu::TensorUsage::Storage)
            .unwrap();
        let f = gpu
            .dispatch(
                a.forward,
                &a.constants(),
                &[&u, &xt.buffer, &yt.buffer],
                gpu.groups_1d(a.forward, n),
            )
            .unwrap();
        let b = gpu
            .dispatch(
                a.backward,
                &a.constants(),
                &[&u, &xt.buffer, &yt.buffer, &dyt.buffer, &dxt.buffer],
                gpu.groups_1d(a.backward, n),
            )
            .unwrap();
        gpu.run(&[f, b]).unwrap();
        let y: Vec<f32> = gpu.read(&yt).unwrap();
        let dx: Vec<f32> = gpu.read(&dxt).unwrap();
        let xs = widen(&x);
        let want_y: Vec<f64> = xs.iter().map(|&v| a.forward_f64(v)).collect();
        let want_dx: Vec<f64> = xs
            .iter()
            .zip(widen(&dy))
            .map(|(&v, g)| a.backward_f64(v, g))
            .collect();
        assert_close(&format!("swish forward n={n}"), &y, &want_y, 1e-5, 1e-6);
        assert_close(&format!("swish backward n={n}"), &dx, &want_dx, 1e-5, 1e-6);
    }
}

#[test]
fn the_kernel_gradient_check_passes_swish_and_names_the_worst_point_of_the_planted_mistake() {
    let gpu = crate::gpu_or_skip!();
    use netdx::checks::kernel_gradient_check::check_kernel;
    let good = user::get(user::load(spec("swish.wgsl", &[], &[]), &kernels_dir()).unwrap());
    let r = check_kernel(gpu, good, 257).unwrap();
    assert!(r.worst_error() < 1e-3, "swish: {r:?}");
    assert!(r.forward_vs_mirror < 1e-5, "GPU forward vs mirror: {r:?}");

    let bad =
        user::get(user::load(spec("swish_wrong_backward.wgsl", &[], &[]), &kernels_dir()).unwrap());
    let r = check_kernel(gpu, bad, 257).unwrap();
    let worst = &r.worst[0];
    assert!(r.worst_error() > 0.5, "the planted mistake: {r:?}");
    // The dropped term β·x·s·(1 − s) matters most where swish turns: around x ≈ −2.2 the
    // true derivative and the wrong one have opposite signs.
    assert!(
        (-3.0..-1.5).contains(&worst.x),
        "worst point {} (expected near -2.2)",
        worst.x
    );
    assert!(
        r.mirror_worst_relative_error > 0.5,
        "the mirror sees it too"
    );
}

const RELU_LIKE: &str = "// ReLU with a kink at 0.
fn forward(x: f32) -> f32 { return max(x, 0.0); }
fn backward(x: f32, y: f32, dy: f32) -> f32 { return select(0.0, dy, x > 0.0); }
";

#[test]
fn a_declared_kink_is_sampled_beside_and_an_undeclared_one_fails() {
    let gpu = crate::gpu_or_skip!();
    use netdx::checks::kernel_gradient_check::check_kernel;
    let dir = scratch("kink", &[("relu_like.wgsl", RELU_LIKE)]);
    let declared = user::get(user::load(spec("relu_like.wgsl", &[], &[0.0]), &dir).unwrap());
    let r = check_kernel(gpu, declared, 257).unwrap();
    assert!(r.worst_error() < 1e-6, "{r:?}");
    assert!(r.beside_kinks_left_out > 0);
    let undeclared = user::get(user::load(spec("relu_like.wgsl", &[], &[]), &dir).unwrap());
    let r = check_kernel(gpu, undeclared, 257).unwrap();
    assert!(r.worst_error() > 0.1, "{r:?}");
    assert!(
        r.worst[0].x.abs() < 0.1,
        "the worst point is at the kink: {r:?}"
    );
}

/// Mistakes f32 differences alone would let through: a backward that ignores dy (the probe
/// passes dy = 0.75), and a wrong backward of a forward whose large values drown the
/// difference in rounding (the f64 mirror's differences are graded too).
#[test]
fn a_backward_ignoring_dy_and_one_hidden_by_rounding_both_fail() {
    let gpu = crate::gpu_or_skip!();
    use netdx::checks::kernel_gradient_check::check_kernel;
    let dir = scratch(
        "hidden",
        &[
            (
                "no_dy.wgsl",
                "fn forward(x: f32) -> f32 { return tanh(x); }\nfn backward(x: f32, y: f32, dy: f32) -> f32 { return 1.0 - y * y; }\n",
            ),
            (
                "offset.wgsl",
                "fn forward(x: f32) -> f32 { return 100000.0 + 0.5 * x; }\nfn backward(x: f32, y: f32, dy: f32) -> f32 { return dy * 0.0; }\n",
            ),
        ],
    );
    let no_dy = user::get(user::load(spec("no_dy.wgsl", &[], &[]), &dir).unwrap());
    let r = check_kernel(gpu, no_dy, 257).unwrap();
    assert!(r.worst_error() > 0.2, "{r:?}");
    let offset = user::get(user::load(spec("offset.wgsl", &[], &[]), &dir).unwrap());
    let r = check_kernel(gpu, offset, 257).unwrap();
    assert!(
        r.worst_error() < 1e-3,
        "f32 rounding hides it on the GPU: {r:?}"
    );
    assert!(
        r.mirror_worst_relative_error > 0.5,
        "the mirror does not: {r:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_swish_suites_pass_and_fail_the_kernel_gradient_check_from_the_command_line() {
    if crate::common::gpu().is_none() {
        return;
    }
    let suite = |f: &str| kernels_dir().join(f).to_str().unwrap().to_string();
    let (code, out, err) = netdx(&[
        "run",
        &suite("swish.yaml"),
        "--no-record",
        "--only",
        "kernel_gradient_check,gradient_check",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("pass  kernel_gradient_check"), "{out}");
    let (code, out, err) = netdx(&[
        "run",
        &suite("swish_wrong_backward.yaml"),
        "--no-record",
        "--only",
        "kernel_gradient_check,gradient_check",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL  kernel_gradient_check"), "{out}");
    assert!(out.contains("FAIL  gradient_check"), "{out}");
    assert!(out.contains("at x = -2."), "names the worst input: {out}");
}

#[test]
fn a_user_kernel_trains_the_spiral_like_a_built_in() {
    if crate::common::gpu().is_none() {
        return;
    }
    let file = kernels_dir().join("swish.yaml");
    let (code, out, err) = netdx(&[
        "train",
        file.to_str().unwrap(),
        "--no-record",
        "--json",
        "--every",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let acc = v["train_accuracy"].as_f64().unwrap();
    assert!(acc >= 0.95, "spiral with swish: train accuracy {acc}");
}

fn suite_with(dir: &Path, layer: &str) -> PathBuf {
    let file = dir.join("suite.yaml");
    std::fs::write(
        &file,
        format!(
            "data: {{builtin: spiral, classes: 3}}\nmodel:\n  layers:\n    - {{linear: {{out: 8}}}}\n    - {layer}\n    - {{linear: {{out: 3}}}}\n"
        ),
    )
    .unwrap();
    file
}

#[test]
fn bad_user_kernels_get_errors_naming_the_file_the_line_and_what_is_wrong() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "syntax",
            "fn forward(x: f32) -> f32 {\n  return x +;\n}\n",
            "{wgsl: k.wgsl}",
            "k.wgsl:2:",
        ),
        (
            "no_backward",
            "fn forward(x: f32) -> f32 { return x; }\n",
            "{wgsl: k.wgsl}",
            "`backward` is missing",
        ),
        (
            "wrong_signature",
            "fn forward(x: f32) -> f32 { return x; }\nfn backward(x: f32) -> f32 { return x; }\n",
            "{wgsl: k.wgsl}",
            "`backward` must be `fn backward(x: f32, y: f32, dy: f32) -> f32`",
        ),
        (
            "unknown_param",
            "override beta: f32 = 1.0;\nfn forward(x: f32) -> f32 { return beta * x; }\nfn backward(x: f32, y: f32, dy: f32) -> f32 { return beta * dy; }\n",
            "{wgsl: {file: k.wgsl, params: {gamma: 2.0}}}",
            "parameter `gamma` is not an `override` of the file (it declares: beta)",
        ),
        (
            "reserved",
            "fn main() {}\nfn forward(x: f32) -> f32 { return x; }\nfn backward(x: f32, y: f32, dy: f32) -> f32 { return dy; }\n",
            "{wgsl: k.wgsl}",
            "`main` is reserved",
        ),
        (
            "missing_file",
            "",
            "{wgsl: nowhere.wgsl}",
            "nowhere.wgsl",
        ),
        (
            "endless_loop",
            "fn forward(x: f32) -> f32 { loop { } return x; }\nfn backward(x: f32, y: f32, dy: f32) -> f32 { return dy; }\n",
            "{wgsl: k.wgsl}",
            "stopped after 100000 statements",
        ),
        (
            "pointer_argument",
            "fn inc(p: ptr<function, f32>) { *p = *p + 1.0; }\nfn forward(x: f32) -> f32 { var y = x; inc(&y); return y; }\nfn backward(x: f32, y: f32, dy: f32) -> f32 { return dy; }\n",
            "{wgsl: k.wgsl}",
            "pointer arguments",
        ),
        (
            "override_id",
            "@id(3) override beta: f32 = 1.0;\nfn forward(x: f32) -> f32 { return beta * x; }\nfn backward(x: f32, y: f32, dy: f32) -> f32 { return beta * dy; }\n",
            "{wgsl: {file: k.wgsl, params: {beta: 2.0}}}",
            "has @id(3)",
        ),
        (
            "param_not_f32",
            "override beta: f32 = 1.0;\nfn forward(x: f32) -> f32 { return beta * x; }\nfn backward(x: f32, y: f32, dy: f32) -> f32 { return beta * dy; }\n",
            "{wgsl: {file: k.wgsl, params: {beta: 1.0e39}}}",
            "is not a finite f32",
        ),
    ];
    for (name, text, layer, expect) in cases {
        let dir = scratch(name, &[("k.wgsl", text)]);
        let file = suite_with(&dir, layer);
        let (code, _, err) = netdx(&["validate", file.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains(expect),
            "{name}: expected `{expect}` in\n{err}"
        );
        assert!(
            err.contains("suite.yaml:5:"),
            "{name}: the error names the layer's line: {err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn bench_measures_user_kernels_beside_the_built_ins() {
    if crate::common::gpu().is_none() {
        return;
    }
    let extra = kernels_dir().join("swish_wrong_backward.wgsl");
    let (code, out, err) = netdx(&[
        "bench",
        "--quick",
        "--json",
        "--kernel",
        extra.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let figures = v["activations"].as_array().unwrap();
    let names: Vec<&str> = figures
        .iter()
        .map(|f| f["activation"].as_str().unwrap())
        .collect();
    assert_eq!(names[..3], ["relu", "gelu", "swish.wgsl (shipped)"]);
    assert!(names[3].ends_with("swish_wrong_backward.wgsl"), "{names:?}");
    for f in figures {
        for key in ["forward_gbytes_per_second", "backward_fraction_of_copy"] {
            let x = f[key].as_f64().unwrap();
            assert!(
                x.is_finite() && x > 0.0,
                "{key} of {}: {x}",
                f["activation"]
            );
        }
    }
    assert_eq!(figures[3]["user_kernel"], true);
    let conv = &v["conv2d"][0];
    for key in [
        "forward_gflops",
        "backward_input_gflops",
        "backward_weight_gflops",
    ] {
        let x = conv[key].as_f64().unwrap();
        assert!(x.is_finite() && x > 0.0, "conv2d {key}: {x}");
    }
    // Each step figure's GPU-time overhead: the median of its profiled pairs' ratios.
    for workload in ["mlp", "cnn", "transformer"] {
        for f in v[workload].as_array().unwrap() {
            let mut pairs: Vec<f64> = f["instrumentation_gpu_overhead_pairs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_f64().unwrap())
                .collect();
            assert_eq!(pairs.len(), netdx::bench::PROFILED_PAIRS, "{workload}");
            assert!(
                pairs.iter().all(|r| r.is_finite() && *r > 0.0),
                "{workload}: {pairs:?}"
            );
            pairs.sort_by(f64::total_cmp);
            let median = f["instrumentation_gpu_overhead"].as_f64().unwrap();
            assert_eq!(median, pairs[pairs.len() / 2], "{workload}");
        }
    }
    let losses = v["losses"].as_array().unwrap();
    assert_eq!(losses.len(), 2, "built-in and shipped user loss");
    assert_eq!(losses[1]["user_kernel"], true);
    for l in losses {
        let us = l["microseconds"].as_f64().unwrap();
        assert!(us.is_finite() && us > 0.0, "{l}");
    }
}

#[test]
fn a_run_record_names_the_user_kernel_file_and_the_hash_of_its_text() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = std::env::temp_dir().join(format!("netdx-user-runs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&runs);
    let file = kernels_dir().join("swish.yaml");
    let (code, _, err) = crate::common::netdx_with_runs(
        &runs,
        &[
            "train",
            file.to_str().unwrap(),
            "--steps",
            "3",
            "--every",
            "0",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (_, r) = netdx::runs::Runs { root: runs.clone() }
        .all()
        .unwrap()
        .pop()
        .unwrap();
    let layer = &r.config["model"]["layers"][1]["activation"]["kind"];
    assert_eq!(layer["wgsl"]["file"], "swish.wgsl", "{layer}");
    assert!(
        layer["hash"].as_str().unwrap().starts_with("fnv1a64:"),
        "{layer}"
    );
    let _ = std::fs::remove_dir_all(&runs);
}

fn loss_spec(file: &str, smoothing: f64) -> netdx::kernels::user_loss::UserLossSpec {
    let mut s = netdx::kernels::user_loss::UserLossSpec::from_file(file.into());
    s.params.insert("smoothing".into(), smoothing);
    s
}

/// Tolerance: the user's log-sum-exp and the built-in's differ in summation order only
/// (rtol 1e-5, atol 1e-6 on the loss, the count and every dlogit).
#[test]
fn a_user_cross_entropy_without_smoothing_equals_the_built_in_loss_and_its_mirror() {
    use netdx::kernels::{LossParams, LOSS};
    use netdx::ops::LossKind;
    let gpu = crate::gpu_or_skip!();
    let id = netdx::kernels::user_loss::load(
        loss_spec("smoothed_cross_entropy.wgsl", 0.0),
        &kernels_dir(),
    )
    .unwrap();
    let user = netdx::kernels::user_loss::get(id);
    for (batch, width) in [(1usize, 2usize), (3, 3), (17, 10), (129, 3), (300, 7)] {
        let logits = random(batch * width, (batch * 31 + width) as u64, -5.0, 5.0);
        let targets: Vec<f32> = (0..batch).map(|i| ((i * 7 + 3) % width) as f32).collect();
        let u = gpu
            .uniform(
                "params",
                &LossParams {
                    batch: batch as u32,
                    width: width as u32,
                    out_slot: 0,
                    _pad0: 0,
                    gamma: 2.0,
                    alpha: 1.0,
                    _pad1: [0.0; 2],
                },
            )
            .unwrap();
        let lt = gpu.tensor_from("logits", &logits).unwrap();
        let tt = gpu.tensor_from("targets", &targets).unwrap();
        let wt = gpu.tensor_from("weights", &[1.0f32]).unwrap();
        let run = |kernel: &'static netdx::kernels::Kernel, constants: &[(&str, f64)]| {
            let dl = gpu
                .tensor("dlogits", batch * width, netdx::gpu::TensorUsage::Storage)
                .unwrap();
            let st = gpu
                .tensor("stats", 3, netdx::gpu::TensorUsage::Storage)
                .unwrap();
            let d = gpu
                .dispatch(
                    kernel,
                    constants,
                    &[
                        &u, &lt.buffer, &tt.buffer, &wt.buffer, &dl.buffer, &st.buffer,
                    ],
                    [1, 1, 1],
                )
                .unwrap();
            gpu.run(&[d]).unwrap();
            (gpu.read::<f32>(&dl).unwrap(), gpu.read::<f32>(&st).unwrap())
        };
        let (user_grad, user_stats) = run(user.kernel, &user.constants());
        let (builtin_grad, builtin_stats) = run(&LOSS, &[("LOSS", 0.0), ("HAS_WEIGHTS", 0.0)]);
        let what = format!("batch {batch}, width {width}");
        assert_close(
            &format!("user vs built-in dlogits, {what}"),
            &user_grad,
            &widen(&builtin_grad),
            1e-5,
            1e-6,
        );
        assert_close(
            &format!("user vs built-in [loss, correct, count], {what}"),
            &user_stats,
            &widen(&builtin_stats),
            1e-5,
            1e-6,
        );
        let reference = netdx::reference::loss(
            LossKind::User(id),
            &widen(&logits),
            &widen(&targets),
            batch,
            width,
            &Default::default(),
        );
        assert_close(
            &format!("user dlogits vs its f64 mirror, {what}"),
            &user_grad,
            &reference.grad,
            1e-5,
            1e-6,
        );
        assert_close(
            &format!("user loss vs its f64 mirror, {what}"),
            &user_stats[..2],
            &[reference.loss, reference.correct as f64],
            1e-5,
            1e-6,
        );
    }
}

#[test]
fn the_kernel_gradient_check_passes_the_user_loss_and_names_the_example_of_the_planted_mistake() {
    use netdx::checks::kernel_gradient_check::check_loss;
    let gpu = crate::gpu_or_skip!();
    let load = |file: &str| {
        netdx::kernels::user_loss::get(
            netdx::kernels::user_loss::load(loss_spec(file, 0.1), &kernels_dir()).unwrap(),
        )
    };
    let r = check_loss(gpu, load("smoothed_cross_entropy.wgsl"), 3, 64, 0).unwrap();
    assert!(r.worst_error() < 1e-3, "{r:?}");
    assert!(r.mirror_worst_relative_error < 1e-6, "{r:?}");
    let r = check_loss(
        gpu,
        load("smoothed_cross_entropy_wrong_grad.wgsl"),
        3,
        64,
        0,
    )
    .unwrap();
    assert!(r.worst_error() > 0.5, "{r:?}");
    assert!(r.worst[0].at.starts_with("example "), "{:?}", r.worst[0]);
}

#[test]
fn a_user_loss_trains_the_spiral_and_its_suites_pass_and_fail_from_the_command_line() {
    if crate::common::gpu().is_none() {
        return;
    }
    let file = kernels_dir().join("smoothed_cross_entropy.yaml");
    let (code, out, err) = netdx(&[
        "train",
        file.to_str().unwrap(),
        "--no-record",
        "--json",
        "--every",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let acc = v["train_accuracy"].as_f64().unwrap();
    assert!(acc >= 0.95, "spiral with a user loss: train accuracy {acc}");

    let wrong = kernels_dir().join("smoothed_cross_entropy_wrong_grad.yaml");
    let (code, out, err) = netdx(&[
        "run",
        wrong.to_str().unwrap(),
        "--no-record",
        "--only",
        "kernel_gradient_check,gradient_check",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("FAIL  kernel_gradient_check"), "{out}");
    assert!(out.contains("FAIL  gradient_check"), "{out}");
    assert!(
        out.contains("at example "),
        "names the worst example: {out}"
    );
}

#[test]
fn bad_user_losses_get_errors_at_the_loss_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "no_grad",
            "fn loss() -> f32 { return logit(0u); }\n",
            "`grad` is missing",
        ),
        (
            "grad_signature",
            "fn loss() -> f32 { return logit(0u); }\nfn grad(j: f32) -> f32 { return 1.0; }\n",
            "`grad` must be `fn grad(j: u32) -> f32`",
        ),
        (
            "syntax",
            "fn loss() -> f32 {\n  return logit(0u) +;\n}\nfn grad(j: u32) -> f32 { return 1.0; }\n",
            "l.wgsl:2:",
        ),
        (
            "defines_an_accessor",
            "fn logit(j: u32) -> f32 { return 1.0; }\nfn loss() -> f32 { return logit(0u); }\nfn grad(j: u32) -> f32 { return 1.0; }\n",
            "l.wgsl:1:1: `logit` is provided by netdx",
        ),
    ];
    for (name, text, expect) in cases {
        let dir = scratch(&format!("loss-{name}"), &[("l.wgsl", text)]);
        let file = dir.join("suite.yaml");
        std::fs::write(
            &file,
            "data: {builtin: spiral, classes: 3}\nmodel:\n  layers: [{linear: {out: 3}}]\nloss: {wgsl: l.wgsl}\n",
        )
        .unwrap();
        let (code, _, err) = netdx(&["validate", file.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains(expect),
            "{name}: expected `{expect}` in\n{err}"
        );
        assert!(err.contains("suite.yaml:4:7: loss:"), "{name}: {err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
