//! Bring your PyTorch model: models exported by `torch.onnx.export` (both exporters) import,
//! and one training step from the file's weights equals PyTorch's, computed in f64 by
//! `scripts/onnx_fixtures.py` (committed under `tests/fixtures/onnx/`): the output, the loss,
//! every parameter gradient under its `state_dict` name, and the batch-norm running statistics
//! after the step. The tolerance is the PyTorch-fixture tests' (1e-4 relative, 1e-5 × the
//! tensor's largest value), see tests/torch_fixtures.rs.

use std::path::PathBuf;

use netdx::config::Config;
use netdx::data::{Dataset, SequenceInfo};
use netdx::model::{build, DataShape};
use netdx::train::{Instrumentation, Trainer};

use crate::gpu_or_skip;
use crate::torch_fixtures::{check_gradients_and_state, root, Fixture, Worst};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/onnx").join(name)
}

/// What the step fixture's batch is.
enum Input {
    Vectors,
    Images([usize; 3]),
    Tokens { vocab: usize },
}

fn dataset(step: &Fixture, input: &Input, classes: usize) -> Dataset {
    let (shape, _) = step.get("x");
    let n = shape[0];
    let width: usize = shape[1..].iter().product();
    match *input {
        Input::Tokens { vocab } => {
            let mut d = Dataset::new(
                "tokens (PyTorch fixture)",
                step.f32s("x"),
                step.f32s("y"),
                width,
                width,
                Some(vocab),
            );
            d.sequence = Some(SequenceInfo {
                context: width,
                vocab,
            });
            d
        }
        Input::Images(image) => {
            let mut d = Dataset::new(
                "images (PyTorch fixture)",
                step.f32s("x"),
                step.f32s("y"),
                width,
                1,
                Some(classes),
            );
            assert_eq!(d.n, n);
            d.image = Some(image);
            d
        }
        Input::Vectors => Dataset::new(
            "vectors (PyTorch fixture)",
            step.f32s("x"),
            step.f32s("y"),
            width,
            1,
            Some(classes),
        ),
    }
}

fn config(file: &str, batch: usize) -> Config {
    let text = format!(
        "model: {{onnx: {file}}}\nloss: softmax_cross_entropy\ntraining: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: {batch}, steps: 1, shuffle: false}}\ndata: {{builtin: blobs}}\n"
    );
    Config::parse(&text, &fixture("suite.yaml")).expect("the test config")
}

/// One fully instrumented step of `{name}.{exporter}.onnx` against `{name}.step.safetensors`.
/// `zero_gradients`: parameters whose gradient is zero in exact arithmetic (a convolution
/// bias before batch norm), judged against the model's largest gradient.
fn step_equals_pytorch(
    name: &str,
    exporter: &str,
    input: Input,
    classes: usize,
    zero_gradients: &[&str],
) {
    let gpu = gpu_or_skip!();
    let step = Fixture::open(&fixture(&format!("{name}.step.safetensors")));
    let data = dataset(&step, &input, classes);
    let file = format!("{name}.{exporter}.onnx");
    let mut config = config(&file, data.n);
    // The reference step runs without dropout; the file keeps its rate.
    config.model.without_dropout = true;
    let graph =
        build(&config.model, DataShape::of(&data)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let what = format!("{name} ({exporter})");
    let mut trainer =
        Trainer::new(gpu, &config, data, Instrumentation::Full, None).expect("trainer");
    let rec = trainer.step(1).expect("step");
    let mut worst = Worst::default();
    let out = gpu.read::<f32>(&trainer.plan.acts[graph.output]).unwrap();
    worst.check(&format!("{what}: output"), &out, &step.f64s("output"));
    worst.check(
        &format!("{what}: loss"),
        &[rec.loss as f32],
        &step.f64s("loss"),
    );
    let same = |n: &str| n.to_string();
    check_gradients_and_state(
        gpu,
        &trainer,
        &step,
        &what,
        same,
        zero_gradients,
        &mut worst,
    );
    worst.report(&what, gpu);
}

#[test]
fn an_exported_mlp_steps_as_pytorch_does() {
    for exporter in ["torchscript", "dynamo"] {
        step_equals_pytorch("mlp", exporter, Input::Vectors, 5, &[]);
    }
}

#[test]
fn an_exported_cnn_with_batch_norm_steps_as_pytorch_does() {
    for exporter in ["torchscript", "dynamo"] {
        step_equals_pytorch(
            "cnn_bn",
            exporter,
            Input::Images([3, 9, 9]),
            4,
            &["0.bias", "4.bias"],
        );
    }
}

#[test]
fn an_exported_embedding_model_steps_as_pytorch_does() {
    for exporter in ["torchscript", "dynamo"] {
        step_equals_pytorch("embedding", exporter, Input::Tokens { vocab: 11 }, 11, &[]);
    }
}

/// Convolutions without bias (`bias=False` before batch norm), residual adds, global average
/// pooling: the TorchScript exporter leaves the bias out, the dynamo exporter computes a zero
/// bias in the graph; both import as convolutions without bias.
#[test]
fn an_exported_residual_cnn_steps_as_pytorch_does() {
    for exporter in ["torchscript", "dynamo"] {
        step_equals_pytorch("resnet", exporter, Input::Images([2, 8, 8]), 3, &[]);
    }
}

/// The shipped ONNX suites run every check, and each passes or skips: the checklist on a model
/// from PyTorch, with `grow` skipped (an imported graph is fixed).
#[test]
fn the_onnx_suites_pass_every_applicable_check() {
    let gpu = gpu_or_skip!();
    for file in ["onnx/mlp.yaml", "onnx/cnn_bn.yaml", "onnx/embedding.yaml"] {
        let skipped = crate::graphs::suite_passes(gpu, file);
        assert!(skipped.contains(&"grow".to_string()), "{file}: {skipped:?}");
        for applies in [
            "gradient_check",
            "weights_update",
            "gradient_flow",
            "initial_loss",
            "overfit_small",
            "lr_range",
        ] {
            assert!(
                !skipped.iter().any(|c| c == applies),
                "{file}: {applies} skipped"
            );
        }
    }
}

/// Saved weights keep the file's names (so PyTorch's `load_state_dict` takes them) and load
/// back into the imported model unchanged.
#[test]
fn weights_of_an_imported_model_save_and_load_under_their_onnx_names() {
    let config = config("cnn_bn.torchscript.onnx", 4);
    let data = Dataset::new("images", vec![0.0; 4 * 243], vec![0.0; 4], 243, 1, Some(4));
    let graph = build(&config.model, DataShape::of(&data)).expect("imports");
    let initial = netdx::model::init_params(&graph, 7);
    let names: Vec<&str> = initial
        .params
        .iter()
        .chain(&initial.state)
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "4.weight",
            "4.bias",
            "5.weight",
            "5.bias",
            "9.weight",
            "9.bias",
            "1.running_mean",
            "1.running_var",
            "5.running_mean",
            "5.running_var"
        ]
    );
    // The file's weights, not a seeded init: the same for every seed.
    assert_eq!(initial, netdx::model::init_params(&graph, 8));
    let dir = std::env::temp_dir().join(format!("netdx-onnx-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("w.safetensors");
    netdx::model::weights::save(&file, &initial, Default::default()).unwrap();
    let back = netdx::model::weights::load(&file, &graph).expect("loads back");
    assert_eq!(back, initial);
    std::fs::remove_dir_all(&dir).ok();
}

/// A pre-LN GPT block with `nn.MultiheadAttention` (causal boolean mask), layer norms, a GELU
/// MLP and a learned position table: the attention module, spelled by the exporters as
/// reshapes, transposes and batched products, maps onto netdx's attention. At opset 14 the
/// TorchScript exporter spells each layer norm out (ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul,
/// Add), which maps onto netdx's layer norm.
#[test]
fn an_exported_gpt_block_steps_as_pytorch_does() {
    for exporter in ["torchscript", "torchscript14", "dynamo"] {
        step_equals_pytorch("gpt", exporter, Input::Tokens { vocab: 13 }, 13, &[]);
    }
}

/// The shipped transformer exported to ONNX (`scripts/onnx_transformer_fixture.py`, from the
/// PyTorch weights of tests/fixtures/torch/) and imported gives the numbers its YAML form gives
/// from the same weights: the loss and every gradient of one step, tensor by tensor, bit for
/// bit (the import maps the exported graph onto the very ops, in the very order, that the
/// YAML layers compile to).
#[test]
fn the_exported_transformer_equals_its_yaml_form() {
    let gpu = gpu_or_skip!();
    let step = Fixture::open(&root().join("tests/fixtures/torch/transformer.step.safetensors"));
    let (shape, _) = step.get("x");
    let context = shape[1];
    let data = || {
        let mut d = Dataset::new(
            "sort (PyTorch fixture)",
            step.f32s("x"),
            step.f32s("y"),
            context,
            context,
            Some(11),
        );
        d.sequence = Some(SequenceInfo { context, vocab: 11 });
        d
    };
    let mut yaml = Config::load(&root().join("configs/transformer.yaml")).expect("config");
    yaml.training.batch_size = shape[0];
    yaml.training.shuffle = false;
    let graph = build(&yaml.model, DataShape::of(&data())).expect("model");
    let initial = netdx::model::weights::load(
        &root().join("tests/fixtures/torch/transformer.weights.safetensors"),
        &graph,
    )
    .expect("weights");
    let mut onnx = yaml.clone();
    onnx.model = config("transformer.torchscript.onnx", shape[0]).model;
    let run = |config: &Config, initial| {
        let mut t =
            Trainer::new(gpu, config, data(), Instrumentation::Full, initial).expect("trainer");
        let loss = t.step(1).expect("step").loss;
        let grads: Vec<(String, Vec<f32>)> = t
            .net
            .infos
            .iter()
            .enumerate()
            .map(|(k, i)| {
                (
                    i.name.clone(),
                    gpu.read::<f32>(&t.plan.param_grads[k]).unwrap(),
                )
            })
            .collect();
        (loss, grads)
    };
    let (yaml_loss, yaml_grads) = run(&yaml, Some(initial));
    let (onnx_loss, onnx_grads) = run(&onnx, None);
    assert_eq!(
        yaml_loss.to_bits(),
        onnx_loss.to_bits(),
        "loss: YAML {yaml_loss}, ONNX {onnx_loss}"
    );
    assert_eq!(yaml_grads.len(), onnx_grads.len(), "parameters");
    let mut worst = Worst::default();
    for (name, got) in &onnx_grads {
        let want = &yaml_grads
            .iter()
            .find(|(n, _)| *n == format!("layers.{name}"))
            .unwrap_or_else(|| panic!("the YAML model has no `layers.{name}`"))
            .1;
        assert_eq!(got, want, "gradient of {name}: ONNX vs YAML");
        let want: Vec<f64> = want.iter().map(|&v| v as f64).collect();
        worst.check(
            &format!("transformer (ONNX vs YAML): gradient of {name}"),
            got,
            &want,
        );
    }
    worst.report("transformer (ONNX vs YAML)", gpu);
}
