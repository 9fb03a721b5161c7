//! `cases:` and `matrix:` override keys by their dotted paths (`training.optimizer.lr`). The
//! paths are those of the rest of the schema: each value is checked by the schema of its key
//! (a `$ref` to it), and a path no map leads to — a typo, or one through a value
//! (`training.steps.x`) — is refused, as `validate` refuses it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{described, strict, string};

/// Where paths lead: each path to the pointers of the schemas that describe it (several where
/// alternatives of a `oneOf` share a key), and the maps that take any key (a loss's `params`).
#[derive(Default)]
struct Paths {
    keys: BTreeMap<String, Vec<String>>,
    free: Vec<(String, String)>,
}

/// A key as a segment of a JSON pointer.
fn escaped(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Collects the paths below `schema`, which sits at `pointer` and is reached by `prefix`.
fn walk(schema: &Value, pointer: &str, prefix: &str, out: &mut Paths) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (key, sub) in props {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let at = format!("{pointer}/properties/{}", escaped(key));
            walk(sub, &at, &path, out);
            out.keys.entry(path).or_default().push(at);
        }
    }
    if schema
        .get("additionalProperties")
        .is_some_and(Value::is_object)
        && !prefix.is_empty()
    {
        out.free.push((
            prefix.to_string(),
            format!("{pointer}/additionalProperties"),
        ));
    }
    // Only the alternatives of a key: `if`/`then` rules constrain, they add no keys.
    for alternatives in ["oneOf", "anyOf"] {
        if let Some(a) = schema.get(alternatives).and_then(Value::as_array) {
            for (i, sub) in a.iter().enumerate() {
                walk(sub, &format!("{pointer}/{alternatives}/{i}"), prefix, out);
            }
        }
    }
}

/// A regular expression matching the keys of the free map at `prefix`.
fn keys_below(prefix: &str) -> String {
    let literal: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect();
    format!("^{literal}\\.[^.]+$")
}

/// The schemas of `cases` and `matrix`, whose paths lead into `root` (which has neither yet).
pub(super) fn cases_and_matrix(root: &Value) -> (Value, Value) {
    let mut paths = Paths::default();
    walk(root, "#", "", &mut paths);
    let mut set = Map::new();
    let mut matrix = Map::new();
    for (path, pointers) in &paths.keys {
        let value = match pointers.as_slice() {
            [one] => json!({"$ref": one}),
            many => json!({"anyOf": many.iter().map(|p| json!({"$ref": p})).collect::<Vec<_>>()}),
        };
        let about = pointers
            .iter()
            .find_map(|p| root.pointer(&p[1..])?.get("description")?.as_str())
            .unwrap_or("");
        set.insert(
            path.clone(),
            described(value.clone(), &format!("`{path}` in this case: {about}")),
        );
        matrix.insert(
            path.clone(),
            described(
                json!({"type": "array", "minItems": 1, "items": value}),
                &format!("values of `{path}`, a variant each: {about}"),
            ),
        );
    }
    let mut free_set = Map::new();
    let mut free_matrix = Map::new();
    for (prefix, pointer) in &paths.free {
        free_set.insert(keys_below(prefix), json!({"$ref": pointer}));
        free_matrix.insert(
            keys_below(prefix),
            json!({"type": "array", "minItems": 1, "items": {"$ref": pointer}}),
        );
    }
    let known: Vec<&String> = paths.keys.keys().collect();
    let mut names = vec![json!({"enum": known})];
    names.extend(
        paths
            .free
            .iter()
            .map(|(p, _)| json!({"pattern": keys_below(p)})),
    );
    let names = json!({"anyOf": names});
    let case = strict(
        json!({
            "name": described(string(), "the case's name in reports (unique among the cases)"),
            "set": described(
                json!({"type": "object", "properties": set, "patternProperties": free_set, "propertyNames": names}),
                "dotted key path → value, applied to the suite ({training.optimizer.lr: 0.001})",
            ),
        }),
        &["name"],
    );
    let cases = described(
        json!({"type": "array", "items": case}),
        "named variants of the suite, each overriding keys by their dotted paths; a suite with cases or a matrix runs only its variants",
    );
    let matrix = described(
        json!({
            "type": "object", "properties": matrix, "patternProperties": free_matrix, "propertyNames": names,
        }),
        "dotted key path → values; every combination of values is a variant",
    );
    (cases, matrix)
}
