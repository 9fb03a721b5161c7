//! The bad-config corpus: every file in `tests/bad_configs/` is refused before any GPU work
//! with exactly the message its first line (`# expect: …`, or `NAME.expect` for files that
//! cannot carry a comment) gives after the file name — the line, column and key path included
//! where the error has them — and exit code 2. An expectation that starts with `{dir}` is the
//! whole message, `{dir}` standing for the corpus folder: an error in a data file the config
//! reads (beside it) names that file, not the config. Hostile inputs (an alias bomb, deep
//! nesting, a file too large, bytes that are not text, absurd sizes) are part of it.

use std::path::{Path, PathBuf};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// The expected message after the file name.
fn expectation(file: &Path) -> String {
    let bytes = std::fs::read(file).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    match text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
    {
        Some(e) => e.to_string(),
        None => std::fs::read_to_string(file.with_extension("expect"))
            .unwrap_or_else(|_| panic!("{}: no expectation", file.display()))
            .trim_end()
            .to_string(),
    }
}

#[test]
fn every_bad_config_is_refused_with_its_exact_message() {
    // Cargo runs tests in the crate folder, so the relative paths below resolve.
    assert_eq!(
        std::env::current_dir().unwrap(),
        Path::new(env!("CARGO_MANIFEST_DIR"))
    );
    let files = corpus();
    assert!(files.len() >= 50, "the corpus has {} files", files.len());
    let mut wrong = Vec::new();
    for file in &files {
        // Relative to the crate, as a user in the project folder would name it.
        let rel = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        let shown = rel.display().to_string();
        let expected = expectation(file);
        let want = match expected.strip_prefix("{dir}") {
            Some(rest) => format!("{}{rest}", rel.parent().unwrap().display()),
            None => format!("{shown}{}", expected.replace("{file}", &shown)),
        };
        let result = std::panic::catch_unwind(|| netdx::suite::check_file(rel));
        match result {
            Err(_) => wrong.push(format!("{shown}: PANICKED")),
            Ok(Ok(_)) => wrong.push(format!("{shown}: accepted")),
            Ok(Err(e)) => {
                if e.to_string() != want || e.exit_code() != 2 {
                    wrong.push(format!(
                        "{shown}:\n   want {want}\n    got {e} (exit {})",
                        e.exit_code()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        files.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_file_too_large_is_refused_before_it_is_read() {
    let dir = std::env::temp_dir().join(format!("netdx-huge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let huge = dir.join("huge.yaml");
    std::fs::write(&huge, "a".repeat(2 << 20)).unwrap();
    let err = netdx::suite::check_file(&huge).unwrap_err();
    assert!(
        err.to_string()
            .contains("2097152 bytes is larger than a config can be"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn config_errors_come_before_any_gpu_work() {
    // An adapter that does not exist: if the GPU were opened first, that would be the error.
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_configs/layer_width_mismatch.yaml");
    for command in ["train", "run"] {
        let (code, _, err) = crate::common::netdx(&[
            command,
            file.to_str().unwrap(),
            "--adapter",
            "no-such-adapter",
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("model.layers[2]: layer 2 (linear): expects input width 8"),
            "{command}: {err}"
        );
    }
    let (code, out, _) =
        crate::common::netdx(&["validate", "configs/spiral.yaml", "configs/default.yaml"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
}
