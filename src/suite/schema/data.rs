//! The `data:` section: exactly one source (a built-in or a file), the parameters that apply
//! to it (`validate` refuses the others: `length` on the spiral, `classes` on token data), the
//! planted transforms, the validation split, the normalization and a built-in fallback.

use serde_json::{json, Value};

use super::{boolean, described, param, strict, string, whole, with_rules};

/// The built-in datasets.
const BUILTINS: [&str; 9] = [
    "spiral",
    "blobs",
    "xor",
    "regression",
    "shapes",
    "copy",
    "reverse",
    "sort",
    "modular_addition",
];
/// The built-ins that are token sequences.
const SEQUENCE_TASKS: [&str; 4] = ["copy", "reverse", "sort", "modular_addition"];
/// The sequence tasks over a list of symbols (`length`, `symbols`).
const LIST_TASKS: [&str; 3] = ["copy", "reverse", "sort"];
/// The file sources, one key each.
const FILE_SOURCES: [&str; 7] = ["csv", "npy", "npz", "idx", "safetensors", "text", "tokens"];

fn file_source_schemas() -> [(&'static str, Value); 7] {
    let path = |what: &str| {
        described(
            string(),
            &format!("{what}, relative to the config's folder"),
        )
    };
    let named_pair = |file: &str| {
        strict(
            json!({
                "path": path(file),
                "x": described(string(), "the features array's name (default x)"),
                "y": described(string(), "the labels array's name (default y)"),
            }),
            &["path"],
        )
    };
    [
        (
            "csv",
            described(
                strict(
                    json!({
                        "path": path("the CSV file (a header row, then one example per row)"),
                        "label": described(string(), "the label column's header (default the last column)"),
                        "task": described(json!({"enum": ["classification", "regression"]}), "what the label column holds (default inferred from the labels)"),
                    }),
                    &["path"],
                ),
                "a CSV file with a header row",
            ),
        ),
        (
            "npy",
            described(
                strict(
                    json!({
                        "x": path("the NPY file of features"),
                        "y": path("the NPY file of labels"),
                    }),
                    &["x", "y"],
                ),
                "NPY files of features and labels",
            ),
        ),
        (
            "npz",
            described(
                named_pair("the NPZ archive"),
                "an NPZ archive holding features and labels",
            ),
        ),
        (
            "idx",
            described(
                strict(
                    json!({
                        "images": path("the IDX file of images (raw or gzipped)"),
                        "labels": path("the IDX file of labels (raw or gzipped)"),
                    }),
                    &["images", "labels"],
                ),
                "MNIST-style IDX files of images and labels",
            ),
        ),
        (
            "safetensors",
            described(
                named_pair("the safetensors file"),
                "a safetensors file holding features and labels",
            ),
        ),
        (
            "text",
            described(
                strict(
                    json!({
                        "path": path("the text file"),
                        "context": param("data.text.context", "tokens per example"),
                        "stride": param("data.text.stride", "tokens between window starts (default: context)"),
                        "level": described(json!({"enum": ["char", "byte"]}), "char (default; UTF-8, the vocabulary the file's characters) or byte (vocabulary 256, any file)"),
                    }),
                    &["path", "context"],
                ),
                "a text file cut into windows of tokens",
            ),
        ),
        (
            "tokens",
            described(
                strict(
                    json!({
                        "path": path(".npy, .npz or .safetensors file"),
                        "array": described(string(), "the array of an NPZ or safetensors file (may be left out when it holds one)"),
                        "vocab": param("data.tokens.vocab", "the vocabulary size; every id below it (default the largest id + 1)"),
                    }),
                    &["path"],
                ),
                "an integer token array [examples, context + 1]",
            ),
        ),
    ]
}

/// A validation file: one file source, as the key that names it.
fn file_source() -> Value {
    let one_of: Vec<Value> = file_source_schemas()
        .into_iter()
        .map(|(key, schema)| strict(json!({key: schema}), &[key]))
        .collect();
    json!({"oneOf": one_of})
}

/// The parameters of a generated dataset, shared by `data` and its `fallback`.
fn generated() -> serde_json::Map<String, Value> {
    let d = |k: &str, what: &str| param(&format!("data.{k}"), what);
    let props = json!({
        "builtin": described(json!({"enum": BUILTINS}), "a built-in dataset: spiral, blobs, xor, regression or shapes (features), or the sequence tasks copy, reverse, sort and modular_addition (tokens)"),
        "classes": d("classes", "built-ins: the number of classes (shapes at most 10); files: the number of classes the labels index. Not for sequence data"),
        "points_per_class": d("points_per_class", "spiral, blobs and shapes: examples per class"),
        "points": d("points", "xor, regression and the sequence tasks: the number of examples (modular_addition at most modulus²)"),
        "dims": d("dims", "blobs: features per example (default 2)"),
        "size": d("size", "shapes: the images' side in pixels (default 16)"),
        "noise": d("noise", "the standard deviation of the noise added to generated examples"),
        "seed": described(whole(), "the data's seed (generation, label shuffling, the validation split); default the config's seed"),
        "length": d("length", "copy, reverse and sort: symbols per operand (default 8; the context is twice this)"),
        "symbols": d("symbols", "copy, reverse and sort: the alphabet size (default 10; the vocabulary adds a separator)"),
        "modulus": d("modulus", "modular_addition: the modulus p (default 23; the vocabulary is p + 2)"),
    });
    match props {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// `{required: [key]}` where `key` names one of `values` (or any value when `values` is empty).
fn has(key: &str, values: &[&str]) -> Value {
    if values.is_empty() {
        return json!({"required": [key]});
    }
    json!({"required": [key], "properties": {key: {"enum": values}}})
}

/// A data section whose examples are token sequences: a text or token file, or a sequence task.
pub(super) fn is_sequence() -> Value {
    json!({"anyOf": [has("text", &[]), has("tokens", &[]), has("builtin", &SEQUENCE_TASKS)]})
}

/// A data section of one of the built-ins `names`.
pub(super) fn is_builtin(names: &[&str]) -> Value {
    has("builtin", names)
}

/// Keys `validate` refuses unless the source takes them (in `config::validate_generated`):
/// a schema names the key, as the error does.
fn keys_by_source() -> Vec<Value> {
    let token_files = json!({"anyOf": [has("text", &[]), has("tokens", &[])]});
    let sequence = is_sequence();
    let shapes_classes = crate::data::SHAPE_CLASSES.len();
    vec![
        json!({"if": sequence, "then": {"properties": {
            "classes": false, "points_per_class": false, "dims": false, "size": false, "noise": false,
            "scale": false, "offset": false,
            "normalize": {"const": "none"}, "shuffle_labels": {"const": false},
        }}}),
        json!({"if": token_files, "then": {"properties": {"points": false}}}),
        json!({"if": {"not": has("builtin", &LIST_TASKS)}, "then": {"properties": {"length": false, "symbols": false}}}),
        json!({"if": {"not": has("builtin", &["modular_addition"])}, "then": {"properties": {"modulus": false}}}),
        json!({
            "if": has("builtin", &["shapes"]),
            "then": {"properties": {"classes": {"maximum": shapes_classes}}},
            "else": {"properties": {"size": false}},
        }),
    ]
}

/// Exactly one source: a built-in or one file source.
fn one_source() -> Value {
    let sources: Vec<Value> = std::iter::once("builtin")
        .chain(FILE_SOURCES)
        .map(|k| json!({"required": [k]}))
        .collect();
    json!({"oneOf": sources})
}

/// The fallback replaces a file source with a built-in of the same kind: a sequence task for
/// token files, features and labels for the others.
fn fallback_rules() -> Vec<Value> {
    vec![
        json!({"dependentSchemas": {"fallback": {"not": has("builtin", &[])}}}),
        json!({
            "if": {"anyOf": [has("text", &[]), has("tokens", &[])]},
            "then": {"properties": {"fallback": {"properties": {"builtin": {"enum": SEQUENCE_TASKS}}}}},
            "else": {"properties": {"fallback": {"properties": {"builtin": {"not": {"enum": SEQUENCE_TASKS}}}}}},
        }),
    ]
}

pub(super) fn data() -> Value {
    let mut props = generated();
    let fallback = with_rules(
        strict(Value::Object(generated()), &["builtin"]),
        keys_by_source(),
    );
    for (key, schema) in file_source_schemas() {
        props.insert(key.into(), schema);
    }
    let mut non_zero_scale = param(
        "data.normalize.scale",
        "multiply every feature by this non-zero factor (1/255 for 8-bit images)",
    );
    non_zero_scale["not"] = json!({"const": 0});
    let more = json!({
        "fallback": described(fallback, "a built-in to train on when the file source's files are missing ({builtin: shapes}), with its own parameters"),
        "validation": described(json!({"oneOf": [
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            file_source(),
        ]}), "a held-out validation set: a fraction of the examples in (0, 1), or a file source ({npy: {x: …, y: …}})"),
        "normalize": described(json!({"oneOf": [
            {"enum": ["none", "standardize", "minmax"]},
            strict(json!({"scale": non_zero_scale}), &["scale"]),
        ]}), "none (default), standardize, minmax (statistics from the training split) or {scale: factor}"),
        "scale": param("data.scale", "multiply every feature by this (to plant unnormalized inputs)"),
        "offset": param("data.offset", "add this to every feature after scaling"),
        "shuffle_labels": described(boolean(), "permute the labels across examples (labels no longer depend on the inputs)"),
    });
    if let Value::Object(m) = more {
        props.extend(m);
    }
    let mut rules = vec![one_source()];
    rules.extend(fallback_rules());
    rules.extend(keys_by_source());
    described(
        with_rules(strict(Value::Object(props), &[]), rules),
        "the data: one source (a built-in or a file) with its parameters",
    )
}
