//! Property tests standing in for fuzzing (cargo-fuzz needs a nightly toolchain, which this
//! project's machines do not have): the config loader and every data loader get random bytes
//! and random mutations of valid inputs, and must answer Ok or a typed error — never panic,
//! never hang. Failing inputs are kept by proptest in `tests/proptest-regressions/` and replayed
//! first on every run. `PROPTEST_CASES=100000 cargo test --release fuzz` runs longer.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netdx-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Random edits of `seed`: overwrite, insert or delete bytes at random places.
fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len().max(1);
    prop::collection::vec((0..len, any::<u8>(), 0u8..3), 1..8).prop_map(move |edits| {
        let mut b = seed.clone();
        for (at, byte, op) in edits {
            let at = at.min(b.len());
            match op {
                0 if at < b.len() => b[at] = byte,
                1 => b.insert(at, byte),
                _ if at < b.len() => {
                    b.remove(at);
                }
                _ => b.push(byte),
            }
        }
        b
    })
}

fn config_seed() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/default.yaml")).unwrap()
}

fn npy_seed() -> Vec<u8> {
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    v.extend((header.len() as u16).to_le_bytes());
    v.extend(header.as_bytes());
    v.extend((0..6).flat_map(|i| (i as f32).to_le_bytes()));
    v
}

fn idx_seed() -> Vec<u8> {
    netdx::io::idx::to_bytes_u8(&[3, 2, 2], &[7; 12])
}

fn safetensors_seed() -> Vec<u8> {
    let x: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let y: Vec<u8> = (0..3i64).flat_map(|i| i.to_le_bytes()).collect();
    let views = vec![
        (
            "x",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![3, 2], &x).unwrap(),
        ),
        (
            "y",
            safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![3], &y).unwrap(),
        ),
    ];
    safetensors::serialize(views, None).unwrap()
}

fn npz_seed() -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for name in ["x.npy", "y.npy"] {
        w.start_file(name, options).unwrap();
        w.write_all(&npy_seed()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A token array [3, 5] of int64 ids.
fn tokens_seed() -> Vec<u8> {
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    let mut header = "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 5), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    v.extend((header.len() as u16).to_le_bytes());
    v.extend(header.as_bytes());
    v.extend((0..15i64).flat_map(|i| (i % 7).to_le_bytes()));
    v
}

fn config_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `cases` runs, a failing input kept in `proptest-regressions` beside the test (replayed
/// first next time).
fn persisted(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(persisted(256))]

    #[test]
    fn the_config_loader_never_panics_on_mutated_configs(bytes in mutated(config_seed())) {
        let text = config_text(&bytes);
        let path = Path::new("fuzz.yaml");
        if let Ok(config) = netdx::config::Config::parse(&text, path) {
            let _ = netdx::config::cases::expand(&text, path, &config);
        }
    }

    #[test]
    fn the_config_loader_never_panics_on_random_text(text in "[ -~\n\t{}\\[\\]:,&*!|>-]{0,400}") {
        let _ = netdx::config::Config::parse(&text, Path::new("random.yaml"));
    }

    #[test]
    fn npy_never_panics(bytes in prop_oneof![mutated(npy_seed()), prop::collection::vec(any::<u8>(), 0..300)]) {
        let _ = netdx::io::npy::parse(&bytes, netdx::io::Origin::file(Path::new("f.npy")));
    }

    #[test]
    fn idx_never_panics(bytes in prop_oneof![mutated(idx_seed()), prop::collection::vec(any::<u8>(), 0..300)]) {
        let _ = netdx::io::idx::parse(&bytes, netdx::io::Origin::file(Path::new("f.idx")));
    }

    #[test]
    fn file_datasets_never_panic(
        npy_x in mutated(npy_seed()),
        st in mutated(safetensors_seed()),
        csv in mutated(b"a,b,label\n1,2,x\n3,4,y\n5,6,x\n".to_vec()),
        idx in mutated(idx_seed()),
        npz in mutated(npz_seed()),
        text in mutated("héllo wörld\nthe quick brown fox\n".as_bytes().to_vec()),
        tokens in mutated(tokens_seed()),
    ) {
        let tag = format!("{:x}", std::thread::current().id().as_u64_stable());
        for (name, bytes) in [("x.npy", &npy_x), ("d.safetensors", &st), ("d.csv", &csv), ("images", &idx), ("d.npz", &npz), ("t.txt", &text), ("tokens.npy", &tokens)] {
            std::fs::write(scratch(&format!("{tag}-{name}")), bytes).unwrap();
        }
        std::fs::write(scratch(&format!("{tag}-y.npy")), npy_seed()).unwrap();
        let dir = scratch("");
        for data in [
            format!("{{npy: {{x: {tag}-x.npy, y: {tag}-y.npy}}, validation: 0.34, normalize: standardize}}"),
            format!("{{safetensors: {{path: {tag}-d.safetensors}}}}"),
            format!("{{csv: {{path: {tag}-d.csv}}, normalize: minmax}}"),
            format!("{{idx: {{images: {tag}-images, labels: {tag}-images}}}}"),
            format!("{{npz: {{path: {tag}-d.npz}}, classes: 7}}"),
            format!("{{text: {{path: {tag}-t.txt, context: 4}}, validation: 0.3}}"),
            format!("{{text: {{path: {tag}-t.txt, context: 3, stride: 2, level: byte}}}}"),
            format!("{{text: {{path: {tag}-t.txt, context: 2}}, validation: {{text: {{path: {tag}-t.txt, context: 2}}}}}}"),
            format!("{{tokens: {{path: {tag}-tokens.npy}}, validation: 0.5}}"),
            format!("{{tokens: {{path: {tag}-tokens.npy, vocab: 7}}, validation: {{tokens: {{path: {tag}-tokens.npy}}}}}}"),
            format!("{{tokens: {{path: {tag}-d.npz, array: x}}}}"),
            format!("{{tokens: {{path: {tag}-d.safetensors}}}}"),
        ] {
            let yaml = format!("data: {data}\nmodel: {{layers: [{{linear: {{out: 2}}}}]}}\ntraining: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 1, steps: 1}}\n");
            if let Ok(config) = netdx::config::Config::parse(&yaml, &dir.join("fuzz.yaml")) {
                let _ = netdx::data::load(&config.data, 0, &dir);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any small parameters the config accepts generate a task: never a panic, never an error.
    #[test]
    fn sequence_tasks_never_panic(
        task in prop::sample::select(vec!["copy", "reverse", "sort", "modular_addition"]),
        length in 0usize..12,
        symbols in 0usize..20,
        modulus in 0usize..30,
        points in 0usize..300,
        seed in any::<u64>(),
    ) {
        let params = if task == "modular_addition" {
            format!("modulus: {modulus}, points: {points}")
        } else {
            format!("length: {length}, symbols: {symbols}, points: {points}")
        };
        let yaml = format!("data: {{builtin: {task}, {params}, seed: {seed}, validation: 0.5}}\nmodel: {{layers: [{{linear: {{out: 2}}}}]}}\ntraining: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 1, steps: 1}}\n");
        if let Ok(config) = netdx::config::Config::parse(&yaml, Path::new("task.yaml")) {
            // A split of one example is refused (both parts need one); anything else loads.
            if points >= 2 {
                let d = netdx::data::load(&config.data, 0, Path::new("."));
                prop_assert!(d.is_ok(), "{yaml}: {:?}", d.err());
            }
        }
    }
}

/// The declared ranges of the checks' parameters (`checks[].NAME.PARAM`) as (check, parameter,
/// range).
fn check_ranges() -> Vec<(String, String, netdx::config::ranges::Range)> {
    netdx::config::ranges::RANGES
        .iter()
        .filter_map(|r| {
            let rest = r.key.strip_prefix("checks[].")?;
            let (check, param) = rest.split_once('.')?;
            Some((check.to_string(), param.to_string(), *r))
        })
        .collect()
}

/// A value as YAML writes it (`.nan`, `.inf`, `-.inf`, `1e300`).
fn yaml_number(v: f64) -> String {
    if v.is_nan() {
        ".nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { ".inf" } else { "-.inf" }.into()
    } else {
        format!("{v:?}")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random values of each check's numeric parameters are accepted only within the
    /// parameter's declared range, and otherwise refused at load with an error that names the
    /// check's key (exit 2): never a panic, never a run-time failure.
    #[test]
    fn check_parameters_are_accepted_in_range_or_refused_naming_the_key(
        which in any::<prop::sample::Index>(),
        special in prop::sample::select(vec![
            f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0, 1e-300, 0.5, 1.0, 2.0,
            1e300, 1e12,
        ]),
        random in -1e6f64..1e6,
        int in prop_oneof![0u64..4, 0u64..(1 << 40), Just(u64::MAX)],
        pick in 0u8..3,
    ) {
        let ranges = check_ranges();
        let (check, param, range) = &ranges[which.index(ranges.len())];
        let (value, text) = match range.kind {
            netdx::config::ranges::Kind::Int => (int as f64, int.to_string()),
            netdx::config::ranges::Kind::Float => {
                let v = if pick == 0 { random } else { special };
                (v, yaml_number(v))
            }
        };
        let yaml = format!(
            "data: {{builtin: spiral, classes: 3}}\nmodel: {{layers: [{{linear: {{out: 3}}}}]}}\ntraining: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 10, steps: 5}}\nchecks: [{{{check}: {{{param}: {text}}}}}]\n"
        );
        match netdx::config::Config::parse(&yaml, Path::new("params.yaml")) {
            Ok(_) => prop_assert!(
                range.contains(value) && (range.kind == netdx::config::ranges::Kind::Float || int <= 1 << 53),
                "{check}.{param}: {text} accepted outside {}", range.describe()
            ),
            Err(e) => {
                let message = e.to_string();
                prop_assert_eq!(e.exit_code(), 2);
                prop_assert!(message.starts_with("params.yaml:4:"), "{}", message);
                // Out of range: the parameter itself; in range, a rule naming its check.
                let named = if range.contains(value) {
                    format!("checks[0].{check}.")
                } else {
                    format!("checks[0].{check}.{param}: ")
                };
                prop_assert!(message.contains(&named), "{check}.{param}: {text}: {message}");
            }
        }
    }
}

/// An NPY header's shape as Python writes it: `(3,)`, `(2, 5)`.
fn shape_text(dims: &[u64]) -> String {
    crate::common::npy_shape(dims)
}

/// A dimension: mostly small, sometimes near a power of two, sometimes anything.
fn dimension() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..20,
        (0u32..64).prop_map(|p| 1u64 << p),
        (0u32..64).prop_map(|p| (1u64 << p).wrapping_sub(1)),
        any::<u64>(),
    ]
}

/// A declared size: honest-ish, a power of two, or anything.
fn declared_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..4096,
        (0u32..64).prop_map(|p| 1u64 << p),
        Just(u32::MAX as u64),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

proptest! {
    #![proptest_config(persisted(256))]

    /// An NPZ entry's declared sizes (zip64) and its NPY header's shape, each random and
    /// disagreeing with the bytes there are: an error or an array, never a panic or an abort
    /// (an allocation trusting a size would abort this whole test binary).
    #[test]
    fn npz_size_fields_never_panic_or_abort(
        declared in declared_size(),
        dims in prop::collection::vec(dimension(), 1..4),
        descr in prop::sample::select(vec!["<f4", "|u1", "<f8", "<u8"]),
        body in 0usize..64,
        deflated in any::<bool>(),
    ) {
        let x = crate::common::hostile_files::npy(descr, &shape_text(&dims), &vec![1u8; body]);
        let (method, packed) = if deflated {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, &x).unwrap();
            (8, e.finish().unwrap())
        } else {
            (0, x.clone())
        };
        let tag = format!("{:x}", std::thread::current().id().as_u64_stable());
        let path = scratch(&format!("{tag}-sizes.npz"));
        std::fs::write(&path, crate::common::hostile_files::zip64("x.npy", method, 0, &packed, declared)).unwrap();
        if let Ok(mut npz) = netdx::io::npz::Npz::open(&path) {
            if let Ok(a) = npz.read("x") {
                prop_assert_eq!(Some(a.data.len() as u64), dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d)));
            }
        }
    }

    /// An IDX header's dimensions and element type, raw or gzipped, random against the bytes
    /// that follow: an error or an array, never a panic or an abort.
    #[test]
    fn idx_size_fields_never_panic_or_abort(
        dims in prop::collection::vec(prop_oneof![0u32..20, any::<u32>()], 0..5),
        code in prop::sample::select(vec![0x08u8, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]),
        body in 0usize..200,
        gzipped in any::<bool>(),
    ) {
        let mut bytes = vec![0, 0, code, dims.len() as u8];
        for d in &dims {
            bytes.extend(d.to_be_bytes());
        }
        bytes.extend(vec![3u8; body]);
        if gzipped {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, &bytes).unwrap();
            bytes = e.finish().unwrap();
        }
        let tag = format!("{:x}", std::thread::current().id().as_u64_stable());
        let path = scratch(&format!("{tag}-sizes.idx"));
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(a) = netdx::io::idx::read(&path) {
            prop_assert_eq!(Some(a.data.len() as u64), dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64)));
        }
    }

    /// An NPY file whose shape is random against its body, read from disk (mapped): never a
    /// panic or an abort.
    #[test]
    fn npy_size_fields_never_panic_or_abort(
        dims in prop::collection::vec(dimension(), 0..4),
        body in 0usize..64,
    ) {
        let tag = format!("{:x}", std::thread::current().id().as_u64_stable());
        let path = scratch(&format!("{tag}-sizes.npy"));
        std::fs::write(&path, crate::common::hostile_files::npy("<f4", &shape_text(&dims), &vec![0u8; body])).unwrap();
        if let Ok(a) = netdx::io::npy::read(&path) {
            prop_assert_eq!(Some(a.data.len() as u64), dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d)));
        }
    }
}

/// A stable number per thread, so parallel cases write to their own files.
trait StableId {
    fn as_u64_stable(&self) -> u64;
}

impl StableId for std::thread::ThreadId {
    fn as_u64_stable(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}
