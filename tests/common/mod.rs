//! Shared test helpers: the one device per process, and the tolerance rule.
//!
//! Tolerance: a GPU value x passes against the f64 reference y when
//! |x − y| ≤ max(rtol·max(|x|, |y|), atol). Failures report the worst index with both values.

pub mod capped;
pub mod hostile_files;

use std::sync::OnceLock;

use netdx::gpu::{AdapterChoice, Gpu};

static GPU: OnceLock<Option<Gpu>> = OnceLock::new();

/// Whether this adapter runs half `half` (0 or 1) of a slow test whose result does not depend
/// on the adapter (a check's calibration over seeds or suites, not a kernel's numbers): CI runs
/// every test on both software adapters, so lavapipe takes half 0 and llvmpipe GL half 1 and CI
/// still covers each half once, in half the time (their full-corpus tables are identical to the
/// count; docs/calibration.md). Any other adapter runs both halves. Says which half it skips.
pub fn runs_half(gpu: &Gpu, half: usize, what: &str) -> bool {
    let taken = software_half(gpu).is_none_or(|h| h == half);
    if !taken {
        eprintln!("{what}: left to the other software adapter (see common::runs_half)");
    }
    taken
}

/// The half of the slow adapter-independent tests this adapter runs (see [`runs_half`]):
/// `Some(0)` on lavapipe, `Some(1)` on llvmpipe GL, `None` (both) elsewhere.
pub fn software_half(gpu: &Gpu) -> Option<usize> {
    let info = gpu.info();
    match (info.device_type, info.backend) {
        (wgpu::DeviceType::Cpu, wgpu::Backend::Vulkan) => Some(0),
        (wgpu::DeviceType::Cpu, wgpu::Backend::Gl) => Some(1),
        _ => None,
    }
}

/// The shared device, or `None` when no adapter exists — which fails the test when
/// NETDX_REQUIRE_GPU=1 (as in CI), so GPU tests never pass silently.
pub fn gpu() -> Option<&'static Gpu> {
    GPU.get_or_init(|| match Gpu::open(&AdapterChoice::default()) {
        Ok(g) => {
            eprintln!("GPU tests on {}", g.describe());
            Some(g)
        }
        Err(e) => {
            if std::env::var("NETDX_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("NETDX_REQUIRE_GPU=1 but no adapter: {e}");
            }
            eprintln!(
                "SKIPPED: no GPU adapter ({e}); set NETDX_REQUIRE_GPU=1 to make this an error"
            );
            None
        }
    })
    .as_ref()
}

/// Gets the device or returns from the test (after the visible skip message above).
#[macro_export]
macro_rules! gpu_or_skip {
    () => {
        match $crate::common::gpu() {
            Some(g) => g,
            None => return,
        }
    };
}

/// Compares GPU output with the reference under the tolerance rule; panics naming `what`, the
/// worst index, both values and the max absolute and relative errors.
pub fn assert_close(what: &str, gpu: &[f32], reference: &[f64], rtol: f64, atol: f64) {
    assert_eq!(gpu.len(), reference.len(), "{what}: length");
    let mut worst: Option<(usize, f64)> = None;
    let (mut max_abs, mut max_rel) = (0.0f64, 0.0f64);
    for (i, (&x, &y)) in gpu.iter().zip(reference).enumerate() {
        let x = x as f64;
        let err = (x - y).abs();
        let scale = x.abs().max(y.abs());
        let allowed = (rtol * scale).max(atol);
        if !err.is_finite() || !x.is_finite() {
            panic!("{what}: non-finite at {i}: gpu {x}, reference {y}");
        }
        max_abs = max_abs.max(err);
        if scale > 0.0 {
            max_rel = max_rel.max(err / scale);
        }
        let excess = err / allowed;
        if excess > 1.0 && worst.is_none_or(|(_, e)| excess > e) {
            worst = Some((i, excess));
        }
    }
    if let Some((i, _)) = worst {
        panic!(
            "{what}: index {i}: gpu {} vs reference {} (rtol {rtol}, atol {atol}); max abs err {max_abs:.3e}, max rel err {max_rel:.3e}",
            gpu[i], reference[i]
        );
    }
}

/// Deterministic test data in [lo, hi).
pub fn random(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f32> {
    let mut r = netdx::rng::SplitMix64::new(seed);
    (0..n).map(|_| r.uniform_in(lo, hi) as f32).collect()
}

pub fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// A NaN-filled buffer: any element a kernel fails to write shows up as non-finite.
pub fn sentinel(n: usize) -> Vec<f32> {
    vec![f32::NAN; n]
}

/// Runs the real binary with `args`, run records going to a scratch folder (never the
/// project's `./runs`); returns (exit code, stdout, stderr).
pub fn netdx(args: &[&str]) -> (i32, String, String) {
    let runs = std::env::temp_dir().join(format!("netdx-test-runs-{}", std::process::id()));
    netdx_with_runs(&runs, args)
}

/// Like [`netdx`], with run records in `runs`.
pub fn netdx_with_runs(runs: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(args)
        .env("NETDX_RUNS_DIR", runs)
        .output()
        .expect("run netdx");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `n` examples of `width` features in [-2, 2) with labels cycling through `classes`.
pub fn small_dataset(n: usize, width: usize, classes: usize) -> netdx::data::Dataset {
    netdx::data::Dataset::new(
        "test",
        random(n * width, 99, -2.0, 2.0),
        (0..n).map(|i| (i % classes) as f32).collect(),
        width,
        1,
        Some(classes),
    )
}

/// An NPY v1 file's bytes: the preamble and header for `descr`, `shape` (a Python tuple as
/// NumPy writes it: `(3,)`, `(2, 5)`) and `fortran` order, then `body` as given.
pub fn npy_bytes(descr: &str, shape: &str, fortran: bool, body: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend((header.len() as u16).to_le_bytes());
    v.extend(header.as_bytes());
    v.extend(body);
    v
}

/// A shape as NumPy writes it in an NPY header: `(3,)`, `(2, 5)`, `()`.
pub fn npy_shape<T: ToString>(dims: &[T]) -> String {
    match dims {
        [d] => format!("({},)", d.to_string()),
        _ => format!(
            "({})",
            dims.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Every run recorded in `runs`, oldest first.
pub fn records(runs: &std::path::Path) -> Vec<(std::path::PathBuf, netdx::runs::RunRecord)> {
    netdx::runs::Runs {
        root: runs.to_path_buf(),
    }
    .all()
    .unwrap()
}

/// An empty folder for one test: `netdx-LABEL-PID` in the temp dir, emptied if a previous run
/// left it.
pub fn fresh_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netdx-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
