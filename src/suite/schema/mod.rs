//! `netdx schema`: a JSON Schema (draft 2020-12) of the suite format, for editors (e.g. the
//! YAML language server's `# yaml-language-server: $schema=…`), as strict as `netdx validate`
//! wherever a schema can say it: every number's bounds are its declared range
//! (`config::ranges`, which validation enforces; a test compares the two), names are enums,
//! unknown keys are refused, the data section takes exactly one source and only the keys that
//! apply to it, and the rules that compare a value with a constant are `if`/`then` rules. What a
//! schema cannot say — widths through the layers, files on disk, one value against another — is
//! listed with the reason in `tests/schema.rs`, which runs the schema over the bad-config
//! corpus. The check list and each check's parameters come from the check registry, so the
//! schema cannot miss a check. Every key has a description: editors show it.
//!
//! This module only builds JSON: it must not parse or validate configs.

mod checks;
mod data;
mod model;
mod rules;
mod training;
mod variants;

use serde_json::{json, Value};

use crate::config::ranges;

/// The schema of the parameter `pattern` from its declared range (a plain number where none
/// is declared).
fn range(pattern: &str) -> Value {
    ranges::find(pattern).map_or_else(number, |r| r.schema())
}

/// The parameter `pattern` with its description: `what`, then its range in words.
fn param(pattern: &str, what: &str) -> Value {
    match ranges::find(pattern) {
        Some(r) => described(r.schema(), &format!("{what} ({})", r.describe())),
        None => described(number(), what),
    }
}

/// A square size (3) or [height, width], each in the range of `pattern`.
fn size2(pattern: &str, what: &str) -> Value {
    let words = ranges::find(pattern)
        .map(|r| r.describe())
        .unwrap_or_default();
    described(
        json!({"oneOf": [
            range(pattern),
            {"type": "array", "items": range(pattern), "minItems": 2, "maxItems": 2},
        ]}),
        &format!("{what}: a square size (3) or [height, width], each {words}"),
    )
}

fn number() -> Value {
    json!({"type": "number"})
}

/// A whole number from 0 (seeds, indices).
fn whole() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

/// `schema` with a description (what an editor shows for the key).
fn described(mut schema: Value, description: &str) -> Value {
    if let Some(o) = schema.as_object_mut() {
        o.insert("description".into(), json!(description));
    }
    schema
}

/// An object of exactly these keys (`validate` refuses any other, naming the nearest).
fn strict(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": properties, "required": required})
}

/// `schema` with `rules` as its `allOf`: subschemas every value must also satisfy.
fn with_rules(mut schema: Value, rules: Vec<Value>) -> Value {
    if let Some(o) = schema.as_object_mut() {
        o.insert("allOf".into(), Value::Array(rules));
    }
    schema
}

/// The schema as a JSON value.
pub fn schema() -> Value {
    let mut root = strict(
        json!({
            "name": described(string(), "a name for reports (default: the file name)"),
            "seed": described(whole(), "seeds weight init, data generation, batch order and dropout masks (default 0)"),
            "data": data::data(),
            "model": model::model(),
            "loss": training::loss(),
            "training": training::training(),
            "checks": checks::checks(),
            "faults": training::faults(),
        }),
        &["data", "model", "training"],
    );
    // Cases and matrix name the keys above by their dotted paths.
    let (cases, matrix) = variants::cases_and_matrix(&root);
    if let Some(p) = root["properties"].as_object_mut() {
        p.insert("cases".into(), cases);
        p.insert("matrix".into(), matrix);
    }
    let mut root = with_rules(root, rules::between_sections());
    if let Some(o) = root.as_object_mut() {
        o.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        o.insert("title".into(), json!("netdx suite"));
        let mut defs = json!({"layer": model::layer(), "init": model::init()});
        for (name, def) in rules::layer_groups() {
            defs[name] = def;
        }
        o.insert("$defs".into(), defs);
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalogue;
    use crate::config::Config;

    /// Every key a parsed config has is described by the schema (the schema cannot fall behind
    /// the config structs).
    #[test]
    fn the_schema_covers_every_config_key() {
        let text = include_str!("../../../configs/examples/diagnose_parameters.yaml");
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
        for key in ["noise", "points"] {
            let want = range(&format!("data.{key}"));
            for b in bounds {
                assert_eq!(
                    fallback[key].get(b),
                    want.get(b),
                    "data.fallback.{key}: `{b}`"
                );
            }
        }
    }
}
