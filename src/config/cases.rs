//! Variants of one suite: `cases:` lists named overrides, `matrix:` the cartesian product of
//! values per key. An override names a key by its dotted path in the YAML
//! (`training.optimizer.lr`); each variant is the base file with its overrides applied, parsed
//! and validated like a file of its own.
//!
//! ```yaml
//! cases:
//!   - {name: high_lr, set: {training.optimizer.lr: 1.0}}
//! matrix:
//!   training.optimizer.lr: [0.01, 0.1]
//!   training.batch_size: [32, 100]
//! ```
//! A suite with either runs only its variants (the explicit cases, then the matrix product).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

use super::Config;
use crate::error::{Error, Result};

/// One named variant.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    pub name: String,
    /// Dotted key path → value.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
}

/// Every variant of the suite in `text` as (name, config); the base alone (with an empty name)
/// when the suite defines no cases or matrix.
pub fn expand(text: &str, path: &Path, base: &Config) -> Result<Vec<(String, Config)>> {
    if base.cases.is_empty() && base.matrix.is_empty() {
        return Ok(vec![(String::new(), base.clone())]);
    }
    let text = super::strip_bom(text);
    let bad = |key: String, message: String| Error::ConfigValue {
        file: path.to_path_buf(),
        key,
        message,
    };
    let mut root: Value =
        serde_yaml::from_str(text).map_err(|e| bad("(suite)".into(), e.to_string()))?;
    if let Value::Mapping(m) = &mut root {
        m.remove("cases");
        m.remove("matrix");
    }
    let mut variants: Vec<CaseSpec> = base.cases.clone();
    let mut combos: Vec<Vec<(String, Value)>> = vec![Vec::new()];
    for (key, values) in &base.matrix {
        if values.is_empty() {
            let at = section(text, "matrix")
                .and_then(|m| text[m..].find(&format!("{key}:")).map(|i| m + i));
            return Err(placed(
                text,
                path,
                at,
                format!("matrix.{key}"),
                "needs at least one value".into(),
            ));
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((key.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    if !base.matrix.is_empty() {
        for combo in combos {
            let name = combo
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        serde_yaml::to_string(v).unwrap_or_default().trim()
                    )
                })
                .collect::<Vec<_>>()
                .join(",");
            variants.push(CaseSpec {
                name,
                set: combo.into_iter().collect(),
            });
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for case in variants {
        if !seen.insert(case.name.clone()) {
            // The second case of the name is the one to rename.
            let at = section(text, "cases").and_then(|c| {
                let needle = format!("name: {}", case.name);
                let first = c + text[c..].find(&needle)?;
                let second = first + 1 + text[first + 1..].find(&needle)?;
                Some(second + "name: ".len())
            });
            return Err(placed(
                text,
                path,
                at.or_else(|| variant_at(text, &case, None)),
                format!("cases[{}]", case.name),
                "two cases have this name".into(),
            ));
        }
        let mut v = root.clone();
        for (key, value) in &case.set {
            set_path(&mut v, key, value.clone()).map_err(|m| {
                placed(
                    text,
                    path,
                    variant_at(text, &case, Some(key)),
                    format!("cases[{}].set.{key}", case.name),
                    m,
                )
            })?;
        }
        let parsed =
            crate::kernels::user::with_base_dir(&base.base_dir, || serde_yaml::from_value(v));
        let mut config: Config = parsed.map_err(|e| {
            placed(
                text,
                path,
                variant_at(text, &case, None),
                format!("cases[{}]", case.name),
                super::with_suggestion(&e.to_string()),
            )
        })?;
        config.base_dir = base.base_dir.clone();
        config
            .validate(path)
            .map_err(|e| case_error(text, path, &case, e))?;
        out.push((case.name, config));
    }
    Ok(out)
}

/// The byte offset of the section `name:` (`cases`, `matrix`) at the start of a line.
fn section(text: &str, name: &str) -> Option<usize> {
    let head = format!("{name}:");
    if text.starts_with(&head) {
        return Some(0);
    }
    text.find(&format!("\n{head}")).map(|i| i + 1)
}

/// Where a variant is written: for a named case its name under `cases:`, for a matrix
/// variant the `matrix:` key; then, when `key` is given and found after that, the key.
fn variant_at(text: &str, case: &CaseSpec, key: Option<&str>) -> Option<usize> {
    let find = |from: usize, needle: &str| text[from..].find(needle).map(|i| from + i);
    let anchor = if case.name.contains('=') {
        section(text, "matrix")
    } else {
        section(text, "cases").and_then(|c| {
            find(c, &format!("name: {}", case.name))
                .map(|n| n + "name: ".len())
                .or_else(|| find(c, &case.name))
        })
    }?;
    Some(
        key.and_then(|k| find(anchor, &format!("{k}:")))
            .unwrap_or(anchor),
    )
}

/// An error about a variant at byte offset `at` of `text` (its line and column), else naming
/// the key path.
fn placed(text: &str, path: &Path, at: Option<usize>, key: String, message: String) -> Error {
    match at {
        Some(pos) => {
            let (line, column) = super::locate::line_col(text, pos);
            Error::Config {
                file: path.to_path_buf(),
                line,
                column,
                message: format!("{key}: {message}"),
            }
        }
        None => Error::ConfigValue {
            file: path.to_path_buf(),
            key,
            message,
        },
    }
}

/// A variant's validation error, placed at the line and column of the value the variant sets
/// (`training.optimizer.lr: [0.1, -1]` under `matrix:`, or `set:` under the named case), or of
/// the case itself when the error is about a key it does not set.
fn case_error(text: &str, path: &Path, case: &CaseSpec, e: Error) -> Error {
    let Error::ConfigValue { key, message, .. } = e else {
        return e;
    };
    let at = variant_at(text, case, Some(&key));
    let label = format!("cases[{}]", case.name);
    match at {
        Some(_) => placed(text, path, at, label, format!("{key}: {message}")),
        None => Error::ConfigValue {
            file: path.to_path_buf(),
            key: format!("{label}.{key}"),
            message,
        },
    }
}

/// Sets `value` at a dotted path, creating maps on the way; a path through a non-map fails.
pub(crate) fn set_path(
    root: &mut Value,
    path: &str,
    value: Value,
) -> std::result::Result<(), String> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = root;
    for (i, part) in parts.iter().enumerate() {
        let Value::Mapping(m) = cur else {
            return Err(format!("`{}` is not a map", parts[..i].join(".")));
        };
        let key = Value::String(part.to_string());
        if i + 1 == parts.len() {
            m.insert(key, value);
            return Ok(());
        }
        if !m.contains_key(&key) {
            m.insert(key.clone(), Value::Mapping(Mapping::new()));
        }
        cur = m.get_mut(&key).expect("inserted above");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITE: &str = "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 5}\n";

    #[test]
    fn cases_and_matrix_expand_into_validated_variants() {
        let text = format!(
            "{SUITE}cases:\n  - {{name: adam, set: {{training.optimizer.name: adam, training.optimizer.lr: 0.001}}}}\nmatrix:\n  training.batch_size: [10, 20]\n  seed: [1, 2]\n"
        );
        let base = Config::parse(&text, Path::new("s.yaml")).unwrap();
        let v = expand(&text, Path::new("s.yaml"), &base).unwrap();
        let names: Vec<&str> = v.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "adam",
                "seed=1,training.batch_size=10",
                "seed=1,training.batch_size=20",
                "seed=2,training.batch_size=10",
                "seed=2,training.batch_size=20"
            ]
        );
        assert_eq!(v[0].1.training.optimizer.lr, 0.001);
        assert_eq!(v[4].1.training.batch_size, 20);
        assert_eq!(v[4].1.seed, 2);
        assert!(v
            .iter()
            .all(|(_, c)| c.cases.is_empty() && c.matrix.is_empty()));
    }

    #[test]
    fn bad_overrides_name_the_case_and_key() {
        let text =
            format!("{SUITE}cases:\n  - {{name: typo, set: {{training.optimizer.lrr: 0.5}}}}\n");
        let base = Config::parse(&text, Path::new("s.yaml")).unwrap();
        let err = expand(&text, Path::new("s.yaml"), &base)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cases[typo]")
                && err.contains("unknown field `lrr`")
                && err.contains("did you mean `lr`"),
            "{err}"
        );
        let text =
            format!("{SUITE}cases:\n  - {{name: neg, set: {{training.optimizer.lr: -1}}}}\n");
        let base = Config::parse(&text, Path::new("s.yaml")).unwrap();
        let err = expand(&text, Path::new("s.yaml"), &base)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cases[neg]") && err.contains("must be > 0, got -1"),
            "{err}"
        );
    }
}
