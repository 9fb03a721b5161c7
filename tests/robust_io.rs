//! Hostile files (issue 22, aborts and special files): each is built in a scratch folder at
//! test time and given to the real binary (`netdx validate`, which loads the data and needs no
//! GPU) under a memory cap (`ulimit -v`, about 3.8 GB) and a timeout, so that a regression
//! aborts or hangs this one child, not the machine. Each must end with exit 2 and a message
//! naming the file and what is wrong with it. The cases that need only a file and one command
//! live in the hostile-input corpus (tests/hostile/cases.yaml); these need several steps or
//! measure time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::capped::{self, Outcome, Scratch};
use crate::common::hostile_files::{deflate_bomb, npy, zip64};

/// Longer than any of these runs takes (well under a second each when nothing hangs).
const TIMEOUT: Duration = Duration::from_secs(60);

fn scratch(name: &str) -> Scratch {
    capped::scratch("robust-io", name)
}

/// A config with `data` (a YAML flow map) in `dir`.
fn config(dir: &Path, data: &str) -> PathBuf {
    let path = dir.join("c.yaml");
    std::fs::write(
        &path,
        format!(
            "data: {data}\nmodel: {{layers: [{{linear: {{out: 2}}}}]}}\ntraining: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 1, steps: 1}}\n"
        ),
    )
    .unwrap();
    path
}

/// `script` under the memory cap and the timeout in `dir` (see `common::capped`); a hang fails
/// the test.
fn sh(dir: &Path, script: &str, env: &[(&str, &str)]) -> Outcome {
    capped::sh(dir, script, env, TIMEOUT).unwrap_or_else(|e| panic!("`{script}` {e}"))
}

/// `netdx validate c.yaml` in `dir`.
fn validate(dir: &Path, env: &[(&str, &str)]) -> Outcome {
    sh(dir, "exec \"$NETDX\" validate c.yaml", env)
}

/// Asserts exit 2 (never a signal: an abort or an out-of-memory kill has no code) and that
/// stderr holds every one of `wanted`.
fn refused(out: &Outcome, wanted: &[&str]) {
    assert_eq!(
        out.code,
        Some(2),
        "expected exit 2 (a clean refusal); stderr: {}",
        out.stderr
    );
    for w in wanted {
        assert!(out.stderr.contains(w), "missing `{w}` in: {}", out.stderr);
    }
}

/// `y.npy`: three int64 labels, for data whose `x` is the hostile file.
fn labels(dir: &Path) {
    let body: Vec<u8> = [0i64, 1, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("y.npy"), npy("<i8", "(3,)", &body)).unwrap();
}

#[test]
fn an_npz_deflate_bomb_is_refused_by_its_npy_header_and_by_the_ceiling() {
    let dir = scratch("bomb");
    // 2 GiB of uint8 zeros: within the default ceiling as stored, but 8 GiB as f32.
    let gib2 = 2u64 << 30;
    let header = npy("|u1", &format!("({gib2},)"), &[]);
    let stream = deflate_bomb(&header, gib2);
    assert!(stream.len() < 3 << 20, "fixture {} bytes", stream.len());
    std::fs::write(
        dir.join("d.npz"),
        zip64("x.npy", 8, 0, &stream, header.len() as u64 + gib2),
    )
    .unwrap();
    config(&dir, "{npz: {path: d.npz}}");
    let start = Instant::now();
    refused(
        &validate(&dir, &[]),
        &[
            "d.npz: tensor `x`: shape [2147483648] holds 2147483648 values; as f32, 8589934592 bytes is more than netdx reads from one data file (4294967296 bytes",
        ],
    );
    // Refused from the header: nothing of the 2 GiB was inflated.
    assert!(start.elapsed() < Duration::from_secs(20));
    // A lower ceiling refuses the declared size itself.
    refused(
        &validate(&dir, &[("NETDX_MAX_DATA_BYTES", "1G")]),
        &[&format!(
            "the zip entry declares {} bytes uncompressed, which is more than netdx reads from one data file (1073741824 bytes; NETDX_MAX_DATA_BYTES sets this ceiling)",
            header.len() as u64 + gib2
        )],
    );
    refused(
        &validate(&dir, &[("NETDX_MAX_DATA_BYTES", "lots")]),
        &["NETDX_MAX_DATA_BYTES=`lots` is not a number of bytes"],
    );
}

#[test]
fn an_npz_entry_that_inflates_past_its_declared_size_is_refused() {
    let dir = scratch("liar");
    // The header and the zip declare 6 floats; the stream goes on for 2 GiB of zeros.
    let header = npy("<f4", "(3, 2)", &[]);
    let stream = deflate_bomb(&header, 2 << 30);
    std::fs::write(
        dir.join("d.npz"),
        zip64("x.npy", 8, 0, &stream, header.len() as u64 + 24),
    )
    .unwrap();
    config(&dir, "{npz: {path: d.npz}}");
    refused(
        &validate(&dir, &[]),
        &[&format!(
            "d.npz: tensor `x`: inflates to more than the {} bytes its zip entry declares",
            header.len() + 24
        )],
    );
}

#[test]
fn an_npz_entry_declaring_more_than_deflate_can_expand_is_refused() {
    let dir = scratch("ratio");
    let header = npy("|u1", "(3000000000,)", &[]);
    let stream = deflate_bomb(&header, 1 << 20);
    std::fs::write(
        dir.join("d.npz"),
        zip64("x.npy", 8, 0, &stream, header.len() as u64 + 3_000_000_000),
    )
    .unwrap();
    config(&dir, "{npz: {path: d.npz}}");
    refused(
        &validate(&dir, &[]),
        &[&format!(
            "d.npz: tensor `x`: the zip entry declares {} bytes uncompressed from {} compressed bytes; deflate cannot expand that much",
            header.len() as u64 + 3_000_000_000,
            stream.len()
        )],
    );
}

#[test]
fn a_csv_path_of_dev_zero_is_refused_as_a_character_device() {
    let dir = scratch("csv-zero");
    config(&dir, "{csv: {path: /dev/zero}}");
    refused(
        &validate(&dir, &[]),
        &["/dev/zero: is a character device, not a file"],
    );
}

#[test]
fn an_endless_csv_line_from_a_pipe_given_on_purpose_is_refused_at_the_ceiling() {
    let dir = scratch("csv-pipe");
    config(&dir, "{csv: {path: /dev/stdin}}");
    let out = sh(
        &dir,
        "exec \"$NETDX\" validate c.yaml < /dev/zero",
        &[("NETDX_MAX_DATA_BYTES", "64M")],
    );
    refused(
        &out,
        &["/dev/stdin: more than 67108864 bytes is more than netdx reads from one data file (67108864 bytes; NETDX_MAX_DATA_BYTES sets this ceiling)"],
    );
    // Under the default ceiling (4 GiB) the line bound stops it first, after 256 MiB.
    let out = sh(&dir, "exec \"$NETDX\" validate c.yaml < /dev/zero", &[]);
    refused(&out, &["/dev/stdin: line 1 is longer than 268435456 bytes"]);
}

#[test]
fn a_fifo_as_config_or_data_is_refused_without_waiting_for_a_writer() {
    let dir = scratch("fifo");
    let fifo = dir.join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let start = Instant::now();
    refused(
        &sh(&dir, "exec \"$NETDX\" validate pipe", &[]),
        &["pipe: is a named pipe (FIFO), not a file; netdx reads a pipe only when it is given as `-` or /dev/fd/N"],
    );
    config(&dir, "{csv: {path: pipe}}");
    refused(&validate(&dir, &[]), &["pipe: is a named pipe (FIFO)"]);
    config(&dir, "{npy: {x: pipe, y: pipe}}");
    refused(&validate(&dir, &[]), &["pipe: is a named pipe (FIFO)"]);
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn pipes_given_on_purpose_still_work() {
    let dir = scratch("on-purpose");
    std::fs::write(dir.join("d.csv"), "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n").unwrap();
    // The config on standard input, and the data file through process substitution's path.
    config(&dir, "{csv: {path: d.csv}}");
    let out = sh(&dir, "cat c.yaml | exec \"$NETDX\" validate -", &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    config(&dir, "{csv: {path: /dev/stdin}}");
    let out = sh(&dir, "cat d.csv | exec \"$NETDX\" validate c.yaml", &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    labels(&dir);
    let x: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    std::fs::write(dir.join("x.npy"), npy("<f4", "(3, 2)", &x)).unwrap();
    config(&dir, "{npy: {x: /dev/stdin, y: y.npy}}");
    let out = sh(&dir, "cat x.npy | exec \"$NETDX\" validate c.yaml", &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn dev_zero_as_a_config_or_a_wgsl_file_is_refused_and_a_stream_is_read_with_a_bound() {
    let dir = scratch("config-zero");
    refused(
        &sh(&dir, "exec \"$NETDX\" validate /dev/zero", &[]),
        &["/dev/zero: is a character device, not a file"],
    );
    // Given on purpose, the stream is read up to the 1 MiB a config may hold, and no further.
    refused(
        &sh(&dir, "exec \"$NETDX\" validate /dev/stdin < /dev/zero", &[]),
        &["/dev/stdin: more than 1048576 bytes is larger than a config can be (1048576 bytes"],
    );
    std::fs::write(
        dir.join("c.yaml"),
        "data: {builtin: spiral}\nmodel: {layers: [{linear: {out: 8}}, {wgsl: {file: /dev/zero}}, {linear: {out: 3}}]}\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 1, steps: 1}\n",
    )
    .unwrap();
    refused(
        &validate(&dir, &[]),
        &["/dev/zero: is a character device, not a file"],
    );
}

#[test]
fn a_directory_or_a_device_as_data_says_what_it_is() {
    let dir = scratch("kinds");
    std::fs::create_dir(dir.join("folder")).unwrap();
    labels(&dir);
    config(&dir, "{npy: {x: folder, y: y.npy}}");
    refused(
        &validate(&dir, &[]),
        &["folder: is a directory, not a file"],
    );
    config(&dir, "{npy: {x: /dev/urandom, y: y.npy}}");
    refused(
        &validate(&dir, &[]),
        &["/dev/urandom: is a character device, not a file"],
    );
    config(&dir, "{csv: {path: folder}}");
    refused(
        &validate(&dir, &[]),
        &["folder: is a directory, not a file"],
    );
    config(&dir, "{text: {path: /dev/urandom, context: 4}}");
    let out = validate(&dir, &[]);
    refused(&out, &["/dev/urandom: is a character device, not a file"]);
    assert!(!out.stderr.contains("os error 19"), "{}", out.stderr);
}

#[test]
fn a_csv_error_names_the_line_an_editor_shows_counting_blank_lines() {
    let dir = scratch("csv-lines");
    // The bad cell is on line 7: blank lines 2, 4 and 5 count.
    std::fs::write(dir.join("d.csv"), "a,b,label\n\n1,2,x\n\n\n3,4,y\n5,z,x\n").unwrap();
    config(&dir, "{csv: {path: d.csv}}");
    refused(
        &validate(&dir, &[]),
        &["d.csv: line 7, column `b`: `z` is not a number"],
    );
    std::fs::write(dir.join("d.csv"), "a,b,label\n1,2,x\n\n3,4\n").unwrap();
    refused(
        &validate(&dir, &[]),
        &["d.csv: line 4: has 2 cells; the header has 3"],
    );
    // A last line without a line break, a header after blank lines, a quoted line break.
    std::fs::write(dir.join("d.csv"), "\na,b,label\n\n1,2,x\n\n3,z,y").unwrap();
    refused(
        &validate(&dir, &[]),
        &["d.csv: line 6, column `b`: `z` is not a number"],
    );
    std::fs::write(dir.join("d.csv"), "\n\na,b\n").unwrap();
    config(&dir, "{csv: {path: d.csv, label: c}}");
    refused(
        &validate(&dir, &[]),
        &["d.csv: line 3, column `c`: no such column"],
    );
    config(&dir, "{csv: {path: d.csv}}");
    std::fs::write(dir.join("d.csv"), "a,b,label\n1,2,\"x\ny\"\n\n3,z,y\n").unwrap();
    refused(
        &validate(&dir, &[]),
        &["d.csv: line 5, column `b`: `z` is not a number"],
    );
}

#[test]
fn a_uint64_label_of_2_pow_64_minus_1_is_refused_naming_the_file_and_value() {
    let dir = scratch("u64");
    let x: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    std::fs::write(dir.join("x.npy"), npy("<f4", "(3, 2)", &x)).unwrap();
    let y: Vec<u8> = [0u64, 1, u64::MAX]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(dir.join("y.npy"), npy("<u8", "(3,)", &y)).unwrap();
    config(&dir, "{npy: {x: x.npy, y: y.npy}}");
    let out = validate(&dir, &[]);
    refused(
        &out,
        &["y.npy: example 2: label 18446744000000000000 is too large for a class index (at most 16777215"],
    );
    assert!(!out.stderr.contains("0 classes"), "{}", out.stderr);
}

#[test]
fn classes_too_many_for_a_file_source_blame_the_classes_key() {
    let dir = scratch("classes");
    labels(&dir);
    config(&dir, "{npy: {x: y.npy, y: y.npy}, classes: 1000000000}");
    let out = validate(&dir, &[]);
    refused(
        &out,
        &["data.classes: 1000000000 classes is more than netdx allows (16777216"],
    );
    assert!(!out.stderr.contains("points_per_class"), "{}", out.stderr);
    // A built-in with no `points_per_class` blames `classes` too.
    config(&dir, "{builtin: spiral, classes: 1000000000}");
    refused(&validate(&dir, &[]), &["data.classes: 1000000000 examples"]);
}
