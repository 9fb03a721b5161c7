//! The calibration corpus (tests/corpus/): the fast subset over two seeds through the library,
//! with the targets `netdx corpus` exits on: no healthy suite fails a check, at most one
//! warning per four healthy suite runs, and every planted problem caught by its expected check
//! with its fix on every seed. A failure lists every entry that misses a target, and why.

use std::path::Path;

use netdx::corpus::{self, Manifest, Options, Part};

use crate::common::software_half;
use crate::gpu_or_skip;

#[test]
fn the_manifest_parses_and_is_large_enough() {
    let m = Manifest::load(Path::new(corpus::DEFAULT_MANIFEST)).expect("the manifest parses");
    assert!(m.healthy.len() >= 40, "{} healthy entries", m.healthy.len());
    assert!(m.planted.len() >= 30, "{} planted entries", m.planted.len());
    let held = |parts: Vec<Part>| parts.iter().filter(|p| **p == Part::HeldOut).count();
    assert!(held(m.healthy.iter().map(|e| e.part).collect()) > 0);
    assert!(held(m.planted.iter().map(|e| e.part).collect()) > 0);
    assert!(m.healthy.iter().any(|e| e.fast) && m.planted.iter().any(|e| e.fast));
    // Every suite file in the corpus folders is in the manifest, and parses.
    for dir in ["healthy", "planted"] {
        for entry in std::fs::read_dir(Path::new("tests/corpus").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let rel = Path::new(dir).join(path.file_name().unwrap());
            let listed = m.healthy.iter().any(|e| e.config == rel)
                || m.planted.iter().any(|e| e.config == rel);
            assert!(listed, "{} is not in the manifest", rel.display());
            netdx::config::Config::load(&path).expect("corpus suite parses");
        }
    }
}

#[test]
fn the_fast_subset_meets_the_targets_over_two_seeds() {
    let gpu = gpu_or_skip!();
    let m = Manifest::load(Path::new(corpus::DEFAULT_MANIFEST)).unwrap();
    // Seed k is half k of the test (see common::runs_half).
    let seeds = match software_half(gpu) {
        Some(k) => k as u64..k as u64 + 1,
        None => 0..2,
    };
    let n = seeds.clone().count();
    let options = Options {
        seeds,
        part: None,
        fast: true,
    };
    let report = corpus::run(
        gpu,
        &m,
        corpus::DEFAULT_MANIFEST,
        &options,
        &mut |d, n, r| eprintln!("[{d}/{n}] {} seed {}: {:.1} s", r.config, r.seed, r.seconds),
    )
    .expect("the corpus runs");
    eprintln!("{}", corpus::table::to_text(&report));
    let t = report.totals(None);
    assert!(t.healthy_runs >= n * 6 && t.planted_runs >= n * 8, "{t:?}");
    let problems = report.problems();
    assert!(
        problems.is_empty(),
        "the corpus misses its targets ({} healthy fails, {} healthy warnings over {} runs, {}/{} planted runs caught):\n  {}",
        t.healthy.fail,
        t.healthy.warn,
        t.healthy_runs,
        t.planted.caught,
        t.planted.total(),
        problems.join("\n  ")
    );
}
