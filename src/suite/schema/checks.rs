//! The `checks:` list, from the check registry: each check by name, or as a one-key map of
//! its documented parameters, with their defaults and declared ranges.

use serde_json::{json, Map, Value};

use super::{boolean, described, number, range, string, whole};
use crate::checks::catalogue;
use crate::config::check_params;

/// The schema of a parameter with no declared range, from its default.
fn type_of(default: &Value) -> Value {
    match default {
        Value::Bool(_) => boolean(),
        Value::Number(n) if n.is_u64() => whole(),
        Value::Number(_) => number(),
        Value::String(_) => string(),
        Value::Array(_) => json!({"type": "array"}),
        _ => json!({}),
    }
}

pub(super) fn checks() -> Value {
    let names: Vec<&str> = catalogue().iter().map(|c| c.name).collect();
    let mut variants = vec![json!({"enum": names})];
    for c in catalogue() {
        let mut props = Map::new();
        if let Some(defaults) = c.defaults.as_object() {
            for p in c.params {
                let default = defaults.get(p.name).unwrap_or(&Value::Null);
                let mut t = match default {
                    Value::Number(_) => range(&format!("checks[].{}.{}", c.name, p.name)),
                    // `grow` runs checks by name.
                    Value::Array(_) if c.name == check_params::grow::NAME => {
                        json!({"type": "array", "items": {"enum": names}})
                    }
                    _ => type_of(default),
                };
                t["default"] = default.clone();
                props.insert(p.name.to_string(), described(t, p.doc));
            }
        }
        let params =
            json!({"type": ["object", "null"], "additionalProperties": false, "properties": props});
        variants.push(json!({
            "type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
            "properties": {c.name: described(params, c.summary)},
        }));
    }
    described(
        json!({"type": "array", "items": {"oneOf": variants}}),
        "the checks `netdx run` performs, each a name or {name: {parameters}} (default: all; `netdx checks` lists them)",
    )
}
