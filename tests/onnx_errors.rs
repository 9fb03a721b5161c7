//! Bad ONNX input: every model file netdx cannot import is refused with a message that says
//! what the user must know and exit code 2 — never a panic. The files are in
//! `tests/fixtures/onnx/bad/` (written by `scripts/onnx_bad_fixtures.py`, whose docstring says
//! what each one gets wrong); truncated and byte-flipped copies of the good fixtures are made
//! at test time (a small deterministic fuzz). No GPU: `model::build` imports on the host, and
//! `netdx validate` builds the model before any GPU work.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use netdx::config::Config;
use netdx::error::Result;
use netdx::graph::Graph;
use netdx::model::{build, DataShape};
use netdx::onnx::{OPSETS, SUPPORTED_OPS};

use crate::common::netdx;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bad_dir() -> PathBuf {
    root().join("tests/fixtures/onnx/bad")
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("netdx-onnx-errors-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The width-4 vectors every bad fixture takes.
const VECTORS: DataShape = DataShape {
    width: 4,
    image: None,
    tokens: false,
    vocab: None,
};

/// The model section of a suite config beside `file` (`model: {onnx: FILE, input: …}`), as a
/// user writes it.
fn config(file: &Path, input: Option<&str>) -> Config {
    let name = file.file_name().unwrap().to_str().unwrap();
    let input = input.map(|i| format!(", input: {i}")).unwrap_or_default();
    let text = format!(
        "model: {{onnx: {name}{input}}}\nloss: softmax_cross_entropy\ntraining: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 4, steps: 1}}\ndata: {{builtin: blobs, classes: 3, dims: 4}}\n"
    );
    Config::parse(&text, &file.with_file_name("suite.yaml")).expect("the test config")
}

/// Imports `file` for data of `data`'s shape; a panic is reported as such.
fn import(file: &Path, input: Option<&str>, data: DataShape) -> Result<Graph> {
    let config = config(file, input);
    catch_unwind(AssertUnwindSafe(|| build(&config.model, data)))
        .unwrap_or_else(|_| panic!("{}: importing panicked", file.display()))
}

/// The message importing the bad fixture `name` gives, checked to be an exit-2 error that
/// names the file.
fn refused(name: &str, input: Option<&str>) -> String {
    let file = bad_dir().join(name);
    match import(&file, input, VECTORS) {
        Ok(_) => panic!("{name}: imported"),
        Err(e) => {
            let message = e.to_string();
            assert_eq!(e.exit_code(), 2, "{name}: {message}");
            assert!(
                message.starts_with(&file.display().to_string()),
                "{name}: the message names the file: {message}"
            );
            message
        }
    }
}

fn assert_has(message: &str, parts: &[&str]) {
    for p in parts {
        assert!(message.contains(p), "missing `{p}` in: {message}");
    }
}

#[test]
fn an_unsupported_op_names_the_node_its_opset_and_what_netdx_imports() {
    for (file, node) in [
        (
            "unsupported_op.onnx",
            "node `/0/Softsign` (Softsign opset 17)",
        ),
        (
            "unsupported_op_einsum.onnx",
            "node `/0/Einsum` (Einsum opset 17)",
        ),
    ] {
        let m = refused(file, None);
        assert_has(&m, &[node, "is not supported; netdx imports: "]);
        assert_has(&m, SUPPORTED_OPS);
    }
}

#[test]
fn an_unsupported_opset_says_which_opsets_netdx_reads() {
    let m = refused("opset11.onnx", None);
    let range = format!("{}–{}", OPSETS.start(), OPSETS.end());
    assert_has(&m, &["uses opset 11", &range, "opset_version="]);
}

#[test]
fn missing_external_weights_name_the_missing_file() {
    assert!(!bad_dir().join("external_data_missing.weights").exists());
    let m = refused("external_data_missing.onnx", None);
    assert_has(
        &m,
        &[
            "initializer `0.weight`",
            "external_data_missing.weights`",
            "cannot be read",
            "external_data=False",
        ],
    );
}

#[test]
fn short_or_outside_external_weights_are_refused() {
    let m = refused("external_data_short.onnx", None);
    assert_has(
        &m,
        &[
            "initializer `0.weight`",
            "offset 0, 48 bytes",
            "external_data_short.weights` (20 bytes)",
            "truncated or corrupted",
        ],
    );
    let m = refused("external_data_outside.onnx", None);
    assert_has(
        &m,
        &[
            "initializer `0.weight`",
            "`../mlp.torchscript.onnx`",
            "not a file name in the model's folder",
        ],
    );
}

#[test]
fn a_model_with_two_inputs_names_both() {
    let m = refused("two_inputs.onnx", None);
    assert_has(&m, &["2 inputs", "`input`, `mask`", "one input"]);
}

#[test]
fn symbolic_dimensions_ask_for_model_input() {
    let m = refused("symbolic_dims.onnx", None);
    assert_has(&m, &["input `input`", "[?]", "`model.input`"]);
    // Declared, it imports; declared wrong, the data says so.
    let file = bad_dir().join("symbolic_dims.onnx");
    let graph = import(&file, Some("[4]"), VECTORS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(graph.output_width(), 3);
    let m = refused("symbolic_dims.onnx", Some("[5]"));
    assert_has(&m, &["[5]", "4 features"]);
}

#[test]
fn a_tied_weight_names_the_second_node_and_the_weight() {
    let m = refused("tied_weight.onnx", None);
    assert_has(
        &m,
        &["node `/2/Gemm` (Gemm opset 17)", "`0.weight`", "tied"],
    );
}

#[test]
fn a_short_initializer_is_truncated_or_corrupted() {
    let m = refused("truncated_initializer.onnx", None);
    assert_has(
        &m,
        &[
            "initializer `0.weight`",
            "5 values",
            "[3, 4]",
            "truncated or corrupted",
        ],
    );
}

#[test]
fn a_name_no_node_writes_names_the_reader() {
    let m = refused("dangling_input.onnx", None);
    assert_has(
        &m,
        &[
            "node `/1/Relu` (Relu opset 17)",
            "`/0/Gemm_output_1`",
            "no earlier node writes",
        ],
    );
}

/// Files that are not ONNX models at all, made here.
#[test]
fn garbage_empty_and_missing_files_are_refused() {
    let dir = scratch();
    let good = std::fs::read(root().join("tests/fixtures/onnx/mlp.torchscript.onnx")).unwrap();
    let cases: [(&str, Vec<u8>, &[&str]); 5] = [
        ("empty.onnx", Vec::new(), &["is empty"]),
        ("garbage.onnx", vec![0xff; 64], &["truncated or corrupted"]),
        (
            "text.onnx",
            b"hello, this is not a model\n".to_vec(),
            &["truncated or corrupted"],
        ),
        (
            "half.onnx",
            good[..good.len() / 2].to_vec(),
            &["truncated or corrupted"],
        ),
        (
            "no_graph.onnx",
            good[..20].to_vec(),
            &["truncated or corrupted"],
        ),
    ];
    for (name, bytes, parts) in cases {
        let file = dir.join(name);
        std::fs::write(&file, &bytes).unwrap();
        let e = import(&file, None, VECTORS).expect_err(name);
        assert_eq!(e.exit_code(), 2, "{name}: {e}");
        let m = e.to_string();
        assert!(m.contains(name), "{m}");
        assert_has(&m, parts);
    }
    let missing = dir.join("no_such_model.onnx");
    let e = import(&missing, None, VECTORS).expect_err("missing");
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().contains("no_such_model.onnx"), "{e}");
    let folder = dir.join("a_folder.onnx");
    std::fs::create_dir_all(&folder).unwrap();
    let e = import(&folder, None, VECTORS).expect_err("a folder");
    assert_eq!(e.exit_code(), 2, "{e}");
    assert!(e.to_string().contains("is a directory, not a file"), "{e}");
}

/// Malformed nodes (see the script's docstring): each is an error naming the node and
/// saying what is wrong with it.
fn malformed(name: &str, node: &str, says: &str) {
    let m = refused(name, None);
    assert_has(&m, &[node, says]);
}

#[test]
fn an_add_with_one_input_is_refused() {
    malformed(
        "add_one_input.onnx",
        "node `/1/Add` (Add opset 17)",
        "takes 2 inputs, but the file gives 1",
    );
}

#[test]
fn a_gemm_without_weight_is_refused() {
    malformed(
        "gemm_one_input.onnx",
        "node `/0/Gemm` (Gemm opset 17)",
        "takes 2 inputs, but the file gives 1",
    );
}

#[test]
fn a_log_softmax_without_output_is_refused() {
    malformed(
        "logsoftmax_no_output.onnx",
        "node `/1/LogSoftmax` (LogSoftmax opset 17)",
        "has no output",
    );
}

#[test]
fn an_unsqueeze_with_repeated_axes_is_refused() {
    malformed(
        "unsqueeze_duplicate_axes.onnx",
        "node `/c/Unsqueeze`",
        "an axis is given twice",
    );
}

#[test]
fn a_slice_with_fewer_axes_than_starts_is_refused() {
    malformed(
        "slice_short_axes.onnx",
        "node `/c/Slice`",
        "differ in length",
    );
}

#[test]
fn a_transpose_with_a_bad_perm_is_refused() {
    malformed(
        "transpose_bad_perm.onnx",
        "node `/c/Transpose`",
        "perm [0, 5] is not a permutation of the 2 axes",
    );
}

#[test]
fn an_integer_division_overflow_is_refused() {
    malformed(
        "int_div_overflow.onnx",
        "node `/c/Div`",
        "-9223372036854775808 by -1 has no result",
    );
}

#[test]
fn a_range_with_zero_delta_is_refused() {
    malformed("range_zero_delta.onnx", "node `/c/Range`", "a step of 0");
}

#[test]
fn a_gather_from_a_scalar_is_refused() {
    malformed("gather_scalar.onnx", "node `/c/Gather`", "axis 0");
}

#[test]
fn a_concat_of_scalars_is_refused() {
    malformed("concat_scalars.onnx", "node `/c/Concat`", "axis 0");
}

#[test]
fn a_concat_of_mismatched_shapes_is_refused() {
    malformed("concat_mismatched.onnx", "node `/c/Concat`", "Concat");
}

#[test]
fn a_squeeze_of_a_dimension_that_is_not_1_is_refused() {
    malformed("squeeze_zero_dim.onnx", "node `/c/Squeeze`", "Squeeze");
}

/// `netdx validate` on a config naming `model` (beside the config, width-4 blobs): exit code
/// and stderr.
fn validate(model: &Path, input: Option<&str>) -> (i32, String) {
    let dir = scratch();
    let stem = model.file_stem().unwrap().to_str().unwrap();
    let config = dir.join(format!("{stem}.yaml"));
    let input = input.map(|i| format!(", input: {i}")).unwrap_or_default();
    std::fs::write(
        &config,
        format!(
            "data: {{builtin: blobs, classes: 3, dims: 4, points_per_class: 10}}\nmodel: {{onnx: {}{input}}}\nloss: softmax_cross_entropy\ntraining: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 4, steps: 1}}\n",
            model.display()
        ),
    )
    .unwrap();
    let (code, _, err) = netdx(&["validate", config.to_str().unwrap()]);
    (code, err)
}

#[test]
fn the_binary_exits_2_with_the_message_and_no_panic() {
    for (name, says) in [
        (
            "unsupported_op.onnx",
            "node `/0/Softsign` (Softsign opset 17)",
        ),
        ("opset11.onnx", "uses opset 11"),
        (
            "external_data_missing.onnx",
            "external_data_missing.weights`, which cannot be read",
        ),
        ("symbolic_dims.onnx", "`model.input`"),
        ("truncated_initializer.onnx", "truncated or corrupted"),
    ] {
        let (code, err) = validate(&bad_dir().join(name), None);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
    }
    let (code, err) = validate(&bad_dir().join("symbolic_dims.onnx"), Some("[4]"));
    assert_eq!(code, 0, "declared, symbolic_dims.onnx validates: {err}");
}

/// Run as a child process: were the constant allocated, the failed allocation would abort
/// the process (and take the test binary with it).
#[test]
fn a_huge_folded_constant_is_refused_before_it_is_allocated() {
    let (code, err) = validate(&bad_dir().join("constant_of_shape_huge.onnx"), None);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("node `/c/ConstantOfShape`") && err.contains("[1048576, 1048576, 1024]"),
        "{err}"
    );
}

/// The good fixtures and the data each takes.
fn good_fixtures() -> Vec<(PathBuf, DataShape)> {
    let shape = |width, tokens, vocab| DataShape {
        width,
        image: None,
        tokens,
        vocab,
    };
    let dir = root().join("tests/fixtures/onnx");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{} good fixtures", files.len());
    files
        .into_iter()
        .map(|p| {
            let model = p.file_name().unwrap().to_str().unwrap();
            let data = match model.split('.').next().unwrap() {
                "mlp" => shape(12, false, None),
                "cnn_bn" => shape(3 * 9 * 9, false, None),
                "resnet" => shape(2 * 8 * 8, false, None),
                "embedding" => shape(6, true, Some(11)),
                "gpt" => shape(8, true, Some(13)),
                "transformer" => shape(16, true, Some(11)),
                other => panic!("{other}: a good fixture this test does not know"),
            };
            (p, data)
        })
        .collect()
}

/// Imports `bytes` written as `name` in `dir` for data of `data`'s shape: `Ok(true)` if it
/// imports, `Ok(false)` if it is refused with exit code 2, else what went wrong.
fn try_import(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    data: DataShape,
) -> std::result::Result<bool, String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut spec = config(&path, None).model;
    spec.onnx = Some(path);
    match catch_unwind(AssertUnwindSafe(|| build(&spec, data))) {
        Err(_) => Err("PANICKED".into()),
        Ok(Err(e)) if e.exit_code() != 2 => Err(format!("exit {}: {e}", e.exit_code())),
        Ok(Err(_)) => Ok(false),
        Ok(Ok(_)) => Ok(true),
    }
}

/// Truncated prefixes and byte-flipped copies of every good fixture (deterministic: the same
/// cuts and flips on every run) import or are refused with exit code 2; none panics.
/// `NETDX_ONNX_FUZZ_FLIPS=20000` flips more bytes per file (32 by default; 20000 takes a few
/// minutes and finds the cases of `known_byte_flips_are_refused`).
#[test]
fn truncated_and_flipped_fixtures_never_panic() {
    let flips: usize = std::env::var("NETDX_ONNX_FUZZ_FLIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let dir = scratch().join("fuzz");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = netdx::rng::SplitMix64::new(0x4e4e_5844);
    let (mut tried, mut refused, mut wrong) = (0, 0, Vec::new());
    for (file, data) in good_fixtures() {
        let good = std::fs::read(&file).unwrap();
        let name = file.file_name().unwrap().to_str().unwrap().to_string();
        let n = good.len();
        let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
        let mut cuts = vec![1, 2, 3, 5, 8, 13, 21, 34, 55, 89, n - 1];
        cuts.extend((1..16).map(|k| k * n / 16));
        for cut in cuts {
            variants.push((format!("cut at {cut}"), good[..cut].to_vec()));
        }
        for _ in 0..flips {
            let at = rng.below(n);
            let mask = 1 + rng.below(255) as u8;
            let mut b = good.clone();
            b[at] ^= mask;
            variants.push((format!("byte {at} ^ {mask:#04x}"), b));
        }
        for (what, bytes) in variants {
            tried += 1;
            match try_import(&dir, &name, &bytes, data) {
                Ok(true) => {}
                Ok(false) => refused += 1,
                Err(e) => wrong.push(format!("{name}, {what}: {e}")),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {tried}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(refused > tried / 4, "only {refused} of {tried} refused");
}

/// Single-byte flips of the good fixtures that the longer fuzz found to panic before the
/// importer checked perms, outputs and input counts (the offsets are those of the committed
/// fixtures).
#[test]
fn known_byte_flips_are_refused() {
    let dir = scratch().join("flips");
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = good_fixtures();
    let mut wrong = Vec::new();
    for (name, at, mask) in [
        // A Transpose perm entry past the rank (fold.rs transpose).
        ("embedding.torchscript.onnx", 151, 0x44u8),
        ("embedding.dynamo.onnx", 629, 0x5b),
        // A MatMul node left without outputs (import.rs MatMul).
        ("embedding.torchscript.onnx", 200, 0x48),
        ("embedding.dynamo.onnx", 3169, 0x08),
        // An Add left with one input (import.rs Add).
        ("resnet.torchscript.onnx", 2750, 0x70),
    ] {
        let (file, data) = fixtures
            .iter()
            .find(|(f, _)| f.file_name().unwrap() == name)
            .unwrap();
        let mut bytes = std::fs::read(file).unwrap();
        bytes[at] ^= mask;
        if let Err(e) = try_import(&dir, name, &bytes, *data) {
            wrong.push(format!("{name}, byte {at} ^ {mask:#04x}: {e}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
