//! The `netdx` binary: parse the command line, call the library, map errors to exit codes
//! (0 all passed, 1 a failure while running, 2 a usage or config error).

use std::process::ExitCode;

use clap::Parser;
use netdx::app;
use netdx::cli::{Cli, Command};
use netdx::Error;

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`netdx schema | head`), as command-line tools do, instead
    // of panicking in println!.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    netdx::interrupt::install();
    // A panic is a bug: print it as Rust does, and mark the run record crashed with it.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        netdx::runs::record::on_panic(&info.to_string());
    }));
    // A driver call past the GPU timeout ends the process from the watchdog: the record says so.
    netdx::gpu::watchdog::on_fatal(netdx::runs::record::on_fatal);
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Run(args) => app::run_command(&args),
        Command::Merge {
            records,
            output,
            format,
        } => app::merge::merge_command(&records, &output, format),
        Command::Runs { command, runs_dir } => app::runs_command(&command, runs_dir.as_deref()),
        Command::Report {
            id,
            output,
            runs_dir,
        } => app::report_command(&id, output.as_deref(), runs_dir.as_deref()),
        Command::Baseline { command, runs_dir } => {
            app::baseline_command(&command, runs_dir.as_deref())
        }
        Command::Checks { json } => app::checks_command(json),
        Command::Validate { files } => app::validate_command(&files),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&netdx::suite::schema::schema()).unwrap_or_default()
            );
            Ok(0)
        }
        Command::Adapters { device, json } => app::adapters(&device, json),
        Command::Train(args) => app::train_command(&args),
        Command::Corpus(args) => app::corpus_command(&args),
        Command::Bench {
            quick,
            json,
            kernels,
            onnx: Some(file),
            input,
            device,
        } if kernels.is_empty() => app::bench_onnx_command(&file, &input, quick, json, &device),
        Command::Bench {
            quick,
            json,
            kernels,
            onnx,
            device,
            ..
        } => match onnx {
            Some(_) => Err(netdx::Error::Usage(
                "--onnx measures one imported model; --kernel belongs to the full bench".into(),
            )),
            None => app::bench_command(quick, json, &kernels, &device),
        },
    }
}
