//! Hostile files (issue 22, aborts and special files): each is built in a scratch folder at
//! test time and given to the real binary (`netdx validate`, which loads the data and needs no
//! GPU) under a memory cap (`ulimit -v`, about 3.8 GB) and a timeout, so that a regression
//! aborts or hangs this one child, not the machine. Each must end with exit 2 and a message
//! naming the file and what is wrong with it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Virtual memory of the child, in KiB: a 2^62-byte `Vec::with_capacity` or an 8 GiB
/// inflation fails inside it.
const MEMORY_CAP_KIB: u64 = 4_000_000;
/// Longer than any of these runs takes (well under a second each when nothing hangs).
const TIMEOUT: Duration = Duration::from_secs(60);

/// A scratch folder, removed when the test passes (kept for a look when it fails).
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("netdx-robust-io-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
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

struct Outcome {
    code: Option<i32>,
    stderr: String,
}

/// Runs `script` under `sh` with `$NETDX` set to the binary, the memory cap and the timeout
/// (a child still running at the timeout is killed and the test fails as a hang), in `dir`.
fn sh(dir: &Path, script: &str, env: &[(&str, &str)]) -> Outcome {
    let err_path = dir.join("stderr.txt");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_CAP_KIB}; {script}"))
        .current_dir(dir)
        .env("NETDX", env!("CARGO_BIN_EXE_netdx"))
        .env("NETDX_RUNS_DIR", dir.join("runs"))
        .env_remove("NETDX_MAX_DATA_BYTES")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn sh");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{script}` hung past {TIMEOUT:?}; stderr: {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    }
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

/// An NPY file's bytes: the preamble and header for `descr` and `shape` (a Python tuple), then
/// `body`.
pub(crate) fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
    crate::common::npy_bytes(descr, shape, false, body)
}

/// A zip of one entry `name` whose data is `packed` (stored, method 0, or deflated, method 8),
/// with the crc and the uncompressed size it declares, written with zip64 size fields as a
/// writer does for large entries.
pub(crate) fn zip64(name: &str, method: u16, crc: u32, packed: &[u8], declared: u64) -> Vec<u8> {
    let mut extra = Vec::new();
    extra.extend(1u16.to_le_bytes());
    extra.extend(16u16.to_le_bytes());
    extra.extend(declared.to_le_bytes());
    extra.extend((packed.len() as u64).to_le_bytes());
    let common = |v: &mut Vec<u8>| {
        v.extend(45u16.to_le_bytes()); // version needed: zip64
        v.extend(0u16.to_le_bytes()); // flags
        v.extend(method.to_le_bytes());
        v.extend(0u32.to_le_bytes()); // time, date
        v.extend(crc.to_le_bytes());
        v.extend(u32::MAX.to_le_bytes()); // compressed size: in the zip64 field
        v.extend(u32::MAX.to_le_bytes()); // uncompressed size: in the zip64 field
        v.extend((name.len() as u16).to_le_bytes());
        v.extend((extra.len() as u16).to_le_bytes());
    };
    let mut z = Vec::new();
    z.extend(0x0403_4b50u32.to_le_bytes());
    common(&mut z);
    z.extend(name.as_bytes());
    z.extend(&extra);
    z.extend(packed);
    let directory = z.len() as u32;
    z.extend(0x0201_4b50u32.to_le_bytes());
    z.extend(45u16.to_le_bytes()); // version made by
    common(&mut z);
    z.extend(0u16.to_le_bytes()); // comment
    z.extend(0u16.to_le_bytes()); // disk
    z.extend(0u16.to_le_bytes()); // internal attributes
    z.extend(0u32.to_le_bytes()); // external attributes
    z.extend(0u32.to_le_bytes()); // local header offset
    z.extend(name.as_bytes());
    z.extend(&extra);
    let directory_len = z.len() as u32 - directory;
    z.extend(0x0605_4b50u32.to_le_bytes());
    z.extend([0u8; 4]); // disks
    z.extend(1u16.to_le_bytes());
    z.extend(1u16.to_le_bytes());
    z.extend(directory_len.to_le_bytes());
    z.extend(directory.to_le_bytes());
    z.extend(0u16.to_le_bytes());
    z
}

/// A raw deflate stream of `prefix` then `zeros` zero bytes (a whole number of MiB), built
/// without inflating anything: one MiB of zeros is compressed once and its flushed blocks
/// repeated, so a stream that inflates to gigabytes costs about a thousandth of that.
fn deflate_bomb(prefix: &[u8], zeros: u64) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let block = |input: &[u8], flush| {
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(input.len() / 2 + 1024);
        c.compress_vec(input, &mut out, flush).unwrap();
        assert_eq!(c.total_in() as usize, input.len());
        out
    };
    const MIB: u64 = 1 << 20;
    assert_eq!(zeros % MIB, 0);
    let zero_block = block(&vec![0u8; MIB as usize], FlushCompress::Full);
    let mut out = block(prefix, FlushCompress::Full);
    for _ in 0..zeros / MIB {
        out.extend(&zero_block);
    }
    out.extend(block(&[], FlushCompress::Finish));
    out
}

/// `y.npy`: three int64 labels, for data whose `x` is the hostile file.
fn labels(dir: &Path) {
    let body: Vec<u8> = [0i64, 1, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("y.npy"), npy("<i8", "(3,)", &body)).unwrap();
}

#[test]
fn an_npz_entry_whose_zip64_header_claims_2_pow_62_bytes_is_refused_before_allocating() {
    let dir = scratch("zip64");
    let x = npy("<f4", "(3, 2)", &[0u8; 24]);
    let crc = crc32(&x);
    std::fs::write(dir.join("d.npz"), zip64("x.npy", 0, crc, &x, 1u64 << 62)).unwrap();
    config(&dir, "{npz: {path: d.npz}}");
    refused(
        &validate(&dir, &[]),
        &[
            "d.npz: tensor `x`: the zip entry declares 4611686018427387904 bytes uncompressed",
            "more than netdx reads from one data file (4294967296 bytes; NETDX_MAX_DATA_BYTES sets this ceiling)",
        ],
    );
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
fn a_gzipped_idx_whose_header_needs_more_than_its_gzip_holds_is_refused() {
    let dir = scratch("idx");
    // A header for 65536 × 65536 bytes (4 GiB) in a gzip of a few dozen bytes.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&[0, 0, 0x08, 2, 0, 1, 0, 0, 0, 1, 0, 0])
        .unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(dir.join("images.gz"), &gz).unwrap();
    config(&dir, "{idx: {images: images.gz, labels: images.gz}}");
    refused(
        &validate(&dir, &[]),
        &[&format!(
            "images.gz: truncated: the header needs 4294967296 bytes for the 4294967296 values of shape [65536, 65536] (U8); a gzip of {} bytes cannot inflate to that",
            gz.len()
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
fn a_symbolic_link_loop_is_called_one() {
    let dir = scratch("loop");
    std::os::unix::fs::symlink("b", dir.join("a")).unwrap();
    std::os::unix::fs::symlink("a", dir.join("b")).unwrap();
    labels(&dir);
    config(&dir, "{npy: {x: a, y: y.npy}}");
    let out = validate(&dir, &[]);
    refused(
        &out,
        &["a: symbolic link loop (too many levels of symbolic links)"],
    );
    assert!(!out.stderr.contains("no such file"), "{}", out.stderr);
    refused(
        &sh(&dir, "exec \"$NETDX\" validate a", &[]),
        &["a: symbolic link loop"],
    );
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

/// CRC-32 (zip's), for fixtures that are read to their end.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(bytes);
    c.sum()
}
