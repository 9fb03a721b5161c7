//! `netdx train CONFIG`: train, print progress, write the run record, and the optional
//! weights file and tensor dump.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::recording::{self, keep_first, Start};
use crate::cli::TrainArgs;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::runs::metrics::step_line;
use crate::runs::{Overrides, RunKind, Status};
use crate::train::checkpoint::{self, Checkpoint};
use crate::train::{capture, train_with, CheckpointTo, Instrumentation, TrainOptions};

/// `netdx train CONFIG`.
pub fn train_command(args: &TrainArgs) -> Result<u8> {
    let source = crate::config::read_text(&args.config)?;
    Ok(train_source(args, &source, &args.config)?.0)
}

/// `train` on the config text `source` read from `path` (a rerun passes a record's copy);
/// returns the exit code and the run record's folder.
pub fn train_source(args: &TrainArgs, source: &str, path: &Path) -> Result<(u8, Option<PathBuf>)> {
    recording::preflight(
        &args.record,
        &[
            ("--save", args.save.as_deref()),
            ("--dump", args.dump.as_deref()),
        ],
    )?;
    let settings = args.settings.all();
    let original = source;
    let (written, mut config) = crate::config::settings::apply(source, path, &settings)?;
    let source = written.as_str();
    // The override goes through the limits of the key it overrides.
    if let Some(n) = args.steps {
        crate::config::ranges::check("training.steps", n as f64)
            .map_err(|m| crate::Error::Usage(format!("--steps (training.steps): {m}")))?;
    }
    if let Some(w) = &args.weights {
        config.model.weights = Some(from_cwd(w));
    }
    let data = crate::suite::load_data(&config, source, path)?;
    crate::suite::preflight(&config, source, path, &data.train)?;
    let total = args.steps.unwrap_or(config.training.steps);
    let resume = match &args.resume {
        Some(file) => Some(read_checkpoint(file, &config, &data, total)?),
        None => None,
    };
    // Before the adapter opens, as every config error.
    crate::train::check_eval_every(args.eval_every.map(|n| n as usize), &data)?;
    let gpu = Gpu::open(&args.device.choice())?;
    let overrides = Overrides {
        steps: args.steps,
        weights: config
            .model
            .weights
            .as_ref()
            .map(|w| w.display().to_string()),
        set: settings.clone(),
        resume: args
            .resume
            .as_ref()
            .map(|r| from_cwd(r).display().to_string()),
        ..Default::default()
    };
    let mut recorder = recording::start(
        &args.record,
        &gpu,
        Start {
            kind: RunKind::Train,
            source: original,
            path,
            config: &config,
            overrides,
        },
    )?;
    if let Some(r) = &mut recorder {
        r.data(data.train.summary())?;
    }
    let dir = recorder.as_ref().map(|r| r.dir().to_path_buf());
    let checkpoint = checkpoint_to(args, path, dir.as_deref())?;
    let mut tensorboard = recording::tensorboard(&args.record, recorder.as_ref())?;
    if let Some(tb) = &tensorboard {
        eprintln!("tensorboard: {}", tb.root().display());
    }
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
    if let Some(c) = &resume {
        let _ = writeln!(
            out,
            "resume:  from step {} of {total} ({})",
            c.step,
            c.file.display()
        );
    }
    let options = TrainOptions {
        steps: args.steps,
        instrumentation: Instrumentation::Bare,
        capture_step: args.dump.is_some().then_some(args.dump_step),
        dump_to: args.dump.clone(),
        eval_every: args.eval_every.map(|n| n as usize),
        resume,
        checkpoint,
    };
    let every = args.every;
    let mut write_error = None;
    // On a terminal, a bar with the rate and the time left; the step lines print above it.
    let mut bar = super::progress::Progress::new("step", total as u64);
    if let Some(c) = &options.resume {
        bar.done(c.step as u64, "");
    }
    let trained_from = std::time::Instant::now();
    let outcome = train_with(&gpu, &config, data, &options, |r| {
        bar.done(r.step as u64 + 1, &format!("loss {:.4}", r.loss));
        let line = step_line("", r, &[], &[]);
        if let Some(rec) = &mut recorder {
            keep_first(&mut write_error, rec.metric(&line));
        }
        if let Some(tb) = &mut tensorboard {
            let value = serde_json::to_value(&line).unwrap_or_default();
            let written = tb.writer("").and_then(|w| w.metric_line(&value));
            keep_first(&mut write_error, written);
        }
        // Steps count from 0 here as in the records, the metrics and `--dump-step`; a step
        // evaluated on the validation split always prints.
        let evaluated = r.validation_loss.is_some();
        if (every > 0 && (r.step % every == 0 || r.step + 1 == total)) || evaluated {
            let acc = r
                .batch_accuracy
                .map(|a| format!("  batch accuracy {:6.2}%", 100.0 * a))
                .unwrap_or_default();
            let validation = match (r.validation_loss, r.validation_accuracy) {
                (Some(l), Some(a)) => {
                    format!("  validation loss {l:.5} accuracy {:6.2}%", 100.0 * a)
                }
                (Some(l), None) => format!("  validation loss {l:.5}"),
                _ => String::new(),
            };
            let line = format!(
                "step {:>6}  loss {:.5}{acc}  lr {:.3e}{validation}",
                r.step, r.loss, r.lr
            );
            bar.suspend(|| writeln!(out, "{line}")).ok();
        }
    });
    bar.finish();
    if let Some(tb) = &mut tensorboard {
        let end = crate::runs::time::now_ms() as f64 / 1000.0;
        let start = end - trained_from.elapsed().as_secs_f64();
        let hparams = crate::runs::tensorboard::hparams_of(&config);
        let written = tb.writer("").and_then(|w| w.hparams(&hparams, start, end));
        keep_first(&mut write_error, written);
    }
    let outcome = match write_error {
        Some(e) if outcome.is_ok() => Err(e),
        _ => outcome,
    };
    let outcome = recording::finish(recorder, outcome, |o| {
        let (status, cause) = match o.summary.first_nonfinite {
            Some(step) => (
                Status::Failed,
                Some(format!(
                    "non-finite loss from step {step} on, counted from 0 (training.on_nonfinite: continue)"
                )),
            ),
            None => (Status::Passed, None),
        };
        (status, cause, serde_json::to_value(&o.summary).ok())
    })?;
    let summary = &outcome.summary;
    let acc = summary
        .train_accuracy
        .map(|a| format!(", train accuracy {:.2}%", 100.0 * a))
        .unwrap_or_default();
    let steps = match summary.resumed_from {
        Some(k) => format!("steps {k}–{} of {}", summary.steps - 1, summary.steps),
        None => format!("{} steps", summary.steps),
    };
    let _ = writeln!(
        out,
        "done:    {steps} in {:.2} s ({:.1} steps/s); train loss {:.5}{acc}",
        summary.seconds, summary.steps_per_second, summary.loss
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
        if args.save_optimizer {
            checkpoint::save(path, &outcome.trainer, total)?;
            let _ = writeln!(
                out,
                "saved:   final weights and optimizer state → {}",
                path.display()
            );
        } else {
            let host = outcome.trainer.net.download(&gpu)?;
            let metadata = capture::metadata(&outcome.trainer, &config, summary.steps);
            crate::model::weights::save(path, &host, metadata)?;
            let _ = writeln!(out, "saved:   final weights → {}", path.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(summary).unwrap_or_default());
    }
    if let Some(step) = summary.first_nonfinite {
        eprintln!(
            "error: non-finite loss from step {step} on (steps count from 0); every step was recorded"
        );
        return Ok((1, dir));
    }
    Ok((0, dir))
}

/// The checkpoint `--resume` names, read for this config's model and optimizer, with a note
/// for each way this run differs from the one that wrote it.
fn read_checkpoint(
    file: &Path,
    config: &crate::config::Config,
    data: &crate::data::LoadedData,
    total: usize,
) -> Result<Checkpoint> {
    let model = crate::model::build(&config.model, crate::model::DataShape::of(&data.train))?;
    let read = checkpoint::load(&from_cwd(file), &model, config)?;
    for note in checkpoint::differences(&read, total, config.seed)? {
        eprintln!("note: {note}");
    }
    Ok(read)
}

/// Where this run saves its state: the record's `checkpoint.safetensors`, else the `--save`
/// file when it takes the optimizer state; `None` when neither (an interrupt then keeps the
/// records only).
fn checkpoint_to(
    args: &TrainArgs,
    config: &Path,
    record: Option<&Path>,
) -> Result<Option<CheckpointTo>> {
    let path = match (record, &args.save) {
        (Some(dir), _) => dir.join("checkpoint.safetensors"),
        (None, Some(save)) if args.save_optimizer => save.clone(),
        _ if args.checkpoint_every.is_some() => {
            return Err(crate::Error::Usage(
                "--checkpoint-every saves into the run record's folder: drop --no-record, or give --save FILE --save-optimizer".into(),
            ))
        }
        _ => return Ok(None),
    };
    Ok(Some(CheckpointTo {
        resume_command: resume_command(args, config, &path),
        path,
        every: args.checkpoint_every.map(|n| n as usize),
    }))
}

/// The `netdx train` command line that continues this run from `checkpoint`: the same config
/// and the flags that shape the run.
fn resume_command(args: &TrainArgs, config: &Path, checkpoint: &Path) -> String {
    let mut words = vec![
        "netdx".to_string(),
        "train".into(),
        shell_word(&config.display().to_string()),
        "--resume".into(),
        shell_word(&checkpoint.display().to_string()),
    ];
    if let Some(n) = args.steps {
        words.push(format!("--steps {n}"));
    }
    for s in args.settings.all() {
        words.push(format!("--set {}", shell_word(&s)));
    }
    if let Some(n) = args.checkpoint_every {
        words.push(format!("--checkpoint-every {n}"));
    }
    if let Some(save) = &args.save {
        words.push(format!(
            "--save {}",
            shell_word(&save.display().to_string())
        ));
        if args.save_optimizer {
            words.push("--save-optimizer".into());
        }
    }
    if let Some(dir) = &args.record.runs_dir {
        words.push(format!(
            "--runs-dir {}",
            shell_word(&dir.display().to_string())
        ));
    }
    words.join(" ")
}

/// `word` as a POSIX shell reads it back: as it is when it holds only safe characters, else
/// single-quoted.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=+:,@%".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A path given on the command line, made absolute against the working directory (config
/// paths are relative to the config's folder instead).
fn from_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}
