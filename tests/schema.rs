//! The JSON Schema (`netdx schema`) against the configs `validate` judges: every shipped suite
//! validates (an editor marks nothing in a good file), and every file of the bad-config corpus
//! is refused — except those whose error no JSON Schema can express (a file that is not JSON
//! once read, a file on disk, a width computed through the layers, a rule between two values),
//! listed below with the reason. The list is checked both ways: a listed file the schema
//! refuses should leave the list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Bad configs whose error a schema cannot express, each with why.
#[rustfmt::skip]
const NOT_EXPRESSIBLE: &[(&str, &str)] = &[
    // Not JSON once read: a schema sees values, not YAML syntax or bytes.
    ("alias_bomb.yaml", "YAML: aliases expanding past the repetition limit"),
    ("deep_nesting.yaml", "YAML: nesting past the recursion limit"),
    ("duplicate_key.yaml", "YAML: a key twice (a JSON object has each key once)"),
    ("bad_indentation.yaml", "YAML: a key indented out of its map is a syntax error"),
    ("not_utf8.yaml", "bytes that are not UTF-8"),
    ("nul_byte.yaml", "a NUL byte in the text"),
    ("bias_inf.yaml", "infinity: JSON has no such number"),
    ("weight_decay_inf.yaml", "infinity: JSON has no such number"),
    ("lr_nan.yaml", "NaN: JSON has no such number"),
    ("leaky_relu_slope_nan.yaml", "NaN: JSON has no such number"),
    ("init_normal_std_nan.yaml", "NaN: JSON has no such number"),
    ("check_threshold_nan.yaml", "NaN: JSON has no such number"),
    ("check_optimizer_compare_rate_nan.yaml", "NaN: JSON has no such number"),
    // Files: their existence and content.
    ("csv_missing.yaml", "a data file that does not exist"),
    ("text_missing.yaml", "a data file that does not exist"),
    ("weights_missing.yaml", "a weights file that does not exist"),
    ("onnx_missing_file.yaml", "a model file that does not exist"),
    ("text_empty.yaml", "the content of the text file"),
    ("text_not_utf8.yaml", "the content of the text file"),
    ("token_over_vocab.yaml", "the content of the token file"),
    ("onnx_input_mismatch.yaml", "the input of the ONNX file"),
    ("onnx_vocab_mismatch.yaml", "the output of the ONNX file against the data"),
    // Shapes computed through the layers, or against the data.
    ("attention_heads_not_dividing.yaml", "heads against the width the layers give"),
    ("batch_larger_than_data.yaml", "the batch against the dataset's size"),
    ("batch_norm_on_sequence.yaml", "the shape that reaches a layer"),
    ("bce_three_outputs.yaml", "the width of the last layer"),
    ("class_weights_count.yaml", "the number of weights against the outputs"),
    ("context_longer_than_max_len.yaml", "the data's context against max_len"),
    ("conv_kernel_too_large.yaml", "the kernel against the image the layers give"),
    ("embedding_smaller_than_vocab.yaml", "the table against the data's vocabulary"),
    ("focal_one_logit.yaml", "the width of the last layer against the classes"),
    ("image_shape_mismatch.yaml", "the shape against the data's features"),
    ("input_width_mismatch.yaml", "the input width against the data's, which the data loader knows"),
    ("layer_width_mismatch.yaml", "widths through the layers"),
    ("linear_on_image.yaml", "the shape that reaches a layer"),
    ("mse_on_classes.yaml", "the width of the last layer against the labels"),
    ("next_token_model_flattens.yaml", "the positions the model predicts"),
    ("next_token_vocab_mismatch.yaml", "the width of the last layer against the vocabulary"),
    ("next_token_with_bce.yaml", "whether the model predicts at every position"),
    ("outputs_vs_classes.yaml", "the width of the last layer against the classes"),
    ("pool_padding_too_large.yaml", "padding against half the kernel (arithmetic)"),
    ("residual_changes_width.yaml", "widths through the layers"),
    ("residual_map_changes_width.yaml", "widths through the layers"),
    ("residual_projection_impossible.yaml", "image sizes through the layers"),
    ("weight_too_large.yaml", "a product of two widths"),
    // Rules between two values: draft 2020-12 compares a value only with constants.
    ("case_duplicate_name.yaml", "names unique across the cases"),
    ("check_initial_loss_warn_above_fail.yaml", "`warn` at most `fail`"),
    ("check_lr_range_min_above_max.yaml", "`min_lr` below `max_lr`"),
    ("cosine_min_lr_above_lr.yaml", "`min_lr` at most the learning rate"),
    ("init_uniform_low_above_high.yaml", "`low` at most `high`"),
    ("fault_layer_missing.yaml", "a layer index against the number of layers"),
    ("fault_on_relu.yaml", "what the layer at an index is"),
    ("modular_addition_points.yaml", "`points` at most `modulus`²"),
];

fn files(dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// A YAML file as the JSON an editor's schema sees, or why there is none. A byte order mark
/// is skipped, as netdx and editors do; a duplicate key, NaN or infinity has no JSON form.
fn to_json(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    json_of(&yaml)
}

fn json_of(v: &serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.into(),
            (_, Some(i), _) => i.into(),
            (_, _, Some(f)) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("{f} has no JSON form"))?,
            _ => return Err(format!("{n:?} has no JSON form")),
        },
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::Array(items.iter().map(json_of).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut o = serde_json::Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s.clone(),
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("a key {other:?} has no JSON form")),
                };
                o.insert(key, json_of(v)?);
            }
            Value::Object(o)
        }
        Y::Tagged(t) => return Err(format!("a YAML tag {} has no JSON form", t.tag)),
    })
}

fn validator() -> jsonschema::Validator {
    let schema = netdx::suite::schema::schema();
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// The key path an expected error names (`model.layers[2].linear.out`) as a JSON pointer
/// (`/model/layers/2/linear/out`); `None` when it names none that a schema sees (`cases[x]`,
/// whole-document errors).
fn expected_pointer(file: &Path) -> Option<String> {
    let text = String::from_utf8_lossy(&std::fs::read(file).ok()?).into_owned();
    let rest = text.lines().next()?.strip_prefix("# expect: :")?;
    // `:LINE:COLUMN: key: message`
    let key = rest.split(": ").nth(1)?.trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || "_.[]".contains(c);
    if key.starts_with("cases[") || !key.chars().all(plain) {
        return None;
    }
    // A matrix key is a dotted path itself.
    if let Some(path) = key.strip_prefix("matrix.") {
        return Some(format!("/matrix/{path}"));
    }
    Some(
        key.split(['.', '['])
            .map(|s| format!("/{}", s.trim_end_matches(']')))
            .collect(),
    )
}

/// Whether the JSON pointer `inner` is `outer` or below it.
fn within(inner: &str, outer: &str) -> bool {
    inner == outer || inner.starts_with(&format!("{outer}/"))
}

#[test]
fn every_shipped_config_satisfies_the_schema() {
    let v = validator();
    let mut good = Vec::new();
    for dir in ["configs", "tests/corpus/healthy", "tests/corpus/planted"] {
        good.extend(files(dir));
    }
    assert!(good.len() >= 100, "{} shipped configs", good.len());
    let mut refused = Vec::new();
    for file in &good {
        let json = to_json(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let errors: Vec<String> = v
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if !errors.is_empty() {
            refused.push(format!("{}:\n  {}", file.display(), errors.join("\n  ")));
        }
    }
    assert!(
        refused.is_empty(),
        "the schema refuses {} of {} shipped configs:\n{}",
        refused.len(),
        good.len(),
        refused.join("\n")
    );
}

#[test]
fn the_schema_refuses_every_bad_config_it_can_express() {
    let v = validator();
    let listed: BTreeMap<&str, &str> = NOT_EXPRESSIBLE.iter().copied().collect();
    assert_eq!(
        listed.len(),
        NOT_EXPRESSIBLE.len(),
        "a file is listed twice"
    );
    let bad = files("tests/bad_configs");
    // `NETDX_SCHEMA_SHOW=1` prints the schema's complaints about each file.
    let show = std::env::var_os("NETDX_SCHEMA_SHOW").is_some();
    let mut problems = Vec::new();
    let (mut expressible, mut rejected) = (0, 0);
    for file in &bad {
        let n = name(file);
        let on_list = listed.contains_key(n.as_str());
        let json = to_json(file);
        if show {
            match &json {
                Ok(json) => {
                    for e in v.iter_errors(json) {
                        println!("{n}: {} at {}", e, e.instance_path());
                    }
                }
                Err(why) => println!("{n}: not JSON: {why}"),
            }
        }
        let errors: Result<Vec<String>, String> = json.map(|json| {
            v.iter_errors(&json)
                .map(|e| e.instance_path().to_string())
                .collect()
        });
        match (errors, on_list) {
            (Err(why), false) => problems.push(format!("{n}: not JSON ({why}) and not listed")),
            (Err(_), true) => {}
            (Ok(paths), true) if !paths.is_empty() => problems.push(format!(
                "{n}: listed as not expressible, yet the schema refuses it (at {}): take it off the list",
                paths.join(", ")
            )),
            (Ok(_), true) => {}
            (Ok(paths), false) => {
                expressible += 1;
                if paths.is_empty() {
                    problems.push(format!("{n}: accepted by the schema"));
                    continue;
                }
                rejected += 1;
                // Refused for its own error alone: each complaint of the schema is on the key
                // the expected error names, or on a section holding it (a oneOf, a rule
                // between keys). A complaint elsewhere is a second problem in the file.
                if let Some(want) = expected_pointer(file) {
                    let related = paths
                        .iter()
                        .all(|p| within(&want, p) || within(p, &want));
                    if !related {
                        problems.push(format!(
                            "{n}: refused at {}, but its error is at {want}",
                            paths.join(", ")
                        ));
                    }
                }
            }
        }
    }
    for n in listed.keys() {
        if !bad.iter().any(|f| name(f) == *n) {
            problems.push(format!("{n}: listed, but no such bad config"));
        }
    }
    assert!(
        problems.is_empty(),
        "the schema rejects {rejected} of the {expressible} bad configs whose error it can express ({} listed as not expressible, {} files):\n{}",
        listed.len(),
        bad.len(),
        problems.join("\n")
    );
    println!(
        "the schema rejects {rejected} of {expressible} expressible bad configs; {} not expressible",
        listed.len()
    );
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema = netdx::suite::schema::schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("not a valid schema: {e} at {}", e.instance_path());
    }
}

/// Editors show a key's description on hover: every property of every object the schema
/// describes has one. Rules (`if`/`then`, `not`, `contains`) name keys only to constrain them.
#[test]
fn every_property_in_the_schema_has_a_description() {
    const RULES: [&str; 6] = ["if", "then", "else", "not", "contains", "dependentSchemas"];
    fn walk(v: &Value, at: &str, missing: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::Object(props)) = o.get("properties") {
                    for (k, p) in props {
                        let described = p
                            .get("description")
                            .and_then(Value::as_str)
                            .is_some_and(|d| !d.trim().is_empty());
                        if !described {
                            missing.push(format!("{at}/properties/{k}"));
                        }
                    }
                }
                for (k, child) in o {
                    if !RULES.contains(&k.as_str()) {
                        walk(child, &format!("{at}/{k}"), missing);
                    }
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), missing);
                }
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    walk(&netdx::suite::schema::schema(), "#", &mut missing);
    assert!(
        missing.is_empty(),
        "{} properties without a description:\n{}",
        missing.len(),
        missing.join("\n")
    );
}
