//! Datasets from files: CSV with integer, text and numeric labels trains like a built-in;
//! every bad file gets an error naming the file, row and column.

use std::path::{Path, PathBuf};

use netdx::config::Config;
use netdx::train::{train, Instrumentation};

use crate::gpu_or_skip;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("netdx-data-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A config in `dir()` reading `file` (relative to the config's folder).
fn config_for(file: &str, csv: &str, extra: &str) -> Config {
    let d = dir();
    std::fs::write(d.join(file), csv).unwrap();
    let yaml = format!(
        "data: {{csv: {{path: {file}{extra}}}}}\nmodel:\n  layers: [{{linear: {{out: 16}}}}, relu, {{linear: {{out: 2}}}}]\ntraining: {{optimizer: {{name: adam, lr: 0.05}}, batch_size: 20, steps: 150}}\n"
    );
    Config::parse(&yaml, &d.join(format!("{file}.yaml"))).unwrap()
}

fn separable(labels: [&str; 2]) -> String {
    let mut s = String::from("a,b,label\n");
    for i in 0..40 {
        let c = i % 2;
        let x = if c == 0 { -1.0 } else { 1.0 } + (i as f32) * 0.01;
        s.push_str(&format!("{x},{},{}\n", 0.5 - (i as f32) * 0.02, labels[c]));
    }
    s
}

fn load(config: &Config) -> netdx::Result<netdx::data::Dataset> {
    netdx::data::load(&config.data, config.seed, &config.base_dir).map(|d| d.train)
}

#[test]
fn csv_with_integer_or_text_labels_trains_like_a_builtin() {
    let gpu = gpu_or_skip!();
    for (file, labels, mapping) in [
        ("ints.csv", ["7", "3"], "3→0, 7→1"),
        ("text.csv", ["dog", "cat"], "cat→0, dog→1"),
    ] {
        let config = config_for(file, &separable(labels), "");
        let data = load(&config).unwrap();
        assert_eq!((data.n, data.x_width, data.classes), (40, 2, Some(2)));
        assert!(data.name.contains(mapping), "{}", data.name);
        let (summary, _) = train(gpu, &config, data, None, Instrumentation::Bare, |_| {}).unwrap();
        assert!(
            summary.train_accuracy.unwrap() >= 0.95,
            "{file}: {:?}",
            summary.train_accuracy
        );
    }
}

#[test]
fn numeric_labels_are_a_regression_target_and_the_label_column_can_be_named() {
    let csv = "target,x\n0.5,1\n1.5,2\n-0.25,3\n";
    let config = config_for("reg.csv", csv, ", label: target");
    let data = load(&config).unwrap();
    assert_eq!(data.classes, None);
    assert_eq!(data.y, vec![0.5, 1.5, -0.25]);
    assert_eq!(data.x, vec![1.0, 2.0, 3.0]);
    // Integers forced to a regression target.
    let config = config_for("reg2.csv", "x,y\n1,2\n3,4\n", ", task: regression");
    assert_eq!(load(&config).unwrap().y, vec![2.0, 4.0]);
}

#[test]
fn bad_csv_files_name_the_file_line_and_column() {
    let cases = [
        (
            "ragged.csv",
            "a,b,y\n1,2,0\n3,1\n",
            "",
            "ragged.csv: line 3: has 2 cells; the header has 3",
        ),
        (
            "text.csv",
            "a,b,y\n1,x,0\n",
            "",
            "text.csv: line 2, column `b`: `x` is not a number",
        ),
        (
            "nan.csv",
            "a,b,y\n1,NaN,0\n2,3,1\n",
            "",
            "nan.csv: line 2, column `b`: `NaN` is not finite",
        ),
        ("empty.csv", "a,b,y\n", "", "empty.csv: has no examples"),
        (
            "nolabel.csv",
            "a,b,y\n1,2,0\n",
            ", label: species",
            "nolabel.csv: line 1, column `species`: no such column",
        ),
        (
            "one.csv",
            "a,y\n1,0\n2,0\n",
            "",
            "one.csv: column `y`: every example has the label `0`",
        ),
        (
            "onecol.csv",
            "y\n1\n",
            "",
            "onecol.csv: line 1: needs a feature column and a label column",
        ),
    ];
    for (file, csv, extra, want) in cases {
        let config = config_for(file, csv, extra);
        let err = load(&config).expect_err(file).to_string();
        assert!(err.contains(want), "{file}: expected `{want}` in `{err}`");
    }
    let config = config_for("missing.csv", "a,y\n1,0\n", "");
    std::fs::remove_file(dir().join("missing.csv")).unwrap();
    let err = load(&config).expect_err("missing file").to_string();
    assert!(err.contains("missing.csv"), "{err}");
    // Exactly one source.
    let yaml = "data: {builtin: spiral, csv: {path: x.csv}}\nmodel:\n  layers: [{linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 1}\n";
    let err = Config::parse(yaml, Path::new("both.yaml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("give only one of `builtin: "), "{err}");
}

/// An NPY v1 file with the given dtype, shape and little-endian body.
fn npy(descr: &str, shape: &[usize], fortran: bool, body: &[u8]) -> Vec<u8> {
    crate::common::npy_bytes(descr, &crate::common::npy_shape(shape), fortran, body)
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn npy_config(x: &[u8], y: &[u8]) -> Config {
    let d = dir();
    let tag = format!("{:x}", x.len() * 31 + y.len());
    std::fs::write(d.join(format!("x{tag}.npy")), x).unwrap();
    std::fs::write(d.join(format!("y{tag}.npy")), y).unwrap();
    let yaml = format!(
        "data: {{npy: {{x: x{tag}.npy, y: y{tag}.npy}}}}\nmodel:\n  layers: [{{linear: {{out: 16}}}}, relu, {{linear: {{out: 2}}}}]\ntraining: {{optimizer: {{name: adam, lr: 0.05}}, batch_size: 20, steps: 150}}\n"
    );
    Config::parse(&yaml, &d.join("npy.yaml")).unwrap()
}

#[test]
fn npy_features_and_integer_labels_train_and_bad_files_are_named() {
    let gpu = gpu_or_skip!();
    let n = 40;
    let xs: Vec<f32> = (0..n)
        .flat_map(|i| [if i % 2 == 0 { -1.0 } else { 1.0 }, i as f32 * 0.01])
        .collect();
    let ys: Vec<u8> = (0..n)
        .flat_map(|i| ((i % 2) as i64).to_le_bytes())
        .collect();
    let config = npy_config(
        &npy("<f4", &[n, 2], false, &f32s(&xs)),
        &npy("<i8", &[n], false, &ys),
    );
    let data = load(&config).unwrap();
    assert_eq!((data.n, data.x_width, data.classes), (n, 2, Some(2)));
    let (summary, _) = train(gpu, &config, data, None, Instrumentation::Bare, |_| {}).unwrap();
    assert!(summary.train_accuracy.unwrap() >= 0.95);

    // f64 features and a float target: regression.
    let x64: Vec<u8> = [1.0f64, 2.0, 3.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let reg = npy_config(
        &npy("<f8", &[3, 1], false, &x64),
        &npy("<f4", &[3], false, &f32s(&[0.5, 1.5, 2.5])),
    );
    let data = load(&reg).unwrap();
    assert_eq!(
        (data.classes, data.y.clone(), data.x.clone()),
        (None, vec![0.5, 1.5, 2.5], vec![1.0, 2.0, 3.0])
    );

    let good_x = npy("<f4", &[2, 1], false, &f32s(&[1.0, 2.0]));
    let cases: Vec<(Vec<u8>, Vec<u8>, &str)> = vec![
        (
            b"PK\x03\x04 not npy".to_vec(),
            npy("<i8", &[2], false, &[0u8; 16]),
            "not an NPY file (wrong magic)",
        ),
        (
            npy("<f4", &[2, 1], false, &f32s(&[1.0])),
            npy("<i8", &[2], false, &[0u8; 16]),
            "truncated: 4 bytes of data for the 2 values",
        ),
        (
            good_x.clone(),
            npy("<i8", &[3], false, &[0u8; 24]),
            "labels must be [2] or [2, k]",
        ),
        (
            good_x.clone(),
            npy("<i8", &[2], false, &(-1i64).to_le_bytes().repeat(2)),
            "example 0: label -1 is negative",
        ),
        (
            npy("<f4", &[2, 1], true, &f32s(&[1.0, 2.0])),
            npy("<i8", &[2], false, &[0u8; 16]),
            "Fortran order is not supported",
        ),
        (
            npy("<f4", &[2, 1], false, &f32s(&[1.0, f32::NAN])),
            npy("<i8", &[2], false, &[0u8; 16]),
            "example 1, feature 0 is not finite",
        ),
        (
            npy("<c8", &[2, 1], false, &[0u8; 16]),
            npy("<i8", &[2], false, &[0u8; 16]),
            "unsupported dtype '<c8'",
        ),
        (
            npy("<f4", &[], false, &f32s(&[1.0])),
            npy("<i8", &[2], false, &[0u8; 16]),
            "features must have an examples dimension",
        ),
    ];
    for (x, y, want) in cases {
        let config = npy_config(&x, &y);
        let err = load(&config).expect_err(want).to_string();
        assert!(
            err.contains(want) && err.contains(".npy"),
            "expected `{want}` in `{err}`"
        );
    }
}

/// Two separable classes: 40 examples of `width` features, class = sign of the first.
fn separable_arrays(n: usize, width: usize) -> (Vec<f32>, Vec<i64>) {
    let x = (0..n)
        .flat_map(|i| {
            (0..width).map(move |j| {
                let base = if i % 2 == 0 { -1.0 } else { 1.0 };
                if j == 0 {
                    base
                } else {
                    ((i * 7 + j * 3) % 11) as f32 * 0.05
                }
            })
        })
        .collect();
    let y = (0..n).map(|i| (i % 2) as i64).collect();
    (x, y)
}

fn i64s(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A config reading `data` (a YAML flow map of the data section) from `dir()`.
fn config_with_data(data: &str, name: &str) -> Config {
    let yaml = format!(
        "data: {data}\nmodel:\n  layers: [{{linear: {{out: 16}}}}, relu, {{linear: {{out: 2}}}}]\ntraining: {{optimizer: {{name: adam, lr: 0.05}}, batch_size: 10, steps: 150}}\n"
    );
    Config::parse(&yaml, &dir().join(format!("{name}.yaml"))).unwrap()
}

fn write_npz(path: &Path, entries: &[(&str, Vec<u8>)], method: zip::CompressionMethod) {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        w.start_file(format!("{name}.npy"), options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

fn trains(gpu: &netdx::gpu::Gpu, config: &Config) -> f64 {
    let data = netdx::data::load(&config.data, config.seed, &config.base_dir).unwrap();
    let (summary, _) = train(gpu, config, data, None, Instrumentation::Bare, |_| {}).unwrap();
    summary.train_accuracy.unwrap()
}

#[test]
fn npz_archives_stored_or_deflated_train() {
    let gpu = gpu_or_skip!();
    let (x, y) = separable_arrays(40, 3);
    for (file, method) in [
        ("stored.npz", zip::CompressionMethod::Stored),
        ("deflated.npz", zip::CompressionMethod::Deflated),
    ] {
        write_npz(
            &dir().join(file),
            &[
                ("features", npy("<f4", &[40, 3], false, &f32s(&x))),
                ("labels", npy("<i8", &[40], false, &i64s(&y))),
            ],
            method,
        );
        let config = config_with_data(
            &format!("{{npz: {{path: {file}, x: features, y: labels}}}}"),
            file,
        );
        let data = load(&config).unwrap();
        assert_eq!((data.n, data.x_width, data.classes), (40, 3, Some(2)));
        assert_eq!(data.x, x);
        assert!(trains(gpu, &config) >= 0.95, "{file}");
    }
    // Bad archives name the file and the array.
    write_npz(
        &dir().join("noy.npz"),
        &[("x", npy("<f4", &[2, 1], false, &f32s(&[1.0, 2.0])))],
        zip::CompressionMethod::Stored,
    );
    let err = load(&config_with_data("{npz: {path: noy.npz}}", "noy"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("noy.npz: tensor `y`: no such array; the archive holds: x"),
        "{err}"
    );
    std::fs::write(dir().join("notzip.npz"), b"\x93NUMPY not a zip").unwrap();
    let err = load(&config_with_data("{npz: {path: notzip.npz}}", "notzip"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("notzip.npz: not an NPZ (zip) archive"),
        "{err}"
    );
}

/// An 8×8 "image" per example whose left half is bright for class 1 (u8 pixels, as MNIST).
fn images(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut px = Vec::with_capacity(n * 64);
    for i in 0..n {
        for r in 0..8 {
            for c in 0..8 {
                let bright = (c < 4) == (i % 2 == 1);
                px.push(if bright {
                    200 + (r * c % 50) as u8
                } else {
                    (i * 3 + r) as u8 % 40
                });
            }
        }
    }
    (px, (0..n).map(|i| (i % 2) as u8).collect())
}

#[test]
fn idx_files_raw_or_gzipped_train_with_scale_normalization() {
    use std::io::Write;
    let gpu = gpu_or_skip!();
    let (px, labels) = images(40);
    let img = netdx::io::idx::to_bytes_u8(&[40, 8, 8], &px);
    let lab = netdx::io::idx::to_bytes_u8(&[40], &labels);
    std::fs::write(dir().join("images-idx3-ubyte"), &img).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&lab).unwrap();
    std::fs::write(dir().join("labels-idx1-ubyte.gz"), gz.finish().unwrap()).unwrap();
    let config = config_with_data(
        "{idx: {images: images-idx3-ubyte, labels: labels-idx1-ubyte.gz}, normalize: {scale: 0.00392156862745098}}",
        "idx",
    );
    let data = load(&config).unwrap();
    assert_eq!((data.n, data.x_width, data.classes), (40, 64, Some(2)));
    assert!(data.x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!((data.x[0] - px[0] as f32 / 255.0).abs() < 1e-6);
    assert!(trains(gpu, &config) >= 0.95);

    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "magic",
            b"\x01\x02\x08\x01abcd".to_vec(),
            "not an IDX file (wrong magic)",
        ),
        (
            "short",
            img[..100].to_vec(),
            "truncated: 84 bytes of data for the 2560 values",
        ),
        (
            "code",
            vec![0, 0, 0x07, 1, 0, 0, 0, 1, 5],
            "unknown IDX element type 0x07",
        ),
        ("badgz", vec![0x1f, 0x8b, 8, 0, 1, 2, 3], "gzip:"),
    ];
    for (name, bytes, want) in cases {
        std::fs::write(dir().join(format!("{name}-idx")), bytes).unwrap();
        let config = config_with_data(
            &format!("{{idx: {{images: {name}-idx, labels: labels-idx1-ubyte.gz}}}}"),
            name,
        );
        let err = load(&config).unwrap_err().to_string();
        assert!(
            err.contains(&format!("{name}-idx: {want}")),
            "{name}: {err}"
        );
    }
}

#[test]
fn safetensors_datasets_train_and_bad_ones_are_named() {
    use safetensors::tensor::TensorView;
    use safetensors::Dtype;
    let gpu = gpu_or_skip!();
    let (x, y) = separable_arrays(40, 2);
    let xb = f32s(&x);
    let yb = i64s(&y);
    let write = |file: &str, tensors: Vec<(&str, TensorView)>| {
        safetensors::serialize_to_file(tensors, None, &dir().join(file)).unwrap();
    };
    write(
        "data.safetensors",
        vec![
            ("x", TensorView::new(Dtype::F32, vec![40, 2], &xb).unwrap()),
            ("y", TensorView::new(Dtype::I64, vec![40], &yb).unwrap()),
        ],
    );
    let config = config_with_data("{safetensors: {path: data.safetensors}}", "st");
    let data = load(&config).unwrap();
    assert_eq!((data.n, data.x_width, data.classes), (40, 2, Some(2)));
    assert!(trains(gpu, &config) >= 0.95);

    // Float labels declared as classes; one out of range.
    let yf = f32s(&[0.0, 1.0, 2.0]);
    let x3 = f32s(&[0.0, 1.0, 2.0]);
    write(
        "range.safetensors",
        vec![
            ("x", TensorView::new(Dtype::F32, vec![3, 1], &x3).unwrap()),
            ("y", TensorView::new(Dtype::F32, vec![3], &yf).unwrap()),
        ],
    );
    let err = load(&config_with_data(
        "{safetensors: {path: range.safetensors}, classes: 2}",
        "range",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "range.safetensors: tensor `y`: example 2: label 2 is out of range for 2 classes"
        ),
        "{err}"
    );
    let c64 = vec![0u8; 24];
    write(
        "dtype.safetensors",
        vec![
            ("x", TensorView::new(Dtype::C64, vec![3, 1], &c64).unwrap()),
            ("y", TensorView::new(Dtype::F32, vec![3], &yf).unwrap()),
        ],
    );
    let err = load(&config_with_data(
        "{safetensors: {path: dtype.safetensors}}",
        "dtype",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("tensor `x`: unsupported dtype C64"), "{err}");
    let empty: Vec<u8> = Vec::new();
    write(
        "empty.safetensors",
        vec![
            (
                "x",
                TensorView::new(Dtype::F32, vec![0, 2], &empty).unwrap(),
            ),
            ("y", TensorView::new(Dtype::I64, vec![0], &empty).unwrap()),
        ],
    );
    let err = load(&config_with_data(
        "{safetensors: {path: empty.safetensors}}",
        "empty",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("tensor `x`: no data: the shape is [0, 2]"),
        "{err}"
    );
    let whole = std::fs::read(dir().join("data.safetensors")).unwrap();
    for (name, bytes, want) in [
        (
            "cut",
            whole[..whole.len() - 7].to_vec(),
            "not a valid safetensors file",
        ),
        (
            "junk",
            b"\xff\xff\xff\xff\xff\xff\xff\x7fjunk".to_vec(),
            "not a valid safetensors file",
        ),
    ] {
        std::fs::write(dir().join(format!("{name}.safetensors")), bytes).unwrap();
        let err = load(&config_with_data(
            &format!("{{safetensors: {{path: {name}.safetensors}}}}"),
            name,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("{name}.safetensors: {want}")),
            "{err}"
        );
    }
    let err = load(&config_with_data(
        "{safetensors: {path: data.safetensors, y: labels}}",
        "nolabels",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("tensor `labels`: no such tensor; the file holds: x, y"),
        "{err}"
    );
}

#[test]
fn a_validation_split_is_held_out_and_normalization_uses_the_training_split() {
    let (x, y) = separable_arrays(40, 3);
    std::fs::write(dir().join("vx.npy"), npy("<f4", &[40, 3], false, &f32s(&x))).unwrap();
    std::fs::write(dir().join("vy.npy"), npy("<i8", &[40], false, &i64s(&y))).unwrap();
    let config = config_with_data(
        "{npy: {x: vx.npy, y: vy.npy}, validation: 0.25, normalize: standardize, seed: 3}",
        "split",
    );
    let data = netdx::data::load(&config.data, config.seed, &config.base_dir).unwrap();
    let v = data.validation.as_ref().expect("held out");
    assert_eq!((data.train.n, v.n), (30, 10));
    for j in 0..3 {
        let col: Vec<f64> = (0..30).map(|i| data.train.x[i * 3 + j] as f64).collect();
        let mean = col.iter().sum::<f64>() / 30.0;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 30.0;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "feature {j}: {mean} {var}"
        );
    }
    let summary = data.train.summary();
    assert_eq!(
        summary
            .class_counts
            .as_ref()
            .map(|c| c.iter().sum::<usize>()),
        Some(30)
    );
    assert!(summary.hash.starts_with("fnv1a64:"));
    // The same seed gives the same split; a separate file works too and shares the classes.
    let again = netdx::data::load(&config.data, config.seed, &config.base_dir).unwrap();
    assert_eq!(again.validation.unwrap().x, v.x);
    std::fs::write(dir().join("train.csv"), "a,label\n1,cat\n2,dog\n3,cat\n").unwrap();
    std::fs::write(dir().join("valid.csv"), "a,label\n4,dog\n").unwrap();
    std::fs::write(dir().join("valid_bad.csv"), "a,label\n4,cow\n").unwrap();
    let config = config_with_data(
        "{csv: {path: train.csv}, validation: {csv: {path: valid.csv}}}",
        "valfile",
    );
    let data = netdx::data::load(&config.data, config.seed, &config.base_dir).unwrap();
    let v = data.validation.unwrap();
    assert_eq!((v.n, v.y.clone(), v.classes), (1, vec![1.0], Some(2)));
    let config = config_with_data(
        "{csv: {path: train.csv}, validation: {csv: {path: valid_bad.csv}}}",
        "valbad",
    );
    let err = netdx::data::load(&config.data, config.seed, &config.base_dir)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("valid_bad.csv: line 2, column `label`: label `cow` is not one of the training classes (cat, dog)"),
        "{err}"
    );
    let err = Config::parse(
        "data: {builtin: spiral, validation: 1.5}\nmodel: {layers: [{linear: {out: 3}}]}\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 1}\n",
        Path::new("frac.yaml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("data.validation: a fraction must be between 0 and 1"),
        "{err}"
    );
}

#[test]
fn training_reports_validation_metrics() {
    let gpu = gpu_or_skip!();
    let config = config_with_data(
        "{builtin: spiral, classes: 2, validation: 0.2}",
        "spiral_val",
    );
    let data = netdx::data::load(&config.data, config.seed, &config.base_dir).unwrap();
    let (summary, _) = train(gpu, &config, data, Some(50), Instrumentation::Bare, |_| {}).unwrap();
    assert_eq!(summary.data.examples, 160);
    assert_eq!(summary.validation.as_ref().map(|v| v.examples), Some(40));
    let (loss, acc) = (
        summary.validation_loss.unwrap(),
        summary.validation_accuracy.unwrap(),
    );
    assert!(
        loss.is_finite() && (0.0..=1.0).contains(&acc),
        "{loss} {acc}"
    );
}

/// Data larger than one storage binding is streamed batch by batch; the streamed path (forced
/// here on small data) trains bit-identically to the resident one, evaluation included.
#[test]
fn streamed_data_trains_exactly_like_resident_data() {
    use netdx::train::{Placement, Trainer, TrainerOptions};
    let gpu = gpu_or_skip!();
    let config = config_with_data(
        "{builtin: spiral, classes: 2, points_per_class: 70}",
        "stream",
    );
    let data = load(&config).unwrap();
    let trainer = |placement| {
        Trainer::with_options(
            gpu,
            &config,
            data.clone(),
            TrainerOptions {
                instrumentation: Instrumentation::Full,
                placement,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let (mut resident, mut streamed) = (trainer(Placement::Auto), trainer(Placement::Streamed));
    assert!(!resident.data.is_streamed() && streamed.data.is_streamed());
    for _ in 0..30 {
        let (a, b) = (resident.step(30).unwrap(), streamed.step(30).unwrap());
        assert_eq!(a.loss.to_bits(), b.loss.to_bits(), "step {}", a.step);
        assert_eq!(
            a.stats.grad_sumsq().to_bits(),
            b.stats.grad_sumsq().to_bits()
        );
    }
    assert_eq!(
        resident.net.download(gpu).unwrap(),
        streamed.net.download(gpu).unwrap()
    );
    assert_eq!(resident.evaluate().unwrap(), streamed.evaluate().unwrap());
}
