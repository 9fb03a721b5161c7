//! What each command does, from parsed arguments to printed output and an exit code; `main.rs`
//! only parses and maps errors.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::checks::catalogue;
use crate::cli::{DeviceArgs, Format, TrainArgs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::gpu::{describe_adapters, Gpu};
use crate::train::{capture, train_with, Instrumentation, TrainOptions};

/// `netdx adapters`.
pub fn adapters(device: &DeviceArgs, json: bool) -> Result<u8> {
    let choice = device.choice();
    let adapters = describe_adapters(&choice);
    if adapters.is_empty() {
        return Err(Error::NoAdapter {
            tried: choice.backends_tried(),
        });
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

/// `netdx train CONFIG`.
pub fn train_command(args: &TrainArgs) -> Result<u8> {
    let mut config = Config::load(&args.config)?;
    if let Some(w) = &args.weights {
        config.model.weights = Some(from_cwd(w));
    }
    let data = crate::data::load(&config.data, config.seed, &config.base_dir)?;
    let gpu = Gpu::open(&args.device.choice())?;
    // With --json, stdout carries only the final object; progress goes to stderr.
    let mut out: Box<dyn Write> = if args.json {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    let _ = writeln!(out, "adapter: {}", gpu.describe());
    let _ = writeln!(out, "data:    {}", data.train.summary().to_text());
    if let Some(v) = &data.validation {
        let _ = writeln!(out, "         {}", v.summary().to_text());
    }
    if let Some(w) = &config.model.weights {
        let _ = writeln!(out, "weights: {}", w.display());
    }
    let options = TrainOptions {
        steps: args.steps,
        instrumentation: Instrumentation::Bare,
        capture_step: args.dump.is_some().then_some(args.dump_step),
        dump_to: args.dump.clone(),
    };
    let total = args.steps.unwrap_or(config.training.steps);
    let every = args.every;
    let outcome = train_with(&gpu, &config, data, &options, |r| {
        if every > 0 && ((r.step + 1) % every == 0 || r.step == 0 || r.step + 1 == total) {
            let acc = r
                .batch_accuracy
                .map(|a| format!("  batch accuracy {:6.2}%", 100.0 * a))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "step {:>6}  loss {:.5}{acc}  lr {:.3e}",
                r.step + 1,
                r.loss,
                r.lr
            );
        }
    });
    let outcome = outcome?;
    let summary = &outcome.summary;
    let acc = summary
        .train_accuracy
        .map(|a| format!(", train accuracy {:.2}%", 100.0 * a))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "done:    {} steps in {:.2} s ({:.1} steps/s); train loss {:.5}{acc}",
        summary.steps, summary.seconds, summary.steps_per_second, summary.loss
    );
    if let Some(loss) = summary.validation_loss {
        let acc = summary
            .validation_accuracy
            .map(|a| format!(", accuracy {:.2}%", 100.0 * a))
            .unwrap_or_default();
        let _ = writeln!(out, "         validation loss {loss:.5}{acc}");
    }
    if let (Some(path), Some((record, tensors))) = (&args.dump, &outcome.captured) {
        let _ = writeln!(
            out,
            "dump:    step {} ({} tensors) → {}",
            record.step,
            tensors.len(),
            path.display()
        );
    }
    if let Some(path) = &args.save {
        let host = outcome.trainer.net.download(&gpu)?;
        let metadata = capture::metadata(&outcome.trainer, &config, summary.steps);
        crate::model::weights::save(path, &host, metadata)?;
        let _ = writeln!(out, "saved:   final weights → {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(summary).unwrap_or_default());
    }
    Ok(0)
}

/// A path given on the command line, made absolute against the working directory (config
/// paths are relative to the config's folder instead).
fn from_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// `netdx bench`.
pub fn bench_command(quick: bool, json: bool, device: &DeviceArgs) -> Result<u8> {
    let gpu = Gpu::open(&device.choice())?;
    let report = crate::bench::run(&gpu, quick, &mut |line| eprintln!("{line}"))?;
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

/// `netdx run [SUITE]`.
pub fn run_command(
    suite: Option<&Path>,
    format: Format,
    junit: Option<&Path>,
    only: &[String],
    try_fixes: bool,
    device: &DeviceArgs,
) -> Result<u8> {
    let (text, path) = match suite {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|e| Error::Io {
                path: p.to_path_buf(),
                source: e,
            })?,
            p.to_path_buf(),
        ),
        None => (
            crate::suite::DEFAULT_SUITE.to_string(),
            Path::new("configs/default.yaml (built in)").to_path_buf(),
        ),
    };
    let file = path.display().to_string();
    let config = Config::parse(&text, &path)?;
    let variants = crate::config::cases::expand(&text, &path, &config)?;
    let names = crate::checks::CheckSpec::all();
    for o in only {
        if !names.iter().any(|c| c.name() == o) {
            let hint = crate::text::nearest(o, &names.iter().map(|c| c.name()).collect::<Vec<_>>())
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            return Err(Error::Usage(format!("--only: unknown check `{o}`{hint}")));
        }
    }
    let gpu = Gpu::open(&device.choice())?;
    let options = crate::suite::RunOptions {
        only: only.to_vec(),
        try_fixes,
    };
    let quiet = !std::io::stderr().is_terminal();
    let report = crate::suite::run_variants(&gpu, &variants, &file, &options, &mut |check| {
        if !quiet {
            eprint!("\r\x1b[2Krunning {check} …");
        }
    })?;
    if !quiet {
        eprint!("\r\x1b[2K");
    }
    if let Some(path) = junit {
        std::fs::write(path, crate::report::to_junit(&report)).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    }
    match format {
        Format::Text => print!(
            "{}",
            crate::report::to_text(&report, crate::report::use_color())
        ),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    }
    Ok(report.exit_code())
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
