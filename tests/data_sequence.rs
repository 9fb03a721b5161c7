//! Sequence (language-model) data: text files per character or byte, integer token arrays
//! (NPY, NPZ, safetensors) and the seeded tasks (copy, reverse, sort, modular addition) load
//! with the documented shapes, targets (−1 where not scored) and vocabulary; every bad file
//! names the file and the row and column or byte offset; keys that do not apply to token data
//! are refused by the config. No GPU: these tests are about loading, not training.

use std::path::{Path, PathBuf};

use netdx::config::Config;
use netdx::data::{Dataset, SequenceInfo};

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("netdx-sequence-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A config in `dir()` whose data section is `data` (a YAML flow map).
fn parse(data: &str) -> netdx::Result<Config> {
    let yaml = format!(
        "data: {data}\nmodel: {{layers: [{{linear: {{out: 4}}}}]}}\ntraining: {{optimizer: {{name: adam, lr: 0.01}}, batch_size: 2, steps: 5}}\n"
    );
    Config::parse(&yaml, &dir().join("sequence.yaml"))
}

fn load_all(data: &str) -> netdx::Result<netdx::data::LoadedData> {
    let config = parse(data)?;
    netdx::data::load(&config.data, config.seed, &config.base_dir)
}

fn load(data: &str) -> netdx::Result<Dataset> {
    load_all(data).map(|d| d.train)
}

fn write(name: &str, bytes: &[u8]) {
    std::fs::write(dir().join(name), bytes).unwrap();
}

/// Row `i` of the targets.
fn target(d: &Dataset, i: usize) -> &[f32] {
    &d.y[i * d.y_width..(i + 1) * d.y_width]
}

/// Every documented invariant of token data: shapes, exact ids below the vocabulary, −1 or an
/// id in every target.
fn assert_token_data(d: &Dataset, context: usize, vocab: usize) {
    assert_eq!(
        d.sequence,
        Some(SequenceInfo { context, vocab }),
        "{}",
        d.name
    );
    assert_eq!(
        (d.x_width, d.y_width, d.classes),
        (context, context, Some(vocab))
    );
    assert_eq!((d.x.len(), d.y.len()), (d.n * context, d.n * context));
    assert!(d.image.is_none());
    for v in &d.x {
        assert!(
            v.fract() == 0.0 && *v >= 0.0 && (*v as usize) < vocab,
            "x {v}"
        );
    }
    for v in &d.y {
        assert!(
            *v == -1.0 || (v.fract() == 0.0 && *v >= 0.0 && (*v as usize) < vocab),
            "y {v}"
        );
    }
}

#[test]
fn a_text_file_per_character_is_windows_of_the_next_characters() {
    let text = "hello world\nhello there\n";
    write("hello.txt", text.as_bytes());
    let d = load("{text: {path: hello.txt, context: 4}}").unwrap();
    let mut vocabulary: Vec<char> = text.chars().collect();
    vocabulary.sort();
    vocabulary.dedup();
    let names: Vec<String> = vocabulary.iter().map(|c| c.to_string()).collect();
    assert_eq!(d.class_names, names);
    assert_token_data(&d, 4, names.len());
    let ids: Vec<f32> = text
        .chars()
        .map(|c| vocabulary.iter().position(|v| *v == c).unwrap() as f32)
        .collect();
    // Windows of 5 tokens every 4 (the default stride is the context).
    assert_eq!(d.n, (ids.len() - 5) / 4 + 1);
    for i in 0..d.n {
        assert_eq!(d.row(i), &ids[i * 4..i * 4 + 4]);
        assert_eq!(target(&d, i), &ids[i * 4 + 1..i * 4 + 5]);
    }
    assert!(d.name.contains("hello.txt"), "{}", d.name);
    // The run record carries the vocabulary and counts every target.
    let s = d.summary();
    assert_eq!(s.class_names, names);
    assert_eq!(s.class_counts.unwrap().iter().sum::<usize>(), d.n * 4);

    let d = load("{text: {path: hello.txt, context: 3, stride: 1}}").unwrap();
    assert_eq!(d.n, ids.len() - 3);
    assert_eq!(d.row(7), &ids[7..10]);
    assert_eq!(target(&d, 7), &ids[8..11]);
}

#[test]
fn a_text_file_per_byte_has_a_vocabulary_of_256() {
    let text = "café\n\u{1F600}!";
    write("bytes.txt", text.as_bytes());
    let d = load("{text: {path: bytes.txt, context: 2, stride: 2, level: byte}}").unwrap();
    assert_token_data(&d, 2, 256);
    assert_eq!(d.class_names.len(), 256);
    assert_eq!(d.class_names[b'a' as usize], "a");
    assert_eq!(d.class_names[b' ' as usize], " ");
    assert_eq!(d.class_names[b'\n' as usize], "\\x0a");
    assert_eq!(d.class_names[0xc3], "\\xc3");
    let b: Vec<f32> = text.bytes().map(|b| b as f32).collect();
    assert_eq!(d.n, (b.len() - 3) / 2 + 1);
    assert_eq!(d.row(1), &b[2..4]);
    assert_eq!(target(&d, 1), &b[3..5]);
    // Bytes that are not UTF-8 are fine at byte level.
    write("latin1.txt", b"caf\xe9 au lait");
    let d = load("{text: {path: latin1.txt, context: 4, level: byte}}").unwrap();
    assert_eq!(d.row(0), &[99.0, 97.0, 102.0, 233.0]);
}

#[test]
fn bad_text_files_name_the_file_and_the_byte_offset() {
    write("empty.txt", b"");
    write("latin1-char.txt", b"line one\ncaf\xe9\n");
    write("short.txt", b"abcd");
    let cases = [
        ("{text: {path: empty.txt, context: 4}}", "empty.txt: is empty"),
        (
            "{text: {path: latin1-char.txt, context: 2}}",
            "latin1-char.txt: byte 12 (line 2): not UTF-8 text; `level: byte` reads any file byte by byte",
        ),
        (
            "{text: {path: short.txt, context: 4}}",
            "short.txt: 4 characters is too short for one example of context 4 (needs 5)",
        ),
        (
            "{text: {path: short.txt, context: 4, level: byte}}",
            "short.txt: 4 bytes is too short for one example of context 4 (needs 5)",
        ),
    ];
    for (data, want) in cases {
        let err = load(data).expect_err(data);
        assert!(err.to_string().ends_with(want), "{data}: `{err}`");
        assert_eq!(err.exit_code(), 2);
    }
    // Absurd sizes are refused before anything is allocated: 40,000 windows of 30,000 tokens
    // from a 70 kB file, and a file larger than netdx reads (sparse: nothing is written).
    write("long.txt", &[b'a'; 70_000]);
    let err = load("{text: {path: long.txt, context: 30000, stride: 1}}").unwrap_err();
    assert!(
        err.to_string().ends_with(
            "long.txt: 40000 windows of 30000 tokens is more than netdx holds (1073741824 values); use a larger stride"
        ),
        "{err}"
    );
    let huge = std::fs::File::create(dir().join("huge.txt")).unwrap();
    huge.set_len((1 << 28) + 1).unwrap();
    let err = load("{text: {path: huge.txt, context: 8}}").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("huge.txt: 268435457 bytes is more text than netdx reads (268435456 bytes)"),
        "{err}"
    );
    // The loader guards sizes itself, for callers that skip the config's validation.
    for (context, stride, want) in [
        (0, None, "context must be between 1 and"),
        (2, Some(0), "stride must be at least 1"),
    ] {
        let source = netdx::data::TextSource {
            path: "short.txt".into(),
            context,
            stride,
            level: Default::default(),
        };
        let err = netdx::data::text::load(&source, &dir(), None).unwrap_err();
        assert!(
            err.to_string().contains("short.txt") && err.to_string().contains(want),
            "{err}"
        );
    }
}

/// An NPY v1 file: dtype `descr`, `shape`, body bytes.
fn npy(descr: &str, shape: &[usize], body: &[u8]) -> Vec<u8> {
    crate::common::npy_bytes(descr, &crate::common::npy_shape(shape), false, body)
}

fn i64s(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A token array [4, 6]: row r is r, r+1, …, r+5.
fn rows() -> Vec<i64> {
    (0..4)
        .flat_map(|r| (r..r + 6).collect::<Vec<_>>())
        .collect()
}

fn write_npz(name: &str, entries: &[(&str, Vec<u8>)]) {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::fs::File::create(dir().join(name)).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (entry, bytes) in entries {
        w.start_file(format!("{entry}.npy"), options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

fn assert_rows(d: &Dataset, vocab: usize) {
    assert_token_data(d, 5, vocab);
    assert_eq!(d.n, 4);
    for r in 0..4 {
        let want: Vec<f32> = (r..r + 6).map(|v| v as f32).collect();
        assert_eq!(d.row(r), &want[..5]);
        assert_eq!(target(d, r), &want[1..]);
    }
    assert!(d.class_names.is_empty());
}

#[test]
fn token_arrays_load_from_npy_npz_and_safetensors() {
    let tokens = rows();
    write("tokens.npy", &npy("<i8", &[4, 6], &i64s(&tokens)));
    assert_rows(&load("{tokens: {path: tokens.npy}}").unwrap(), 9);
    assert_rows(
        &load("{tokens: {path: tokens.npy, vocab: 50}}").unwrap(),
        50,
    );
    // Other integer dtypes, big-endian too; float arrays of whole numbers.
    let u16s: Vec<u8> = tokens
        .iter()
        .flat_map(|v| (*v as u16).to_le_bytes())
        .collect();
    write("u16.npy", &npy("<u2", &[4, 6], &u16s));
    assert_rows(&load("{tokens: {path: u16.npy}}").unwrap(), 9);
    let be: Vec<u8> = tokens
        .iter()
        .flat_map(|v| (*v as i32).to_be_bytes())
        .collect();
    write("be.npy", &npy(">i4", &[4, 6], &be));
    assert_rows(&load("{tokens: {path: be.npy}}").unwrap(), 9);
    let f: Vec<u8> = tokens
        .iter()
        .flat_map(|v| (*v as f32).to_le_bytes())
        .collect();
    write("whole.npy", &npy("<f4", &[4, 6], &f));
    assert_rows(&load("{tokens: {path: whole.npy}}").unwrap(), 9);

    let array = npy("<i8", &[4, 6], &i64s(&tokens));
    write_npz("one.npz", &[("ids", array.clone())]);
    assert_rows(&load("{tokens: {path: one.npz}}").unwrap(), 9);
    write_npz(
        "two.npz",
        &[
            ("train", array),
            ("other", npy("<i8", &[1, 2], &i64s(&[0, 1]))),
        ],
    );
    assert_rows(&load("{tokens: {path: two.npz, array: train}}").unwrap(), 9);

    let bytes: Vec<u8> = tokens.iter().map(|v| *v as u8).collect();
    let st = safetensors::serialize(
        vec![(
            "ids",
            safetensors::tensor::TensorView::new(safetensors::Dtype::U8, vec![4, 6], &bytes)
                .unwrap(),
        )],
        None,
    )
    .unwrap();
    write("tokens.safetensors", &st);
    assert_rows(&load("{tokens: {path: tokens.safetensors}}").unwrap(), 9);
    assert_rows(
        &load("{tokens: {path: tokens.safetensors, array: ids, vocab: 12}}").unwrap(),
        12,
    );
}

#[test]
fn bad_token_arrays_name_the_file_row_and_column() {
    let mut over = rows();
    over[3 * 6 + 4] = 130;
    write("over.npy", &npy("<i8", &[4, 6], &i64s(&over)));
    let mut negative = rows();
    negative[6 + 2] = -3;
    write("negative.npy", &npy("<i8", &[4, 6], &i64s(&negative)));
    let mut fraction: Vec<f32> = rows().iter().map(|v| *v as f32).collect();
    fraction[2 * 6 + 5] = 1.5;
    let f: Vec<u8> = fraction.iter().flat_map(|v| v.to_le_bytes()).collect();
    write("fraction.npy", &npy("<f4", &[4, 6], &f));
    write("rank1.npy", &npy("<i8", &[6], &i64s(&[1, 2, 3, 4, 5, 6])));
    write(
        "rank3.npy",
        &npy("<i8", &[1, 2, 3], &i64s(&[1, 2, 3, 4, 5, 6])),
    );
    write("narrow.npy", &npy("<i8", &[3, 1], &i64s(&[1, 2, 3])));
    write("none.npy", &npy("<i8", &[0, 6], &[]));
    write("tokens.bin", b"0123");
    let array = npy("<i8", &[4, 6], &i64s(&rows()));
    write_npz("pair.npz", &[("a", array.clone()), ("b", array)]);
    let cases = [
        (
            "{tokens: {path: over.npy, vocab: 128}}",
            "over.npy: row 3, column 4: token 130 is not below vocab 128",
        ),
        (
            "{tokens: {path: negative.npy}}",
            "negative.npy: row 1, column 2: token -3 is negative",
        ),
        (
            "{tokens: {path: fraction.npy}}",
            "fraction.npy: row 2, column 5: 1.5 is not a token id (a whole number)",
        ),
        (
            "{tokens: {path: rank1.npy}}",
            "rank1.npy: token arrays must be [examples, context + 1]; the shape is [6]",
        ),
        (
            "{tokens: {path: rank3.npy}}",
            "rank3.npy: token arrays must be [examples, context + 1]; the shape is [1, 2, 3]",
        ),
        (
            "{tokens: {path: narrow.npy}}",
            "narrow.npy: each example needs at least 2 tokens (a context of 1 and its next token); the shape is [3, 1]",
        ),
        (
            "{tokens: {path: none.npy}}",
            "none.npy: no examples: the shape is [0, 6]",
        ),
        (
            "{tokens: {path: tokens.bin}}",
            "tokens.bin: tokens are read from .npy, .npz or .safetensors files; the extension is `bin`",
        ),
        (
            "{tokens: {path: pair.npz}}",
            "pair.npz: holds 2 arrays (a, b); name the token array with `array:`",
        ),
        (
            "{tokens: {path: pair.npz, array: c}}",
            "pair.npz: tensor `c`: no such array; the archive holds: a, b",
        ),
        (
            "{tokens: {path: over.npy, array: ids}}",
            "over.npy: an NPY file holds one array; `array: ids` names an array of an NPZ or safetensors file",
        ),
    ];
    for (data, want) in cases {
        let err = load(data).expect_err(data);
        assert!(err.to_string().ends_with(want), "{data}: `{err}`");
        assert_eq!(err.exit_code(), 2);
    }
}

/// The operand, the separator position and the answer of a list task's example `i`.
fn operand(d: &Dataset, i: usize, length: usize) -> Vec<usize> {
    d.row(i)[..length].iter().map(|v| *v as usize).collect()
}

#[test]
fn copy_reverse_and_sort_score_only_the_answer() {
    for task in ["copy", "reverse", "sort"] {
        let d = load(&format!("{{builtin: {task}}}")).unwrap();
        // Defaults: 2048 sequences of 8 symbols of 10, the separator is id 10.
        assert_token_data(&d, 16, 11);
        assert_eq!(d.n, 2048);
        let mut names: Vec<String> = (0..10).map(|s| s.to_string()).collect();
        names.push("SEP".into());
        assert_eq!(d.class_names, names);
        for i in 0..d.n {
            let a = operand(&d, i, 8);
            let mut answer = a.clone();
            match task {
                "reverse" => answer.reverse(),
                "sort" => answer.sort(),
                _ => {}
            }
            let x = d.row(i);
            let y = target(&d, i);
            // x = a1..aL SEP ans1..ans(L−1); y = −1 × L, then the whole answer.
            assert_eq!(x[8], 10.0, "{task} {i}");
            for t in 0..7 {
                assert_eq!(x[9 + t] as usize, answer[t], "{task} {i}");
            }
            assert!(y[..8].iter().all(|v| *v == -1.0), "{task} {i}: {y:?}");
            let scored: Vec<usize> = y[8..].iter().map(|v| *v as usize).collect();
            assert_eq!(scored, answer, "{task} {i}");
        }
        // Class counts: only scored targets, so 8 per example and none for the separator.
        let counts = d.class_counts().unwrap();
        assert_eq!(counts.iter().sum::<usize>(), 2048 * 8);
        assert_eq!(counts[10], 0);
    }
    let d = load("{builtin: reverse, points: 5, length: 3, symbols: 4}").unwrap();
    assert_token_data(&d, 6, 5);
    assert_eq!(d.n, 5);
    assert_eq!(d.class_names, ["0", "1", "2", "3", "SEP"]);
    assert_eq!(d.name, "reverse(points=5, length=3, symbols=4)");
}

#[test]
fn modular_addition_holds_every_pair_once_in_a_seeded_order() {
    let d = load("{builtin: modular_addition}").unwrap();
    let p = 23;
    assert_token_data(&d, 4, p + 2);
    assert_eq!(d.n, p * p);
    assert_eq!(d.class_names[p], "+");
    assert_eq!(d.class_names[p + 1], "=");
    let mut seen = vec![false; p * p];
    for i in 0..d.n {
        let x = d.row(i);
        let (a, b) = (x[0] as usize, x[2] as usize);
        assert_eq!((x[1], x[3]), (p as f32, (p + 1) as f32));
        assert_eq!(target(&d, i), &[-1.0, -1.0, -1.0, ((a + b) % p) as f32]);
        assert!(!seen[a * p + b], "pair ({a}, {b}) twice");
        seen[a * p + b] = true;
    }
    // Shuffled: not in the order a, b of the loops.
    assert_ne!(d.row(1)[..3], [0.0, p as f32, 1.0]);
    let counts = d.class_counts().unwrap();
    assert_eq!(counts.iter().sum::<usize>(), p * p);
    assert!(counts[..p].iter().all(|c| *c == p));

    let some = load("{builtin: modular_addition, modulus: 97, points: 300}").unwrap();
    assert_token_data(&some, 4, 99);
    assert_eq!(some.n, 300);
    for i in 0..some.n {
        let x = some.row(i);
        assert_eq!(
            target(&some, i)[3] as usize,
            (x[0] as usize + x[2] as usize) % 97
        );
    }
}

#[test]
fn tasks_are_seeded() {
    for task in ["copy", "reverse", "sort", "modular_addition"] {
        let a = load(&format!("{{builtin: {task}, seed: 3}}")).unwrap();
        let b = load(&format!("{{builtin: {task}, seed: 3}}")).unwrap();
        let c = load(&format!("{{builtin: {task}, seed: 4}}")).unwrap();
        assert_eq!((&a.x, &a.y), (&b.x, &b.y), "{task}");
        assert_ne!(a.x, c.x, "{task}");
        assert_eq!(a.content_hash(), b.content_hash());
        assert_ne!(a.content_hash(), c.content_hash());
    }
    // Without `data.seed`, the config's seed.
    let yaml = |seed: u64| {
        format!(
            "seed: {seed}\ndata: {{builtin: sort}}\nmodel: {{layers: [{{linear: {{out: 4}}}}]}}\ntraining: {{optimizer: {{name: adam, lr: 0.01}}, batch_size: 2, steps: 5}}\n"
        )
    };
    let x = |seed| {
        let c = Config::parse(&yaml(seed), Path::new("s.yaml")).unwrap();
        netdx::data::load(&c.data, c.seed, &c.base_dir)
            .unwrap()
            .train
            .x
    };
    assert_eq!(x(1), x(1));
    assert_ne!(x(1), x(2));
}

#[test]
fn a_validation_split_keeps_rows_whole_and_a_fallback_replaces_a_missing_file() {
    let whole = load("{builtin: copy, points: 100}").unwrap();
    let split = load_all("{builtin: copy, points: 100, validation: 0.25}").unwrap();
    let (t, v) = (split.train, split.validation.unwrap());
    assert_eq!((t.n, v.n), (75, 25));
    for d in [&t, &v] {
        assert_token_data(d, 16, 11);
        assert_eq!(d.class_names, whole.class_names);
        // Every row is one of the whole data's, with its own targets.
        for i in 0..d.n {
            let j = (0..whole.n).find(|j| whole.row(*j) == d.row(i)).unwrap();
            assert_eq!(target(&whole, j), target(d, i));
        }
    }

    let d = load("{text: {path: absent.txt, context: 8}, fallback: {builtin: reverse, length: 4}}")
        .unwrap();
    assert!(
        d.name.starts_with("reverse(")
            && d.name.contains("fallback: ")
            && d.name.contains("absent.txt not found"),
        "{}",
        d.name
    );
    assert_token_data(&d, 8, 11);
    let d = load("{tokens: {path: absent.npy}, fallback: {builtin: modular_addition, modulus: 5}}")
        .unwrap();
    assert_eq!(d.n, 25);
}

#[test]
fn validation_files_share_the_training_vocabulary_and_context() {
    write("train.txt", b"abcabcabcabc");
    write("valid.txt", b"cabcab");
    write("valid-new.txt", b"cabd\ncab");
    let data = load_all(
        "{text: {path: train.txt, context: 3}, validation: {text: {path: valid.txt, context: 3}}}",
    )
    .unwrap();
    let v = data.validation.unwrap();
    assert_eq!(v.class_names, data.train.class_names);
    assert_token_data(&v, 3, 3);
    assert_eq!(v.row(0), &[2.0, 0.0, 1.0]);
    for (validation, want) in [
        (
            "{text: {path: valid-new.txt, context: 3}}",
            "valid-new.txt: byte 3 (line 1): the character 'd' is not in the training text's vocabulary",
        ),
        (
            "{text: {path: valid.txt, context: 2}}",
            "valid.txt: a context of 2 differs from the training data's 3",
        ),
        (
            "{text: {path: valid.txt, context: 3, level: byte}}",
            "valid.txt: the training data's vocabulary is not bytes; read both files with the same `level`",
        ),
    ] {
        let err = load_all(&format!(
            "{{text: {{path: train.txt, context: 3}}, validation: {validation}}}"
        ))
        .unwrap_err();
        assert!(err.to_string().ends_with(want), "{err}");
    }

    write("train.npy", &npy("<i8", &[4, 6], &i64s(&rows())));
    let mut over = rows();
    over[5] = 9;
    write("valid.npy", &npy("<i8", &[4, 6], &i64s(&over)));
    write("valid4.npy", &npy("<i8", &[1, 4], &i64s(&[1, 2, 3, 4])));
    let data =
        load_all("{tokens: {path: train.npy}, validation: {tokens: {path: train.npy}}}").unwrap();
    assert_token_data(&data.validation.unwrap(), 5, 9);
    for (validation, want) in [
        (
            "{tokens: {path: valid.npy}}",
            "valid.npy: row 0, column 5: token 9 is not below vocab 9",
        ),
        (
            "{tokens: {path: valid4.npy}}",
            "valid4.npy: a context of 3 differs from the training data's 5",
        ),
        (
            "{tokens: {path: train.npy, vocab: 10}}",
            "train.npy: a vocab of 10 differs from the training data's 9",
        ),
        (
            "{npy: {x: train.npy, y: train.npy}}",
            "the validation data is features and labels; the training data is token data",
        ),
    ] {
        let err = load_all(&format!(
            "{{tokens: {{path: train.npy}}, validation: {validation}}}"
        ))
        .unwrap_err();
        assert!(err.to_string().ends_with(want), "{err}");
    }
}

#[test]
fn the_config_refuses_keys_that_do_not_apply_to_token_data() {
    write("t.txt", b"some text to read");
    let cases = [
        (
            "{builtin: copy, noise: 0.1}",
            "data.noise: does not apply to the sequence task `copy`, which takes `length`, `symbols`, `points` and `seed`",
        ),
        (
            "{builtin: sort, modulus: 7}",
            "data.modulus: does not apply to the sequence task `sort`, which takes `length`, `symbols`, `points` and `seed`",
        ),
        (
            "{builtin: modular_addition, length: 3}",
            "data.length: does not apply to the sequence task `modular_addition`, which takes `modulus`, `points` and `seed`",
        ),
        (
            "{builtin: modular_addition, classes: 3}",
            "data.classes: does not apply to the sequence task `modular_addition`: its classes are the vocabulary, `modulus` + 2",
        ),
        (
            "{text: {path: t.txt, context: 4}, classes: 3}",
            "data.classes: does not apply to text: its classes are the vocabulary, the file's characters (256 bytes at `level: byte`)",
        ),
        (
            "{text: {path: t.txt, context: 4}, points: 3}",
            "data.points: does not apply to text, which takes `text: {path, context, stride, level}`",
        ),
        (
            "{tokens: {path: t.npy}, classes: 3}",
            "data.classes: does not apply to token arrays: its classes are the vocabulary, `tokens.vocab` (default the largest id + 1)",
        ),
        (
            "{tokens: {path: t.npy}, dims: 3}",
            "data.dims: does not apply to token arrays, which takes `tokens: {path, array, vocab}`",
        ),
        (
            "{text: {path: t.txt, context: 4}, scale: 2}",
            "data.scale: token ids are not features: token data takes no normalization, scale or offset",
        ),
        (
            "{tokens: {path: t.npy}, normalize: {scale: 0.5}}",
            "data.normalize: token ids are not features: token data takes no normalization, scale or offset",
        ),
        (
            "{builtin: copy, shuffle_labels: true}",
            "data.shuffle_labels: does not apply to token data: each target is the next token of its own example",
        ),
        (
            "{builtin: blobs, symbols: 3}",
            "data.symbols: is a parameter of the sequence tasks copy, reverse and sort",
        ),
        (
            "{csv: {path: x.csv}, modulus: 3}",
            "data.modulus: is a parameter of the sequence task modular_addition",
        ),
        ("{text: {path: t.txt, context: 0}}", "data.text.context: must be at least 1"),
        (
            "{text: {path: t.txt, context: 4, stride: 0}}",
            "data.text.stride: must be at least 1",
        ),
        (
            "{text: {path: t.txt, context: 2000000}}",
            "data.text.context: 2000000 tokens is more than netdx allows (1048576)",
        ),
        ("{tokens: {path: t.npy, vocab: 0}}", "data.tokens.vocab: must be at least 1"),
        (
            "{tokens: {path: t.npy, vocab: 20000000}}",
            "data.tokens.vocab: 20000000 is more than netdx allows (16777216; token ids are held exactly as f32)",
        ),
        ("{builtin: copy, length: 0}", "data.length: must be at least 1"),
        (
            "{builtin: copy, length: 1000000}",
            "data.length: must be at most 524288 (the context is twice the length)",
        ),
        (
            "{builtin: copy, points: 100000, length: 10000}",
            "data.points: 100000 examples of 20000 tokens is more than a built-in dataset can have (16777216 examples, 1073741824 values)",
        ),
        (
            "{builtin: copy, symbols: 16777216}",
            "data.symbols: must be at most 16777215 (the vocabulary adds the separator)",
        ),
        (
            "{builtin: modular_addition, modulus: 5000}",
            "data.modulus: must be at most 4096 (all p² pairs are generated)",
        ),
        (
            "{builtin: modular_addition, points: 530}",
            "data.points: modular_addition has 529 pairs (modulus 23); points must be at most that",
        ),
        (
            "{builtin: copy, fallback: {builtin: sort}}",
            "data.fallback: replaces a file source whose files are missing; this data section has none",
        ),
        (
            "{npy: {x: a.npy, y: b.npy}, fallback: {builtin: copy}}",
            "data.fallback: replaces features and labels: it cannot be a sequence task",
        ),
        (
            "{tokens: {path: t.npy}, fallback: {builtin: copy, noise: 1}}",
            "data.fallback.noise: does not apply to the sequence task `copy`, which takes `length`, `symbols`, `points` and `seed`",
        ),
    ];
    for (data, want) in cases {
        let err = parse(data)
            .err()
            .unwrap_or_else(|| panic!("{data} accepted"));
        // Every config error names the file, line and column of the key.
        let text = err.to_string();
        assert!(
            text.contains("sequence.yaml:1:") && text.ends_with(want),
            "{data}: `{text}`"
        );
        assert_eq!(err.exit_code(), 2);
    }
}

#[test]
fn the_schema_describes_the_sequence_sources() {
    let s = netdx::suite::schema::schema();
    let data = &s["properties"]["data"]["properties"];
    for key in ["text", "tokens", "length", "symbols", "modulus"] {
        assert!(data.get(key).is_some(), "schema lacks data.{key}");
    }
    assert_eq!(
        data["text"]["required"],
        serde_json::json!(["path", "context"])
    );
    assert_eq!(data["tokens"]["required"], serde_json::json!(["path"]));
    let builtins = data["builtin"]["enum"].as_array().unwrap();
    for task in ["copy", "reverse", "sort", "modular_addition"] {
        assert!(builtins.contains(&serde_json::json!(task)), "{task}");
    }
    for key in ["length", "symbols", "modulus"] {
        assert!(data["fallback"]["properties"].get(key).is_some(), "{key}");
    }
}
