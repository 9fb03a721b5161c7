//! Numbers held bit-identical across refactors: every finding of the default suite (verdict,
//! measurement, message and details) and the spiral run's per-step loss curve, recorded once
//! with the sequential layer list before the model became a graph (tests/golden/). Every
//! golden value must be unchanged; keys added to a finding's details since are allowed.
//!
//! The numbers are those of one driver: a run on any other adapter (or another Mesa version)
//! skips visibly, naming both. Rewriting the golden files (`NETDX_WRITE_GOLDEN=1`) is for a
//! deliberate change of the numbers only, and says so in its commit.

use std::path::{Path, PathBuf};

use netdx::config::Config;
use netdx::suite::{run_suite, DEFAULT_SUITE};
use netdx::train::{train, Instrumentation};
use serde_json::{json, Value};

use crate::gpu_or_skip;

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The driver the numbers belong to: adapter name and driver version.
fn driver(gpu: &netdx::gpu::Gpu) -> String {
    let i = gpu.info();
    format!("{} | {}", i.name, i.driver_info)
}

/// Compares `got` with this driver's numbers in the golden file `name`, or records them
/// there (beside other drivers' numbers) when `NETDX_WRITE_GOLDEN=1`. Returns false, after a
/// visible skip line, when the file holds no numbers of this driver.
fn hold(gpu: &netdx::gpu::Gpu, name: &str, got: Value) -> bool {
    let path = golden_path(name);
    let here = driver(gpu);
    let mut doc: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| json!({}));
    if std::env::var("NETDX_WRITE_GOLDEN").is_ok_and(|v| v == "1") {
        doc[&here] = got;
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
        eprintln!("golden: wrote {} for `{here}`", path.display());
        return true;
    }
    let Some(want) = doc.get(&here) else {
        let known: Vec<&String> = doc
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        eprintln!("SKIPPED golden {name}: no numbers for `{here}` (recorded: {known:?})");
        return false;
    };
    if let Some(path) = first_difference(want, &got, String::new()) {
        panic!(
            "{name} differs from the golden numbers at {path}:\n  golden: {}\n  now:    {}",
            pointer(want, &path),
            pointer(&got, &path)
        );
    }
    true
}

/// The JSON pointer of the first golden value that `got` lacks or holds differently. Keys
/// that `got` has beyond the golden ones (details added since) are not differences.
fn first_difference(want: &Value, got: &Value, at: String) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w.iter().find_map(|(k, v)| match g.get(k) {
            Some(gv) => first_difference(v, gv, format!("{at}/{k}")),
            None => Some(format!("{at}/{k}")),
        }),
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(a, b, format!("{at}/{i}"))),
        (a, b) if a == b => None,
        _ => Some(at),
    }
}

fn pointer(v: &Value, path: &str) -> String {
    let s = v.pointer(path).map_or("(absent)".into(), |x| x.to_string());
    s.chars().take(300).collect()
}

#[test]
fn the_default_suite_measures_the_golden_numbers() {
    let gpu = gpu_or_skip!();
    let config = Config::parse(DEFAULT_SUITE, Path::new("default.yaml")).unwrap();
    let report = run_suite(gpu, &config, "golden", &[], &mut |_| {}).expect("suite runs");
    // By check name: checks added to the suite since leave the golden ones in place.
    let findings: serde_json::Map<String, Value> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.check.clone(),
                json!({
                    "check": f.check,
                    "verdict": f.verdict,
                    "measured": f.measured,
                    "message": f.message,
                    "details": f.details,
                }),
            )
        })
        .collect();
    hold(gpu, "default_suite.json", Value::Object(findings));
}

#[test]
fn the_spiral_loss_curve_is_the_golden_curve() {
    let gpu = gpu_or_skip!();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/spiral.yaml");
    let config = Config::load(&path).unwrap();
    let data = netdx::data::load(&config.data, config.seed, &config.base_dir).unwrap();
    let mut losses = Vec::new();
    let (summary, _) = train(gpu, &config, data, Some(500), Instrumentation::Bare, |r| {
        losses.push(r.loss)
    })
    .unwrap();
    // Bits, so that equality is exact whatever JSON does with floats.
    let bits: Vec<String> = losses
        .iter()
        .map(|l| format!("{:08x}", (*l as f32).to_bits()))
        .collect();
    hold(
        gpu,
        "spiral_losses.json",
        json!({"steps": bits, "final_loss": format!("{:016x}", summary.loss.to_bits())}),
    );
}

/// Per-step loss bits and the final evaluation loss of `steps` fully instrumented steps of
/// `yaml` (so every statistic a check reads is part of the curve).
fn curve(gpu: &netdx::gpu::Gpu, yaml: &str, steps: usize) -> Value {
    let config = Config::parse(
        yaml,
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("configs/golden.yaml")
            .as_path(),
    )
    .unwrap();
    let data = netdx::data::load(&config.data, config.seed, &config.base_dir).unwrap();
    let mut records = Vec::new();
    let (summary, _) = train(gpu, &config, data, Some(steps), Instrumentation::Full, |r| {
        let stats: Vec<String> = r
            .stats
            .grads
            .iter()
            .chain(&r.stats.weights)
            .chain(&r.stats.updates)
            .chain(&r.stats.acts)
            .map(|s| format!("{:016x}{:016x}", s.sumsq.to_bits(), s.max.to_bits()))
            .collect();
        records.push(json!({"loss": format!("{:08x}", (r.loss as f32).to_bits()), "stats": stats.join("")}));
    })
    .unwrap();
    json!({"steps": records, "final_loss": format!("{:016x}", summary.loss.to_bits())})
}

#[test]
fn cnn_and_every_vector_layer_train_along_the_golden_curves() {
    let gpu = gpu_or_skip!();
    let cnn = r"seed: 3
data: {builtin: shapes, classes: 4, points_per_class: 12, size: 12, noise: 0.1}
model:
  layers:
    - {conv2d: {out: 6, kernel: 3, padding: 1, stride: 1}}
    - batch_norm
    - relu
    - {max_pool2d: {kernel: 2}}
    - {conv2d: {out: 5, kernel: 3, dilation: 2, padding: 2}}
    - leaky_relu
    - {avg_pool2d: {kernel: 3, stride: 2, padding: 1}}
    - {dropout: {rate: 0.2}}
    - global_avg_pool
    - flatten
    - {linear: {out: 4}}
loss: softmax_cross_entropy
training: {optimizer: {name: adamw, lr: 0.01}, batch_size: 8, steps: 30, weight_decay: 0.01, clip: {norm: 1.0}}
";
    let mlp = r"seed: 5
data: {builtin: blobs, classes: 3, points: 90, dims: 5}
model:
  layers:
    - {linear: {out: 16, init: xavier_uniform, bias: 0.1}}
    - batch_norm
    - tanh
    - {dropout: {rate: 0.3}}
    - {linear: {out: 12}}
    - sigmoid
    - {linear: {out: 9}}
    - gelu
    - {linear: {out: 3}}
loss: {name: focal, gamma: 2.0}
training: {optimizer: {name: nesterov, lr: 0.05, momentum: 0.9}, batch_size: 16, steps: 40, l2: 0.001, clip: {value: 0.5}}
";
    hold(
        gpu,
        "layer_curves.json",
        json!({"cnn": curve(gpu, cnn, 30), "mlp": curve(gpu, mlp, 40)}),
    );
}
