//! `--set KEY.PATH=VALUE` and `--seed N` on the command line: values written over a config's
//! text before it is read, as a `cases:` entry's `set:` writes them, and recorded with the run
//! so that `runs rerun` applies them again.

use std::path::Path;

use serde_yaml::Value;

use super::Config;
use crate::error::{Error, Result};

/// `text` with each `KEY.PATH=VALUE` of `settings` written into it (the value read as YAML:
/// `0.01`, `adam`, `[1, 2]`), as YAML text again, and the config it reads as; `text` itself
/// when there are none. The original is read first, so that its own errors keep their line and
/// column; an error the settings cause names them.
pub fn apply(text: &str, path: &Path, settings: &[String]) -> Result<(String, Config)> {
    let original = Config::parse(text, path)?;
    if settings.is_empty() {
        return Ok((text.to_string(), original));
    }
    let bad = |setting: &str, why: String| Error::Usage(format!("--set {setting}: {why}"));
    let mut root: Value = serde_yaml::from_str(super::strip_bom(text))
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    for setting in settings {
        let Some((key, value)) = setting.split_once('=') else {
            return Err(bad(
                setting,
                "expected KEY.PATH=VALUE (training.optimizer.lr=0.01)".into(),
            ));
        };
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(bad(setting, format!("`{key}` is not a key path")));
        }
        let value: Value = serde_yaml::from_str(value)
            .map_err(|e| bad(setting, format!("the value is not YAML: {e}")))?;
        super::cases::set_path(&mut root, key, value).map_err(|why| bad(setting, why))?;
    }
    let written = serde_yaml::to_string(&root).map_err(|e| Error::Usage(e.to_string()))?;
    // The line and column of the rewritten text would point nowhere: the error is the
    // settings'.
    let config = Config::parse(&written, path).map_err(|e| {
        let message = match e {
            Error::Config { message, .. } => message,
            Error::ConfigValue { key, message, .. } => format!("{key}: {message}"),
            other => other.to_string(),
        };
        Error::Usage(format!("--set {}: {message}", settings.join(" ")))
    })?;
    Ok((written, config))
}

/// The settings `--set` and `--seed` give, in the order they apply (`--seed` last).
pub fn from_flags(set: &[String], seed: Option<u64>) -> Vec<String> {
    let mut all = set.to_vec();
    if let Some(s) = seed {
        all.push(format!("seed={s}"));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITE: &str = "# a comment\ndata: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 5}\n";

    #[test]
    fn settings_write_values_and_name_themselves_in_errors() {
        let p = Path::new("s.yaml");
        assert_eq!(apply(SUITE, p, &[]).unwrap().0, SUITE);
        let (t, c) = apply(
            SUITE,
            p,
            &["training.optimizer.lr=0.01".into(), "seed=7".into()],
        )
        .unwrap();
        assert_eq!(Config::parse(&t, p).unwrap().seed, 7);
        assert_eq!(c.training.optimizer.lr, 0.01);
        assert_eq!(c.seed, 7);
        let e = apply(SUITE, p, &["training.optimizer.lr=-1".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--set training.optimizer.lr=-1: training.optimizer.lr: must be > 0"),
            "{e}"
        );
        let e = apply(SUITE, p, &["lr".into()]).unwrap_err().to_string();
        assert!(e.contains("expected KEY.PATH=VALUE"), "{e}");
        let e = apply(SUITE, p, &["training..lr=1".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a key path"), "{e}");
        let e = apply(SUITE, p, &["training.optimizr.lr=1".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("optimizr"), "{e}");
    }
}
