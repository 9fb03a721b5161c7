//! No hang: a kernel that runs far past the GPU timeout ends the process promptly with the
//! typed error and a crashed record, on Vulkan (where the wait times out but dropping the
//! device would wait for the queue) and on GL (where llvmpipe runs the work inside the
//! submission itself); a check's own training loop ends on SIGTERM however many steps it
//! asked for.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netdx::runs::{Runs, Status};

fn scratch(name: &str) -> PathBuf {
    crate::common::fresh_dir(name)
}

/// An activation whose forward costs ~80 000 `sin` per element: on a 1000 × 4096 layer, minutes
/// of work on a software adapter and seconds on a GPU. Its loops are short enough for the f64
/// mirror's statement budget, so the config validates.
fn slow_kernel(dir: &Path) -> PathBuf {
    let body = "        acc = sin(sin(sin(sin(sin(sin(sin(sin(acc + 0.001))))))));\n".repeat(50);
    std::fs::write(
        dir.join("slow.wgsl"),
        format!(
            "fn forward(x: f32) -> f32 {{\n    var acc = x;\n    for (var i = 0u; i < 100u; i = i + 1u) {{\n{body}    }}\n    return acc;\n}}\n\nfn backward(x: f32, y: f32, dy: f32) -> f32 {{\n    return dy;\n}}\n"
        ),
    )
    .unwrap();
    let config = dir.join("slow.yaml");
    std::fs::write(
        &config,
        "seed: 0
data: {builtin: spiral, classes: 3, points_per_class: 400, noise: 0.2}
model:
  layers: [{linear: {out: 4096}}, {wgsl: {file: slow.wgsl}}, {linear: {out: 3}}]
loss: softmax_cross_entropy
training: {optimizer: {name: sgd, lr: 0.1}, batch_size: 1000, steps: 5}
",
    )
    .unwrap();
    config
}

#[test]
fn a_kernel_far_past_the_gpu_timeout_ends_the_process_promptly_with_a_crashed_record() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = scratch("wedged");
    let config = slow_kernel(&dir);
    let runs = dir.join("runs");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(["train", config.to_str().unwrap(), "--every", "0"])
        .env("NETDX_RUNS_DIR", &runs)
        .env("NETDX_GPU_TIMEOUT_S", "2")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("waiting for the GPU failed"), "{err}");
    // The timeout (2 s) and the watchdog's margin (5 s), plus starting up: not the minutes the
    // kernel would take, nor the wait for it when the device is dropped.
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}: {err}");
    let (_, record) = Runs { root: runs }.all().unwrap().pop().unwrap();
    assert_eq!(record.status, Status::Crashed);
    assert!(
        record
            .cause
            .as_deref()
            .is_some_and(|c| c.contains("waiting for the GPU failed")),
        "{:?}",
        record.cause
    );
}

#[cfg(unix)]
#[test]
fn a_check_training_for_a_hundred_million_steps_ends_on_sigterm() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = scratch("check-loop");
    let config = dir.join("suite.yaml");
    std::fs::write(
        &config,
        "seed: 0
data: {builtin: spiral, classes: 3, points_per_class: 100, noise: 0.2}
model:
  layers: [{linear: {out: 16}}, relu, {linear: {out: 3}}]
loss: softmax_cross_entropy
training: {optimizer: {name: sgd, lr: 0.1}, batch_size: 100, steps: 20}
checks: [{input_independent: {steps: 100000000}}]
",
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(["run", config.to_str().unwrap()])
        .env("NETDX_RUNS_DIR", dir.join("runs"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Inside the check's loop by then: opening the device and the config take well under this.
    std::thread::sleep(Duration::from_secs(4));
    let signalled = Instant::now();
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "{:?}: {err}",
        signalled.elapsed()
    );
}
