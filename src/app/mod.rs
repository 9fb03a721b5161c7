//! What each command does, from parsed arguments to printed output and an exit code; `main.rs`
//! only parses and maps errors. The small commands live here; `run`, `train` and `runs` have
//! modules of their own, with the run record both share in `recording`.

mod adapters_parallel;
mod corpus;
pub mod merge;
mod progress;
mod recording;
mod run;
mod runs;
mod train;

pub use corpus::corpus_command;
pub use run::run_command;
pub use runs::{baseline_command, report_command, runs_command};
pub use train::train_command;

use crate::checks::catalogue;
use crate::cli::DeviceArgs;
use crate::error::Result;
use crate::gpu::{describe_adapters, Gpu};

/// `netdx validate FILE…`: every file is checked; the first error ends it (exit 2).
pub fn validate_command(files: &[std::path::PathBuf]) -> Result<u8> {
    for f in files {
        let variants = crate::suite::check_file(f)?;
        let cases = if variants > 1 {
            format!(" ({variants} variants)")
        } else {
            String::new()
        };
        println!("ok: {}{cases}", f.display());
    }
    Ok(0)
}

/// `netdx adapters`.
pub fn adapters(device: &DeviceArgs, json: bool) -> Result<u8> {
    let choice = device.choice();
    choice.check_env()?;
    let adapters = describe_adapters(&choice);
    if adapters.is_empty() {
        return Err(choice.no_adapter());
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&adapters).unwrap_or_default()
        );
    } else {
        for a in &adapters {
            println!("{}", a.to_text());
        }
    }
    Ok(0)
}

/// `netdx bench`.
pub fn bench_command(
    quick: bool,
    json: bool,
    kernels: &[std::path::PathBuf],
    device: &DeviceArgs,
) -> Result<u8> {
    let gpu = Gpu::open(&device.choice())?;
    let report = crate::bench::run(&gpu, quick, kernels, &mut |line| eprintln!("{line}"))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!("{}", report.to_text());
    }
    Ok(0)
}

/// `netdx bench --onnx FILE`.
pub fn bench_onnx_command(
    file: &std::path::Path,
    input: &[usize],
    quick: bool,
    json: bool,
    device: &DeviceArgs,
) -> Result<u8> {
    let gpu = Gpu::open(&device.choice())?;
    let input = (!input.is_empty()).then_some(input);
    let figure =
        crate::bench::onnx_figure(&gpu, file, input, quick, &mut |line| eprintln!("{line}"))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&figure).unwrap_or_default()
        );
    } else {
        println!("{}", figure.to_text());
    }
    Ok(0)
}

/// `netdx checks`.
pub fn checks_command(json: bool) -> Result<u8> {
    let all = catalogue();
    if json {
        println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
        return Ok(0);
    }
    for c in &all {
        println!(
            "{:<18} [{}] {}",
            c.name,
            crate::checks::Section::title(c.section),
            c.summary
        );
        if let Some(map) = c.defaults.as_object() {
            for p in c.params {
                let default = map.get(p.name).map(|v| v.to_string()).unwrap_or_default();
                println!("    {:<16} = {:<10} {}", p.name, default, p.doc);
            }
        }
    }
    Ok(0)
}
