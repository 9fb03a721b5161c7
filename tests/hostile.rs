//! The hostile-input corpus (`tests/hostile/cases.yaml`): inputs a user or a script may hand
//! netdx by mistake or on purpose — files that declare sizes they do not hold, special files,
//! endless streams, parameters out of range, odd bytes in a config, bad environment values and
//! command-line overrides, damaged run records. Each case is replayed through the real binary
//! in its own scratch folder, under a memory cap (`ulimit -v`) and a timeout, and must end with
//! its exit code and every text it expects on stderr: never an abort, a hang, a panic, or a
//! nonsense input accepted. `NETDX_HOSTILE_SHOW=1` prints every case's exit code and stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::common::capped;
use crate::common::hostile_files::{crc32, deflate_bomb, npy, zip64};

/// What a case exercises; every class must keep at least `MIN_PER_CLASS` cases.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
enum Class {
    DeclaredSizes,
    SpecialFiles,
    EndlessStreams,
    Ranges,
    Text,
    Environment,
    Cli,
    Records,
}

const MIN_PER_CLASS: usize = 5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    class: Class,
    /// Text files written into the scratch folder (YAML escapes give BOMs, NULs and CRs).
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// Binary files from a named generator (see `make`).
    #[serde(default)]
    make: BTreeMap<String, String>,
    /// Shell run before the case (mkfifo, ln -s, chmod …), in the scratch folder.
    #[serde(default)]
    setup: Option<String>,
    /// The case: a shell command line where `netdx` is the binary under test.
    run: String,
    #[serde(default)]
    env: BTreeMap<String, String>,
    exit: i32,
    /// Texts stderr must contain.
    #[serde(default)]
    stderr: Vec<String>,
    /// Texts stderr must not contain (a wrong place, a misleading cause).
    #[serde(default)]
    not_stderr: Vec<String>,
    /// Texts stdout must contain, and must not.
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    not_stdout: Vec<String>,
    /// The case trains (in `setup` or `run`): skipped where no adapter exists.
    #[serde(default)]
    gpu: bool,
    /// Seconds before the case counts as a hang.
    #[serde(default = "default_timeout")]
    timeout_s: u64,
}

fn default_timeout() -> u64 {
    30
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    cases: Vec<Case>,
}

/// The bytes of generator `name`.
fn make(name: &str) -> Vec<u8> {
    let f32s = |n: usize| -> Vec<u8> { (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect() };
    match name {
        "x_3x2" => npy("<f4", "(3, 2)", &f32s(6)),
        "y_3" => npy("<i8", "(3,)", &[0i64, 1, 0].map(i64::to_le_bytes).concat()),
        // Headers that declare far more than the file holds.
        "npy_shape_2pow40" => npy("<f4", "(1099511627776, 1099511627776)", &[]),
        "npy_truncated" => npy("<f4", "(1000, 10)", &f32s(3)),
        "npy_header_len_lies" => {
            let mut v = npy("<f4", "(3, 2)", &f32s(6));
            v[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
            v
        }
        "npz_zip64_2pow62" => {
            let x = npy("<f4", "(3, 2)", &f32s(6));
            zip64("x.npy", 0, crc32(&x), &x, 1u64 << 62)
        }
        "npz_bomb_2gib" => {
            // 2 GiB of uint8 zeros in ~2 MiB: 8 GiB as f32.
            let n = 2u64 << 30;
            let header = npy("|u1", &format!("({n},)"), &[]);
            zip64(
                "x.npy",
                8,
                0,
                &deflate_bomb(&header, n),
                header.len() as u64 + n,
            )
        }
        "npz_inflates_past_declared" => {
            let header = npy("<f4", "(3, 2)", &[]);
            zip64(
                "x.npy",
                8,
                0,
                &deflate_bomb(&header, 1 << 30),
                header.len() as u64 + 24,
            )
        }
        "idx_header_4gib" => {
            // An IDX header for 65536 × 65536 bytes, and nothing after it.
            vec![0, 0, 0x08, 2, 0, 1, 0, 0, 0, 1, 0, 0]
        }
        "idx_gz_header_4gib" => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&[0, 0, 0x08, 2, 0, 1, 0, 0, 0, 1, 0, 0])
                .unwrap();
            gz.finish().unwrap()
        }
        "safetensors_header_2pow60" => {
            let mut v = (1u64 << 60).to_le_bytes().to_vec();
            v.extend(b"{}");
            v
        }
        "safetensors_offsets_past_end" => {
            let header =
                br#"{"layers.0.weight":{"dtype":"F32","shape":[1000,1000],"data_offsets":[0,4000000]}}"#;
            let mut v = (header.len() as u64).to_le_bytes().to_vec();
            v.extend(header);
            v.extend([0u8; 16]);
            v
        }
        "onnx_garbage" => b"\x08\x07\x12\xff\xff\xff\xff\x0f not a model".to_vec(),
        other => panic!("no generator `{other}`"),
    }
}

fn load() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile/cases.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let corpus: Corpus =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    corpus.cases
}

/// What is wrong with `case`'s outcome, if anything.
fn replay(case: &Case, index: usize) -> Option<String> {
    let dir = capped::scratch("hostile", &index.to_string());
    for (name, text) in &case.files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    for (name, generator) in &case.make {
        std::fs::write(dir.join(name), make(generator)).unwrap();
    }
    let mut script = String::from("netdx() { \"$NETDX\" \"$@\"; }\n");
    if let Some(setup) = &case.setup {
        script.push_str(&format!("{{ {setup}\n}} >/dev/null 2>&1 || exit 97\n"));
    }
    script.push_str(&case.run);
    let env: Vec<(&str, &str)> = case
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let out = match capped::sh(&dir, &script, &env, Duration::from_secs(case.timeout_s)) {
        Ok(out) => out,
        Err(hang) => return Some(hang),
    };
    if std::env::var_os("NETDX_HOSTILE_SHOW").is_some() {
        // For writing expectations: every case's outcome.
        eprintln!(
            "[{index}] {} -> exit {:?}\n{}\n",
            case.name,
            out.code,
            out.stderr.trim_end()
        );
    }
    let mut wrong = Vec::new();
    match out.code {
        None => wrong.push("ended by a signal (an abort or an out-of-memory kill)".to_string()),
        Some(97) => wrong.push("its setup failed".to_string()),
        Some(c) if c != case.exit => wrong.push(format!("exit {c}, expected {}", case.exit)),
        Some(_) => {}
    }
    if out.stderr.contains("panicked") || out.stderr.contains("RUST_BACKTRACE") {
        wrong.push("panicked".into());
    }
    for want in &case.stderr {
        if !out.stderr.contains(want.as_str()) {
            wrong.push(format!("stderr lacks `{want}`"));
        }
    }
    for unwanted in &case.not_stderr {
        if out.stderr.contains(unwanted.as_str()) {
            wrong.push(format!("stderr holds `{unwanted}`"));
        }
    }
    for want in &case.stdout {
        if !out.stdout.contains(want.as_str()) {
            wrong.push(format!("stdout lacks `{want}`"));
        }
    }
    for unwanted in &case.not_stdout {
        if out.stdout.contains(unwanted.as_str()) {
            wrong.push(format!("stdout holds `{unwanted}`"));
        }
    }
    if wrong.is_empty() {
        None
    } else {
        // Keep the folder for a look.
        std::mem::forget(dir);
        Some(format!(
            "{} ({:.1} s); stderr:\n{}\nstdout:\n{}",
            wrong.join("; "),
            out.seconds,
            out.stderr.trim_end(),
            out.stdout.trim_end()
        ))
    }
}

#[test]
fn every_hostile_input_ends_with_its_exit_code_and_message() {
    let cases = load();
    let mut per_class: BTreeMap<Class, usize> = BTreeMap::new();
    for c in &cases {
        *per_class.entry(c.class).or_default() += 1;
    }
    for class in [
        Class::DeclaredSizes,
        Class::SpecialFiles,
        Class::EndlessStreams,
        Class::Ranges,
        Class::Text,
        Class::Environment,
        Class::Cli,
        Class::Records,
    ] {
        let n = per_class.get(&class).copied().unwrap_or(0);
        assert!(n >= MIN_PER_CLASS, "{class:?} has {n} cases");
    }
    let has_gpu = crate::common::gpu().is_some();
    // Each case is a separate process, mostly waiting on the file system: two at a time.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                if case.gpu && !has_gpu {
                    continue;
                }
                if let Some(why) = replay(case, i) {
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("[{i}] {} ({:?}): {why}", case.name, case.class));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} hostile inputs went wrong:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
