//! Weights in and out: netdx's own files load back and train bit-identically, PyTorch
//! `nn.Sequential` names load, weights that do not fit list every problem, and a dump holds
//! every tensor of a step, equal to the f64 reference computed from the dump itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use netdx::config::Config;
use netdx::io::safetensors::SafetensorsFile;
use netdx::model::{build, weights, DataShape};
use netdx::reference::network::{loss_and_grads, Mode, RefParams};
use netdx::train::{Instrumentation, Trainer};

use crate::common::{assert_close, netdx, widen};
use crate::gpu_or_skip;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("netdx-weights-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Blobs in 4-D, 3 classes; every kind of layer with parameters or state, and dropout.
const NET: &str = r#"
seed: 11
data: {builtin: blobs, classes: 3, dims: 4, points_per_class: 30}
model:
  layers:
    - {linear: {out: 8}}
    - batch_norm
    - relu
    - {dropout: {rate: 0.25}}
    - {linear: {out: 3}}
training:
  optimizer: {name: momentum, lr: 0.05, momentum: 0.9}
  batch_size: 16
  steps: 12
"#;

/// `NET` with `extra_model` lines in its model section, written to `{name}.yaml`.
fn config(name: &str, extra_model: &str) -> Config {
    let text = NET.replace("model:\n", &format!("model:\n{extra_model}"));
    let path = dir().join(format!("{name}.yaml"));
    std::fs::write(&path, &text).unwrap();
    Config::load(&path).unwrap()
}

fn dataset(c: &Config) -> netdx::data::Dataset {
    netdx::data::load(&c.data, c.seed, &c.base_dir)
        .unwrap()
        .train
}

#[test]
fn weights_saved_by_netdx_load_back_and_train_bit_identically() {
    let gpu = gpu_or_skip!();
    let c = config("roundtrip", "");
    let mut a = Trainer::new(gpu, &c, dataset(&c), Instrumentation::Bare, None).unwrap();
    let initial = a.net.download(gpu).unwrap();
    let file = dir().join("initial.safetensors");
    weights::save(&file, &initial, BTreeMap::new()).unwrap();

    let c2 = config("from_file", &format!("  weights: {}\n", file.display()));
    let mut b = Trainer::new(gpu, &c2, dataset(&c2), Instrumentation::Bare, None).unwrap();
    assert_eq!(b.net.download(gpu).unwrap(), initial);
    for _ in 0..12 {
        let (ra, rb) = (a.step(12).unwrap(), b.step(12).unwrap());
        assert_eq!(ra.loss.to_bits(), rb.loss.to_bits(), "step {}", ra.step);
    }
    let trained = a.net.download(gpu).unwrap();
    assert_eq!(b.net.download(gpu).unwrap(), trained);

    // Trained weights (with batch-norm running statistics) round-trip exactly.
    let out = dir().join("trained.safetensors");
    weights::save(&out, &trained, BTreeMap::new()).unwrap();
    let model = build(
        &c.model,
        DataShape {
            width: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(weights::load(&out, &model).unwrap(), trained);
}

/// A safetensors file of (name, dtype, shape, little-endian bytes).
fn write_raw(path: &Path, tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<_> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.to_string(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn ramp(n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (i as f32 - n as f32 / 2.0) * scale)
        .collect()
}

#[test]
fn pytorch_sequential_names_load_with_any_float_dtype() {
    use safetensors::Dtype::{F32, F64, I64};
    let c = config("torch", "");
    let model = build(
        &c.model,
        DataShape {
            width: 4,
            ..Default::default()
        },
    )
    .unwrap();
    // As `safetensors.torch.save_file(nn.Sequential(Linear(4, 8), BatchNorm1d(8), ReLU(),
    // Dropout(0.25), Linear(8, 3)).state_dict(), …)` writes them (one tensor in f64).
    let w0 = ramp(32, 0.01);
    let w4: Vec<f64> = (0..24).map(|i| i as f64 * 0.125).collect();
    let w4_bytes: Vec<u8> = w4.iter().flat_map(|x| x.to_le_bytes()).collect();
    let file = dir().join("torch.safetensors");
    write_raw(
        &file,
        &[
            ("0.weight", F32, vec![8, 4], f32_bytes(&w0)),
            ("0.bias", F32, vec![8], f32_bytes(&ramp(8, 0.1))),
            ("1.weight", F32, vec![8], f32_bytes(&[1.5; 8])),
            ("1.bias", F32, vec![8], f32_bytes(&[-0.5; 8])),
            ("1.running_mean", F32, vec![8], f32_bytes(&[0.25; 8])),
            ("1.running_var", F32, vec![8], f32_bytes(&[2.0; 8])),
            (
                "1.num_batches_tracked",
                I64,
                vec![],
                7i64.to_le_bytes().to_vec(),
            ),
            ("4.weight", F64, vec![3, 8], w4_bytes),
            ("4.bias", F32, vec![3], f32_bytes(&[0.0, 1.0, 2.0])),
        ],
    );
    let host = weights::load(&file, &model).unwrap();
    let get = |name: &str| {
        host.params
            .iter()
            .chain(&host.state)
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .data
            .clone()
    };
    assert_eq!(get("layers.0.weight"), w0);
    assert_eq!(get("layers.1.weight"), vec![1.5; 8]);
    assert_eq!(get("layers.1.running_var"), vec![2.0; 8]);
    assert_eq!(get("layers.4.weight")[5], 0.625);
    assert_eq!(get("layers.4.bias"), vec![0.0, 1.0, 2.0]);
}

#[test]
fn weights_that_do_not_fit_list_every_missing_extra_and_misshapen_tensor() {
    use safetensors::Dtype::F32;
    let c = config("misfit", "");
    let model = build(
        &c.model,
        DataShape {
            width: 4,
            ..Default::default()
        },
    )
    .unwrap();
    let file = dir().join("bad.safetensors");
    write_raw(
        &file,
        &[
            ("0.weight", F32, vec![4, 8], f32_bytes(&[0.0; 32])),
            ("0.bias", F32, vec![8], f32_bytes(&[0.0; 8])),
            ("layers.0.bias", F32, vec![8], f32_bytes(&[0.0; 8])),
            ("1.weight", F32, vec![8], f32_bytes(&[1.0; 8])),
            ("1.bias", F32, vec![8], f32_bytes(&[0.0; 8])),
            ("1.running_mean", F32, vec![8], f32_bytes(&[0.0; 8])),
            ("1.running_var", F32, vec![8], f32_bytes(&[1.0; 8])),
            ("2.weight", F32, vec![8], f32_bytes(&[1.0; 8])),
            ("4.weight", F32, vec![3, 8], f32_bytes(&[0.0; 24])),
            ("9.weight", F32, vec![1], f32_bytes(&[0.0])),
        ],
    );
    let err = weights::load(&file, &model).unwrap_err();
    let text = err.to_string();
    for want in [
        "bad.safetensors: the weights do not fit the model:",
        "misshapen `0.weight`: expected [8, 4], found [4, 8] (transposed? weights are [out, in]",
        "`layers.0.bias` and `0.bias` are the same tensor, given twice",
        "missing `layers.4.bias` [3]",
        "extra `2.weight` [8]: the model has no such tensor (layer 2 is relu)",
        "extra `9.weight` [1]: the model has no such tensor (the model has 5 layers)",
    ] {
        assert!(text.contains(want), "expected `{want}` in:\n{text}");
    }
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn a_dump_holds_every_tensor_of_the_step_and_matches_the_reference() {
    if crate::common::gpu().is_none() {
        return;
    }
    let c = config("dump", "");
    let cfg = dir().join("dump.yaml");
    let (dump, save) = (
        dir().join("dump.safetensors"),
        dir().join("final.safetensors"),
    );
    let (code, out, err) = netdx(&[
        "train",
        cfg.to_str().unwrap(),
        "--steps",
        "4",
        "--every",
        "0",
        "--dump",
        dump.to_str().unwrap(),
        "--dump-step",
        "2",
        "--save",
        save.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("dump:    step 2 (22 tensors)"), "{out}");

    let file = SafetensorsFile::open(&dump).unwrap();
    let shapes = file.shapes();
    let mut want: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (name, shape) in [
        ("layers.0.weight", vec![8, 4]),
        ("layers.0.bias", vec![8]),
        ("layers.1.weight", vec![8]),
        ("layers.1.bias", vec![8]),
        ("layers.4.weight", vec![3, 8]),
        ("layers.4.bias", vec![3]),
    ] {
        want.insert(format!("grad.{name}"), shape.clone());
        want.insert(name.to_string(), shape);
    }
    want.insert("layers.1.running_mean".into(), vec![8]);
    want.insert("layers.1.running_var".into(), vec![8]);
    for (i, w) in [8, 8, 8, 8, 3].iter().enumerate() {
        want.insert(format!("act.{i}"), vec![16, *w]);
    }
    want.insert("x".into(), vec![16, 4]);
    want.insert("y".into(), vec![16]);
    want.insert("loss".into(), vec![1]);
    assert_eq!(shapes, want);

    // Recompute the step in f64 from the dumped weights and batch.
    let read = |n: &str| file.read(n).unwrap().data;
    let model = build(
        &c.model,
        DataShape {
            width: 4,
            ..Default::default()
        },
    )
    .unwrap();
    let host_names = model.params.clone();
    let p = RefParams {
        params: host_names.iter().map(|i| widen(&read(&i.name))).collect(),
        state: vec![
            widen(&read("layers.1.running_mean")),
            widen(&read("layers.1.running_var")),
        ],
    };
    let g = loss_and_grads(
        &model,
        &p,
        &widen(&read("x")),
        &widen(&read("y")),
        16,
        &c.loss,
        Mode::Train { seed: 11, step: 2 },
    );
    assert_close("loss", &read("loss"), &[g.loss], 1e-4, 1e-6);
    for (k, info) in host_names.iter().enumerate() {
        let name = format!("grad.{}", info.name);
        assert_close(&name, &read(&name), &g.params[k], 1e-3, 1e-5);
    }
    for i in 0..5 {
        let name = format!("act.{i}");
        assert_close(&name, &read(&name), &g.trace.acts[i + 1], 1e-4, 1e-5);
    }
    // The saved final weights load back.
    assert!(weights::load(&save, &model).is_ok());

    // Bad weights on the command line: exit 2, every problem listed.
    let (code, _, err) = netdx(&[
        "train",
        cfg.to_str().unwrap(),
        "--weights",
        dump.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("extra `grad.layers.0.weight` [8, 4]"), "{err}");

    // A step whose loss is not finite is still dumped before the run stops (exit 1).
    let spiral = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/spiral.yaml");
    let text = std::fs::read_to_string(spiral)
        .unwrap()
        .replace("lr: 0.1,", "lr: 1.0e30,");
    let nan_cfg = dir().join("nan.yaml");
    std::fs::write(&nan_cfg, text).unwrap();
    let nan_dump = dir().join("nan.safetensors");
    let mut blew_up = None;
    for k in 1..6 {
        let k = k.to_string();
        let (code, _, err) = netdx(&[
            "train",
            nan_cfg.to_str().unwrap(),
            "--dump",
            nan_dump.to_str().unwrap(),
            "--dump-step",
            &k,
        ]);
        assert_ne!(code, 2, "{err}");
        if code == 1 && err.contains(&format!("at step {k} (steps count from 0")) {
            blew_up = Some(k);
            break;
        }
    }
    assert!(blew_up.is_some(), "lr 1e30 never gave a non-finite loss");
    let loss = SafetensorsFile::open(&nan_dump)
        .unwrap()
        .read("loss")
        .unwrap()
        .data[0];
    assert!(!loss.is_finite(), "{loss}");
}
