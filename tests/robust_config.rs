//! The command line's own values go through the limits the config has (issue 22): the
//! `--steps` override is checked against `training.steps`' declared range, and an invalid
//! `NETDX_GPU_TIMEOUT_S` is refused (exit 2, naming the variable and its value) rather than
//! replaced by the default. None of these needs a GPU: each is refused before one is opened.

use crate::common::netdx;

/// Runs the binary with `NETDX_GPU_TIMEOUT_S` set to `timeout`.
fn netdx_with_timeout(timeout: &str, args: &[&str]) -> (i32, String) {
    let runs = std::env::temp_dir().join(format!("netdx-test-runs-{}", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(args)
        .env("NETDX_RUNS_DIR", runs)
        .env("NETDX_GPU_TIMEOUT_S", timeout)
        .output()
        .expect("run netdx");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn train_steps_zero_is_refused_naming_the_override() {
    let (code, _, err) = netdx(&["train", "configs/spiral.yaml", "--steps", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--steps (training.steps): must be at least 1, got 0"),
        "{err}"
    );
}

#[test]
fn train_steps_above_the_config_limit_is_refused() {
    let (code, _, err) = netdx(&["train", "configs/spiral.yaml", "--steps", "1000000000000"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "--steps (training.steps): 1000000000000 is more than netdx allows (100000000)"
        ),
        "{err}"
    );
}

#[test]
fn an_invalid_gpu_timeout_is_refused_naming_the_variable_and_value() {
    for value in ["abc", "0", "-5", "nan", "inf", "1e300", "10s"] {
        let (code, err) = netdx_with_timeout(value, &["train", "configs/spiral.yaml"]);
        assert_eq!(code, 2, "{value}: {err}");
        assert!(
            err.contains(&format!(
                "NETDX_GPU_TIMEOUT_S={value:?}: must be a number of seconds above 0"
            )),
            "{value}: {err}"
        );
    }
}

#[test]
fn a_valid_gpu_timeout_passes_on_to_the_adapter() {
    // A valid setting is not the error: the adapter that does not exist is.
    let (code, err) = netdx_with_timeout(
        "30",
        &[
            "train",
            "configs/spiral.yaml",
            "--adapter",
            "no-such-adapter",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("NETDX_GPU_TIMEOUT_S"), "{err}");
    assert!(err.contains("adapter"), "{err}");
}
