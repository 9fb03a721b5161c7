//! Equal to PyTorch: one training step of the shipped `configs/transformer.yaml` and
//! `configs/resnet.yaml`, from weights PyTorch initialized, against fixtures PyTorch computed
//! in f64 (`scripts/torch_fixtures.py`, committed under `tests/fixtures/torch/`): the loss,
//! every parameter gradient, each top-level layer's output and the batch-norm running
//! statistics after the step. Python is needed only to regenerate the fixtures, never here.
//!
//! Tolerance: 1e-4 relative with an absolute floor of 1e-5 × the largest |value| of the
//! reference tensor, so entries that are small by cancellation (a batch-norm bias gradient
//! summed over the batch) are judged against their tensor's scale; gradients that are zero
//! but for rounding as a whole (a convolution bias before batch norm) against the model's
//! largest gradient, see [`step_equals_pytorch`]. Fixtures are regenerated, byte for byte,
//! with `python3 scripts/torch_fixtures.py`.

use std::path::{Path, PathBuf};

use netdx::config::Config;
use netdx::data::{Dataset, SequenceInfo};
use netdx::model::{build, weights, DataShape};
use netdx::train::{Instrumentation, Trainer};
use safetensors::{Dtype, SafeTensors};

use crate::common::assert_close;
use crate::gpu_or_skip;

pub(crate) const RTOL: f64 = 1e-4;
pub(crate) const FLOOR: f64 = 1e-5;

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/torch").join(name)
}

/// A fixture's tensors (f32 or f64, widened to f64) by name, with their shapes.
pub(crate) struct Fixture {
    bytes: Vec<u8>,
}

impl Fixture {
    pub(crate) fn open(path: &Path) -> Fixture {
        let bytes = std::fs::read(path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (regenerate with `python3 scripts/torch_fixtures.py`)",
                path.display()
            )
        });
        SafeTensors::deserialize(&bytes).expect("a safetensors fixture");
        Fixture { bytes }
    }

    fn tensors(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("validated in open")
    }

    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .tensors()
            .names()
            .into_iter()
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    pub(crate) fn get(&self, name: &str) -> (Vec<usize>, Vec<f64>) {
        let tensors = self.tensors();
        let view = tensors
            .tensor(name)
            .unwrap_or_else(|e| panic!("fixture tensor `{name}`: {e}"));
        let data = match view.dtype() {
            Dtype::F64 => view
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
                .collect(),
            other => panic!("fixture tensor `{name}` is {other:?}, not f32 or f64"),
        };
        (view.shape().to_vec(), data)
    }

    pub(crate) fn f64s(&self, name: &str) -> Vec<f64> {
        self.get(name).1
    }

    pub(crate) fn f32s(&self, name: &str) -> Vec<f32> {
        self.get(name).1.iter().map(|&v| v as f32).collect()
    }
}

pub(crate) fn largest(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// The worst agreement over one model, for the log: the largest share of its tolerance any
/// entry used, the largest absolute error relative to its tensor's scale, and the largest
/// relative error among entries the relative bound governs.
#[derive(Default)]
pub(crate) struct Worst {
    pub(crate) used: (f64, String),
    scaled_abs: (f64, String),
    rel: (f64, String),
    /// The largest |value| netdx gives for a gradient that is zero but for rounding.
    pub(crate) zero: (f64, String),
}

impl Worst {
    /// Asserts `got` against `want` under the rule above and records the errors.
    pub(crate) fn check(&mut self, what: &str, got: &[f32], want: &[f64]) {
        self.check_at_scale(what, got, want, largest(want));
    }

    /// Like [`Worst::check`], with the absolute floor `FLOOR × scale`.
    pub(crate) fn check_at_scale(&mut self, what: &str, got: &[f32], want: &[f64], scale: f64) {
        let atol = FLOOR * scale;
        assert_close(what, got, want, RTOL, atol);
        for (&x, &y) in got.iter().zip(want) {
            let x = x as f64;
            let err = (x - y).abs();
            let mag = x.abs().max(y.abs());
            let allowed = (RTOL * mag).max(atol);
            let raise = |slot: &mut (f64, String), v: f64| {
                if v > slot.0 {
                    *slot = (v, what.to_string());
                }
            };
            if allowed > 0.0 {
                raise(&mut self.used, err / allowed);
            }
            if scale > 0.0 {
                raise(&mut self.scaled_abs, err / scale);
            }
            if RTOL * mag >= atol && mag > 0.0 {
                raise(&mut self.rel, err / mag);
            }
        }
    }

    pub(crate) fn report(&self, model: &str, gpu: &netdx::gpu::Gpu) {
        eprintln!(
            "{model} vs PyTorch on {}:\n  worst relative error {:.2e} ({})\n  worst absolute error / tensor scale {:.2e} ({})\n  {:.0}% of the tolerance used at most ({})",
            gpu.describe(),
            self.rel.0,
            self.rel.1,
            self.scaled_abs.0,
            self.scaled_abs.1,
            100.0 * self.used.0,
            self.used.1
        );
        if !self.zero.1.is_empty() {
            eprintln!(
                "  largest zero-but-for-rounding gradient {:.2e} ({})",
                self.zero.0, self.zero.1
            );
        }
    }
}

/// Runs one fully instrumented step of `configs/{name}.yaml` from the PyTorch weights on the
/// fixture's batch and compares every tensor the fixture holds.
///
/// `zero_gradients` names the parameters whose gradient is exactly zero in exact arithmetic:
/// the bias of a convolution that feeds batch norm (the norm subtracts each channel's batch
/// mean, so a per-channel shift changes nothing). Both sides hold only the rounding left by
/// cancelling sums of B·H·W terms (PyTorch ≈ 1e-16 in f64, netdx ≈ 1e-7 in f32), so the
/// tensor's own scale means nothing; they are judged against the model's largest gradient
/// instead, as tests/graphs.rs does for every gradient. Measured: |netdx| ≤ 2.5e-7 against a
/// largest gradient of 0.25 (a floor of 2.5e-6) on lavapipe and llvmpipe.
fn step_equals_pytorch(
    name: &str,
    zero_gradients: &[&str],
    dataset: impl FnOnce(&Fixture) -> Dataset,
) {
    let gpu = gpu_or_skip!();
    let step = Fixture::open(&fixture(&format!("{name}.step.safetensors")));
    let data = dataset(&step);
    let mut config = Config::load(&root().join(format!("configs/{name}.yaml"))).expect("config");
    config.training.batch_size = data.n;
    config.training.shuffle = false;
    let graph = build(&config.model, DataShape::of(&data)).expect("model");
    let initial = weights::load(&fixture(&format!("{name}.weights.safetensors")), &graph)
        .expect("PyTorch weights load");
    let mut trainer =
        Trainer::new(gpu, &config, data, Instrumentation::Full, Some(initial)).expect("trainer");
    let rec = trainer.step(1).expect("step");
    let mut worst = Worst::default();

    for i in 0..trainer.model.layer_count {
        let t = trainer.model.layer_output(i).expect("layer node").output();
        let got = gpu.read::<f32>(&trainer.plan.acts[t]).unwrap();
        worst.check(
            &format!("{name}: output of layer {i}"),
            &got,
            &step.f64s(&format!("act.{i}")),
        );
    }
    worst.check(
        &format!("{name}: loss"),
        &[rec.loss as f32],
        &step.f64s("loss"),
    );
    let torch_name = |n: &str| n.strip_prefix("layers.").expect("netdx name").to_string();
    check_gradients_and_state(
        gpu,
        &trainer,
        &step,
        name,
        torch_name,
        zero_gradients,
        &mut worst,
    );
    worst.report(name, gpu);
}

/// Every parameter gradient of the step `trainer` just took against the fixture's `grad.<name>`
/// (`torch_name` maps netdx's names to the fixture's), and the batch-norm statistics against
/// its `running.<name>`. `zero_gradients`: the parameters whose gradient is zero but for
/// rounding, judged against the model's largest gradient (see [`step_equals_pytorch`]).
pub(crate) fn check_gradients_and_state(
    gpu: &netdx::gpu::Gpu,
    trainer: &Trainer,
    step: &Fixture,
    what: &str,
    torch_name: impl Fn(&str) -> String,
    zero_gradients: &[&str],
    worst: &mut Worst,
) {
    let mut grads: Vec<String> = step
        .names()
        .into_iter()
        .filter(|n| n.starts_with("grad."))
        .collect();
    grads.sort();
    let mut ours: Vec<String> = trainer
        .net
        .infos
        .iter()
        .map(|i| format!("grad.{}", torch_name(&i.name)))
        .collect();
    ours.sort();
    assert_eq!(ours, grads, "{what}: the parameters are PyTorch's");
    let model_scale = grads
        .iter()
        .map(|g| largest(&step.f64s(g)))
        .fold(0.0, f64::max);
    let mut zero = Vec::new();
    for (k, info) in trainer.net.infos.iter().enumerate() {
        let (shape, want) = step.get(&format!("grad.{}", torch_name(&info.name)));
        assert_eq!(info.shape, shape, "{what}: shape of {}", info.name);
        let got = gpu.read::<f32>(&trainer.plan.param_grads[k]).unwrap();
        let label = format!("{what}: gradient of {}", info.name);
        if largest(&want) <= 1e-12 * model_scale {
            zero.push(info.name.as_str());
            let most = got.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
            if most > worst.zero.0 {
                worst.zero = (most, label.clone());
            }
            worst.check_at_scale(&label, &got, &want, model_scale);
        } else {
            worst.check(&label, &got, &want);
        }
    }
    assert_eq!(
        zero, zero_gradients,
        "{what}: gradients that are zero but for rounding"
    );
    let state = trainer.net.download(gpu).unwrap().state;
    let running = step
        .names()
        .iter()
        .filter(|n| n.starts_with("running."))
        .count();
    assert_eq!(state.len(), running, "{what}: batch-norm statistics");
    for s in &state {
        worst.check(
            &format!("{what}: {} after the step", s.name),
            &s.data,
            &step.f64s(&format!("running.{}", torch_name(&s.name))),
        );
    }
}

/// The 2-layer pre-LN GPT on a batch of the `sort` task: token ids in, next tokens out, −1
/// where a position is not scored.
#[test]
fn the_transformer_config_steps_as_pytorch_does() {
    step_equals_pytorch("transformer", &[], |f| {
        let (shape, _) = f.get("x");
        let (n, context) = (shape[0], shape[1]);
        assert_eq!(context, 16, "the sort task's context");
        let mut d = Dataset::new(
            "sort (PyTorch fixture)",
            f.f32s("x"),
            f.f32s("y"),
            context,
            context,
            Some(11),
        );
        assert_eq!(d.n, n);
        d.sequence = Some(SequenceInfo { context, vocab: 11 });
        d
    });
}

/// The residual CNN with a strided, projected block on 1×16×16 images and 10 classes.
#[test]
fn the_resnet_config_steps_as_pytorch_does() {
    // Every convolution but the projection feeds batch norm.
    let zero = [
        "layers.0.bias",
        "layers.3.0.bias",
        "layers.3.3.bias",
        "layers.5.0.bias",
        "layers.5.3.bias",
    ];
    step_equals_pytorch("resnet", &zero, |f| {
        let (shape, _) = f.get("x");
        assert_eq!(shape[1..], [1, 16, 16], "images");
        let mut d = Dataset::new(
            "images (PyTorch fixture)",
            f.f32s("x"),
            f.f32s("y"),
            256,
            1,
            Some(10),
        );
        assert_eq!(d.n, shape[0]);
        d.image = Some([1, 16, 16]);
        d
    });
}
