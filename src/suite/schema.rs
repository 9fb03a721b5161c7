//! `netdx schema`: a JSON Schema (draft 2020-12) of the suite format, for editors (e.g. the
//! YAML language server's `# yaml-language-server: $schema=…`). The check list and each check's
//! parameters come from the check registry, so the schema cannot miss a check.

use serde_json::{json, Map, Value};

use crate::checks::catalogue;

fn number() -> Value {
    json!({"type": "number"})
}

fn integer() -> Value {
    json!({"type": "integer", "minimum": 0})
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
                let mut t = type_of(defaults.get(p.name).unwrap_or(&Value::Null));
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
    let init = json!({"oneOf": [
        {"enum": ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "zeros"]},
        strict(json!({"normal": strict(json!({"std": number()}), &["std"])}), &["normal"]),
        strict(json!({"uniform": strict(json!({"low": number(), "high": number()}), &["low", "high"])}), &["uniform"]),
    ]});
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
    // A square size (3) or [height, width].
    let size2 = json!({"oneOf": [
        integer(),
        {"type": "array", "items": integer(), "minItems": 2, "maxItems": 2},
    ]});
    let pool = strict(
        json!({"kernel": size2.clone(), "stride": size2.clone(), "padding": integer()}),
        &["kernel"],
    );
    json!({"oneOf": [
        {"enum": names},
        strict(json!({"linear": strict(json!({"out": integer(), "in": integer(), "init": init, "bias": number()}), &["out"])}), &["linear"]),
        strict(json!({"leaky_relu": strict(json!({"slope": number()}), &[])}), &["leaky_relu"]),
        strict(json!({"batch_norm": strict(json!({"eps": number(), "momentum": number()}), &[])}), &["batch_norm"]),
        strict(json!({"dropout": strict(json!({"rate": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}}), &[])}), &["dropout"]),
        strict(json!({"wgsl": wgsl}), &["wgsl"]),
        strict(json!({"conv2d": strict(json!({
            "out": integer(), "kernel": size2.clone(), "stride": integer(), "padding": integer(),
            "dilation": integer(), "init": init, "bias": number(),
        }), &["out", "kernel"])}), &["conv2d"]),
        strict(json!({"max_pool2d": pool.clone()}), &["max_pool2d"]),
        strict(json!({"avg_pool2d": pool}), &["avg_pool2d"]),
        strict(json!({"residual": {"oneOf": [
            layers.clone(),
            strict(json!({"layers": layers, "projection": {"enum": ["linear"]}}), &["layers"]),
        ]}}), &["residual"]),
        strict(json!({"layer_norm": {"oneOf": [
            {"type": "null"},
            strict(json!({"eps": {"type": "number", "exclusiveMinimum": 0}, "affine": {"type": "boolean"}}), &[]),
        ]}}), &["layer_norm"]),
        strict(json!({"embedding": strict(json!({"vocab": integer(), "dim": integer(), "init": init}), &["vocab", "dim"])}), &["embedding"]),
        strict(json!({"position": strict(json!({"max_len": integer(), "init": init}), &["max_len"])}), &["position"]),
        strict(json!({"attention": strict(json!({
            "heads": integer(), "causal": {"type": "boolean"},
            "dropout": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
        }), &["heads"])}), &["attention"]),
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
            "context": {"type": "integer", "minimum": 1, "description": "tokens per example"},
            "stride": {"type": "integer", "minimum": 1, "description": "tokens between window starts (default: context)"},
            "level": {"enum": ["char", "byte"], "description": "char (default; UTF-8, vocabulary the file's characters) or byte (vocabulary 256)"},
        }),
        &["path", "context"],
    );
    let tokens = strict(
        json!({
            "path": {"type": "string", "description": ".npy, .npz or .safetensors"},
            "array": {"type": "string", "description": "the array of an NPZ or safetensors file (optional when it holds one)"},
            "vocab": {"type": "integer", "minimum": 1, "description": "vocabulary size (default: the largest id + 1)"},
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
    let length = json!({"type": "integer", "minimum": 1, "description": "copy, reverse, sort: symbols per operand (default 8; the context is twice this)"});
    let symbols = json!({"type": "integer", "minimum": 1, "description": "copy, reverse, sort: alphabet size (default 10; the vocabulary adds a separator)"});
    let modulus = json!({"type": "integer", "minimum": 1, "description": "modular_addition: the modulus p (default 23; the vocabulary is p + 2)"});
    let generated = json!({
        "builtin": builtin,
        "classes": integer(), "points_per_class": integer(), "points": integer(), "dims": integer(),
        "size": integer(), "noise": number(), "seed": integer(),
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
                strict(json!({"scale": number()}), &["scale"]),
            ]},
            "classes": integer(), "points_per_class": integer(), "points": integer(), "dims": integer(),
            "size": integer(), "noise": number(), "seed": integer(), "scale": number(), "offset": number(),
            "shuffle_labels": {"type": "boolean"},
        }),
        &[],
    );
    let optimizer = strict(
        json!({
            "name": {"enum": ["sgd", "momentum", "nesterov", "adam", "adamw"]},
            "lr": {"type": "number", "exclusiveMinimum": 0},
            "momentum": number(), "nesterov": {"type": "boolean"},
            "beta1": number(), "beta2": number(), "eps": number(),
        }),
        &["name", "lr"],
    );
    let training = strict(
        json!({
            "optimizer": optimizer,
            "batch_size": {"type": "integer", "minimum": 1},
            "steps": {"type": "integer", "minimum": 1},
            "l2": number(), "weight_decay": number(),
            "clip": strict(json!({"norm": number(), "value": number()}), &[]),
            "schedule": {"oneOf": [schedule_names.clone(), strict(json!({
                "name": schedule_names, "warmup_steps": integer(), "step_size": integer(),
                "gamma": number(), "min_lr": number(),
            }), &["name"])]},
            "shuffle": {"type": "boolean"},
            "on_nonfinite": {"enum": ["stop", "continue"]},
            "track_every": {"type": "integer", "minimum": 1},
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
            "name": loss_names, "class_weights": {"type": "array", "items": number()}, "pos_weight": number(),
            "gamma": number(), "alpha": number(),
        }), &["name"]),
        strict(json!({"wgsl": user_loss}), &["wgsl"]),
    ]});
    let fault = strict(
        json!({
            "kind": {"enum": ["flip_gradient_sign", "scale_gradient", "zero_gradient", "skip_update", "corrupt_output", "mix_batch", "lose_device"]},
            "layer": integer(), "factor": number(), "step": integer(),
        }),
        &["kind"],
    );
    let mut root = strict(
        json!({
            "name": {"type": "string"},
            "seed": integer(),
            "data": data,
            "model": strict(json!({"input": integer(), "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 3, "maxItems": 3}, "layers": {"type": "array", "items": {"$ref": "#/$defs/layer"}, "minItems": 1}, "weights": {"type": "string"}}), &["layers"]),
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
        o.insert("$defs".into(), json!({"layer": layer()}));
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
}
