//! Convolutional networks end to end: one training step of a model with every image layer
//! against the f64 reference, a small CNN passing the gradient check and overfitting two
//! images, the shipped `configs/mnist_cnn.yaml` suite (on its built-in fallback data) passing
//! every check, PyTorch's conv weight names in and out, and image-shape errors naming the layer.

use std::path::Path;

use netdx::checks::Verdict;
use netdx::config::Config;
use netdx::reference::network::{forward, loss_and_grads, Mode, RefParams};
use netdx::reference::{self as r};
use netdx::suite::run_suite;
use netdx::train::{Instrumentation, Trainer};

use crate::common::{assert_close, small_dataset, widen};
use crate::gpu_or_skip;

/// Every image layer on an odd 2×9×7 input: convolutions with stride, padding, dilation and a
/// non-square kernel, batch norm over channels, max and average pooling with overlapping and
/// padded windows, dropout on an image, global average pooling and flatten.
const EVERY_IMAGE_LAYER: &str = r#"
seed: 3
data: {builtin: spiral}
model:
  shape: [2, 9, 7]
  layers:
    - {conv2d: {out: 5, kernel: [3, 2], padding: 1, init: xavier_normal, bias: 0.1}}
    - batch_norm
    - relu
    - {max_pool2d: {kernel: 3, stride: 2, padding: 1}}
    - {dropout: {rate: 0.25}}
    - {conv2d: {out: 4, kernel: 2, dilation: 2}}
    - tanh
    - {avg_pool2d: {kernel: [1, 2], stride: 1}}
    - {conv2d: {out: 6, kernel: 1, stride: 1}}
    - global_avg_pool
    - flatten
    - {linear: {out: 3, init: {normal: {std: 0.3}}}}
loss: softmax_cross_entropy
training:
  optimizer: {name: sgd, lr: 0.1}
  batch_size: 5
  steps: 1
  l2: 0.01
  shuffle: false
"#;

/// Forward activations, the loss, every parameter gradient and the evaluation loss (running
/// statistics of the channel batch norm) against the reference. Tolerances as in
/// tests/training.rs: f32 sums of at most a few hundred terms.
#[test]
fn one_cnn_training_step_matches_the_reference_for_every_image_layer() {
    let gpu = gpu_or_skip!();
    let config = Config::parse(EVERY_IMAGE_LAYER, Path::new("every_image_layer.yaml")).unwrap();
    let data = small_dataset(5, 2 * 9 * 7, 3);
    let mut trainer =
        Trainer::new(gpu, &config, data.clone(), Instrumentation::Full, None).expect("trainer");
    assert_eq!(
        trainer.model.describe(),
        "2×9×7-conv3x2(5)-bn-relu-maxpool3-dropout(0.25)-conv2(4)-tanh-avgpool1x2-conv1(6)-gap-flatten-3"
    );
    let host = trainer.net.download(gpu).unwrap();
    let rec = trainer.step(1).expect("step");
    let model = trainer.model.clone();
    let mut p = RefParams::from_host(&host);
    let (x, y) = (widen(&data.x), widen(&data.y));
    let g = loss_and_grads(
        &model,
        &p,
        &x,
        &y,
        5,
        &config.loss,
        Mode::Train { seed: 3, step: 0 },
    );
    for (k, act) in g.trace.acts[1..].iter().enumerate() {
        let got = gpu.read::<f32>(&trainer.plan.acts[k + 1]).unwrap();
        assert_close(&format!("activation of layer {k}"), &got, act, 1e-4, 1e-5);
    }
    assert_close("loss", &[rec.loss as f32], &[g.loss], 1e-4, 1e-6);
    for (k, info) in trainer.net.infos.iter().enumerate() {
        let got = gpu.read::<f32>(&trainer.plan.param_grads[k]).unwrap();
        assert_close(
            &format!("gradient of {}", info.name),
            &got,
            &g.params[k],
            1e-3,
            1e-5,
        );
    }
    // Conv weights are [out, in, kh, kw] and carry L2, as nn.Conv2d's with weight_decay.
    assert_eq!(trainer.net.infos[0].shape, vec![5, 2, 3, 2]);
    assert!(trainer.net.infos[0].regularized());
    // Evaluation mode: the channel batch norm's running statistics, no dropout.
    let state = trainer.net.download(gpu).unwrap().state;
    assert_eq!(state[0].shape, vec![5], "running mean per channel");
    for (k, s) in state.iter().enumerate() {
        p.state[k] = widen(&s.data);
    }
    let params = trainer.net.download(gpu).unwrap();
    let p_after = RefParams {
        params: params.params.iter().map(|t| widen(&t.data)).collect(),
        state: p.state.clone(),
    };
    let (eval_loss, _) = trainer.evaluate().unwrap();
    let trace = forward(&model, &p_after, &x, 5, Mode::Eval);
    let want = r::loss(
        config.loss.name,
        trace.acts.last().unwrap(),
        &y,
        5,
        3,
        &r::LossOptions {
            class_weights: None,
            pos_weight: None,
            gamma: 2.0,
            alpha: 1.0,
        },
    );
    assert_close(
        "evaluation loss",
        &[eval_loss as f32],
        &[want.loss],
        1e-3,
        1e-5,
    );
}

/// `configs/mnist_cnn.yaml` as shipped, but pointed at IDX files that cannot exist, so it runs
/// on its built-in fallback even where a user has put MNIST next to it.
fn shapes_cnn() -> Config {
    let path = Path::new("configs/mnist_cnn.yaml");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("data/mnist/", "data/absent-in-tests/");
    Config::parse(&text, path).unwrap()
}

/// The issue's bar: two convolutions, pooling and a linear head on the built-in images pass
/// the gradient check and overfit two images (CI runs this on Vulkan and on GL).
#[test]
fn a_small_cnn_passes_the_gradient_check_and_overfits_two_images() {
    let gpu = gpu_or_skip!();
    let config = shapes_cnn();
    let data = netdx::data::load(&config.data, config.seed, &config.base_dir)
        .unwrap()
        .train;
    assert!(
        data.name.starts_with("shapes(") && data.name.contains("not found"),
        "{}",
        data.name
    );
    assert_eq!(data.image, Some([1, 16, 16]));
    let only = vec!["gradient_check".to_string(), "overfit_small".to_string()];
    let report = run_suite(gpu, &config, "mnist_cnn.yaml", &only, &mut |_| {}).unwrap();
    for f in &report.findings {
        assert_eq!(f.verdict, Verdict::Pass, "{}: {}", f.check, f.message);
    }
    let overfit = report
        .findings
        .iter()
        .find(|f| f.check == "overfit_small")
        .unwrap();
    assert_eq!(overfit.details["examples"], 2);
    assert_eq!(overfit.details["final_accuracy"], 1.0);
}

/// The shipped image suite runs every check of the catalogue on the CNN and passes or skips
/// each (skips: no user kernels, no attention, no residual blocks, no clipping, no batch norm
/// after dropout).
#[test]
fn the_cnn_suite_runs_every_check_and_passes() {
    let gpu = gpu_or_skip!();
    let config = shapes_cnn();
    let report = run_suite(gpu, &config, "mnist_cnn.yaml", &[], &mut |_| {}).unwrap();
    assert_eq!(report.findings.len(), netdx::checks::catalogue().len());
    let skipped: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.verdict == Verdict::Skip)
        .map(|f| f.check.as_str())
        .collect();
    for f in &report.findings {
        assert!(
            matches!(f.verdict, Verdict::Pass | Verdict::Skip),
            "{}: {:?} — {}",
            f.check,
            f.verdict,
            f.message
        );
    }
    assert_eq!(
        skipped,
        [
            "kernel_gradient_check",
            "attention_entropy",
            "residual_growth",
            "clipping",
            "dropout_bn"
        ],
        "only the checks with nothing to look at skip"
    );
    // The image figures the HTML report draws: saliency maps and the first-layer filters.
    let saliency = report
        .findings
        .iter()
        .find(|f| f.check == "saliency")
        .unwrap();
    assert_eq!(
        saliency.details["image"]["shape"],
        serde_json::json!([1, 16, 16])
    );
    assert_eq!(
        saliency.details["first_layer_filters"]["shape"],
        serde_json::json!([8, 1, 3, 3])
    );
    let dead = report
        .findings
        .iter()
        .find(|f| f.check == "dead_units")
        .unwrap();
    assert_eq!(dead.details["layers"][0]["per"], "channel");
    assert_eq!(dead.details["layers"][0]["units"], 8);
}

/// A conv layer's weights load from PyTorch's `nn.Sequential` names (`0.weight` [out, in, kh,
/// kw]) and a shape mismatch is named.
#[test]
fn conv_weights_load_from_pytorch_names_and_misfits_are_named() {
    use std::collections::BTreeMap;
    let config = Config::parse(EVERY_IMAGE_LAYER, Path::new("x.yaml")).unwrap();
    let model = netdx::model::build(
        &config.model,
        netdx::model::DataShape {
            width: 2 * 9 * 7,
            ..Default::default()
        },
    )
    .unwrap();
    let host = netdx::model::init_params(&model, 9);
    let dir = std::env::temp_dir().join(format!("netdx-conv-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Save under PyTorch's names: `layers.` dropped.
    let mut renamed = host.clone();
    for t in renamed.params.iter_mut().chain(renamed.state.iter_mut()) {
        t.name = t.name.trim_start_matches("layers.").to_string();
    }
    let file = dir.join("torch.safetensors");
    netdx::model::weights::save(&file, &renamed, BTreeMap::new()).unwrap();
    let loaded = netdx::model::weights::load(&file, &model).unwrap();
    assert_eq!(loaded, host);
    assert_eq!(loaded.params[0].shape, vec![5, 2, 3, 2]);
    // A conv weight saved with the kernel transposed is refused, naming the tensor.
    renamed.params[0].shape = vec![5, 2, 2, 3];
    netdx::model::weights::save(&file, &renamed, BTreeMap::new()).unwrap();
    let err = netdx::model::weights::load(&file, &model)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("misshapen `0.weight`: expected [5, 2, 3, 2], found [5, 2, 2, 3]"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
