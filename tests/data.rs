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
    netdx::data::load(&config.data, config.seed, &config.base_dir)
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
fn bad_csv_files_name_the_file_row_and_column() {
    let cases = [
        (
            "ragged.csv",
            "a,b,y\n1,2,0\n3,1\n",
            "",
            "ragged.csv: row 3: has 2 cells; the header has 3",
        ),
        (
            "text.csv",
            "a,b,y\n1,x,0\n",
            "",
            "text.csv: row 2, column `b`: `x` is not a number",
        ),
        (
            "nan.csv",
            "a,b,y\n1,NaN,0\n2,3,1\n",
            "",
            "nan.csv: row 2, column `b`: `NaN` is not finite",
        ),
        ("empty.csv", "a,b,y\n", "", "empty.csv: has no examples"),
        (
            "nolabel.csv",
            "a,b,y\n1,2,0\n",
            ", label: species",
            "nolabel.csv: row 1, column `species`: no such column",
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
            "onecol.csv: row 1: needs a feature column and a label column",
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
    assert!(
        err.contains("give one of `builtin`, `csv` or `npy`"),
        "{err}"
    );
}

/// An NPY v1 file with the given dtype, shape and little-endian body.
fn npy(descr: &str, shape: &[usize], fortran: bool, body: &[u8]) -> Vec<u8> {
    let shape_s = match shape {
        [n] => format!("({n},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape_s}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend((header.len() as u16).to_le_bytes());
    v.extend(header.as_bytes());
    v.extend(body);
    v
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
            "truncated: 4 bytes of data for 2 values",
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
            npy("<f4", &[2], false, &f32s(&[1.0, 2.0])),
            npy("<i8", &[2], false, &[0u8; 16]),
            "features must be 2-D",
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
