//! The corpus manifest (`tests/corpus/manifest.yaml`): which suites are healthy, which carry a
//! planted problem and what must catch it. Parsed with serde_yaml; every error names the file,
//! line and column, as config errors do.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::{CheckSpec, Verdict};
use crate::config::locate::error_at;
use crate::error::Result;

/// Whether an entry may inform threshold tuning (`calibration`) or is kept out of it to measure
/// the tuned checks honestly (`held_out`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Calibration,
    HeldOut,
}

impl Part {
    pub const ALL: [Part; 2] = [Part::Calibration, Part::HeldOut];

    pub fn label(self) -> &'static str {
        match self {
            Part::Calibration => "calibration",
            Part::HeldOut => "held-out",
        }
    }
}

/// A healthy suite: every check should pass or be skipped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthyEntry {
    /// The suite file, relative to the manifest.
    pub config: PathBuf,
    pub part: Part,
    /// In the quick subset (`netdx corpus --fast`, tests/corpus.rs).
    #[serde(default)]
    pub fast: bool,
}

/// What must catch a planted problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The check that must catch it.
    pub check: String,
    /// The least verdict that counts: `warn` (a warning or a failure) or `fail`.
    pub verdict: Verdict,
    /// A substring the check's fix must contain (case-insensitive).
    pub fix: String,
}

/// A suite with one planted problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantedEntry {
    pub config: PathBuf,
    pub part: Part,
    #[serde(default)]
    pub fast: bool,
    pub expect: Expect,
}

/// The whole manifest; `dir` is its folder (entries' paths are relative to it).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub healthy: Vec<HealthyEntry>,
    #[serde(default)]
    pub planted: Vec<PlantedEntry>,
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Manifest> {
        Manifest::parse(&crate::config::read_text(path)?, path)
    }

    /// Parses manifest text; `path` names the file in errors and its folder anchors the entries.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest> {
        let mut m: Manifest =
            serde_yaml::from_str(text).map_err(|e| crate::config::yaml_error(&e, path, text))?;
        m.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        m.validate(text, path)?;
        Ok(m)
    }

    /// The suite file of an entry's `config`.
    pub fn suite_path(&self, config: &Path) -> PathBuf {
        self.dir.join(config)
    }

    fn validate(&self, text: &str, path: &Path) -> Result<()> {
        // A value that parses but cannot work, at the line and column of its key.
        let bad = |key: String, message: String| error_at(path, text, &key, message);
        if self.healthy.is_empty() && self.planted.is_empty() {
            return Err(bad(
                "healthy".into(),
                "the manifest lists no entries (`healthy:` and `planted:` lists)".into(),
            ));
        }
        let names: Vec<&str> = CheckSpec::all().iter().map(|c| c.name()).collect();
        let mut seen = std::collections::BTreeSet::new();
        let configs = self
            .healthy
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("healthy[{i}].config"), &e.config))
            .chain(
                self.planted
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (format!("planted[{i}].config"), &e.config)),
            );
        for (key, config) in configs {
            if !self.suite_path(config).is_file() {
                return Err(bad(
                    key,
                    format!(
                        "no suite file `{}` (paths are relative to the manifest's folder)",
                        self.suite_path(config).display()
                    ),
                ));
            }
            if !seen.insert(config.clone()) {
                return Err(bad(key, format!("`{}` is listed twice", config.display())));
            }
        }
        for (i, e) in self.planted.iter().enumerate() {
            if !names.contains(&e.expect.check.as_str()) {
                let hint = crate::text::nearest(&e.expect.check, &names)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(bad(
                    format!("planted[{i}].expect.check"),
                    format!("unknown check `{}`{hint}", e.expect.check),
                ));
            }
            if severity(e.expect.verdict) == 0 {
                return Err(bad(
                    format!("planted[{i}].expect.verdict"),
                    "must be `warn` or `fail` (a planted problem is caught by a warning or a failure)"
                        .into(),
                ));
            }
            if e.expect.fix.trim().is_empty() {
                return Err(bad(
                    format!("planted[{i}].expect.fix"),
                    "name a substring the fix must contain".into(),
                ));
            }
        }
        Ok(())
    }
}

/// How strongly a verdict flags a problem: 0 not at all, 1 a warning, 2 a failure.
pub fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::Pass | Verdict::Info | Verdict::Skip => 0,
        Verdict::Warn => 1,
        Verdict::Fail => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest> {
        // The folder of this file's crate: entries name files that exist there.
        Manifest::parse(text, Path::new("Cargo.toml"))
    }

    #[test]
    fn parses_entries_and_names_bad_keys_with_line_and_column() {
        let ok = "healthy:\n  - {config: configs/default.yaml, part: calibration, fast: true}\nplanted:\n  - {config: configs/broken/lr_too_high.yaml, part: held_out, expect: {check: lr_range, verdict: fail, fix: try lr}}\n";
        let m = parse(ok).unwrap();
        assert_eq!(m.healthy.len(), 1);
        assert!(m.healthy[0].fast);
        assert_eq!(m.planted[0].part, Part::HeldOut);
        assert_eq!(m.planted[0].expect.verdict, Verdict::Fail);

        let typo = ok.replace("lr_range", "lr_rnage");
        let e = parse(&typo).unwrap_err().to_string();
        assert!(e.starts_with("Cargo.toml:4:"), "{e}");
        assert!(e.contains("did you mean `lr_range`"), "{e}");

        let pass = ok.replace("verdict: fail", "verdict: pass");
        let e = parse(&pass).unwrap_err().to_string();
        assert!(
            e.contains("planted[0].expect.verdict: must be `warn` or `fail`"),
            "{e}"
        );

        let missing = ok.replace("default.yaml", "nothing.yaml");
        let e = parse(&missing).unwrap_err().to_string();
        assert!(
            e.starts_with("Cargo.toml:2:6: healthy[0].config: no suite file"),
            "{e}"
        );

        let unknown = ok.replace("fast: true", "quick: true");
        let e = parse(&unknown).unwrap_err().to_string();
        assert!(e.starts_with("Cargo.toml:2:"), "{e}");
        assert!(e.contains("unknown field `quick`"), "{e}");

        let e = parse("healthy: []\n").unwrap_err().to_string();
        assert!(e.contains("lists no entries"), "{e}");
    }
}
