//! `netdx corpus [MANIFEST]`: the calibration corpus on one GPU, as a table or JSON.

use std::io::IsTerminal;

use crate::cli::{CorpusArgs, PartArg};
use crate::corpus::{self, Manifest, Options, Part};
use crate::error::Result;
use crate::gpu::Gpu;

/// `netdx corpus`.
pub fn corpus_command(args: &CorpusArgs) -> Result<u8> {
    // The manifest and every suite it names are checked before the GPU opens.
    let manifest = Manifest::load(&args.manifest)?;
    let options = Options {
        seeds: 0..args.seeds,
        part: match args.part {
            PartArg::Calibration => Some(Part::Calibration),
            PartArg::HeldOut => Some(Part::HeldOut),
            PartArg::All => None,
        },
        fast: args.fast,
    };
    let gpu = Gpu::open(&args.device.choice())?;
    let tty = std::io::stderr().is_terminal();
    let report = corpus::run(
        &gpu,
        &manifest,
        &args.manifest.display().to_string(),
        &options,
        &mut |done, total, run| {
            // One line per suite (a log of a long run stays readable); on a terminal they
            // overwrite each other.
            let line = format!(
                "[{done}/{total}] {} seed {}: {:.1} s",
                run.config, run.seed, run.seconds
            );
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else {
                eprintln!("{line}");
            }
        },
    )?;
    if tty {
        eprintln!();
    }
    if args.json {
        let value = serde_json::json!({
            "report": report,
            "totals": {
                "all": report.totals(None),
                "calibration": report.totals(Some(Part::Calibration)),
                "held_out": report.totals(Some(Part::HeldOut)),
            },
            "problems": report.problems(),
            "targets_met": report.problems().is_empty(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        print!("{}", corpus::table::to_text(&report));
    }
    if report.interrupted {
        return Ok(130);
    }
    Ok(report.exit_code())
}
