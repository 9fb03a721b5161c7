//! `netdx schema`: a JSON Schema (draft 2020-12) of the suite format, for editors (e.g. the
//! YAML language server's `# yaml-language-server: $schema=…`). The check list and each check's
//! parameters come from the check registry, so the schema cannot miss a check. Every number's
//! bounds come from the declared ranges (`config::ranges`), which validation enforces: a test
//! compares the two.

use serde_json::{json, Map, Value};

use crate::checks::catalogue;
use crate::config::ranges;

/// The schema of the parameter `pattern` from its declared range (a plain number where none
/// is declared).
fn range(pattern: &str) -> Value {
    ranges::find(pattern).map_or_else(number, |r| r.schema())
}

/// A square size (3) or [height, width], each in the range of `pattern`.
fn size2(pattern: &str) -> Value {
    json!({"oneOf": [
        range(pattern),
        {"type": "array", "items": range(pattern), "minItems": 2, "maxItems": 2},
    ]})
}

fn number() -> Value {
    json!({"type": "number"})
}

fn integer() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// `schema` with a description.
fn described(mut schema: Value, description: &str) -> Value {
    if let Some(o) = schema.as_object_mut() {
        o.insert("description".into(), json!(description));
    }
    schema
}

fn strict(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": properties, "required": required})
}

fn type_of(v: &Value) -> Value {
    match v {
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_u64() => integer(),
        Value::Number(_) => number(),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(_) => json!({"type": "array"}),
        _ => json!({}),
    }
}

fn checks() -> Value {
    let mut variants = Vec::new();
    let names: Vec<&str> = catalogue().iter().map(|c| c.name).collect();
    variants.push(json!({"enum": names}));
    for c in catalogue() {
        let mut props = Map::new();
        if let Some(defaults) = c.defaults.as_object() {
            for p in c.params {
                let default = defaults.get(p.name).unwrap_or(&Value::Null);
                let mut t = match default {
                    Value::Number(_) => range(&format!("checks[].{}.{}", c.name, p.name)),
                    _ => type_of(default),
                };
                if let Some(o) = t.as_object_mut() {
                    o.insert("description".into(), json!(p.doc));
                    o.insert(
                        "default".into(),
                        defaults.get(p.name).cloned().unwrap_or(Value::Null),
                    );
                }
                props.insert(p.name.to_string(), t);
            }
        }
        variants.push(json!({
            "type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
            "description": c.summary,
            "properties": {c.name: {"type": ["object", "null"], "additionalProperties": false, "properties": props}},
        }));
    }
    json!({"type": "array", "items": {"oneOf": variants}})
}

fn layer() -> Value {
    let init = json!({"$ref": "#/$defs/init"});
    // Every layer name usable alone (a linear layer needs its width, a wgsl layer its file).
    let names: Vec<&str> = crate::model::LAYER_NAMES
        .iter()
        .copied()
        .filter(|n| {
            !matches!(
                *n,
                "linear"
                    | "wgsl"
                    | "conv2d"
                    | "max_pool2d"
                    | "avg_pool2d"
                    | "residual"
                    | "embedding"
                    | "position"
                    | "attention"
            )
        })
        .collect();
    // Layers nest inside residual blocks: they refer to this definition by `$ref`.
    let layers = json!({"type": "array", "items": {"$ref": "#/$defs/layer"}, "minItems": 1});
    let wgsl = json!({"oneOf": [
        {"type": "string"},
        strict(json!({
            "file": {"type": "string"},
            "params": {"type": "object", "additionalProperties": number()},
            "kinks": {"type": "array", "items": number()},
            "range": {"type": "array", "items": number(), "minItems": 2, "maxItems": 2},
        }), &["file"]),
    ]});
    let pool = |name: &str| {
        strict(
            json!({
                "kernel": size2(&format!("layer.{name}.kernel")),
                "stride": size2(&format!("layer.{name}.stride")),
                "padding": range(&format!("layer.{name}.padding")),
            }),
            &["kernel"],
        )
    };
    let r = |pattern: &str| range(&format!("layer.{pattern}"));
    json!({"oneOf": [
        {"enum": names},
        strict(json!({"linear": strict(json!({"out": r("linear.out"), "in": r("linear.in"), "init": init, "bias": r("linear.bias")}), &["out"])}), &["linear"]),
        strict(json!({"leaky_relu": strict(json!({"slope": r("leaky_relu.slope")}), &[])}), &["leaky_relu"]),
        strict(json!({"batch_norm": strict(json!({"eps": r("batch_norm.eps"), "momentum": r("batch_norm.momentum")}), &[])}), &["batch_norm"]),
        strict(json!({"dropout": strict(json!({"rate": r("dropout.rate")}), &[])}), &["dropout"]),
        strict(json!({"wgsl": wgsl}), &["wgsl"]),
        strict(json!({"conv2d": strict(json!({
            "out": r("conv2d.out"), "kernel": size2("layer.conv2d.kernel"), "stride": r("conv2d.stride"),
            "padding": r("conv2d.padding"), "dilation": r("conv2d.dilation"), "init": init, "bias": r("conv2d.bias"),
        }), &["out", "kernel"])}), &["conv2d"]),
        strict(json!({"max_pool2d": pool("max_pool2d")}), &["max_pool2d"]),
        strict(json!({"avg_pool2d": pool("avg_pool2d")}), &["avg_pool2d"]),
        strict(json!({"residual": {"oneOf": [
            layers.clone(),
            strict(json!({"layers": layers, "projection": {"enum": ["linear"]}}), &["layers"]),
        ]}}), &["residual"]),
        strict(json!({"layer_norm": {"oneOf": [
            {"type": "null"},
            strict(json!({"eps": r("layer_norm.eps"), "affine": {"type": "boolean"}}), &[]),
        ]}}), &["layer_norm"]),
        strict(json!({"embedding": strict(json!({"vocab": r("embedding.vocab"), "dim": r("embedding.dim"), "init": init}), &["vocab", "dim"])}), &["embedding"]),
        strict(json!({"position": strict(json!({"max_len": r("position.max_len"), "init": init}), &["max_len"])}), &["position"]),
        strict(json!({"attention": strict(json!({
            "heads": r("attention.heads"), "causal": {"type": "boolean"},
            "dropout": r("attention.dropout"),
        }), &["heads"])}), &["attention"]),
    ]})
}

/// A layer's weight init: a name, or a distribution with its parameters.
fn init() -> Value {
    json!({"oneOf": [
        {"enum": ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "zeros"]},
        strict(json!({"normal": strict(json!({"std": range("init.normal.std")}), &["std"])}), &["normal"]),
        strict(json!({"uniform": strict(json!({"low": range("init.uniform.low"), "high": range("init.uniform.high")}), &["low", "high"])}), &["uniform"]),
    ]})
}

/// The schema as a JSON value.
pub fn schema() -> Value {
    let loss_names =
        json!({"enum": ["softmax_cross_entropy", "binary_cross_entropy", "mse", "focal"]});
    let schedule_names = json!({"enum": ["constant", "step", "exponential", "cosine"]});
    let string = json!({"type": "string"});
    let npy = strict(json!({"x": string, "y": string}), &["x", "y"]);
    let csv = strict(
        json!({
            "path": string, "label": string,
            "task": {"enum": ["classification", "regression"]},
        }),
        &["path"],
    );
    let named_pair = strict(json!({"path": string, "x": string, "y": string}), &["path"]);
    let idx = strict(
        json!({"images": string, "labels": string}),
        &["images", "labels"],
    );
    // Sequence data: a text file cut into windows, or an integer token array [n, context + 1].
    let text = strict(
        json!({
            "path": string,
            "context": described(range("data.text.context"), "tokens per example"),
            "stride": described(range("data.text.stride"), "tokens between window starts (default: context)"),
            "level": {"enum": ["char", "byte"], "description": "char (default; UTF-8, vocabulary the file's characters) or byte (vocabulary 256)"},
        }),
        &["path", "context"],
    );
    let tokens = strict(
        json!({
            "path": {"type": "string", "description": ".npy, .npz or .safetensors"},
            "array": {"type": "string", "description": "the array of an NPZ or safetensors file (optional when it holds one)"},
            "vocab": described(range("data.tokens.vocab"), "vocabulary size (default: the largest id + 1)"),
        }),
        &["path"],
    );
    let file_source = json!({"oneOf": [
        strict(json!({"csv": csv}), &["csv"]),
        strict(json!({"npy": npy}), &["npy"]),
        strict(json!({"npz": named_pair}), &["npz"]),
        strict(json!({"idx": idx}), &["idx"]),
        strict(json!({"safetensors": named_pair}), &["safetensors"]),
        strict(json!({"text": text}), &["text"]),
        strict(json!({"tokens": tokens}), &["tokens"]),
    ]});
    let builtin = json!({"enum": [
        "spiral", "blobs", "xor", "regression", "shapes",
        "copy", "reverse", "sort", "modular_addition",
    ]});
    let length = described(
        range("data.length"),
        "copy, reverse, sort: symbols per operand (default 8; the context is twice this)",
    );
    let symbols = described(
        range("data.symbols"),
        "copy, reverse, sort: alphabet size (default 10; the vocabulary adds a separator)",
    );
    let modulus = described(
        range("data.modulus"),
        "modular_addition: the modulus p (default 23; the vocabulary is p + 2)",
    );
    let d = |k: &str| range(&format!("data.{k}"));
    let generated = json!({
        "builtin": builtin,
        "classes": d("classes"), "points_per_class": d("points_per_class"), "points": d("points"), "dims": d("dims"),
        "size": d("size"), "noise": d("noise"), "seed": integer(),
        "length": length, "symbols": symbols, "modulus": modulus,
    });
    let data = strict(
        json!({
            "builtin": builtin,
            "fallback": strict(generated, &["builtin"]),
            "npy": npy, "csv": csv, "npz": named_pair, "idx": idx, "safetensors": named_pair,
            "text": text, "tokens": tokens,
            "length": length, "symbols": symbols, "modulus": modulus,
            "validation": {"oneOf": [
                {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                file_source,
            ]},
            "normalize": {"oneOf": [
                {"enum": ["none", "standardize", "minmax"]},
                strict(json!({"scale": d("normalize.scale")}), &["scale"]),
            ]},
            "classes": d("classes"), "points_per_class": d("points_per_class"), "points": d("points"), "dims": d("dims"),
            "size": d("size"), "noise": d("noise"), "seed": integer(), "scale": d("scale"), "offset": d("offset"),
            "shuffle_labels": {"type": "boolean"},
        }),
        &[],
    );
    let t = |k: &str| range(&format!("training.{k}"));
    let optimizer = strict(
        json!({
            "name": {"enum": ["sgd", "momentum", "nesterov", "adam", "adamw"]},
            "lr": t("optimizer.lr"),
            "momentum": t("optimizer.momentum"), "nesterov": {"type": "boolean"},
            "beta1": t("optimizer.beta1"), "beta2": t("optimizer.beta2"), "eps": t("optimizer.eps"),
        }),
        &["name", "lr"],
    );
    let training = strict(
        json!({
            "optimizer": optimizer,
            "batch_size": t("batch_size"),
            "steps": t("steps"),
            "l2": t("l2"), "weight_decay": t("weight_decay"),
            "clip": strict(json!({"norm": t("clip.norm"), "value": t("clip.value")}), &[]),
            "schedule": {"oneOf": [schedule_names.clone(), strict(json!({
                "name": schedule_names, "warmup_steps": t("schedule.warmup_steps"), "step_size": t("schedule.step_size"),
                "gamma": t("schedule.gamma"), "min_lr": t("schedule.min_lr"),
            }), &["name"])]},
            "shuffle": {"type": "boolean"},
            "on_nonfinite": {"enum": ["stop", "continue"]},
            "track_every": t("track_every"),
        }),
        &["optimizer", "batch_size", "steps"],
    );
    let user_loss = json!({"oneOf": [
        {"type": "string"},
        strict(json!({
            "file": {"type": "string"},
            "targets": {"enum": ["classes", "values"]},
            "params": {"type": "object", "additionalProperties": number()},
            "range": {"type": "array", "items": number(), "minItems": 2, "maxItems": 2},
        }), &["file"]),
    ]});
    let loss = json!({"oneOf": [
        loss_names.clone(),
        strict(json!({
            "name": loss_names, "class_weights": {"type": "array", "items": range("loss.class_weights[]")}, "pos_weight": range("loss.pos_weight"),
            "gamma": range("loss.gamma"), "alpha": range("loss.alpha"),
        }), &["name"]),
        strict(json!({"wgsl": user_loss}), &["wgsl"]),
    ]});
    let fault = strict(
        json!({
            "kind": {"enum": ["flip_gradient_sign", "scale_gradient", "zero_gradient", "skip_update", "corrupt_output", "mix_batch", "lose_device"]},
            "layer": integer(), "factor": number(), "step": range("faults[].step"),
        }),
        &["kind"],
    );
    let mut root = strict(
        json!({
            "name": {"type": "string"},
            "seed": integer(),
            "data": data,
            "model": strict(json!({"input": range("model.input"), "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 3, "maxItems": 3}, "layers": {"type": "array", "items": {"$ref": "#/$defs/layer"}, "minItems": 1}, "weights": {"type": "string"}}), &["layers"]),
            "loss": loss,
            "training": training,
            "checks": checks(),
            "faults": {"type": "array", "items": fault},
            "cases": {"type": "array", "items": strict(json!({"name": {"type": "string"}, "set": {"type": "object"}}), &["name"])},
            "matrix": {"type": "object", "additionalProperties": {"type": "array", "minItems": 1}},
        }),
        &["data", "model", "training"],
    );
    if let Some(o) = root.as_object_mut() {
        o.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        o.insert("title".into(), json!("netdx suite"));
        o.insert("$defs".into(), json!({"layer": layer(), "init": init()}));
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// Every key a parsed config has is described by the schema (the schema cannot fall behind
    /// the config structs).
    #[test]
    fn the_schema_covers_every_config_key() {
        let text = include_str!("../../configs/examples/diagnose_parameters.yaml");
        let config = Config::parse(text, std::path::Path::new("x.yaml")).unwrap();
        let value = serde_json::to_value(&config).unwrap();
        let s = schema();
        let check = |section: &str, v: &Value, props: &Value| {
            for key in v.as_object().unwrap().keys() {
                assert!(props.get(key).is_some(), "schema lacks {section}.{key}");
            }
        };
        check("", &value, &s["properties"]);
        check(
            "training",
            &value["training"],
            &s["properties"]["training"]["properties"],
        );
        check(
            "training.optimizer",
            &value["training"]["optimizer"],
            &s["properties"]["training"]["properties"]["optimizer"]["properties"],
        );
        check(
            "data",
            &value["data"],
            &s["properties"]["data"]["properties"],
        );
        let check_names = s["properties"]["checks"]["items"]["oneOf"][0]["enum"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(check_names, catalogue().len());
    }

    /// The node of the schema that describes the parameter `pattern` (see `config::ranges`).
    fn node<'a>(s: &'a Value, pattern: &str) -> Option<&'a Value> {
        let resolve = |v: &'a Value| -> &'a Value {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => &s["$defs"][r.trim_start_matches("#/$defs/")],
                None => v,
            }
        };
        let (mut cur, rest) = if let Some(rest) = pattern.strip_prefix("layer.") {
            (&s["$defs"]["layer"], rest)
        } else if let Some(rest) = pattern.strip_prefix("init.") {
            (&s["$defs"]["init"], rest)
        } else {
            (s, pattern)
        };
        for seg in rest.split('.') {
            let (name, items) = match seg.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (seg, false),
            };
            let here = resolve(cur);
            let alternatives: Vec<&Value> = match here.get("oneOf").and_then(Value::as_array) {
                Some(a) => a.iter().map(resolve).collect(),
                None => vec![here],
            };
            cur = alternatives
                .iter()
                .find_map(|a| a.get("properties").and_then(|p| p.get(name)))?;
            if items {
                cur = resolve(cur).get("items")?;
            }
        }
        Some(resolve(cur))
    }

    /// The schema's bounds of every parameter are its declared range: what `validate`
    /// refuses, an editor marks.
    #[test]
    fn the_schema_bounds_are_the_declared_ranges() {
        let s = schema();
        let bounds = [
            "type",
            "minimum",
            "exclusiveMinimum",
            "maximum",
            "exclusiveMaximum",
        ];
        for r in ranges::RANGES {
            let leaf = node(&s, r.key).unwrap_or_else(|| panic!("the schema lacks {}", r.key));
            // A size is a number or [height, width]: both forms carry the range.
            let forms: Vec<&Value> = match leaf.get("oneOf").and_then(Value::as_array) {
                Some(a) => a.iter().map(|f| f.get("items").unwrap_or(f)).collect(),
                None => vec![leaf],
            };
            let want = r.schema();
            for form in forms {
                for b in bounds {
                    assert_eq!(form.get(b), want.get(b), "{}: `{b}`", r.key);
                }
            }
        }
        // The data fallback shares the data section's ranges.
        let fallback = &s["properties"]["data"]["properties"]["fallback"]["properties"];
        assert_eq!(fallback["noise"], range("data.noise"));
        assert_eq!(fallback["points"], range("data.points"));
    }
}
